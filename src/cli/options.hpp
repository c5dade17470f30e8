// options: the command line (and relay config file) parsed into one struct per subcommand.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>

#include "database_url.hpp"
#include "publisher_uri.hpp"
#include "txoutbox/message.hpp"
#include "txoutbox/relay.hpp"

namespace txoutbox::cli {

/// What every database subcommand needs.
struct common_args {
  database_url db;
  std::string schema = "txoutbox";  ///< validated SQL identifier
};

struct migrate_args {
  common_args common;
  std::uint32_t partitions = 16;
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

/// --help / help: the text goes to stdout and the exit code is 0.
struct help_request {
  std::string text;
};

using command = std::variant<help_request, migrate_args, enqueue_args, relay_args, status_args>;

/// Parses argv (argv[1] is the subcommand). Reads TXOUTBOX_DB_URL when --db is absent,
/// a --db-password-file into PGPASSWORD, and for `relay` a --config JSON file whose keys
/// are the long flag names (flags win). Throws failure(exit_usage) naming the problem.
command parse_command_line(int argc, const char* const argv[]);

}  // namespace txoutbox::cli
