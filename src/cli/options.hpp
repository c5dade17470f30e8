// options: the command line (and relay config file) parsed into one struct per subcommand.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "database_url.hpp"
#include "publisher_uri.hpp"
#include "txoutbox/message.hpp"
#include "txoutbox/relay.hpp"

namespace txoutbox::cli {

/// What every database subcommand needs.
struct common_args {
  database_url db;
  /// Validated SQL identifier; empty = the backend's default (SQLite "main", MariaDB the
  /// URL's database). PostgreSQL's default "txoutbox" is filled in by the parser.
  std::string schema;
  /// The schema as printed: `schema`, or the backend default it stands for.
  std::string label() const;
};

struct migrate_args {
  common_args common;
  std::uint32_t partitions = 0;  ///< 0 = the backend's default (16 on servers, 1 on SQLite)
};

struct enqueue_args {
  common_args common;
  message msg;  ///< validated
};

struct relay_args {
  common_args common;
  publisher_spec publisher;
  relay_options relay;  ///< hooks are filled in by cmd_relay
  std::chrono::milliseconds stop_timeout{10'000};
  log_level min_level = log_level::info;
};

struct status_args {
  common_args common;
  bool json = false;
};

enum class dead_action { list, requeue, purge };

/// `dead list|requeue|purge`.
struct dead_args {
  common_args common;
  dead_action action = dead_action::list;
  std::size_t limit = 100;      ///< list: at most this many, oldest first
  bool json = false;            ///< list: one JSON array
  bool all = false;             ///< requeue/purge: every dead letter
  std::vector<message_id> ids;  ///< requeue/purge: these (not empty unless `all`)
};

/// --help / help: the text goes to stdout and the exit code is 0.
struct help_request {
  std::string text;
};

using command =
    std::variant<help_request, migrate_args, enqueue_args, relay_args, status_args, dead_args>;

/// Parses argv (argv[1] is the subcommand, `dead` takes an action after it). Reads
/// TXOUTBOX_DB_URL when --db is absent, the password from --db-password-file or
/// TXOUTBOX_DB_PASSWORD (see apply_password), and for `relay` a --config JSON file whose
/// keys are the long flag names (flags win). Throws failure(exit_usage) naming the problem.
command parse_command_line(int argc, const char* const argv[]);

}  // namespace txoutbox::cli
