// Applies the shipped PostgreSQL migrations (embedded in the library).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

// Not a forward declaration: pqxx::connection_base is a class in libpqxx 6 and an alias of
// pqxx::connection in libpqxx 7, which a forward declaration would contradict.
#include <pqxx/connection>

namespace txoutbox::postgres {

struct migrate_options {
  std::string schema = "txoutbox";  ///< validated identifier; created if missing
  /// Partition count N stored in the database on first migration (1..4096). A later run
  /// with a different N throws error(config_mismatch): changing N is a documented step.
  std::uint32_t partitions = 16;
};

struct migrate_result {
  std::vector<std::string> applied;  ///< names of migrations applied by this call
  int version = 0;                   ///< schema version after the call
};

/// Applies every shipped migration not yet recorded in <schema>.outbox_schema_version,
/// each in its own transaction, under pg_advisory_xact_lock so two processes starting at
/// once are safe. Idempotent. Verifies the checksums of applied migrations (a changed
/// file throws error(config_mismatch)). Opens no connection: uses `conn`, which must not
/// have a transaction open.
migrate_result migrate(pqxx::connection_base& conn, const migrate_options& options = {});

/// The schema version recorded in the database, 0 when not migrated. Never throws for a
/// missing schema.
int schema_version(pqxx::connection_base& conn, const std::string& schema = "txoutbox");

/// The newest version this library ships.
int latest_schema_version() noexcept;

}  // namespace txoutbox::postgres
