// PostgreSQL migrations: idempotence, concurrency, checksums, partition count, schema names.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>

#include "../../src/core/migration_text.hpp"
#include "pg_test_support.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"
#include "txoutbox/postgres/migrate.hpp"
#include "txoutbox/postgres/writer.hpp"
#include "txoutbox/testing/servers.hpp"

namespace pg = txoutbox::testing::pg;
using txoutbox::errc;
using txoutbox::postgres::migrate;
using txoutbox::postgres::schema_version;

namespace {

/// Drops a schema on destruction (for tests that migrate by hand rather than through the fixture).
struct schema_guard {
  std::string url;
  std::string schema;
  ~schema_guard() {
    try {
      pqxx::connection conn(url);
      pqxx::nontransaction tx(conn);
      tx.exec0("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
    } catch (...) {
    }
  }
};

bool schema_exists(pqxx::connection& conn, const std::string& schema) {
  pqxx::nontransaction tx(conn);
  return tx.exec_params1("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema)[0]
             .as<int>() == 1;
}

}  // namespace

TEST_CASE("migration text splits only on marker lines and drops comment-only statements",
          "[postgres][migrate]") {
  const auto statements = txoutbox::detail::split_statements(
      "-- header comment\n"
      "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; SELECT 2; $$ LANGUAGE sql\n"
      "  -- txoutbox:statement  \n"
      "-- only a comment\n"
      "\n"
      "-- txoutbox:statement\n"
      "SELECT 'a -- txoutbox:statement inside a line'\n");
  REQUIRE(statements.size() == 2);
  CHECK(statements[0].find("SELECT 1; SELECT 2;") != std::string::npos);
  CHECK(statements[1] == "SELECT 'a -- txoutbox:statement inside a line'");
  CHECK(txoutbox::detail::render("{{schema}}.t % {{partitions}} {{schema}}", "\"s\"", 7) ==
        "\"s\".t % 7 \"s\"");
  CHECK(txoutbox::detail::migration_checksum("abc") == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(txoutbox::detail::migration_version("0012_x.sql") == 12);
}

TEST_CASE("the embedded migrations are byte-identical to the shipped files",
          "[postgres][migrate]") {
  const auto files = txoutbox::detail::migrations_postgresql();
  REQUIRE(!files.empty());
  CHECK(txoutbox::postgres::latest_schema_version() ==
        txoutbox::detail::migration_version(files.back().name));
  const auto dir =
      std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "migrations" / "postgresql";
  for (const auto& file : files) {
    std::ifstream in(dir / std::string(file.name), std::ios::binary);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    CHECK(txoutbox::detail::migration_checksum(text.str()) ==
          txoutbox::detail::migration_checksum(file.sql));
  }
}

TEST_CASE("migrate creates the schema once and is idempotent", "[postgres][migrate]") {
  TXOUTBOX_REQUIRE_PG();
  const auto url = pg::server_url();
  const schema_guard guard{url, txoutbox::testing::unique_name("mig")};
  pqxx::connection conn(url);
  CHECK(schema_version(conn, guard.schema) == 0);
  CHECK_FALSE(schema_exists(conn, guard.schema));

  const auto first = migrate(conn, {.schema = guard.schema, .partitions = 8});
  CHECK(first.applied.size() ==
        static_cast<std::size_t>(txoutbox::postgres::latest_schema_version()));
  CHECK(first.applied.front() == "0001_outbox.sql");
  CHECK(first.version == txoutbox::postgres::latest_schema_version());
  CHECK(schema_version(conn, guard.schema) == first.version);

  const auto second = migrate(conn, {.schema = guard.schema, .partitions = 8});
  CHECK(second.applied.empty());
  CHECK(second.version == first.version);

  pqxx::nontransaction tx(conn);
  const auto q = "\"" + guard.schema + "\"";
  CHECK(tx.exec1("SELECT partitions FROM " + q + ".outbox_config")[0].as<int>() == 8);
  CHECK(tx.exec1("SELECT count(*) FROM " + q + ".outbox_lease")[0].as<int>() == 8);
  CHECK(tx.exec1("SELECT count(*) FROM " + q + ".outbox_schema_version")[0].as<int>() ==
        first.version);
  const auto checksum =
      tx.exec1("SELECT checksum FROM " + q + ".outbox_schema_version WHERE version = 1");
  CHECK(checksum[0].as<std::string>().size() == 32);
}

TEST_CASE("two connections migrating at once both succeed and apply each migration once",
          "[postgres][migrate][concurrency]") {
  TXOUTBOX_REQUIRE_PG();
  const auto url = pg::server_url();
  const schema_guard guard{url, txoutbox::testing::unique_name("race")};
  auto run = [&] {
    pqxx::connection conn(url);
    return migrate(conn, {.schema = guard.schema, .partitions = 4});
  };
  for (int round = 0; round < 3; ++round) {
    auto a = std::async(std::launch::async, run);
    auto b = std::async(std::launch::async, run);
    const auto ra = a.get();  // rethrows a failure on the test thread
    const auto rb = b.get();
    if (round == 0) {
      // Exactly one of them did the work.
      CHECK(ra.applied.size() + rb.applied.size() ==
            static_cast<std::size_t>(txoutbox::postgres::latest_schema_version()));
    } else {
      CHECK(ra.applied.empty());
      CHECK(rb.applied.empty());
    }
    CHECK(ra.version == rb.version);
  }
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  CHECK(tx.exec1("SELECT count(*) FROM \"" + guard.schema + "\".outbox_config")[0].as<int>() == 1);
  CHECK(tx.exec1("SELECT count(*) FROM \"" + guard.schema + "\".outbox_lease")[0].as<int>() == 4);
}

TEST_CASE("migrate detects a changed migration through its checksum", "[postgres][migrate]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx(2);
  fx.exec("UPDATE " + fx.table("outbox_schema_version") +
          " SET checksum = 'edited' WHERE version = 1");
  try {
    migrate(*fx.conn, {.schema = fx.schema, .partitions = 2});
    FAIL("migrate accepted a checksum mismatch");
  } catch (const txoutbox::error& e) {
    CHECK(e.code() == errc::config_mismatch);
    CHECK_THAT(e.what(), Catch::Contains("0001_outbox.sql") && Catch::Contains("checksum"));
  }
}

TEST_CASE("migrate refuses a partition count that differs from the database's",
          "[postgres][migrate]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx(4);
  try {
    migrate(*fx.conn, {.schema = fx.schema, .partitions = 16});
    FAIL("migrate accepted a different partition count");
  } catch (const txoutbox::error& e) {
    CHECK(e.code() == errc::config_mismatch);
    CHECK_THAT(e.what(), Catch::Contains("database has 4 partitions, asked for 16"));
  }
  CHECK(fx.exec("SELECT partitions FROM " + fx.table("outbox_config"))[0][0].as<int>() == 4);
  CHECK_NOTHROW(migrate(*fx.conn, {.schema = fx.schema, .partitions = 4}));
}

TEST_CASE("an invalid schema name or partition count is rejected before touching the database",
          "[postgres][migrate]") {
  TXOUTBOX_REQUIRE_PG();
  pqxx::connection conn(pg::server_url());
  for (const std::string& bad : std::vector<std::string>{
           "", "1abc", "a-b", "pg_reserved", "x\"; DROP SCHEMA public; --", std::string(64, 'a')}) {
    try {
      migrate(conn, {.schema = bad, .partitions = 4});
      FAIL("accepted schema name " << bad);
    } catch (const txoutbox::usage_error& e) {
      CHECK(e.code() == errc::invalid_identifier);
      CHECK(e.field() == "schema");
    }
  }
  for (const std::uint32_t bad : {0u, 4097u}) {
    try {
      migrate(conn, {.schema = "never_created_schema", .partitions = bad});
      FAIL("accepted partitions " << bad);
    } catch (const txoutbox::usage_error& e) {
      CHECK(e.field() == "partitions");
    }
  }
  CHECK_FALSE(schema_exists(conn, "never_created_schema"));
  CHECK_THROWS_AS(txoutbox::postgres::writer({.schema = "no way"}), txoutbox::usage_error);
}

TEST_CASE("a mixed-case schema name works end to end", "[postgres][migrate]") {
  TXOUTBOX_REQUIRE_PG();
  const auto url = pg::server_url();
  const schema_guard guard{url, "Ord_ers2_" + txoutbox::testing::unique_name("X")};
  pqxx::connection conn(url);
  migrate(conn, {.schema = guard.schema, .partitions = 3});
  CHECK(schema_exists(conn, guard.schema));  // quoted: the case is kept
  CHECK(schema_version(conn, guard.schema) == txoutbox::postgres::latest_schema_version());

  const txoutbox::postgres::writer writer({.schema = guard.schema});
  {
    pqxx::work tx(conn);
    writer.enqueue(tx, pg::make_message("order-7"));
    tx.commit();
  }
  pqxx::nontransaction tx(conn);
  const auto row =
      tx.exec1("SELECT aggregateid, partition_no FROM \"" + guard.schema + "\".outbox");
  CHECK(row[0].as<std::string>() == "order-7");
  CHECK(row[1].as<std::uint32_t>() == txoutbox::partition_of("order-7", 3));
}
