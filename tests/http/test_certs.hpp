// test_certs: self-signed certificates made with the OpenSSL API at test time.
#pragma once

#include <string>
#include <vector>

#include "test_http_server.hpp"

namespace http_test {

/// A fresh P-256 key and a self-signed certificate (valid from an hour ago for a day)
/// whose subjectAltName lists `dns_names` and `ip_addresses`.
tls_identity make_self_signed(const std::vector<std::string>& dns_names,
                              const std::vector<std::string>& ip_addresses);

/// Writes `text` to a new file under the temp directory and returns its path.
std::string write_temp_file(const std::string& stem, const std::string& text);

}  // namespace http_test
