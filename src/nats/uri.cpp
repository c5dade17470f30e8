// The NATS publisher from a URI, nats://host:port[,nats://host:port], plus key=value options.
#include <optional>
#include <string>
#include <string_view>

#include "core/uri/authority.hpp"
#include "core/uri/option_reader.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/nats/publisher.hpp"

namespace txoutbox::nats {

namespace {

namespace uri_kit = txoutbox::detail::uri;

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
        "credentials in the URI are refused (use the options user, password-env, token-env, "
        "...)");
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

  uri_kit::option_reader in(opts, "the nats publisher");
  o.subject_template = in.take("subject-template").value_or(o.subject_template);
  o.stream_name = in.take("stream").value_or(o.stream_name);
  o.create_stream = in.take_bool("create-stream").value_or(o.create_stream);
  o.ack_timeout = in.take_ms("ack-timeout-ms").value_or(o.ack_timeout);
  o.source = in.take_nonempty("source").value_or(o.source);
  o.user = in.take_nonempty("user").value_or(o.user);
  o.token = in.take_secret("token").value_or("");
  const auto password = in.take_secret("password");
  in.finish(
      "subject-template, stream, create-stream, ack-timeout-ms, source, user, token-env, "
      "token-file, password-env, password-file");
  if (password && o.user.empty())
    throw txoutbox::detail::publisher_option_error("user", "a password needs the option user");
  o.password = password.value_or("");
  return o;
}

std::unique_ptr<txoutbox::publisher> make_publisher_from_uri(
    std::string_view uri, const std::map<std::string, std::string>& opts) {
  return make_publisher(parse_publisher_uri(uri, opts));
}

}  // namespace txoutbox::nats
