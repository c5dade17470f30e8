// The MariaDB dialect (SOCI "mysql"): DATETIME(6) UTC times, generated partitions, GET_LOCK.
#include <soci/mysql/soci-mysql.h>
#include <soci/soci.h>

#include <algorithm>
#include <typeinfo>

#include "dialect.hpp"
#include "owner_lock.hpp"
#include "txoutbox/identifier.hpp"
#include "url.hpp"

namespace txoutbox::soci::detail {
namespace {

/// The database clock: UTC_TIMESTAMP(6) is fixed for one statement. Times are counted from
/// '1970-01-01' with TIMESTAMPDIFF, which ignores the session time zone. No colon may
/// appear in this SQL: SOCI's MariaDB backend reads ":word" as a parameter.
constexpr std::string_view now_expr = "UTC_TIMESTAMP(6)";

std::string ms_since_epoch(std::string_view expr) {
  return "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01', " + std::string(expr) + ") DIV 1000)";
}

MYSQL* native(::soci::session& session) {
  // static_cast after the name check: libsoci_mysql does not export the backend's typeinfo.
  auto* base = session.get_backend();
  auto* backend = base != nullptr && session.get_backend_name() == "mysql"
                      ? static_cast<::soci::mysql_session_backend*>(base)
                      : nullptr;
  if (backend == nullptr || backend->conn_ == nullptr) {
    throw usage_error(errc::invalid_argument, "session", "session: not an open MariaDB session");
  }
  return backend->conn_;
}

/// The GET_LOCK name serialising migrations of `schema` (at most 64 characters).
std::string lock_name(const std::string& schema) {
  static constexpr char digits[] = "0123456789abcdef";
  auto key = static_cast<unsigned long long>(migration_lock_key(schema));
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i, key >>= 4)
    hex[static_cast<std::size_t>(i)] = digits[key & 0xf];
  return "txoutbox_migrate_" + hex;
}

/// The error number of a MariaDB failure, 0 when `e` is not one.
unsigned int error_number(const std::exception& e) {
  if (const auto* my = dynamic_cast<const ::soci::mysql_soci_error*>(&e))
    return my->err_num_;
  return 0;
}

class mysql_dialect_impl final : public dialect {
 public:
  std::string_view backend() const noexcept override { return "mysql"; }

  std::span<const txoutbox::detail::migration_file> migrations() const override {
    return txoutbox::detail::migrations_mysql();
  }

  // The schema is a database: the session's current one by default.
  std::string default_schema() const override { return {}; }
  std::string session_schema(::soci::session& session) const override {
    std::string name;
    ::soci::indicator ind = ::soci::i_ok;
    session << "SELECT DATABASE()", ::soci::into(name, ind);
    return ind == ::soci::i_ok ? name : std::string();
  }
  std::string target_schema(const std::string& target) const override {
    return connect_get(target, "db");
  }
  std::uint32_t default_partitions() const noexcept override { return 16; }

  std::string quote(std::string_view identifier) const override {
    return quote_identifier(identifier, '`');
  }

  std::string now_ms() const override { return ms_since_epoch(now_expr); }
  std::string now_plus_ms(std::string_view ms_expr) const override {
    return "TIMESTAMPADD(MICROSECOND, (" + std::string(ms_expr) + ") * 1000, " +
           std::string(now_expr) + ")";
  }
  std::string as_ms(std::string_view column) const override { return ms_since_epoch(column); }

  bool writer_sets_partition() const noexcept override { return false; }
  // 8 values a row: far below the 65,535-placeholder limit of server-side statements.
  std::size_t max_rows_per_insert() const noexcept override { return 1000; }
  // SOCI splices escaped values into the text (up to twice their size): 4 MiB of values
  // stays below MariaDB's default max_allowed_packet of 16 MiB.
  std::size_t max_bytes_per_insert() const noexcept override { return 4u << 20; }

  std::string inbox_insert(const std::string& table) const override {
    return "INSERT INTO " + table + " (consumer, message_id) VALUES (:c, :m)";
  }
  bool is_duplicate_key(const std::exception& e) const noexcept override {
    return error_number(e) == 1062;  // ER_DUP_ENTRY
  }
  std::string inbox_purge(const std::string& table) const override {
    return "DELETE FROM " + table + " WHERE processed_at < TIMESTAMPADD(SECOND, -(:age), " +
           std::string(now_expr) + ") ORDER BY processed_at LIMIT :lim";
  }

  bool in_transaction(::soci::session& session) const override {
    return (native(session)->server_status & SERVER_STATUS_IN_TRANS) != 0;
  }
  void begin_write(::soci::session& session) const override { session << "START TRANSACTION"; }

  std::string table_exists_sql(const std::string&) const override {
    return "SELECT count(*) FROM information_schema.tables WHERE table_schema = :s "
           "AND table_name = :n";
  }

  void before_migrate(::soci::session& session, const std::string& schema) const override {
    // DDL commits implicitly, so a transaction cannot serialise migrations: a named lock
    // held by this session can (released in after_migrate, or when the session closes).
    const auto name = lock_name(schema);
    int got = 0;
    ::soci::indicator ind = ::soci::i_ok;
    session << "SELECT GET_LOCK(:n, 300)", ::soci::use(name), ::soci::into(got, ind);
    if (ind != ::soci::i_ok || got != 1) {
      throw error(errc::timeout,
                  "migrate: another migration of " + schema + " held its lock for 300 s", true);
    }
    session << "CREATE DATABASE IF NOT EXISTS " + quote(schema) +
                   " CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin";
  }
  void after_migrate(::soci::session& session, const std::string& schema) const noexcept override {
    try {
      const auto name = lock_name(schema);
      int released = 0;
      ::soci::indicator ind = ::soci::i_ok;
      session << "SELECT RELEASE_LOCK(:n)", ::soci::use(name), ::soci::into(released, ind);
    } catch (...) {
      // A broken session has lost its locks already.
    }
  }
  std::string version_table_ddl(const std::string& table) const override {
    return "CREATE TABLE IF NOT EXISTS " + table +
           " (version INT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, "
           "checksum CHAR(32) NOT NULL, applied_at DATETIME(6) NOT NULL DEFAULT (" +
           std::string(now_expr) + ")) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4";
  }

  std::string make_target(std::string_view rest) const override {
    static constexpr std::string_view example = "mysql://user:password@host:port/database";
    const auto url = parse_server_url(rest, example);
    if (url.database.empty()) {
      throw usage_error(errc::malformed_input, "url",
                        "url: no database (expected " + std::string(example) + ")");
    }
    std::string target = "db=" + connect_value(url.database, "database");
    if (!url.user.empty())
      target += " user=" + connect_value(url.user, "user");
    if (!url.password.empty())
      target += " password=" + connect_value(url.password, "password");
    if (!url.host.empty())
      target += " host=" + connect_value(url.host, "host");
    if (!url.port.empty())
      target += " port=" + url.port;
    bool charset = false;
    for (const auto& [key, value] : url.params) {
      // SOCI's own options (unix_socket, sslca, connect_timeout, ...) pass through.
      if (key.empty() || key.find_first_of(" \t='\"") != std::string::npos) {
        throw usage_error(errc::malformed_input, "url", "url: bad query parameter name");
      }
      charset = charset || key == "charset";
      target += " " + key + "=" + connect_value(value, key);
    }
    if (!charset)
      target += " charset=utf8mb4";
    return target;
  }

  std::unique_ptr<::soci::session> open(const std::string& target,
                                        std::chrono::milliseconds busy_timeout) const override {
    auto session = std::make_unique<::soci::session>(::soci::mysql, target);
    // READ COMMITTED: the store's short transactions take no gap locks (fewer deadlocks);
    // each statement sees what is committed when it starts.
    *session << "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";
    const long long wait_s = std::max<long long>(1, (busy_timeout.count() + 999) / 1000);
    *session << "SET SESSION innodb_lock_wait_timeout = " + std::to_string(wait_s);
    return session;
  }

  std::unique_ptr<owner_lock> lock_owner(const std::string& target, const std::string& key,
                                         std::chrono::milliseconds busy_timeout) const override {
    auto session = open(target, busy_timeout);
    // GET_LOCK names are server-wide and at most 64 characters: the key's MD5 fits. The 2 s
    // wait covers a connection of a process killed a moment ago that the server has not
    // yet seen close.
    int locked = 0;
    ::soci::indicator ind = ::soci::i_ok;
    *session << "SELECT GET_LOCK(CONCAT('txoutbox-owner-', MD5(:k)), 2)", ::soci::use(key),
        ::soci::into(locked, ind);
    return ind == ::soci::i_ok && locked == 1 ? hold_session(std::move(session)) : nullptr;
  }

  std::string redact(const std::string& target) const override { return connect_redact(target); }

  std::string_view label() const noexcept override { return "mariadb"; }

  std::optional<failure> describe_native(const std::exception& e) const override {
    if (const auto* my = dynamic_cast<const ::soci::mysql_soci_error*>(&e)) {
      const unsigned n = my->err_num_;
      const auto text = [n](std::string_view what) {
        return "mariadb error " + std::to_string(n) + " (" + std::string(what) + ")";
      };
      switch (n) {
        case 1213:
          return failure{errc::timeout, true, text("deadlock")};
        case 1205:
          return failure{errc::timeout, true, text("lock wait timeout")};
        case 2002:
        case 2003:
        case 2005:
        case 2006:
        case 2013:
        case 2055:
        case 1040:
        case 1053:
        case 1927:
        case 4031:
          return failure{errc::connection_failed, true, text("connection lost or refused")};
        case 1044:
        case 1045:
          return failure{errc::connection_failed, false, text("access denied")};
        case 1049:
        case 1146:
          return failure{errc::not_migrated, false, text("unknown database or table")};
        case 1062:
          return failure{errc::internal, false, text("duplicate key")};
        default:
          return failure{errc::internal, false, text("statement failed")};
      }
    }
    return std::nullopt;
  }
};

}  // namespace

const dialect& mysql_dialect() {
  static const mysql_dialect_impl instance;
  return instance;
}

}  // namespace txoutbox::soci::detail
