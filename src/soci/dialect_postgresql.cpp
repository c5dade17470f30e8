// The PostgreSQL dialect over SOCI: the libpqxx backend's schema, lock key and NOTIFY channel.
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <chrono>
#include <thread>
#include <typeinfo>

#include "dialect.hpp"
#include "owner_lock.hpp"
#include "postgres/names.hpp"
#include "postgres/sqlstate.hpp"
#include "txoutbox/identifier.hpp"
#include "url.hpp"

namespace txoutbox::detail {
/// migrations/postgresql embedded into txoutbox_soci under its own name, so a program that
/// links txoutbox::postgres too has one definition of each.
std::span<const migration_file> migrations_postgresql_soci();
}  // namespace txoutbox::detail

namespace txoutbox::soci::detail {
namespace {

PGconn* native(::soci::session& session) {
  // static_cast after the name check: libsoci_postgresql does not export the backend's
  // typeinfo.
  auto* base = session.get_backend();
  auto* backend = base != nullptr && session.get_backend_name() == "postgresql"
                      ? static_cast<::soci::postgresql_session_backend*>(base)
                      : nullptr;
  if (backend == nullptr || backend->conn_ == nullptr) {
    throw usage_error(errc::invalid_argument, "session", "session: not an open PostgreSQL session");
  }
  return backend->conn_;
}

/// A libpq conninfo value: bare when plain, else single-quoted with \ and ' escaped.
std::string conninfo_value(const std::string& value) {
  // libpq ends an unquoted value at any isspace() character, \v and \f included.
  if (!value.empty() && value.find_first_of(" \t\n\v\f\r'\\") == std::string::npos)
    return value;
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\')
      out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

/// libpq's default notice processor prints NOTICEs to stderr: the store stays quiet.
void ignore_notice(void*, const char*) {}

class postgresql_dialect_impl final : public dialect {
 public:
  std::string_view backend() const noexcept override { return "postgresql"; }

  std::span<const txoutbox::detail::migration_file> migrations() const override {
    return txoutbox::detail::migrations_postgresql_soci();
  }

  // The libpqxx backend's default, so both find the same tables.
  std::string default_schema() const override { return "txoutbox"; }
  std::uint32_t default_partitions() const noexcept override { return 16; }

  std::string quote(std::string_view identifier) const override {
    return quote_identifier(identifier);
  }

  // now() is fixed for a transaction: one statement or one short store transaction sees
  // one instant, as in the libpqxx backend. No "::" casts: SOCI rewrites ":name".
  std::string now_ms() const override {
    return "CAST(floor(extract(epoch FROM now()) * 1000) AS bigint)";
  }
  std::string now_plus_ms(std::string_view ms_expr) const override {
    return "(now() + CAST(" + std::string(ms_expr) + " AS bigint) * interval '1 millisecond')";
  }
  // Clamped: a free lease's expires_at is '-infinity', which has no millisecond value.
  std::string as_ms(std::string_view column) const override {
    return "CAST(floor(greatest(least(extract(epoch FROM " + std::string(column) +
           "), 1e12), -1e12) * 1000) AS bigint)";
  }  /// jsonb columns: the bytes of the text the client receives.
  std::string byte_length(std::string_view column) const override {
    return "octet_length(" + std::string(column) + "::text)";
  }

  bool writer_sets_partition() const noexcept override { return false; }
  // 8 parameters a row: 8,000 per statement, far below the 65,535 limit.
  std::size_t max_rows_per_insert() const noexcept override { return 1000; }

  std::string notify_sql() const override { return "SELECT pg_notify(:ch, '')"; }
  std::string notify_channel(const std::string& schema) const override {
    return txoutbox::postgres::detail::notify_channel(schema);
  }

  std::string inbox_insert(const std::string& table) const override {
    return "INSERT INTO " + table +
           " (consumer, message_id) VALUES (:c, :m) ON CONFLICT DO NOTHING";
  }
  std::string inbox_purge(const std::string& table) const override {
    return "DELETE FROM " + table + " WHERE ctid IN (SELECT ctid FROM " + table +
           " WHERE processed_at < now() - CAST(:age AS bigint) * interval '1 second' "
           "LIMIT :lim)";
  }

  bool in_transaction(::soci::session& session) const override {
    const auto status = PQtransactionStatus(native(session));
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
  }
  void begin_write(::soci::session& session) const override { session << "BEGIN"; }

  std::string table_exists_sql(const std::string&) const override {
    return "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = :s AND tablename = :n";
  }

  void before_migrate(::soci::session& session, const std::string& schema) const override {
    (void)session;
    (void)schema;
  }
  void lock_migrations(::soci::session& session, const std::string& schema) const override {
    // The libpqxx backend's key: SOCI and libpqxx migrations of one schema serialise.
    const long long key = migration_lock_key(schema);
    int one = 0;
    session << "SELECT 1 FROM (SELECT pg_advisory_xact_lock(CAST(:k AS bigint))) l",
        ::soci::use(key), ::soci::into(one);
    // "already exists, skipping" notices are expected on every run after the first.
    session << "SET LOCAL client_min_messages = warning";
    session << "CREATE SCHEMA IF NOT EXISTS " + quote(schema);
  }
  std::string version_table_ddl(const std::string& table) const override {
    return "CREATE TABLE IF NOT EXISTS " + table +
           " (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, "
           "applied_at timestamptz NOT NULL DEFAULT now())";
  }

  std::string make_target(std::string_view rest) const override {
    const auto url = parse_server_url(rest, "postgresql://user:password@host:port/database");
    std::string target;
    auto add = [&target](std::string_view key, const std::string& value) {
      if (value.empty())
        return;
      if (!target.empty())
        target += ' ';
      target += std::string(key) + "=" + conninfo_value(value);
    };
    add("host", url.host);
    add("port", url.port);
    add("dbname", url.database);
    add("user", url.user);
    add("password", url.password);
    for (const auto& [key, value] : url.params) {
      if (key.empty() || key.find_first_of(" \t='\"\\") != std::string::npos) {
        throw usage_error(errc::malformed_input, "url", "url: bad query parameter name");
      }
      add(key, value);
    }
    return target;
  }

  std::unique_ptr<::soci::session> open(const std::string& target,
                                        std::chrono::milliseconds busy_timeout) const override {
    auto session = std::make_unique<::soci::session>(::soci::postgresql, target);
    PQsetNoticeProcessor(native(*session), &ignore_notice, nullptr);
    // A row lock held elsewhere fails the statement after the busy timeout (55P03,
    // transient) instead of blocking a relay thread indefinitely.
    *session << "SET lock_timeout = " + std::to_string(busy_timeout.count());
    return session;
  }

  std::unique_ptr<owner_lock> lock_owner(const std::string& target, const std::string& key,
                                         std::chrono::milliseconds busy_timeout) const override {
    auto session = open(target, busy_timeout);
    // A backend of a process killed a moment ago may not have seen its socket close yet:
    // retry for a short grace before calling the owner taken.
    int locked = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (;;) {
      *session << "SELECT CASE WHEN pg_try_advisory_lock(hashtextextended(:k, 0)) THEN 1 "
                  "ELSE 0 END",
          ::soci::use(key), ::soci::into(locked);
      if (locked == 1 || std::chrono::steady_clock::now() >= deadline)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return locked == 1 ? hold_session(std::move(session)) : nullptr;
  }

  std::string redact(const std::string& target) const override { return connect_redact(target); }

  std::string_view label() const noexcept override { return "postgresql"; }

  std::optional<failure> describe_native(const std::exception& e) const override {
    if (const auto* pg = dynamic_cast<const ::soci::postgresql_soci_error*>(&e)) {
      const auto state = pg->sqlstate();
      const auto cls = postgres::detail::classify_sqlstate(state);
      return failure{cls.code, cls.transient,
                     "postgresql sqlstate " + state + " (" + std::string(cls.meaning) + ")"};
    }
    return std::nullopt;
  }
};

}  // namespace

const dialect& postgresql_dialect() {
  static const postgresql_dialect_impl instance;
  return instance;
}

}  // namespace txoutbox::soci::detail
