// The dialect seam of the SOCI backend: what differs between SQLite, MariaDB and PostgreSQL.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/migration_text.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/store.hpp"

namespace soci {
class session;
}

namespace txoutbox::soci::detail {

/// A database failure reduced to what may be shown: a code, whether retrying may help,
/// and a short text naming the backend's error (never SOCI's what(), which embeds the
/// statement's bound values).
struct failure {
  errc code = errc::internal;
  bool transient = false;
  std::string text;
};

/// Everything the writer, inbox, migrations and store need to know about one backend.
/// Each backend is one dialect_<name>.cpp defining one instance; the generic code builds
/// its SQL from these pieces and never names a backend. Stateless and thread-safe.
///
/// Time: the generic SQL keeps every time on the database clock through now_ms(),
/// now_plus_ms() and as_ms(), so a backend may store times as integers (SQLite) or as
/// timestamps (servers).
class dialect {
 public:
  virtual ~dialect() = default;

  /// SOCI's backend name: "sqlite3", "mysql", "postgresql".
  virtual std::string_view backend() const noexcept = 0;
  /// The embedded migrations of this dialect, in apply order.
  virtual std::span<const txoutbox::detail::migration_file> migrations() const = 0;
  /// The schema used when the options leave it empty; "" when it depends on the
  /// connection (MariaDB: the current database, see session_schema / target_schema).
  virtual std::string default_schema() const = 0;
  /// The default schema for work on `session` (MariaDB: SELECT DATABASE()).
  virtual std::string session_schema(::soci::session& session) const;
  /// The default schema for a store on `target` (MariaDB: the URL's database).
  virtual std::string target_schema(const std::string& target) const;
  /// The SOCI connect string for the URL text after "<scheme>:"; usage_error naming "url"
  /// when it is malformed.
  virtual std::string make_target(std::string_view rest) const = 0;
  /// The partition count used when migrate_options::partitions is 0.
  virtual std::uint32_t default_partitions() const noexcept = 0;
  /// `identifier` (already validated) quoted for this dialect.
  virtual std::string quote(std::string_view identifier) const = 0;
  /// schema.table with the schema quoted (`table` is one of our fixed, lower-case names).
  std::string table(std::string_view schema, std::string_view name) const {
    return quote(schema) + "." + std::string(name);
  }

  /// The database clock as integer unix milliseconds (an SQL expression).
  virtual std::string now_ms() const = 0;
  /// A stored time value: database now + `ms_expr` milliseconds (an SQL expression).
  virtual std::string now_plus_ms(std::string_view ms_expr) const = 0;
  /// A stored time column read as integer unix milliseconds (an SQL expression).
  virtual std::string as_ms(std::string_view column) const = 0;
  /// The bytes of a stored text column (an SQL expression), for the claim's byte budget.
  /// Default: octet_length(column) (MariaDB; SQLite before 3.43 lacks it).
  virtual std::string byte_length(std::string_view column) const {
    return "octet_length(" + std::string(column) + ")";
  }

  /// True when the database cannot compute the partition: the writer then binds the
  /// aggregate id's 32-bit hash and the INSERT takes it modulo the stored count.
  virtual bool writer_sets_partition() const noexcept = 0;
  /// Most rows per multi-row INSERT (bound parameters per row: 8).
  virtual std::size_t max_rows_per_insert() const noexcept = 0;
  /// Bytes of bound values per multi-row INSERT before the writer starts a new statement
  /// (0: no cap). MariaDB: SOCI splices the values into the text, bounded by
  /// max_allowed_packet.
  virtual std::size_t max_bytes_per_insert() const noexcept { return 0; }
  /// A statement queued after the writer's INSERT in the same transaction, with one
  /// parameter (:ch, the channel), or "" (PostgreSQL: pg_notify so LISTENing relays wake).
  virtual std::string notify_sql() const { return {}; }
  /// The NOTIFY channel of `schema` (the libpqxx backend's channel: the relays interoperate).
  virtual std::string notify_channel(const std::string& schema) const { return schema; }
  /// The inbox INSERT for (consumer, message_id), two parameters; its affected-row count
  /// is 1 for a new pair and 0 for a duplicate, or a duplicate makes it throw an error that
  /// is_duplicate_key() recognises (MariaDB: 1062, which leaves the transaction usable).
  virtual std::string inbox_insert(const std::string& table) const = 0;
  /// Whether `e` (thrown by inbox_insert) is a duplicate-key violation.
  virtual bool is_duplicate_key(const std::exception& e) const noexcept {
    (void)e;
    return false;
  }
  /// Deletes at most :lim rows older than :age seconds (parameters :age, :lim).
  virtual std::string inbox_purge(const std::string& table) const = 0;

  /// Whether `session` has a transaction open, asked of the native handle.
  virtual bool in_transaction(::soci::session& session) const = 0;
  /// Begins a transaction that will write (SQLite: BEGIN IMMEDIATE).
  virtual void begin_write(::soci::session& session) const = 0;
  /// Ends the open transaction: COMMIT; ROLLBACK only when one is open.
  void commit(::soci::session& session) const;
  void rollback(::soci::session& session) const;

  /// How many of `names` exist as tables in `schema` (asked with table_exists_sql()).
  std::size_t count_tables(::soci::session& session, const std::string& schema,
                           std::span<const std::string_view> names) const;
  /// Per-database setup before migrating, outside a transaction (SQLite: WAL journal mode;
  /// MariaDB: GET_LOCK, CREATE DATABASE; PostgreSQL: CREATE SCHEMA).
  virtual void before_migrate(::soci::session& session, const std::string& schema) const = 0;
  /// Serialises migrations of `schema`, first thing in each migration transaction
  /// (PostgreSQL: pg_advisory_xact_lock with the libpqxx backend's key). Default: nothing
  /// (SQLite's BEGIN IMMEDIATE already serialises).
  virtual void lock_migrations(::soci::session& session, const std::string& schema) const {
    (void)session;
    (void)schema;
  }
  /// Undoes before_migrate's session state (MariaDB: RELEASE_LOCK). Never throws.
  virtual void after_migrate(::soci::session& session, const std::string& schema) const noexcept {
    (void)session;
    (void)schema;
  }
  /// CREATE TABLE IF NOT EXISTS for the migration version table `table`.
  virtual std::string version_table_ddl(const std::string& table) const;

  /// Opens a session for the store. `target` is the URL without its scheme.
  virtual std::unique_ptr<::soci::session> open(const std::string& target,
                                                std::chrono::milliseconds busy_timeout) const = 0;
  /// Takes the session-level lock named by `key` (owner_key()) without waiting: a lock
  /// held by a session opened here (advisory lock, GET_LOCK) or a lock file (SQLite).
  /// nullptr when another holder has it; driver exceptions pass through.
  virtual std::unique_ptr<owner_lock> lock_owner(const std::string& target, const std::string& key,
                                                 std::chrono::milliseconds busy_timeout) const = 0;
  /// `target` with any password removed, for messages.
  virtual std::string redact(const std::string& target) const = 0;

  /// Maps an exception thrown by a statement of this dialect: the library's own errors
  /// pass through, the driver's native errors go through describe_native(), SOCI's
  /// generic ones by category. Never includes bound values.
  failure describe(const std::exception& e) const;

 protected:
  /// The name used in error texts ("sqlite", "mariadb", "postgresql").
  virtual std::string_view label() const noexcept = 0;
  /// What a failed connect is called in error texts.
  virtual std::string_view connect_failure() const noexcept { return "cannot connect"; }
  /// One count(*) query with :s (schema) and :n (table name) that is 1 when the table exists.
  virtual std::string table_exists_sql(const std::string& schema) const = 0;
  /// The dialect's one error table, for the driver's native error type; nullopt when `e`
  /// is not of that type.
  virtual std::optional<failure> describe_native(const std::exception& e) const = 0;
};

/// The dialect of the session's backend; usage_error(invalid_argument) for a backend this
/// build does not support (unconnected sessions included).
const dialect& dialect_for(::soci::session& session);
/// The dialect for a URL scheme ("sqlite", "mysql", "postgresql"); nullptr when unknown
/// or not built.
const dialect* dialect_for_scheme(std::string_view scheme);

/// The schema `requested`, or the dialect's default when empty (asked of `session` when
/// given); validated (usage_error naming "schema").
std::string resolve_schema(const dialect& d, const std::string& requested,
                           ::soci::session* session = nullptr);

#ifdef TXOUTBOX_SOCI_HAVE_SQLITE3
const dialect& sqlite_dialect();
#endif
#ifdef TXOUTBOX_SOCI_HAVE_MYSQL
const dialect& mysql_dialect();
#endif
#ifdef TXOUTBOX_SOCI_HAVE_POSTGRESQL
const dialect& postgresql_dialect();
#endif

/// The migration lock key shared with the libpqxx backend (core/migration_text.hpp).
using txoutbox::detail::migration_lock_key;

}  // namespace txoutbox::soci::detail
