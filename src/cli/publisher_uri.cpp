// publisher_uri: the publishers the command line can build, selected by URI scheme.
#include "publisher_uri.hpp"

#include <string_view>

#include "core/publisher_option.hpp"
#include "database_url.hpp"
#include "failure.hpp"
#include "output.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/file_publisher.hpp"
#ifdef TXOUTBOX_CLI_HAVE_KAFKA
#include "txoutbox/kafka/publisher.hpp"
#endif
#ifdef TXOUTBOX_CLI_HAVE_REDIS
#include "txoutbox/redis/publisher.hpp"
#endif
#ifdef TXOUTBOX_CLI_HAVE_NATS
#include "txoutbox/nats/publisher.hpp"
#endif
#ifdef TXOUTBOX_CLI_HAVE_HTTP
#include "txoutbox/http/publisher.hpp"
#endif

namespace txoutbox::cli {
namespace {

/// Which publishers this binary has, for error messages.
std::string available() {
  std::string out = "file:PATH, stdout";
#ifdef TXOUTBOX_CLI_HAVE_KAFKA
  out += ", kafka://";
#endif
#ifdef TXOUTBOX_CLI_HAVE_REDIS
  out += ", redis://";
#endif
#ifdef TXOUTBOX_CLI_HAVE_NATS
  out += ", nats://";
#endif
#ifdef TXOUTBOX_CLI_HAVE_HTTP
  out += ", http(s)://";
#endif
  return out;
}

/// The file publisher's boolean options, with the library's one rule and text.
bool parse_bool(const std::string& key, const std::string& value) {
  try {
    return txoutbox::detail::parse_bool_option(key, value);
  } catch (const usage_error& e) {
    throw failure(exit_usage, e.what());
  }
}

[[noreturn, maybe_unused]] void not_built(const std::string& name) {
  throw failure(
      exit_usage,
      "publisher '" + name + "' is not built into this txoutbox (available: " + available() + ")");
}

/// Runs a transport's option parser, turning its usage_error into exit 2.
template <class F>
void check_options(const std::string& name, F&& parse) {
  try {
    parse();
  } catch (const usage_error& e) {
    throw failure(exit_usage, "--publisher " + name + ": " + sanitize(e.what()));
  }
}

}  // namespace

publisher_spec parse_publisher_uri(const std::string& uri,
                                   const std::map<std::string, std::string>& opts) {
  if (uri.empty())
    throw failure(exit_usage, "--publisher is required (" + available() + ")");
  publisher_spec spec;
  spec.uri = uri;
  spec.opts = opts;
  spec.display = redact(uri);
  const auto colon = uri.find(':');
  const std::string scheme = colon == std::string::npos ? uri : uri.substr(0, colon);
  if (uri == "stdout" || uri == "stdout:") {
    spec.kind = publisher_kind::stdout_lines;
    spec.display = "stdout";
    if (!opts.empty()) {
      throw failure(exit_usage, "unknown --publisher-opt '" + opts.begin()->first +
                                    "' for the stdout publisher");
    }
    return spec;
  }
  if (scheme == "file") {
    std::string path = uri.substr(colon + 1);
    if (path.starts_with("//")) {
      // file:///abs/path (empty authority) or file://localhost/abs/path.
      path = path.substr(2);
      if (path.starts_with("localhost/"))
        path = path.substr(9);
      if (!path.starts_with("/")) {
        throw failure(exit_usage, "--publisher " + uri + ": file:// URLs need an absolute path");
      }
    }
    if (path.empty())
      throw failure(exit_usage, "--publisher file: needs a path (file:PATH)");
    spec.kind = publisher_kind::file;
    spec.path = path;
    spec.display = "file:" + path;
    for (const auto& [key, value] : opts) {
      if (key != "fsync")
        throw failure(exit_usage, "unknown --publisher-opt '" + key + "' for the file publisher");
      spec.fsync = parse_bool(key, value);
    }
    return spec;
  }
  if (scheme == "kafka") {
#ifdef TXOUTBOX_CLI_HAVE_KAFKA
    spec.kind = publisher_kind::kafka;
    check_options("kafka", [&] { (void)kafka::parse_publisher_uri(uri, opts); });
    return spec;
#else
    not_built("kafka");
#endif
  }
  if (scheme == "redis") {
#ifdef TXOUTBOX_CLI_HAVE_REDIS
    spec.kind = publisher_kind::redis;
    check_options("redis", [&] { (void)redis::parse_publisher_uri(uri, opts); });
    return spec;
#else
    not_built("redis");
#endif
  }
  if (scheme == "nats") {
#ifdef TXOUTBOX_CLI_HAVE_NATS
    spec.kind = publisher_kind::nats;
    check_options("nats", [&] { (void)nats::parse_publisher_uri(uri, opts); });
    return spec;
#else
    not_built("nats");
#endif
  }
  if (scheme == "http" || scheme == "https") {
#ifdef TXOUTBOX_CLI_HAVE_HTTP
    spec.kind = publisher_kind::http;
    return spec;  // the http factory checks its options when it builds the publisher
#else
    not_built("http");
#endif
  }
  throw failure(exit_usage,
                "unknown publisher scheme '" + scheme + "' (available: " + available() + ")");
}

std::shared_ptr<publisher> make_publisher(const publisher_spec& spec) {
  const std::string name = spec.display;
  try {
    switch (spec.kind) {
      case publisher_kind::file:
        return make_file_publisher(file_publisher_options{.path = spec.path, .fsync = spec.fsync});
      case publisher_kind::stdout_lines:
        return make_stdout_publisher();
      case publisher_kind::kafka:
#ifdef TXOUTBOX_CLI_HAVE_KAFKA
        return kafka::make_publisher_from_uri(spec.uri, spec.opts);
#else
        break;
#endif
      case publisher_kind::redis:
#ifdef TXOUTBOX_CLI_HAVE_REDIS
        return redis::make_publisher_from_uri(spec.uri, spec.opts);
#else
        break;
#endif
      case publisher_kind::nats:
#ifdef TXOUTBOX_CLI_HAVE_NATS
        return nats::make_publisher_from_uri(spec.uri, spec.opts);
#else
        break;
#endif
      case publisher_kind::http:
#ifdef TXOUTBOX_CLI_HAVE_HTTP
        return http::make_publisher_from_uri(spec.uri, spec.opts);
#else
        break;
#endif
    }
  } catch (const usage_error& e) {
    throw failure(exit_usage, "--publisher " + name + ": " + sanitize(e.what()));
  } catch (const std::exception& e) {
    throw failure(exit_publisher, "cannot start publisher " + name + ": " + sanitize(e.what()));
  }
  throw failure(exit_usage, "publisher " + name + " is not built into this txoutbox");
}

}  // namespace txoutbox::cli
