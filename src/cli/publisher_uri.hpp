// publisher_uri: turns --publisher URI (+ --publisher-opt) into a publisher.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "txoutbox/publisher.hpp"

namespace txoutbox::cli {

struct publisher_entry;

/// file and stdout are the CLI's own; every other publisher comes from the registry.
enum class publisher_kind { file, stdout_lines, registered };

/// A --publisher value whose scheme is known and built in. Creating the publisher is a
/// separate step (make_publisher), where the transport's own factory checks its options:
/// a usage error there is exit 2, a publisher that cannot start exit 4.
struct publisher_spec {
  publisher_kind kind = publisher_kind::stdout_lines;
  const publisher_entry* entry = nullptr;   ///< registered: the component (builtin_publishers)
  std::string uri;                          ///< as given (broker publishers)
  std::map<std::string, std::string> opts;  ///< --publisher-opt key=value pairs
  std::string path;                         ///< file: the JSON-lines file
  bool fsync = true;    ///< file: fsync before reporting ok (--publisher-opt fsync=false)
  std::string display;  ///< for the start line; free of secrets
};

/// Parses `file:PATH` (also `file:///abs/path`), `stdout`, `kafka://`, `redis://`,
/// `nats://`, `http://` and `https://`, with the options given as --publisher-opt
/// key=value. Checks the file/stdout options and, for kafka, redis and nats, the
/// transport's own parser (no connection). Throws failure(exit_usage) for an unknown
/// scheme, a transport that is not built in, a missing path or a bad option.
publisher_spec parse_publisher_uri(const std::string& uri,
                                   const std::map<std::string, std::string>& opts);

/// The publishers this binary has, for help and errors: "file:PATH, stdout, kafka://, ...".
std::string available_publishers();

/// Creates the publisher. failure(exit_usage) when its factory refuses an option
/// (http checks its options only here), failure(exit_publisher) when it cannot start
/// (e.g. the file cannot be created).
std::shared_ptr<publisher> make_publisher(const publisher_spec& spec);

}  // namespace txoutbox::cli
