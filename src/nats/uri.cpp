// The NATS publisher from the command line: nats://host:port[,nats://host:port] plus
// --publisher-opt pairs.
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "core/publisher_option.hpp"
#include "core/uri/authority.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/nats/publisher.hpp"

namespace txoutbox::nats {

namespace {

namespace uri_kit = txoutbox::detail::uri;

[[noreturn]] void bad_option(const std::string& key, const std::string& what) {
  throw txoutbox::detail::publisher_option_error(key, what);
}

[[noreturn]] void bad_uri(const std::string& what) {
  throw usage_error(
      errc::malformed_input, "publisher",
      "nats publisher URI must look like nats://host:port[,nats://host:port]: " + what);
}

/// Checks one "nats://host[:port]"; the error never echoes a part after '@'.
void check_server(std::string_view server) {
  constexpr std::string_view scheme = "nats://";
  if (!server.starts_with(scheme))
    bad_uri("every server must start with nats://");
  std::string_view rest = server.substr(scheme.size());
  if (rest.ends_with("/"))
    rest.remove_suffix(1);
  if (rest.find('@') != std::string_view::npos)
    bad_uri(
        "credentials in the URI are refused (use --publisher-opt user, password-env, "
        "token-env, ...)");
  uri_kit::host_port hp;
  if (const auto problem = uri_kit::check_host_port(rest, hp);
      problem != uri_kit::authority_problem::none)
    bad_uri(uri_kit::authority_problem_text(problem, hp) + " in '" + std::string(server) + "'");
}

}  // namespace

publisher_options parse_publisher_uri(std::string_view uri,
                                      const std::map<std::string, std::string>& opts) {
  if (uri.empty())
    bad_uri("it is empty");
  for (std::size_t pos = 0; pos <= uri.size();) {
    const auto comma = std::min(uri.find(',', pos), uri.size());
    check_server(uri.substr(pos, comma - pos));
    pos = comma + 1;
  }
  publisher_options o;
  o.url = std::string(uri);

  bool token_given = false;
  bool password_given = false;
  for (const auto& [key, value] : opts) {
    if (key == "subject-template") {
      o.subject_template = value;
    } else if (key == "stream") {
      o.stream_name = value;
    } else if (key == "create-stream") {
      o.create_stream = txoutbox::detail::parse_bool_option(key, value);
    } else if (key == "ack-timeout-ms") {
      long long ms = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || ms <= 0 ||
          ms > std::numeric_limits<std::int32_t>::max())
        bad_option(key, "expected a positive number of milliseconds, got '" + value + "'");
      o.ack_timeout = std::chrono::milliseconds(ms);
    } else if (key == "source") {
      if (value.empty())
        bad_option(key, "must not be empty");
      o.source = value;
    } else if (key == "user") {
      if (value.empty())
        bad_option(key, "must not be empty");
      o.user = value;
    } else if (key == "token-env" || key == "token-file") {
      if (token_given)
        bad_option(key, "give the token once, through token-env or token-file");
      token_given = true;
      o.token = txoutbox::detail::read_secret_option(key, value);
    } else if (key == "password-env" || key == "password-file") {
      if (password_given)
        bad_option(key, "give the password once, through password-env or password-file");
      password_given = true;
      o.password = txoutbox::detail::read_secret_option(key, value);
    } else if (key == "token" || key == "password") {
      bad_option(key, "secrets are not taken on the command line: use " + key +
                          "-env=VARIABLE or " + key + "-file=PATH");
    } else {
      bad_option(key,
                 "unknown option for the nats publisher (known: subject-template, stream, "
                 "create-stream, ack-timeout-ms, source, user, token-env, token-file, "
                 "password-env, password-file)");
    }
  }
  if (password_given && o.user.empty())
    bad_option("user", "a password needs --publisher-opt user");
  return o;
}

std::unique_ptr<txoutbox::publisher> make_publisher_from_uri(
    std::string_view uri, const std::map<std::string, std::string>& opts) {
  return make_publisher(parse_publisher_uri(uri, opts));
}

}  // namespace txoutbox::nats
