// SOCI-MariaDB: writer, inbox, migrations and store failure mapping on a real server.
#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "owner_lock_check.hpp"
#include "server_support.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"
#include "txoutbox/soci/inbox.hpp"
#include "txoutbox/soci/migrate.hpp"
#include "txoutbox/soci/store.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/soci/writer.hpp"
#include "txoutbox/testing/servers.hpp"
#include "txoutbox/testing/wait.hpp"

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

TEST_CASE("soci mariadb writer refuses a session with no open transaction", "[mysql][writer]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  server_db db(mysql);
  auto s = db.open();
  const txoutbox::soci::writer w;
  try {
    w.enqueue(*s, make_message("k"));
    FAIL("enqueue outside a transaction was accepted");
  } catch (const txoutbox::usage_error& e) {
    REQUIRE(e.code() == txoutbox::errc::no_transaction);
  }
  {
    txoutbox::soci::write_transaction tx(*s);
    w.enqueue(*s, make_message("k"));
    tx.commit();
  }
  // After the commit the server reports no transaction again.
  REQUIRE_THROWS_AS(w.enqueue(*s, make_message("k", 2)), txoutbox::usage_error);
  REQUIRE(db.count("outbox") == 1);
}

TEST_CASE("soci mariadb writer batch keeps order and the database computes the partition",
          "[mysql][writer]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  constexpr std::uint32_t n = 16;
  server_db db(mysql, n);
  auto s = db.open();
  const txoutbox::soci::writer w;
  std::vector<txoutbox::message> batch;
  for (int i = 0; i < 2500; ++i)  // more than one multi-row statement
    batch.push_back(make_message("key-" + std::to_string(i % 37) + "-é", i));
  txoutbox::soci::write_transaction tx(*s);
  const auto ids = w.enqueue(*s, batch);
  tx.commit();
  REQUIRE(ids.size() == batch.size());

  std::string id, key;
  long long partition = 0;
  ::soci::statement st = (s->prepare << "SELECT id, aggregateid, partition_no FROM outbox "
                                        "ORDER BY seq",
                          ::soci::into(id), ::soci::into(key), ::soci::into(partition));
  st.execute();
  std::size_t i = 0;
  bool order_matches = true, partitions_match = true;
  while (st.fetch()) {
    order_matches = order_matches && i < ids.size() && id == ids[i].to_string();
    partitions_match = partitions_match && partition == txoutbox::partition_of(key, n);
    ++i;
  }
  REQUIRE(i == batch.size());
  REQUIRE(order_matches);
  REQUIRE(partitions_match);
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

TEST_CASE("soci mariadb writer keeps payload bytes, headers and the delay on the database clock",
          "[mysql][writer]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  server_db db(mysql);
  auto s = db.open();
  const txoutbox::soci::writer w;
  auto m = make_message("k");
  m.payload = R"({"b":1.0,  "a":"caf\u00e9 ✓ 'q' \\ :x","a":2, "n":[1e2]})";
  m.headers = {{"traceparent", "00-abc-01"}, {"x-q", "say \"hi\""}};
  m.deliver_after = std::chrono::hours(1);
  txoutbox::soci::write_transaction tx(*s);
  const auto id = w.enqueue(*s, m);
  tx.commit();
  std::string payload, headers;
  long long delay = 0;
  const auto key = id.to_string();
  *s << "SELECT payload, headers, TIMESTAMPDIFF(MICROSECOND, created_at, available_at) DIV 1000 "
        "FROM outbox WHERE id = :id",
      ::soci::use(key), ::soci::into(payload), ::soci::into(headers), ::soci::into(delay);
  REQUIRE(payload == m.payload);
  REQUIRE(headers == R"({"traceparent":"00-abc-01","x-q":"say \"hi\""})");
  REQUIRE(delay >= 3'600'000 - 1000);
  REQUIRE(delay <= 3'600'000 + 1000);
}

TEST_CASE("soci mariadb plain INSERT of the five Debezium columns is a complete enqueue",
          "[mysql][writer][store]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  constexpr std::uint32_t n = 8;
  server_db db(mysql, n);
  auto s = db.open();
  const std::string id = "0190a0b0-0000-7000-8000-000000000001";
  *s << "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) "
        "VALUES (:i, 'order', 'order-42', 'OrderPlaced', '{\"n\": 1}')",
      ::soci::use(id);
  const auto store = store_on(db);
  const auto p = txoutbox::partition_of("order-42", n);
  REQUIRE(store->acquire("relay-a", p, std::chrono::seconds(30)).has_value());
  const std::uint32_t parts[] = {p};
  const auto claimed = store->claim("relay-a", parts, {.rows = 10});
  REQUIRE(claimed.size() == 1);
  REQUIRE(claimed[0].records.size() == 1);
  REQUIRE(claimed[0].records[0].msg.id.to_string() == id);
  REQUIRE(claimed[0].records[0].msg.payload == R"({"n": 1})");
  REQUIRE(claimed[0].records[0].msg.headers.empty());
}

TEST_CASE("soci mariadb inbox says first time once and a duplicate keeps the transaction",
          "[mysql][inbox]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  server_db db(mysql);
  auto s = db.open();
  const txoutbox::soci::inbox inbox;
  {
    txoutbox::soci::write_transaction tx(*s);
    REQUIRE(inbox.first_time(*s, "billing", "m-1"));
    REQUIRE_FALSE(inbox.first_time(*s, "billing", "m-1"));
    // Byte-exact keys: neither case nor a trailing blank makes a duplicate.
    REQUIRE(inbox.first_time(*s, "billing", "M-1"));
    REQUIRE(inbox.first_time(*s, "billing", "m-1 "));
    REQUIRE(inbox.first_time(*s, "shipping", "m-1"));
    tx.commit();
  }
  REQUIRE(db.count("outbox_inbox") == 4);
  txoutbox::soci::write_transaction tx(*s);
  REQUIRE_FALSE(inbox.first_time(*s, "billing", "m-1"));
  REQUIRE_THROWS_AS(inbox.first_time(*s, "", "m-2"), txoutbox::usage_error);
  tx.commit();
}

TEST_CASE("soci mariadb inbox forgets an id whose transaction rolled back", "[mysql][inbox]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  server_db db(mysql);
  auto s = db.open();
  const txoutbox::soci::inbox inbox;
  {
    txoutbox::soci::write_transaction tx(*s);
    REQUIRE(inbox.first_time(*s, "billing", "m-1"));
    tx.rollback();
  }
  txoutbox::soci::write_transaction tx(*s);
  REQUIRE(inbox.first_time(*s, "billing", "m-1"));
  tx.commit();
}

namespace {

/// Starts a second consumer of ("billing", "m-1") on its own session and waits until it is
/// blocked on the first one's row lock (its INSERT still executing in the processlist).
std::future<bool> blocked_duplicate(const server_db& db, const txoutbox::soci::inbox& inbox) {
  auto second = std::async(std::launch::async, [&db, &inbox] {
    auto s = db.open();
    txoutbox::soci::write_transaction tx(*s);
    const bool fresh = inbox.first_time(*s, "billing", "m-1");
    tx.commit();
    return fresh;
  });
  auto watcher = db.open();
  const bool waiting = txoutbox::testing::wait_until([&] {
    long long n = 0;
    *watcher << "SELECT count(*) FROM information_schema.processlist WHERE db = :d AND "
                "info LIKE 'INSERT INTO%outbox_inbox%'",
        ::soci::use(db.name), ::soci::into(n);
    return n > 0;
  });
  REQUIRE(waiting);
  REQUIRE(second.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
  return second;
}

}  // namespace

TEST_CASE("soci mariadb inbox concurrent duplicate waits for the first and loses on commit",
          "[mysql][inbox]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  server_db db(mysql);
  auto first = db.open();
  const txoutbox::soci::inbox inbox;
  txoutbox::soci::write_transaction tx(*first);
  REQUIRE(inbox.first_time(*first, "billing", "m-1"));
  auto second = blocked_duplicate(db, inbox);
  tx.commit();
  REQUIRE_FALSE(second.get());
  REQUIRE(db.count("outbox_inbox") == 1);
}

TEST_CASE("soci mariadb inbox concurrent duplicate wins when the first rolls back",
          "[mysql][inbox]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  server_db db(mysql);
  auto first = db.open();
  const txoutbox::soci::inbox inbox;
  txoutbox::soci::write_transaction tx(*first);
  REQUIRE(inbox.first_time(*first, "billing", "m-1"));
  auto second = blocked_duplicate(db, inbox);
  tx.rollback();
  REQUIRE(second.get());
  REQUIRE(db.count("outbox_inbox") == 1);
}

TEST_CASE("soci mariadb inbox purges old entries in bounded steps", "[mysql][inbox]") {
  TXOUTBOX_REQUIRE_SERVER(mysql);
  server_db db(mysql);
  auto s = db.open();
  const txoutbox::soci::inbox inbox;
  {
    txoutbox::soci::write_transaction tx(*s);
    for (int i = 0; i < 5; ++i)
      REQUIRE(inbox.first_time(*s, "c", "old-" + std::to_string(i)));
    *s << "UPDATE outbox_inbox SET processed_at = processed_at - INTERVAL 2 HOUR";
    REQUIRE(inbox.first_time(*s, "c", "new"));
    tx.commit();
  }
  txoutbox::soci::write_transaction tx(*s);
  REQUIRE(inbox.purge_older_than(*s, std::chrono::hours(1), 3) == 3);
  REQUIRE(inbox.purge_older_than(*s, std::chrono::hours(1), 3) == 2);
  REQUIRE(inbox.purge_older_than(*s, std::chrono::hours(1), 3) == 0);
  tx.commit();
  REQUIRE(db.count("outbox_inbox") == 1);
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
