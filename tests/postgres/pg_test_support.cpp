// Shared helpers for PostgreSQL tests: the server URL, a fresh migrated schema per test.
#include "pg_test_support.hpp"

#include <catch2/catch.hpp>

#include "txoutbox/postgres/migrate.hpp"
#include "txoutbox/testing/servers.hpp"

namespace txoutbox::testing::pg {

std::string server_url() {
  if (auto url = testing::server_url("pg", "TXOUTBOX_TEST_PG_URL"))
    return *url;
  if (running_under_ci())
    FAIL("no PostgreSQL test server: set TXOUTBOX_TEST_PG_URL or run under ctest");
  WARN("skipped: no PostgreSQL test server (set TXOUTBOX_TEST_PG_URL)");
  return {};
}

std::unique_ptr<pqxx::connection> connect() {
  const auto url = server_url();
  REQUIRE_FALSE(url.empty());
  return std::make_unique<pqxx::connection>(url);
}

schema_fixture::schema_fixture(std::uint32_t partitions_, std::string_view prefix)
    : url(server_url()), schema(unique_name(prefix)), partitions(partitions_) {
  REQUIRE_FALSE(url.empty());
  conn = std::make_unique<pqxx::connection>(url);
  postgres::migrate(*conn, {.schema = schema, .partitions = partitions});
}

schema_fixture::~schema_fixture() {
  // A fresh connection: `conn` may be broken by the test (terminated backend, say).
  try {
    pqxx::connection cleanup(url);
    pqxx::nontransaction tx(cleanup);
    tx.exec0("DROP SCHEMA IF EXISTS " + quoted() + " CASCADE");
  } catch (...) {
    // A leftover schema only costs disk on the throwaway test server.
  }
}

std::string schema_fixture::quoted() const {
  return "\"" + schema + "\"";
}

std::string schema_fixture::table(std::string_view name) const {
  return quoted() + "." + std::string(name);
}

postgres::writer_options schema_fixture::writer_options(bool notify) const {
  return {.schema = schema, .notify = notify, .validation = {}};
}

pqxx::result schema_fixture::exec(const std::string& sql) {
  pqxx::nontransaction tx(*conn);
  return tx.exec(sql);
}

long long schema_fixture::count_outbox() {
  return count("outbox");
}

long long schema_fixture::count(std::string_view table_name) {
  return exec("SELECT count(*) FROM " + table(table_name))[0][0].as<long long>();
}

}  // namespace txoutbox::testing::pg
