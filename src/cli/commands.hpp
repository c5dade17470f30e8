// commands: one entry point per subcommand; each returns the process exit code.
#pragma once

#include "options.hpp"

namespace txoutbox::cli {

/// Each runs on the main thread and throws failure / txoutbox exceptions, which main()
/// turns into one stderr line and an exit code.
int run_migrate(const migrate_args& args);
int run_enqueue(const enqueue_args& args);
int run_relay(const relay_args& args);
int run_status(const status_args& args);
int run_dead(const dead_args& args);

}  // namespace txoutbox::cli
