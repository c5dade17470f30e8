// Applies the embedded PostgreSQL migrations, one transaction each, under an advisory lock.
#include "txoutbox/postgres/migrate.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <pqxx/pqxx>
#include <string>

#include "../core/migration_text.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/identifier.hpp"

namespace txoutbox::postgres {
namespace {

/// Quotes a validated identifier ([A-Za-z_][A-Za-z0-9_]*: no quote to double).
std::string quote(const std::string& identifier) {
  return quote_identifier(identifier);
}

/// Versions recorded in the version table: version -> (name, checksum).
using applied_map = std::map<int, std::pair<std::string, std::string>>;

/// Verifies that every applied migration this library ships still has its checksum, and
/// that the stored partition count matches the requested one. Runs inside the lock.
void verify(pqxx::transaction_base& tx, const std::string& quoted_schema,
            const applied_map& applied, const migrate_options& options) {
  for (const auto& file : detail::migrations_postgresql()) {
    const auto it = applied.find(detail::migration_version(file.name));
    if (it == applied.end())
      continue;
    const auto expected = detail::migration_checksum(file.sql);
    if (it->second.second != expected) {
      throw error(errc::config_mismatch, "migration " + std::string(file.name) +
                                             " was applied to schema " + options.schema +
                                             " with checksum " + it->second.second +
                                             " but this library ships checksum " + expected +
                                             ": the shipped file changed after it was applied");
    }
  }
  const auto config =
      tx.exec_params1("SELECT to_regclass($1) IS NOT NULL", quoted_schema + ".outbox_config");
  if (!config[0].as<bool>())
    return;
  const auto row = tx.exec1("SELECT partitions FROM " + quoted_schema + ".outbox_config");
  const auto stored = row[0].as<long long>();
  if (stored != static_cast<long long>(options.partitions)) {
    throw error(errc::config_mismatch,
                "database has " + std::to_string(stored) + " partitions, asked for " +
                    std::to_string(options.partitions) + " (schema " + options.schema +
                    "); the count is fixed at the first migration and never changed implicitly");
  }
}

}  // namespace

migrate_result migrate(pqxx::connection_base& conn, const migrate_options& options) {
  check_identifier(options.schema, "schema");
  if (options.schema.starts_with("pg_")) {
    throw usage_error(errc::invalid_identifier, "schema",
                      "schema: \"" + options.schema +
                          "\" starts with pg_, which PostgreSQL reserves for system schemas");
  }
  if (options.partitions < 1 || options.partitions > 4096) {
    throw usage_error(errc::invalid_argument, "partitions",
                      "partitions: " + std::to_string(options.partitions) + " is outside 1..4096");
  }
  const auto quoted_schema = quote(options.schema);
  const auto key = detail::migration_lock_key(options.schema);
  const auto files = detail::migrations_postgresql();

  migrate_result result;
  for (;;) {
    pqxx::work tx(conn, "txoutbox_migrate");
    // Serialise with any other migrate() of this schema; everything below is re-read
    // under the lock, so the second of two racing processes sees the first one's work.
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", key);
    tx.exec0("CREATE SCHEMA IF NOT EXISTS " + quoted_schema);
    tx.exec0("CREATE TABLE IF NOT EXISTS " + quoted_schema +
             ".outbox_schema_version ("
             " version integer PRIMARY KEY,"
             " name text NOT NULL,"
             " checksum text NOT NULL,"
             " applied_at timestamptz NOT NULL DEFAULT now())");
    applied_map applied;
    for (const auto& row : tx.exec("SELECT version, name, checksum FROM " + quoted_schema +
                                   ".outbox_schema_version")) {
      applied.emplace(row[0].as<int>(),
                      std::make_pair(row[1].as<std::string>(), row[2].as<std::string>()));
    }
    verify(tx, quoted_schema, applied, options);

    const auto next =
        std::find_if(files.begin(), files.end(), [&](const detail::migration_file& file) {
          return !applied.contains(detail::migration_version(file.name));
        });
    if (next == files.end()) {
      result.version = applied.empty() ? 0 : applied.rbegin()->first;
      tx.commit();
      return result;
    }
    const auto version = detail::migration_version(next->name);
    for (const auto& statement :
         detail::split_statements(detail::render(next->sql, quoted_schema, options.partitions))) {
      tx.exec(statement);
    }
    tx.exec_params("INSERT INTO " + quoted_schema +
                       ".outbox_schema_version (version, name, checksum) VALUES ($1, $2, $3)",
                   version, std::string(next->name), detail::migration_checksum(next->sql));
    tx.commit();
    result.applied.emplace_back(next->name);
  }
}

int schema_version(pqxx::connection_base& conn, const std::string& schema) {
  check_identifier(schema, "schema");
  pqxx::nontransaction tx(conn, "txoutbox_schema_version");
  const auto table = quote(schema) + ".outbox_schema_version";
  const auto exists = tx.exec_params1("SELECT to_regclass($1) IS NOT NULL", table);
  if (!exists[0].as<bool>())
    return 0;
  return tx.exec1("SELECT coalesce(max(version), 0) FROM " + table)[0].as<int>();
}

int latest_schema_version() noexcept {
  int latest = 0;
  for (const auto& file : detail::migrations_postgresql()) {
    latest = std::max(latest, detail::migration_version(file.name));
  }
  return latest;
}

}  // namespace txoutbox::postgres
