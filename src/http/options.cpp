// The HTTP publisher's options: construction-time checks and the command line's view of
// them (the --publisher-opt pairs, parsed by parse_publisher_options for
// make_publisher_from_uri).
#include <limits>

#include "http/options.hpp"

#include "core/publisher_option.hpp"
#include "core/text_util.hpp"
#include "http/detail.hpp"
#include "http/request_fields.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/http/publisher.hpp"

namespace txoutbox::http {
namespace {

[[noreturn]] void bad_option(const std::string& key, const std::string& why) {
  throw txoutbox::detail::publisher_option_error(key, why);
}

std::uint64_t parse_positive(const std::string& key, const std::string& value, std::uint64_t max) {
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos ||
      value.size() > 12)
    bad_option(key, "expected a positive integer, got '" + value + "'");
  const std::uint64_t n = std::stoull(value);
  if (n == 0 || n > max)
    bad_option(key, "must be between 1 and " + std::to_string(max));
  return n;
}

/// The signing secret's errors: unquoted names, unlike the other publishers' options.
usage_error secret_error(const std::string& key, txoutbox::detail::secret_problem problem,
                         const std::string& source) {
  using txoutbox::detail::secret_problem;
  switch (problem) {
    case secret_problem::env_unset:
      return txoutbox::detail::publisher_option_error(
          key, "environment variable " + source + " is not set or empty");
    case secret_problem::file_unreadable:
      return txoutbox::detail::publisher_option_error(key, "cannot read " + source);
    case secret_problem::file_empty:
      break;
  }
  return txoutbox::detail::publisher_option_error(key, source + " is empty");
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
  bool have_secret = false;
  for (const auto& [key, value] : opts) {
    if (key == "timeout-ms") {
      o.timeout = std::chrono::milliseconds(parse_positive(key, value, 3'600'000));
    } else if (key == "source") {
      if (value.empty())
        bad_option(key, "must not be empty");
      if (const auto problem = detail::header_text_problem(value))
        bad_option(key, "the value " + *problem);
      o.source = value;
    } else if (key == "max-connections") {
      o.max_connections = parse_positive(key, value, 1024);
    } else if (key == "verify-peer") {
      o.verify_peer = txoutbox::detail::parse_bool_option(key, value);
    } else if (key == "ca-file") {
      o.ca_file = value;
    } else if (key == "refuse-private") {
      o.refuse_private = txoutbox::detail::parse_bool_option(key, value);
    } else if (key.starts_with("header.")) {
      const std::string name = key.substr(7);
      if (!detail::is_token(name))
        bad_option(key, "'" + name + "' is not a valid header name");
      if (detail::is_framing_header(name))
        bad_option(key, "'" + name + "' is set by the publisher itself");
      if (const auto problem = detail::header_text_problem(value))
        bad_option(key, "the value " + *problem);
      o.extra_headers[name] = value;
    } else if (key == "secret-env" || key == "secret-file") {
      if (have_secret)
        bad_option(key, "give only one of secret-env and secret-file");
      have_secret = true;
      const auto error = [&option = key](txoutbox::detail::secret_problem problem,
                                         const std::string& source) {
        return secret_error(option, problem, source);
      };
      o.signing_secret = key == "secret-env"
                             ? txoutbox::detail::read_secret_env(value, error)
                             : txoutbox::detail::read_secret_file(
                                   value, txoutbox::detail::secret_trim::trailing_space, error);
    } else if (key == "secret") {
      bad_option(key,
                 "secrets are not accepted on the command line; use secret-env or "
                 "secret-file");
    } else {
      bad_option(key,
                 "unknown option for the http publisher (known: timeout-ms, source, "
                 "max-connections, verify-peer, ca-file, refuse-private, header.<name>, "
                 "secret-env, secret-file)");
    }
  }
  return o;
}

}  // namespace detail

std::unique_ptr<publisher> make_publisher_from_uri(std::string_view uri,
                                                   const std::map<std::string, std::string>& opts) {
  return make_publisher(detail::parse_publisher_options(uri, opts));
}

}  // namespace txoutbox::http
