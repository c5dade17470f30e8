// SOCI-MariaDB only: URLs, max_allowed_packet, migrations and store failure mapping.
// The writer and inbox behaviours every backend shares are in tests/conformance/.
#include <catch2/catch.hpp>

#include <future>
#include <vector>

#include "owner_lock_check.hpp"
#include "server_support.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/soci/migrate.hpp"
#include "txoutbox/soci/store.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/soci/writer.hpp"
#include "txoutbox/testing/servers.hpp"

using txoutbox::testing::soci_server::kind;
using txoutbox::testing::soci_server::make_message;
using txoutbox::testing::soci_server::server_db;

namespace {

constexpr auto mysql = kind::mysql;

std::shared_ptr<txoutbox::store> store_on(
    const server_db& db, std::size_t pool = 4,
    std::chrono::milliseconds busy = std::chrono::seconds(5)) {
  return txoutbox::soci::make_store(
      txoutbox::soci::store_options{.url = db.url, .pool_size = pool, .busy_timeout = busy});
}

}  // namespace

TEST_CASE("soci mariadb url becomes a SOCI connect string", "[mysql][url]") {
  const auto t = txoutbox::soci::parse_url(
      "mysql://app:p%40ss%20word@db.example:3307/orders?unix_socket=/run/my.sock");
  REQUIRE(t.backend == "mysql");
  REQUIRE(t.connect ==
          "db=orders user=app password='p@ss word' host=db.example port=3307 "
          "unix_socket=/run/my.sock charset=utf8mb4");
  REQUIRE_THROWS_AS(txoutbox::soci::parse_url("mysql://host:3306"), txoutbox::usage_error);
  REQUIRE_THROWS_AS(txoutbox::soci::parse_url("mysql://host:port/db"), txoutbox::usage_error);
  REQUIRE_THROWS_AS(txoutbox::soci::parse_url("mysql:host/db"), txoutbox::usage_error);
}

TEST_CASE("soci mariadb url with a NUL byte is refused, not cut short", "[mysql][url]") {
  // SOCI hands the connect string on as a C string: what follows a NUL would be dropped.
  using namespace std::string_literals;
  REQUIRE_THROWS_AS(txoutbox::soci::parse_url("mysql://app:pa\0ss@db/orders"s),
                    txoutbox::usage_error);
}

TEST_CASE("soci mariadb url part with a form feed cannot add a connect-string key",
          "[mysql][url]") {
  // SOCI ends an unquoted value at \v or \f as at a space: unquoted, this host would set
  // port=1.
  const auto t = txoutbox::soci::parse_url("mysql://app@db%0Cport=1/orders");
  REQUIRE(t.connect == "db=orders user=app host='db\fport=1' charset=utf8mb4");
}

TEST_CASE("soci mariadb writer splits a large batch below max_allowed_packet", "[mysql][writer]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  server_db db(mysql);
  auto s = db.open();
  long long packet = 0;
  *s << "SELECT @@max_allowed_packet", ::soci::into(packet);
  const txoutbox::soci::writer w;
  std::vector<txoutbox::message> batch;
  const std::string filler(800'000, 'x');
  // More bytes in one batch than one statement may carry.
  const auto count = static_cast<int>(packet / 800'000) + 4;
  for (int i = 0; i < count; ++i) {
    auto m = make_message("big", i);
    m.payload = R"({"n":)" + std::to_string(i) + R"(,"fill":")" + filler + "\"}";
    batch.push_back(std::move(m));
  }
  txoutbox::soci::write_transaction tx(*s);
  REQUIRE(w.enqueue(*s, batch).size() == batch.size());
  tx.commit();
  REQUIRE(db.count("outbox") == count);
}

TEST_CASE("soci mariadb migrate is idempotent and keeps the partition count", "[mysql][migrate]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  server_db db(mysql, 4, false);
  auto s = db.open();
  REQUIRE(txoutbox::soci::schema_version(*s) == 0);
  const auto first = txoutbox::soci::migrate(*s, {.schema = {}, .partitions = 4});
  REQUIRE(first.applied.size() == 1);
  REQUIRE(first.version == txoutbox::soci::latest_schema_version(*s));
  const auto again = txoutbox::soci::migrate(*s, {.schema = {}, .partitions = 4});
  REQUIRE(again.applied.empty());
  REQUIRE(txoutbox::soci::schema_version(*s) == first.version);
  REQUIRE(db.count("outbox_lease") == 4);
  try {
    txoutbox::soci::migrate(*s, {.schema = {}, .partitions = 8});
    FAIL("a different partition count was accepted");
  } catch (const txoutbox::error& e) {
    REQUIRE(e.code() == txoutbox::errc::config_mismatch);
  }
  // The named lock was released: another session can migrate at once.
  auto other = db.open();
  REQUIRE(txoutbox::soci::migrate(*other, {.schema = {}, .partitions = 4}).applied.empty());
  // A transaction in progress is refused (DDL would commit it).
  txoutbox::soci::write_transaction tx(*s);
  REQUIRE_THROWS_AS(txoutbox::soci::migrate(*s), txoutbox::usage_error);
}

TEST_CASE("soci mariadb concurrent migrations apply each file once", "[mysql][migrate]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  server_db db(mysql, 4, false);
  constexpr int runners = 4;
  std::vector<std::future<std::size_t>> runs;
  for (int i = 0; i < runners; ++i) {
    runs.push_back(std::async(std::launch::async, [&db] {
      auto s = db.open();
      return txoutbox::soci::migrate(*s, {.schema = {}, .partitions = 4}).applied.size();
    }));
  }
  std::size_t applied = 0;
  for (auto& r : runs)
    applied += r.get();
  REQUIRE(applied == 1);
  REQUIRE(db.count("outbox_schema_version") == 1);
  REQUIRE(db.count("outbox_lease") == 4);
}

TEST_CASE("soci mariadb migrate into a named database creates it", "[mysql][migrate]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  server_db home(mysql, 4, false);
  const auto other = txoutbox::testing::unique_name("socix");
  auto s = home.open();
  txoutbox::soci::migrate(*s, {.schema = other, .partitions = 2});
  REQUIRE(txoutbox::soci::schema_version(*s, other) == 1);
  const auto store = txoutbox::soci::make_store({.url = home.url, .schema = other});
  REQUIRE(store->partition_count() == 2);
  *s << "DROP DATABASE `" + other + "`";
}

TEST_CASE("soci mariadb store on an unmigrated database says so", "[mysql][store]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  server_db db(mysql, 4, false);
  try {
    store_on(db);
    FAIL("store on an empty database was created");
  } catch (const txoutbox::error& e) {
    REQUIRE(e.code() == txoutbox::errc::not_migrated);
  }
}

TEST_CASE("soci mariadb store maps a lock wait timeout to a transient error", "[mysql][store]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  server_db db(mysql, 2);
  const auto store = store_on(db, 2, std::chrono::milliseconds(1000));
  auto blocker = db.open();
  txoutbox::soci::write_transaction tx(*blocker);
  long long locked = 0;
  *blocker << "SELECT partition_no FROM outbox_lease WHERE partition_no = 0 FOR UPDATE",
      ::soci::into(locked);
  try {
    store->acquire("relay-a", 0, std::chrono::seconds(30));
    FAIL("acquire went through a held row lock");
  } catch (const txoutbox::transient_error& e) {
    REQUIRE(e.code() == txoutbox::errc::timeout);
    // The message names the MariaDB error, never SOCI's text with bound values.
    REQUIRE(std::string(e.what()).find("1205") != std::string::npos);
    REQUIRE(std::string(e.what()).find("relay-a") == std::string::npos);
  }
  tx.rollback();
  REQUIRE(store->acquire("relay-a", 0, std::chrono::seconds(30)).has_value());
}

TEST_CASE("soci mariadb store survives a killed connection by rebuilding its session",
          "[mysql][store]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  server_db db(mysql, 2);
  const auto store = store_on(db, 1);
  REQUIRE(store->stats().backlog == 0);
  auto admin = db.open();
  long long own = 0;
  *admin << "SELECT CONNECTION_ID()", ::soci::into(own);
  std::vector<long long> ids(16);
  *admin << "SELECT id FROM information_schema.processlist WHERE db = :d AND id <> :me",
      ::soci::use(db.name), ::soci::use(own), ::soci::into(ids);
  REQUIRE(ids.size() == 1);  // the store's single pooled session
  *admin << "KILL CONNECTION " + std::to_string(ids[0]);
  bool transient = false;
  try {
    store->stats();
  } catch (const txoutbox::transient_error& e) {
    transient = e.code() == txoutbox::errc::connection_failed;
  }
  REQUIRE(transient);
  // The broken session was dropped: the next call opens a new one.
  REQUIRE(store->stats().backlog == 0);
}

TEST_CASE("soci mariadb owner lock refuses a second holder until released",
          "[mysql][store][owner]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  server_db db(mysql, 1);
  auto a = store_on(db);
  auto b = store_on(db);
  txoutbox::testing::owner_lock_refuses_a_second_holder_until_released(*a, *b);
}
