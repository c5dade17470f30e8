// failure: the exception a subcommand throws to end the process with a chosen exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace txoutbox::cli {

/// Exit codes of the txoutbox command (a contract: scripts and tests rely on them).
enum exit_code : int {
  exit_ok = 0,
  exit_other = 1,      ///< anything not covered below
  exit_usage = 2,      ///< bad flag, malformed URL, unknown publisher scheme, invalid message,
                       ///< another live relay already runs with this --owner
  exit_database = 3,   ///< database unreachable or schema not migrated
  exit_publisher = 4,  ///< the publisher could not be set up at start
};

/// Thrown by the subcommands when they know which exit code a failure deserves; main()
/// prints what() as the one stderr line. The text must already be free of secrets.
class failure : public std::runtime_error {
 public:
  failure(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

}  // namespace txoutbox::cli
