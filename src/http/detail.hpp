// Private helpers of the HTTP publisher that need no Beast: URL, addresses, signing, options.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/wire_format.hpp"
#include "txoutbox/http/publisher.hpp"
#include "txoutbox/publisher.hpp"

namespace txoutbox::http::detail {

/// A parsed destination URL.
struct url_parts {
  bool tls = false;
  std::string host{};         ///< name or IP literal, without IPv6 brackets
  std::string port{};         ///< always set ("80"/"443" by default)
  std::string target{};       ///< path and query, at least "/"
  std::string host_header{};  ///< `Host:` value: host (bracketed for IPv6) [":" port]
  bool host_is_ip = false;    ///< an IP literal: no SNI, IP-address verification
};

/// Parses `http(s)://host[:port][/path][?query]`. Throws usage_error(malformed_input,
/// "url") naming what is wrong; no user info, no fragment, no whitespace.
url_parts parse_url(std::string_view url);

/// RFC 3339 UTC with microseconds: "2024-05-01T12:00:00.123456Z" (shared with the other
/// publishers and the envelope).
using txoutbox::detail::format_rfc3339;

/// Loopback, private (RFC 1918, ULA), link-local, unspecified or "this network".
/// IPv4 as 4 bytes in network order; IPv6 as 16 bytes (IPv4-mapped checked as IPv4).
bool is_private_v4(const std::array<std::uint8_t, 4>& a) noexcept;
bool is_private_v6(const std::array<std::uint8_t, 16>& a) noexcept;

/// Standard base64 with padding.
std::string base64_encode(std::string_view bytes);
/// Strict standard base64 (padding optional); nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);

/// The HMAC key of a `whsec_<base64>` secret. Throws usage_error(invalid_argument,
/// "signing_secret") without echoing the secret.
std::string decode_signing_secret(std::string_view secret);

/// Standard Webhooks signature header value: "v1," + base64(HMAC-SHA256(key,
/// id "." timestamp "." body)).
std::string webhook_signature(std::string_view key, std::string_view id, std::string_view timestamp,
                              std::string_view body);

/// True for an RFC 9110 token (header names).
bool is_token(std::string_view s) noexcept;

/// Headers that frame the request or the connection (host, content-length,
/// transfer-encoding, connection, keep-alive, te, trailer, upgrade, proxy-*): set by the
/// publisher only, never taken from a message or the options. Case-insensitive.
bool is_framing_header(std::string_view name) noexcept;

/// A short printable excerpt of a response body for a failure reason.
std::string body_excerpt(std::string_view body, std::size_t max = 200);

/// The construction-time checks of make_publisher() but the URL, the secret and the CA
/// file: a positive timeout and max_connections, a non-empty `source` without control
/// characters, extra headers with token names that are not framing headers and values
/// without control characters. Throws usage_error naming the option ("source",
/// "extra_headers[Name]").
void check_publisher_options(const publisher_options& options);

}  // namespace txoutbox::http::detail
