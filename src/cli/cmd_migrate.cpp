// cmd_migrate: `txoutbox migrate` applies the shipped migrations (idempotent).
#include <iostream>

#include "commands.hpp"
#include "database.hpp"

namespace txoutbox::cli {

int run_migrate(const migrate_args& args) {
  const auto result = migrate_database(args.common, args.partitions);
  const std::string schema = args.common.label();
  if (result.applied.empty()) {
    std::cout << "schema " << schema << " is up to date (version " << result.version << ")\n";
  } else {
    std::cout << "schema " << schema << " migrated to version " << result.version << " (applied";
    for (const auto& name : result.applied)
      std::cout << ' ' << name;
    std::cout << ")\n";
  }
  return std::cout.flush() ? 0 : 1;
}

}  // namespace txoutbox::cli
