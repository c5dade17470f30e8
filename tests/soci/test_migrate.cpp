// SOCI-SQLite migrations: idempotent, checked, and a plain INSERT is a valid enqueue.
#include <catch2/catch.hpp>

#include "sqlite_support.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/soci/migrate.hpp"
#include "txoutbox/soci/store.hpp"

using txoutbox::testing::sqlite::temp_db;

TEST_CASE("soci migrate is idempotent and records the version", "[soci][migrate]") {
  temp_db db(1, false);
  auto s = db.open();
  REQUIRE(txoutbox::soci::schema_version(*s) == 0);
  const auto first = txoutbox::soci::migrate(*s);
  REQUIRE(first.applied == std::vector<std::string>{"0001_outbox.sql"});
  REQUIRE(first.version == 1);
  const auto again = txoutbox::soci::migrate(*s);
  REQUIRE(again.applied.empty());
  REQUIRE(again.version == txoutbox::soci::latest_schema_version(*s));
  REQUIRE(txoutbox::soci::schema_version(*s) == txoutbox::soci::latest_schema_version(*s));
  std::string mode;
  *s << "PRAGMA journal_mode", soci::into(mode);
  REQUIRE(mode == "wal");
  long long partitions = 0;
  *s << "SELECT partitions FROM outbox_config", soci::into(partitions);
  REQUIRE(partitions == 1);  // the SQLite default
}

TEST_CASE("soci migrate refuses a different partition count", "[soci][migrate]") {
  temp_db db(4);
  auto s = db.open();
  REQUIRE(txoutbox::soci::migrate(*s, {.schema = {}, .partitions = 4}).applied.empty());
  try {
    txoutbox::soci::migrate(*s, {.schema = {}, .partitions = 8});
    FAIL("a different partition count was accepted");
  } catch (const txoutbox::error& e) {
    REQUIRE(e.code() == txoutbox::errc::config_mismatch);
  }
  REQUIRE_THROWS_AS(txoutbox::soci::migrate(*s, {.schema = "no such", .partitions = 4}),
                    txoutbox::usage_error);
}

TEST_CASE("soci migrate detects a changed migration by checksum", "[soci][migrate]") {
  temp_db db;
  auto s = db.open();
  *s << "UPDATE outbox_schema_version SET checksum = 'x'";
  try {
    txoutbox::soci::migrate(*s);
    FAIL("a changed checksum was accepted");
  } catch (const txoutbox::error& e) {
    REQUIRE(e.code() == txoutbox::errc::config_mismatch);
  }
}

TEST_CASE("soci store refuses an unmigrated database and bad urls", "[soci][migrate][store]") {
  temp_db db(1, false);
  try {
    txoutbox::soci::make_store({.url = db.url()});
    FAIL("an unmigrated database was accepted");
  } catch (const txoutbox::error& e) {
    REQUIRE(e.code() == txoutbox::errc::not_migrated);
  }
  REQUIRE_THROWS_AS(txoutbox::soci::make_store({.url = "sqlite::memory:"}), txoutbox::usage_error);
  REQUIRE_THROWS_AS(txoutbox::soci::make_store({.url = "oracle:x"}), txoutbox::usage_error);
  REQUIRE_THROWS_AS(txoutbox::soci::make_store({.url = "nothing"}), txoutbox::usage_error);
}

TEST_CASE("soci plain insert of the five columns is relayed from partition 0",
          "[soci][migrate][store]") {
  temp_db db;  // N = 1
  auto s = db.open();
  *s << "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES "
        "('0190b1a2-7c3d-7e4f-8a9b-0c1d2e3f4a5b', 'order', 'k', 'Placed', '{\"n\":1}')";
  *s << "INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES "
        "('order', 'k', 'Shipped', '{\"n\":2}')";
  auto store = txoutbox::soci::make_store({.url = db.url()});
  REQUIRE(store->acquire("relay", 0, std::chrono::seconds(30)).has_value());
  const std::vector<std::uint32_t> parts{0};
  const auto claimed = store->claim("relay", parts, {.rows = 10});
  REQUIRE(claimed.size() == 1);
  REQUIRE(claimed[0].records.size() == 2);  // the key's run, in insert order
  REQUIRE(claimed[0].records[0].msg.id.to_string() == "0190b1a2-7c3d-7e4f-8a9b-0c1d2e3f4a5b");
  REQUIRE(claimed[0].records[1].msg.type == "Shipped");
  REQUIRE(claimed[0].records[0].msg.headers.empty());
  const txoutbox::fence f{"relay", 0, claimed[0].epoch};
  const std::vector<txoutbox::outcome> done{{.id = claimed[0].records[0].msg.id,
                                             .what = txoutbox::outcome::action::published,
                                             .delay = {},
                                             .reason = {}}};
  REQUIRE(store->settle(f, done));
  const auto next = store->claim("relay", parts, {.rows = 10});
  REQUIRE(next.size() == 1);
  REQUIRE(next[0].records.size() == 1);
  REQUIRE(next[0].records[0].msg.type == "Shipped");  // its generated id parsed as a UUID
  REQUIRE_FALSE(next[0].records[0].msg.id.is_nil());
}
