// Fuzz target: the SOCI URL parser (soci::parse_url: sqlite:PATH, mysql://, postgresql://)
// and the connect strings it builds: each part of the URL must come out of the connect
// string unchanged (the way a value could smuggle in another key), read back by the
// connect-string helpers (mysql) or by libpq's own parser (postgresql).
#include <libpq-fe.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>

#include "fuzz_input.hpp"
#include "soci/url.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/soci/store.hpp"

namespace {

using txoutbox::soci::detail::server_url;

/// The keyword=value pairs libpq reads from `conninfo`; empty when it refuses it.
std::map<std::string, std::string> libpq_reads(const std::string& conninfo) {
  std::map<std::string, std::string> out;
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
      PQconninfoParse(conninfo.c_str(), &err), &PQconninfoFree);
  if (err != nullptr)
    PQfreemem(err);
  for (const PQconninfoOption* o = options.get(); o && o->keyword != nullptr; ++o) {
    if (o->val != nullptr)
      out[o->keyword] = o->val;
  }
  return out;
}

/// Checks that the connect string of a URL without query parameters carries its parts.
void check_parts(const std::string& backend, const std::string& connect, const server_url& url) {
  using txoutbox::fuzz::property_failed;
  if (!url.params.empty())
    return;  // query parameters pass through to the driver and may override a part
  if (backend == "mysql") {
    using txoutbox::soci::detail::connect_get;
    if (connect_get(connect, "db") != url.database || connect_get(connect, "user") != url.user ||
        connect_get(connect, "password") != url.password ||
        connect_get(connect, "host") != url.host || connect_get(connect, "port") != url.port) {
      property_failed("a mysql connect string does not carry the URL's parts");
    }
  } else if (backend == "postgresql") {
    auto read = libpq_reads(connect);
    if (read["host"] != url.host || read["port"] != url.port || read["dbname"] != url.database ||
        read["user"] != url.user || read["password"] != url.password) {
      property_failed("a postgresql conninfo does not carry the URL's parts");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace txoutbox;
  const std::string text(fuzz::as_text(data, size));
  try {
    const auto target = soci::parse_url(text);
    (void)soci::detail::connect_redact(target.connect);
    if (target.backend != "sqlite3") {
      const auto colon = text.find(':');
      check_parts(target.backend, target.connect,
                  soci::detail::parse_server_url(std::string_view(text).substr(colon + 1), ""));
    }
  } catch (const usage_error&) {
    // documented: a malformed or unsupported URL
  }
  // The helpers also see connect strings a caller wrote.
  (void)soci::detail::connect_get(text, "dbname");
  (void)soci::detail::connect_redact(text);
  try {
    (void)soci::detail::connect_value(text, "value");
  } catch (const usage_error&) {
    // documented: a value with both quote characters
  }
  return 0;
}
