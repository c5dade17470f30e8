// Chooses the dialect from SOCI's backend name; shared schema resolution and defaults.
#include "dialect.hpp"

#include <soci/soci.h>

#include <cstdint>
#include <typeinfo>
#include <utility>

#include "txoutbox/error.hpp"
#include "txoutbox/identifier.hpp"

namespace txoutbox::soci::detail {

std::string dialect::session_schema(::soci::session& session) const {
  (void)session;
  return default_schema();
}

std::string dialect::target_schema(const std::string& target) const {
  (void)target;
  return default_schema();
}

std::string dialect::version_table_ddl(const std::string& table) const {
  return "CREATE TABLE IF NOT EXISTS " + table +
         " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, "
         "applied_at BIGINT NOT NULL DEFAULT (" +
         now_ms() + "))";
}

void dialect::commit(::soci::session& session) const {
  session << "COMMIT";
}

void dialect::rollback(::soci::session& session) const {
  if (in_transaction(session))
    session << "ROLLBACK";
}

std::size_t dialect::count_tables(::soci::session& session, const std::string& schema,
                                  std::span<const std::string_view> names) const {
  const auto sql = table_exists_sql(schema);
  std::size_t found = 0;
  for (const auto name : names) {
    const std::string n(name);
    long long count = 0;
    session << sql, ::soci::use(schema, "s"), ::soci::use(n, "n"), ::soci::into(count);
    found += count > 0 ? 1 : 0;
  }
  return found;
}

failure dialect::describe(const std::exception& e) const {
  if (const auto* own = dynamic_cast<const txoutbox::error*>(&e))
    return failure{own->code(), own->transient(), own->what()};
  if (auto native = describe_native(e))
    return std::move(*native);
  const std::string name(label());
  if (const auto* generic = dynamic_cast<const ::soci::soci_error*>(&e)) {
    const bool connection = generic->get_error_category() == ::soci::soci_error::connection_error;
    return failure{
        connection ? errc::connection_failed : errc::internal, connection,
        name + ": " + (connection ? std::string(connect_failure()) : "statement failed")};
  }
  if (dynamic_cast<const std::bad_cast*>(&e) != nullptr)
    return failure{errc::internal, false, name + ": unexpected column type"};
  return failure{errc::internal, false, name + ": " + typeid(e).name()};
}

const dialect* dialect_for_scheme(std::string_view scheme) {
#ifdef TXOUTBOX_SOCI_HAVE_SQLITE3
  if (scheme == "sqlite" || scheme == "sqlite3")
    return &sqlite_dialect();
#endif
#ifdef TXOUTBOX_SOCI_HAVE_MYSQL
  if (scheme == "mysql" || scheme == "mariadb")
    return &mysql_dialect();
#endif
#ifdef TXOUTBOX_SOCI_HAVE_POSTGRESQL
  if (scheme == "postgresql" || scheme == "postgres")
    return &postgresql_dialect();
#endif
  (void)scheme;
  return nullptr;
}

const dialect& dialect_for(::soci::session& session) {
  if (session.get_backend() == nullptr) {
    throw usage_error(errc::invalid_argument, "session", "session: not connected");
  }
  const auto name = session.get_backend_name();
#ifdef TXOUTBOX_SOCI_HAVE_SQLITE3
  if (name == "sqlite3")
    return sqlite_dialect();
#endif
#ifdef TXOUTBOX_SOCI_HAVE_MYSQL
  if (name == "mysql")
    return mysql_dialect();
#endif
#ifdef TXOUTBOX_SOCI_HAVE_POSTGRESQL
  if (name == "postgresql")
    return postgresql_dialect();
#endif
  throw usage_error(errc::invalid_argument, "session",
                    "session: SOCI backend \"" + name + "\" is not supported by this build");
}

std::string resolve_schema(const dialect& d, const std::string& requested,
                           ::soci::session* session) {
  auto schema = requested;
  if (schema.empty())
    schema = session != nullptr ? d.session_schema(*session) : d.default_schema();
  if (schema.empty()) {
    throw usage_error(errc::invalid_argument, "schema",
                      "schema: none given and the connection has no current database");
  }
  check_identifier(schema, "schema");
  return schema;
}

}  // namespace txoutbox::soci::detail
