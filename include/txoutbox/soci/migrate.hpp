// Applies the shipped migrations of a SOCI backend (embedded in the library).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace txoutbox::soci {

struct migrate_options {
  /// Validated identifier; empty = the backend's default (SQLite "main", PostgreSQL
  /// "txoutbox", MariaDB the session's current database). On MariaDB it names a database,
  /// created when missing.
  std::string schema{};
  /// Partition count N stored in the database on first migration (1..4096); 0 = the
  /// backend's default: 1 on SQLite (a plain INSERT from another language lands in
  /// partition 0, so more partitions would leave such rows to one relay anyway), 16 on
  /// servers. A later run with a different N throws error(config_mismatch).
  std::uint32_t partitions = 0;
};

struct migrate_result {
  std::vector<std::string> applied;  ///< names of migrations applied by this call
  int version = 0;                   ///< schema version after the call
};

/// Applies every shipped migration not yet recorded in outbox_schema_version, each in its
/// own transaction, one statement at a time. SQLite has no advisory locks: each step runs
/// in BEGIN IMMEDIATE, which holds the database's write lock, so two processes starting
/// at once are safe (the second re-reads the versions under the lock). On SQLite it also
/// switches the file to WAL journal mode. PostgreSQL takes the libpqxx backend's
/// pg_advisory_xact_lock and applies the same migrations/postgresql files into the same
/// version table (either backend may migrate a schema the other uses). MariaDB commits
/// DDL implicitly, so the run holds GET_LOCK instead and its statements are idempotent. Idempotent.
/// Verifies the checksums of applied migrations (a changed file throws error(config_mismatch)).
/// Opens no connection: uses `session`, which must not have a transaction open
/// (usage_error(invalid_argument) otherwise: the migration commits).
migrate_result migrate(::soci::session& session, const migrate_options& options = {});

/// The schema version recorded in the database, 0 when not migrated.
int schema_version(::soci::session& session, const std::string& schema = {});

/// The newest version this library ships for the session's backend.
int latest_schema_version(::soci::session& session);

}  // namespace txoutbox::soci
