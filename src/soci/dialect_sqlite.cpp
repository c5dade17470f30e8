// The SQLite dialect: integer-millisecond times, BEGIN IMMEDIATE, native-handle checks.
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <typeinfo>

#include "dialect.hpp"
#include "owner_lock.hpp"
#include "txoutbox/identifier.hpp"

namespace txoutbox::soci::detail {
namespace {

namespace api = ::sqlite_api;

/// The database clock in unix milliseconds, computed by SQLite ('now' is fixed for the
/// duration of one sqlite3_step, so one statement sees one instant).
constexpr std::string_view now_expr =
    "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)";

api::sqlite3* native(::soci::session& session) {
  // static_cast after the name check: libsoci_sqlite3 does not export the backend's typeinfo.
  auto* base = session.get_backend();
  auto* backend = base != nullptr && session.get_backend_name() == "sqlite3"
                      ? static_cast<::soci::sqlite3_session_backend*>(base)
                      : nullptr;
  if (backend == nullptr || backend->conn_ == nullptr) {
    throw usage_error(errc::invalid_argument, "session", "session: not an open SQLite session");
  }
  return backend->conn_;
}

class sqlite_dialect_impl final : public dialect {
 public:
  std::string_view backend() const noexcept override { return "sqlite3"; }

  std::span<const txoutbox::detail::migration_file> migrations() const override {
    return txoutbox::detail::migrations_sqlite();
  }

  std::string default_schema() const override { return "main"; }
  std::uint32_t default_partitions() const noexcept override { return 1; }

  std::string quote(std::string_view identifier) const override {
    return quote_identifier(identifier);
  }

  std::string now_ms() const override { return std::string(now_expr); }
  std::string now_plus_ms(std::string_view ms_expr) const override {
    return "(" + std::string(now_expr) + " + (" + std::string(ms_expr) + "))";
  }
  std::string as_ms(std::string_view column) const override { return std::string(column); }
  /// length() of TEXT counts characters; of a BLOB, bytes.
  std::string byte_length(std::string_view column) const override {
    return "length(CAST(" + std::string(column) + " AS BLOB))";
  }

  bool writer_sets_partition() const noexcept override { return true; }
  std::size_t max_rows_per_insert() const noexcept override { return 1000; }

  std::string inbox_insert(const std::string& table) const override {
    return "INSERT OR IGNORE INTO " + table + " (consumer, message_id) VALUES (:c, :m)";
  }
  std::string inbox_purge(const std::string& table) const override {
    return "DELETE FROM " + table + " WHERE rowid IN (SELECT rowid FROM " + table +
           " WHERE processed_at < " + now_ms() + " - :age * 1000 LIMIT :lim)";
  }

  bool in_transaction(::soci::session& session) const override {
    return api::sqlite3_get_autocommit(native(session)) == 0;
  }
  void begin_write(::soci::session& session) const override { session << "BEGIN IMMEDIATE"; }

  std::string table_exists_sql(const std::string& schema) const override {
    // :s is bound but unused: SQLite names the schema in the table's qualifier.
    return "SELECT count(*) FROM " + quote(schema) +
           ".sqlite_master WHERE type = 'table' AND name = :n AND :s = :s";
  }

  void before_migrate(::soci::session& session, const std::string& schema) const override {
    (void)schema;
    // Persistent in the file: readers never block the writer and vice versa.
    std::string mode;
    session << "PRAGMA journal_mode = WAL", ::soci::into(mode);
  }

  std::unique_ptr<::soci::session> open(const std::string& target,
                                        std::chrono::milliseconds busy_timeout) const override {
    // Without '=' SOCI takes the whole string as the file name (spaces included).
    auto session = std::make_unique<::soci::session>(::soci::sqlite3, target);
    api::sqlite3_busy_timeout(native(*session), static_cast<int>(busy_timeout.count()));
    std::string mode;
    *session << "PRAGMA journal_mode = WAL", ::soci::into(mode);
    *session << "PRAGMA synchronous = NORMAL";
    return session;
  }

  std::string make_target(std::string_view rest) const override {
    std::string target(rest);
    if (target.starts_with("//"))
      target = target.substr(2);
    if (target.empty() || target == ":memory:" || target.find('=') != std::string::npos ||
        target.find('\0') != std::string::npos) {
      throw usage_error(errc::invalid_argument, "url",
                        "url: sqlite:PATH needs a file path without '=' (not :memory:)");
    }
    return target;
  }

  // The target is the database file's path: the lock file lives beside it.
  std::unique_ptr<owner_lock> lock_owner(const std::string& target, const std::string& key,
                                         std::chrono::milliseconds) const override {
    return lock_file(target, key);
  }

  std::string redact(const std::string& target) const override { return target; }

  std::string_view label() const noexcept override { return "sqlite"; }
  std::string_view connect_failure() const noexcept override { return "cannot open the database"; }

  std::optional<failure> describe_native(const std::exception& e) const override {
    if (const auto* lite = dynamic_cast<const ::soci::sqlite3_soci_error*>(&e)) {
      const int code = lite->result();
      const int primary = code & 0xff;
      const std::string text = std::string("sqlite error ") + std::to_string(code) + " (" +
                               api::sqlite3_errstr(code) + ")";
      switch (primary) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
          return failure{errc::timeout, true, text};
        case SQLITE_CANTOPEN:
          return failure{errc::connection_failed, true, text};
        case SQLITE_IOERR:
        case SQLITE_FULL:
        case SQLITE_PROTOCOL:
          return failure{errc::io_failure, true, text};
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
          return failure{errc::io_failure, false, text};
        default:
          return failure{errc::internal, false, text};
      }
    }
    return std::nullopt;
  }
};

}  // namespace

const dialect& sqlite_dialect() {
  static const sqlite_dialect_impl instance;
  return instance;
}

}  // namespace txoutbox::soci::detail
