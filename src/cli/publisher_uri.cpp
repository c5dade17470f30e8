// publisher_uri: the publishers the command line can build, selected by URI scheme.
#include "publisher_uri.hpp"

#include <array>
#include <string_view>

#include "failure.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/file_publisher.hpp"

namespace txoutbox::cli {
namespace {

/// Transports the design names; each needs its own optional component.
constexpr std::array<std::string_view, 6> other_transports{"kafka", "http", "https",
                                                           "redis", "nats", "mqtt"};

bool parse_bool(const std::string& key, const std::string& value) {
  if (value == "true" || value == "1" || value == "yes" || value == "on")
    return true;
  if (value == "false" || value == "0" || value == "no" || value == "off")
    return false;
  throw failure(exit_usage,
                "--publisher-opt " + key + ": expected true or false, got '" + value + "'");
}

}  // namespace

publisher_spec parse_publisher_uri(const std::string& uri,
                                   const std::map<std::string, std::string>& opts) {
  if (uri.empty())
    throw failure(exit_usage, "--publisher is required (file:PATH or stdout)");
  publisher_spec spec;
  const auto colon = uri.find(':');
  const std::string scheme = colon == std::string::npos ? uri : uri.substr(0, colon);
  if (uri == "stdout" || uri == "stdout:") {
    spec.kind = publisher_kind::stdout_lines;
    spec.display = "stdout";
  } else if (scheme == "file") {
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
  } else {
    for (auto t : other_transports) {
      if (scheme == t) {
        throw failure(exit_usage,
                      "publisher scheme '" + scheme +
                          "' is not built into this txoutbox (available: file:PATH, stdout)");
      }
    }
    throw failure(exit_usage,
                  "unknown publisher scheme '" + scheme + "' (available: file:PATH, stdout)");
  }
  for (const auto& [key, value] : opts) {
    if (spec.kind == publisher_kind::file && key == "fsync") {
      spec.fsync = parse_bool(key, value);
    } else {
      throw failure(exit_usage, "unknown --publisher-opt '" + key + "' for the " +
                                    (spec.kind == publisher_kind::file ? "file" : "stdout") +
                                    " publisher");
    }
  }
  return spec;
}

std::shared_ptr<publisher> make_publisher(const publisher_spec& spec) {
  try {
    if (spec.kind == publisher_kind::file) {
      return make_file_publisher(file_publisher_options{.path = spec.path, .fsync = spec.fsync});
    }
    return make_stdout_publisher();
  } catch (const std::exception& e) {
    throw failure(exit_publisher, "cannot start publisher " + spec.display + ": " + e.what());
  }
}

}  // namespace txoutbox::cli
