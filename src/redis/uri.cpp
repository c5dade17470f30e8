// The Redis publisher from a URI, redis://[user@]host:port[/db], plus key=value options.
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "core/uri/authority.hpp"
#include "core/uri/option_reader.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/redis/publisher.hpp"

namespace txoutbox::redis {

namespace {

namespace uri_kit = txoutbox::detail::uri;

constexpr const char* uri_shape = "redis://[user@]host[:port][/db]";

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
      bad_uri("a password in the URI is refused (use the option password-env or password-file)");
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
    bad_uri("query strings and fragments are not supported (use options)");
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

  uri_kit::option_reader in(opts, "the redis publisher");
  o.stream_prefix = in.take("stream-prefix").value_or(o.stream_prefix);
  o.stream = in.take_nonempty("stream").value_or(o.stream);
  if (const auto n = in.take_int("maxlen", 0, std::numeric_limits<std::int64_t>::max(),
                                 "a number of entries (0 = unbounded)"))
    o.maxlen = static_cast<std::size_t>(*n);
  o.connect_timeout = in.take_ms("connect-timeout-ms").value_or(o.connect_timeout);
  o.command_timeout = in.take_ms("command-timeout-ms").value_or(o.command_timeout);
  o.password = in.take_secret("password").value_or("");
  in.finish(
      "stream-prefix, stream, maxlen, connect-timeout-ms, command-timeout-ms, password-env, "
      "password-file");
  if (!o.username.empty() && o.password.empty())
    bad_uri("a user name needs a password (option password-env or password-file)");
  return o;
}

std::unique_ptr<txoutbox::publisher> make_publisher_from_uri(
    std::string_view uri, const std::map<std::string, std::string>& opts) {
  return make_publisher(parse_publisher_uri(uri, opts));
}

}  // namespace txoutbox::redis
