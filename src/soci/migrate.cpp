// Applies the embedded migrations of a SOCI dialect, one write transaction each.
#include "txoutbox/soci/migrate.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <map>
#include <string>

#include "dialect.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox::soci {
namespace {

/// Versions recorded in the version table: version -> checksum.
using applied_map = std::map<int, std::string>;

applied_map read_applied(::soci::session& session, const std::string& table) {
  applied_map applied;
  int version = 0;
  std::string checksum;
  ::soci::statement st = (session.prepare << "SELECT version, checksum FROM " + table,
                          ::soci::into(version), ::soci::into(checksum));
  st.execute();
  while (st.fetch())
    applied.emplace(version, checksum);
  return applied;
}

/// Checks the checksums of applied migrations and the stored partition count.
void verify(const detail::dialect& d, ::soci::session& session, const std::string& schema,
            const applied_map& applied, std::uint32_t partitions) {
  for (const auto& file : d.migrations()) {
    const auto it = applied.find(txoutbox::detail::migration_version(file.name));
    if (it == applied.end())
      continue;
    const auto expected = txoutbox::detail::migration_checksum(file.sql);
    if (it->second != expected) {
      throw error(errc::config_mismatch,
                  "migration " + std::string(file.name) + " was applied to " + schema +
                      " with checksum " + it->second + " but this library ships checksum " +
                      expected + ": the shipped file changed after it was applied");
    }
  }
  const std::string_view config[] = {"outbox_config"};
  if (d.count_tables(session, schema, config) == 0)
    return;
  long long stored = 0;
  session << "SELECT partitions FROM " + d.table(schema, "outbox_config"), ::soci::into(stored);
  if (stored != static_cast<long long>(partitions)) {
    throw error(errc::config_mismatch,
                "database has " + std::to_string(stored) + " partitions, asked for " +
                    std::to_string(partitions) + " (" + schema +
                    "); the count is fixed at the first migration and never changed implicitly");
  }
}

/// `statement` without its whole-line comments: SOCI's MariaDB and PostgreSQL backends read
/// ":word" as a bind parameter even inside a comment. The checksum still covers the file.
std::string without_comment_lines(const std::string& statement) {
  std::string out;
  std::size_t pos = 0;
  while (pos < statement.size()) {
    auto end = statement.find('\n', pos);
    if (end == std::string::npos)
      end = statement.size();
    const std::string_view line(statement.data() + pos, end - pos);
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line.substr(first, 2) != "--") {
      out.append(line);
      out.push_back('\n');
    }
    pos = end + 1;
  }
  return out;
}

/// Calls dialect::after_migrate on scope exit.
struct migrate_scope {
  const detail::dialect& d;
  ::soci::session& session;
  const std::string& schema;
  ~migrate_scope() { d.after_migrate(session, schema); }
};

/// Rolls back on scope exit unless committed.
struct write_scope {
  const detail::dialect& d;
  ::soci::session& session;
  bool open = true;
  write_scope(const detail::dialect& dialect, ::soci::session& s) : d(dialect), session(s) {
    d.begin_write(session);
  }
  void commit() {
    d.commit(session);
    open = false;
  }
  ~write_scope() {
    if (!open)
      return;
    try {
      d.rollback(session);
    } catch (...) {
      // Keep the original exception.
    }
  }
};

}  // namespace

migrate_result migrate(::soci::session& session, const migrate_options& options) {
  const auto& d = detail::dialect_for(session);
  const auto schema = detail::resolve_schema(d, options.schema, &session);
  const auto partitions = options.partitions == 0 ? d.default_partitions() : options.partitions;
  if (partitions > 4096) {
    throw usage_error(errc::invalid_argument, "partitions",
                      "partitions: " + std::to_string(partitions) + " is outside 1..4096");
  }
  if (d.in_transaction(session)) {
    throw usage_error(errc::invalid_argument, "session",
                      "session: a transaction is open; migrate commits its own transactions");
  }
  d.before_migrate(session, schema);
  const migrate_scope scope{d, session, schema};
  const auto version_table = d.table(schema, "outbox_schema_version");
  const auto files = d.migrations();

  migrate_result result;
  for (;;) {
    // The write lock (SQLite: BEGIN IMMEDIATE) serialises concurrent migrate() runs;
    // everything below is re-read under it.
    // MariaDB commits DDL implicitly: there GET_LOCK (before_migrate) serialises instead.
    write_scope tx(d, session);
    d.lock_migrations(session, schema);
    session << d.version_table_ddl(version_table);
    const auto applied = read_applied(session, version_table);
    verify(d, session, schema, applied, partitions);
    const auto next =
        std::find_if(files.begin(), files.end(), [&](const txoutbox::detail::migration_file& f) {
          return !applied.contains(txoutbox::detail::migration_version(f.name));
        });
    if (next == files.end()) {
      result.version = applied.empty() ? 0 : applied.rbegin()->first;
      tx.commit();
      return result;
    }
    const int version = txoutbox::detail::migration_version(next->name);
    // One statement per call: SOCI-SQLite silently runs only the first of several.
    for (const auto& statement : txoutbox::detail::split_statements(
             txoutbox::detail::render(next->sql, d.quote(schema), partitions))) {
      session << without_comment_lines(statement);
    }
    const std::string name(next->name);
    const auto checksum = txoutbox::detail::migration_checksum(next->sql);
    session << "INSERT INTO " + version_table + " (version, name, checksum) VALUES (:v, :n, :c)",
        ::soci::use(version), ::soci::use(name), ::soci::use(checksum);
    tx.commit();
    result.applied.push_back(name);
  }
}

int schema_version(::soci::session& session, const std::string& schema) {
  const auto& d = detail::dialect_for(session);
  const auto resolved = detail::resolve_schema(d, schema, &session);
  const std::string_view names[] = {"outbox_schema_version"};
  if (d.count_tables(session, resolved, names) == 0)
    return 0;
  int version = 0;
  ::soci::indicator ind = ::soci::i_ok;
  session << "SELECT max(version) FROM " + d.table(resolved, "outbox_schema_version"),
      ::soci::into(version, ind);
  return ind == ::soci::i_ok ? version : 0;
}

int latest_schema_version(::soci::session& session) {
  int latest = 0;
  for (const auto& file : detail::dialect_for(session).migrations())
    latest = std::max(latest, txoutbox::detail::migration_version(file.name));
  return latest;
}

}  // namespace txoutbox::soci
