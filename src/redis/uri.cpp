// The Redis publisher from the command line: redis://[user@]host:port[/db] plus --publisher-opt
// pairs.
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "core/publisher_option.hpp"
#include "core/uri/authority.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/redis/publisher.hpp"

namespace txoutbox::redis {

namespace {

namespace uri_kit = txoutbox::detail::uri;

constexpr const char* uri_shape = "redis://[user@]host[:port][/db]";

[[noreturn]] void bad_option(const std::string& key, const std::string& what) {
  throw txoutbox::detail::publisher_option_error(key, what);
}

[[noreturn]] void bad_uri(const std::string& what) {
  throw usage_error(errc::malformed_input, "publisher",
                    std::string("redis publisher URI must look like ") + uri_shape + ": " + what);
}

/// A decimal in [lo, hi], or nullopt.
std::optional<long long> parse_number(std::string_view text, long long lo, long long hi) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < lo ||
      value > hi)
    return std::nullopt;
  return value;
}

std::chrono::milliseconds parse_ms(const std::string& key, const std::string& value) {
  const auto ms = parse_number(value, 1, std::numeric_limits<std::int32_t>::max());
  if (!ms)
    bad_option(key, "expected a positive number of milliseconds, got '" + value + "'");
  return std::chrono::milliseconds(*ms);
}

}  // namespace

publisher_options parse_publisher_uri(std::string_view uri,
                                      const std::map<std::string, std::string>& opts) {
  constexpr std::string_view scheme = "redis://";
  if (!uri.starts_with(scheme))
    bad_uri("it does not start with redis://");
  std::string_view rest = uri.substr(scheme.size());
  publisher_options o;

  // Never echo the authority back: it could hold a password.
  if (const auto [userinfo, after] = uri_kit::split_userinfo(rest); userinfo) {
    if (uri_kit::split_credentials(*userinfo).password)
      bad_uri(
          "a password in the URI is refused (use --publisher-opt password-env or "
          "password-file)");
    if (userinfo->empty())
      bad_uri("empty user name before '@'");
    o.username = std::string(*userinfo);
    rest = after;
  }
  std::string_view authority = rest;
  std::string_view path;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  if (authority.find_first_of("?#") != std::string_view::npos ||
      path.find_first_of("?#/") != std::string_view::npos)
    bad_uri("query strings and fragments are not supported (use --publisher-opt)");
  uri_kit::host_port hp;
  if (const auto problem = uri_kit::check_host_port(authority, hp);
      problem != uri_kit::authority_problem::none)
    bad_uri(uri_kit::authority_problem_text(problem, hp));
  o.host = std::string(hp.host);
  if (hp.has_port)
    o.port = *uri_kit::parse_port(hp.port);
  if (!path.empty()) {
    const auto db = parse_number(path, 0, std::numeric_limits<int>::max());
    if (!db)
      bad_uri("the database '" + std::string(path) + "' is not a number");
    o.db = static_cast<int>(*db);
  }

  bool password_given = false;
  for (const auto& [key, value] : opts) {
    if (key == "stream-prefix") {
      o.stream_prefix = value;
    } else if (key == "stream") {
      if (value.empty())
        bad_option(key, "must not be empty");
      o.stream = value;
    } else if (key == "maxlen") {
      const auto n = parse_number(value, 0, std::numeric_limits<long long>::max());
      if (!n)
        bad_option(key, "expected a number of entries (0 = unbounded), got '" + value + "'");
      o.maxlen = static_cast<std::size_t>(*n);
    } else if (key == "connect-timeout-ms") {
      o.connect_timeout = parse_ms(key, value);
    } else if (key == "command-timeout-ms") {
      o.command_timeout = parse_ms(key, value);
    } else if (key == "password-env" || key == "password-file") {
      if (password_given)
        bad_option(key, "give the password once, through password-env or password-file");
      password_given = true;
      o.password = txoutbox::detail::read_secret_option(key, value);
    } else if (key == "password") {
      bad_option(key,
                 "secrets are not taken on the command line: use password-env=VARIABLE or "
                 "password-file=PATH");
    } else {
      bad_option(key,
                 "unknown option for the redis publisher (known: stream-prefix, stream, maxlen, "
                 "connect-timeout-ms, command-timeout-ms, password-env, password-file)");
    }
  }
  if (!o.username.empty() && o.password.empty())
    bad_uri("a user name needs a password (--publisher-opt password-env or password-file)");
  return o;
}

std::unique_ptr<txoutbox::publisher> make_publisher_from_uri(
    std::string_view uri, const std::map<std::string, std::string>& opts) {
  return make_publisher(parse_publisher_uri(uri, opts));
}

}  // namespace txoutbox::redis
