// publisher_uri: the publishers the command line can build, selected by URI scheme.
#include "publisher_uri.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "core/uri/option_reader.hpp"
#include "database_url.hpp"
#include "failure.hpp"
#include "output.hpp"
#include "publisher_registry.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/file_publisher.hpp"

namespace txoutbox::cli {
namespace {

namespace uri_kit = txoutbox::detail::uri;

/// The schemes of txoutbox's optional publishers, to tell "not built" from "unknown".
constexpr std::array<std::string_view, 5> optional_schemes{"kafka", "redis", "nats", "http",
                                                           "https"};

[[noreturn]] void not_built(const std::string& name) {
  throw failure(exit_usage, "publisher '" + name +
                                "' is not built into this txoutbox (available: " +
                                available_publishers() + ")");
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
    throw failure(exit_usage, "--publisher is required (" + available_publishers() + ")");
  publisher_spec spec;
  spec.uri = uri;
  spec.opts = opts;
  spec.display = redact(uri);
  const auto colon = uri.find(':');
  const std::string scheme = colon == std::string::npos ? uri : uri.substr(0, colon);
  if (uri == "stdout" || uri == "stdout:") {
    spec.kind = publisher_kind::stdout_lines;
    spec.display = "stdout";
    check_options("stdout",
                  [&] { uri_kit::option_reader(opts, "the stdout publisher").finish("none"); });
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
    check_options("file", [&] {
      uri_kit::option_reader in(opts, "the file publisher");
      spec.fsync = in.take_bool("fsync").value_or(true);
      in.finish("fsync");
    });
    return spec;
  }
  if (const publisher_entry* entry = builtin_publishers().find(scheme)) {
    spec.kind = publisher_kind::registered;
    spec.entry = entry;
    if (entry->check)
      check_options(scheme, [&] { entry->check(uri, opts); });
    return spec;
  }
  if (std::find(optional_schemes.begin(), optional_schemes.end(), scheme) != optional_schemes.end())
    not_built(scheme == "https" ? "http" : scheme);
  throw failure(exit_usage, "unknown publisher scheme '" + scheme +
                                "' (available: " + available_publishers() + ")");
}

std::string available_publishers() {
  std::string out = "file:PATH, stdout";
  for (const publisher_entry& entry : builtin_publishers().entries())
    out += ", " + entry.shape;
  return out;
}

std::shared_ptr<publisher> make_publisher(const publisher_spec& spec) {
  const std::string name = spec.display;
  try {
    switch (spec.kind) {
      case publisher_kind::file:
        return make_file_publisher(file_publisher_options{.path = spec.path, .fsync = spec.fsync});
      case publisher_kind::stdout_lines:
        return make_stdout_publisher();
      case publisher_kind::registered:
        if (spec.entry != nullptr)
          return spec.entry->make(spec.uri, spec.opts);
        break;
    }
  } catch (const usage_error& e) {
    throw failure(exit_usage, "--publisher " + name + ": " + sanitize(e.what()));
  } catch (const std::exception& e) {
    throw failure(exit_publisher, "cannot start publisher " + name + ": " + sanitize(e.what()));
  }
  throw failure(exit_usage, "publisher " + name + " is not built into this txoutbox");
}

}  // namespace txoutbox::cli
