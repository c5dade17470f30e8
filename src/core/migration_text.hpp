// Dialect-neutral handling of shipped migration files: statement splitting, templating, checksums.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace txoutbox::detail {

/// One shipped migration file, embedded in the library at build time (static storage).
/// `name` is the file name ("0001_outbox.sql"); its leading digits are the version.
struct migration_file {
  std::string_view name;
  std::string_view sql;
};

/// The embedded migrations of one dialect, in file-name order. Defined in the source that
/// cmake/TxoutboxEmbed.cmake generates (one function per dialect the build embeds).
std::span<const migration_file> migrations_postgresql();
std::span<const migration_file> migrations_sqlite();  ///< SOCI-SQLite (src/soci)
std::span<const migration_file> migrations_mysql();   ///< SOCI-MariaDB (src/soci, when built)

/// The marker line that separates statements in a migration file.
inline constexpr std::string_view statement_marker = "-- txoutbox:statement";

/// Splits a migration into statements on lines that are exactly the marker (surrounding
/// whitespace ignored); never on semicolons, so function bodies survive. Statements that
/// hold only comments and blank lines are dropped. Each statement keeps its comments.
std::vector<std::string> split_statements(std::string_view sql);

/// Substitutes every {{schema}} with `quoted_schema` (already quoted for the dialect) and
/// every {{partitions}} with `partitions`. Other text is copied as is.
std::string render(std::string_view sql, std::string_view quoted_schema, std::uint32_t partitions);

/// The checksum recorded for a migration: md5 of the raw file text, 32 lower-case hex
/// digits (the same as `md5sum FILE`, so operators can check a file by hand).
std::string migration_checksum(std::string_view sql);

/// The version number of a migration file: its leading decimal digits ("0001_x.sql" -> 1).
/// 0 when the name does not start with a digit.
int migration_version(std::string_view name) noexcept;

/// The pg_advisory_xact_lock / GET_LOCK key that serialises migrations of one schema:
/// FNV-1a 64 of "txoutbox.migrate:" + schema, so different schemas migrate in parallel. The
/// libpqxx and SOCI backends must agree on it to serialise against each other.
long long migration_lock_key(std::string_view schema);

}  // namespace txoutbox::detail
