// cmd_migrate: `txoutbox migrate` applies the shipped migrations (idempotent).
#include <iostream>

#include "commands.hpp"
#include "database.hpp"
#include "txoutbox/postgres/migrate.hpp"

namespace txoutbox::cli {

int run_migrate(const migrate_args& args) {
  auto conn = connect(args.common.db);
  postgres::migrate_result result;
  try {
    result = postgres::migrate(*conn, postgres::migrate_options{.schema = args.common.schema,
                                                                .partitions = args.partitions});
  } catch (...) {
    rethrow_store_error("migrate " + args.common.schema);
  }
  if (result.applied.empty()) {
    std::cout << "schema " << args.common.schema << " is up to date (version " << result.version
              << ")\n";
  } else {
    std::cout << "schema " << args.common.schema << " migrated to version " << result.version
              << " (applied";
    for (const auto& name : result.applied)
      std::cout << ' ' << name;
    std::cout << ")\n";
  }
  return std::cout.flush() ? 0 : 1;
}

}  // namespace txoutbox::cli
