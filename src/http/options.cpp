// The HTTP publisher's options: construction-time checks and the key=value options
// parse_publisher_options reads for make_publisher_from_uri.
#include <limits>

#include "http/options.hpp"

#include "core/publisher_option.hpp"
#include "core/text_util.hpp"
#include "core/uri/option_reader.hpp"
#include "http/detail.hpp"
#include "http/request_fields.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/http/publisher.hpp"

namespace txoutbox::http {
namespace {

[[noreturn]] void bad_option(const std::string& key, const std::string& why) {
  throw txoutbox::detail::publisher_option_error(key, why);
}

}  // namespace

namespace detail {

void check_publisher_options(const publisher_options& options) {
  if (options.timeout.count() <= 0)
    throw usage_error(errc::invalid_argument, "timeout", "http publisher timeout must be positive");
  if (options.max_connections == 0) {
    throw usage_error(errc::invalid_argument, "max_connections",
                      "http publisher max_connections must be at least 1");
  }
  if (options.source.empty())
    throw usage_error(errc::invalid_argument, "source", "http publisher source must not be empty");
  if (const auto problem = header_text_problem(options.source)) {
    throw usage_error(errc::invalid_argument, "source",
                      "http publisher source " + *problem + " (it is sent as ce-source)");
  }
  for (const auto& [name, value] : options.extra_headers) {
    const std::string field = "extra_headers[" + txoutbox::detail::printable(name, 64) + "]";
    if (!is_token(name) || is_framing_header(name)) {
      throw usage_error(errc::invalid_argument, field,
                        "http publisher extra header name '" +
                            txoutbox::detail::printable(name, 64) +
                            "' is not an HTTP token or is set by the publisher itself");
    }
    if (const auto problem = header_text_problem(value)) {
      throw usage_error(errc::invalid_argument, field,
                        "http publisher extra header '" + name + "' value " + *problem);
    }
  }
}

publisher_options parse_publisher_options(std::string_view uri,
                                          const std::map<std::string, std::string>& opts) {
  publisher_options o;
  o.url = std::string(uri);
  txoutbox::detail::uri::option_reader in(opts, "the http publisher");
  if (const auto ms = in.take_int("timeout-ms", 1, 3'600'000, "milliseconds in 1..3600000"))
    o.timeout = std::chrono::milliseconds(*ms);
  if (const auto source = in.take_nonempty("source")) {
    if (const auto problem = detail::header_text_problem(*source))
      bad_option("source", "the value " + *problem);
    o.source = *source;
  }
  if (const auto n = in.take_int("max-connections", 1, 1024, "a number in 1..1024"))
    o.max_connections = static_cast<std::size_t>(*n);
  o.verify_peer = in.take_bool("verify-peer").value_or(o.verify_peer);
  o.ca_file = in.take("ca-file").value_or(o.ca_file);
  o.refuse_private = in.take_bool("refuse-private").value_or(o.refuse_private);
  for (const auto& [name, value] : in.take_prefixed("header.")) {
    const std::string key = "header." + name;
    if (!detail::is_token(name))
      bad_option(key, "'" + name + "' is not a valid header name");
    if (detail::is_framing_header(name))
      bad_option(key, "'" + name + "' is set by the publisher itself");
    if (const auto problem = detail::header_text_problem(value))
      bad_option(key, "the value " + *problem);
    o.extra_headers[name] = value;
  }
  o.signing_secret =
      in.take_secret("secret", txoutbox::detail::secret_trim::trailing_space).value_or("");
  in.finish(
      "timeout-ms, source, max-connections, verify-peer, ca-file, refuse-private, "
      "header.<name>, secret-env, secret-file");
  return o;
}

}  // namespace detail

std::unique_ptr<publisher> make_publisher_from_uri(std::string_view uri,
                                                   const std::map<std::string, std::string>& opts) {
  return make_publisher(detail::parse_publisher_options(uri, opts));
}

}  // namespace txoutbox::http
