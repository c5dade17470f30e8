// publisher_uri: turns --publisher URI (+ --publisher-opt) into a publisher.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "txoutbox/publisher.hpp"

namespace txoutbox::cli {

enum class publisher_kind { file, stdout_lines };

/// A validated --publisher value; creating the publisher is a separate step so that a
/// usage error (exit 2) is told apart from a publisher that cannot start (exit 4).
struct publisher_spec {
  publisher_kind kind = publisher_kind::stdout_lines;
  std::string path;     ///< file: the JSON-lines file
  bool fsync = true;    ///< file: fsync before reporting ok (--publisher-opt fsync=false)
  std::string display;  ///< for the start line
};

/// Parses `file:PATH` (also `file:///abs/path`) and `stdout`, with the options given as
/// --publisher-opt key=value. Throws failure(exit_usage) for an unknown scheme, a known
/// transport that is not built in, a missing path or an unknown option.
publisher_spec parse_publisher_uri(const std::string& uri,
                                   const std::map<std::string, std::string>& opts);

/// Opens the publisher. Throws failure(exit_publisher) when it cannot start (e.g. the
/// file cannot be created).
std::shared_ptr<publisher> make_publisher(const publisher_spec& spec);

}  // namespace txoutbox::cli
