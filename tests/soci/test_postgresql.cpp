// SOCI-PostgreSQL only: the libpqxx backend's schema shared both ways, NOTIFY, migrations.
// The writer and inbox behaviours every backend shares are in tests/conformance/.
#include <catch2/catch.hpp>

#include <future>
#include <pqxx/pqxx>
#include <thread>
#include <vector>

#include "owner_lock_check.hpp"
#include "server_support.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"
#include "txoutbox/postgres/migrate.hpp"
#include "txoutbox/postgres/store.hpp"
#include "txoutbox/postgres/writer.hpp"
#include "txoutbox/soci/migrate.hpp"
#include "txoutbox/soci/store.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/soci/writer.hpp"
#include "txoutbox/testing/wait.hpp"

using txoutbox::testing::soci_server::kind;
using txoutbox::testing::soci_server::make_message;
using txoutbox::testing::soci_server::server_db;

namespace {

constexpr auto pg = kind::postgresql;

/// Acquires partition `p` for `owner`, then claims and acknowledges one batch at a time
/// until nothing is claimable; returns the ids in claim order. One key is claimable one row
/// at a time (the head-of-line rule), so this is the key's publication order.
std::vector<txoutbox::message_id> drain(txoutbox::store& store, const std::string& owner,
                                        std::uint32_t p, std::vector<std::string>* headers = {}) {
  const auto epoch = store.acquire(owner, p, std::chrono::seconds(30));
  REQUIRE(epoch.has_value());
  std::vector<txoutbox::message_id> order;
  const std::uint32_t parts[] = {p};
  for (int round = 0; round < 100; ++round) {
    const auto claimed = store.claim(owner, parts, {.rows = 100});
    if (claimed.empty())
      break;
    REQUIRE(claimed[0].epoch == *epoch);
    std::vector<txoutbox::outcome> outcomes;
    for (const auto& r : claimed[0].records) {
      order.push_back(r.msg.id);
      if (headers != nullptr) {
        for (const auto& [k, v] : r.msg.headers)
          headers->push_back(k + "=" + v);
      }
      outcomes.push_back({.id = r.msg.id, .what = txoutbox::outcome::action::published});
    }
    REQUIRE(store.settle({.owner = owner, .partition = p, .epoch = *epoch}, outcomes));
  }
  return order;
}

}  // namespace

TEST_CASE("soci postgresql url becomes a libpq conninfo", "[soci-pg][url]") {
  const auto t =
      txoutbox::soci::parse_url("postgresql://app:it's%20me@db:5433/orders?sslmode=disable");
  REQUIRE(t.backend == "postgresql");
  REQUIRE(t.connect ==
          R"(host=db port=5433 dbname=orders user=app password='it\'s me' sslmode=disable)");
}

TEST_CASE("soci postgresql url with a NUL byte is refused, not cut short", "[soci-pg][url]") {
  // libpq reads the conninfo as a C string: everything after the NUL (the database, user and
  // sslmode=require) would be dropped. Found by tests/fuzz/fuzz_soci_url.
  using namespace std::string_literals;
  REQUIRE_THROWS_AS(txoutbox::soci::parse_url("postgresql://app@db\0x/orders?sslmode=require"s),
                    txoutbox::usage_error);
  REQUIRE_THROWS_AS(txoutbox::soci::parse_url("postgresql://app:pa\0ss@db/orders"s),
                    txoutbox::usage_error);
}

TEST_CASE("soci postgresql url part with a vertical tab cannot add a conninfo keyword",
          "[soci-pg][url]") {
  // libpq ends an unquoted value at \v or \f as at a space: unquoted, this host would set
  // sslmode=disable. Found by tests/fuzz/fuzz_soci_url.
  const auto t = txoutbox::soci::parse_url("postgresql://app@db%0Bsslmode=disable/orders");
  REQUIRE(t.connect == "host='db\vsslmode=disable' dbname=orders user=app");
}

TEST_CASE("soci postgresql rows written by the SOCI writer are claimed by the libpqxx store",
          "[soci-pg][interop]") {
  TXOUTBOX_REQUIRE_SERVER(pg);
  constexpr std::uint32_t n = 4;
  server_db db(pg, n);
  auto s = db.open();
  const txoutbox::soci::writer w({.schema = db.schema, .notify = false});
  std::vector<txoutbox::message> batch;
  for (int i = 0; i < 5; ++i)
    batch.push_back(make_message("order-7", i));
  batch[2].headers = {{"traceparent", "00-abc-01"}};
  txoutbox::soci::write_transaction tx(*s);
  const auto ids = w.enqueue(*s, batch);
  tx.commit();

  const auto pqxx_store =
      txoutbox::postgres::make_store({.url = db.url, .schema = db.schema, .listen = false});
  std::vector<std::string> headers;
  const auto order =
      drain(*pqxx_store, "pqxx-relay", txoutbox::partition_of("order-7", n), &headers);
  // The head-of-line rule holds across backends: one key, in written order.
  REQUIRE(order == ids);
  REQUIRE(headers == std::vector<std::string>{"traceparent=00-abc-01"});
  REQUIRE(db.count("outbox") == 0);
}

TEST_CASE("soci postgresql rows written by the libpqxx writer are claimed by the SOCI store",
          "[soci-pg][interop]") {
  TXOUTBOX_REQUIRE_SERVER(pg);
  constexpr std::uint32_t n = 4;
  server_db db(pg, n);
  pqxx::connection conn(db.url);
  const txoutbox::postgres::writer w({.schema = db.schema});
  std::vector<txoutbox::message_id> ids;
  {
    pqxx::work tx(conn);
    for (int i = 0; i < 3; ++i)
      ids.push_back(w.enqueue(tx, make_message("order-9", i)));
    tx.commit();
  }
  const auto soci_store = txoutbox::soci::make_store({.url = db.url, .schema = db.schema});
  // The SOCI store computes nothing: the partition is the database's generated column.
  REQUIRE(drain(*soci_store, "soci-relay", txoutbox::partition_of("order-9", n)) == ids);
  REQUIRE(db.count("outbox") == 0);
}

TEST_CASE("soci postgresql migrations and libpqxx migrations agree on one schema",
          "[soci-pg][migrate]") {
  TXOUTBOX_REQUIRE_SERVER(pg);
  {
    server_db db(pg, 4);  // migrated through SOCI
    pqxx::connection conn(db.url);
    const auto again = txoutbox::postgres::migrate(conn, {.schema = db.schema, .partitions = 4});
    REQUIRE(again.applied.empty());
    REQUIRE(txoutbox::postgres::schema_version(conn, db.schema) == again.version);
  }
  {
    server_db db(pg, 4, false);
    pqxx::connection conn(db.url);
    txoutbox::postgres::migrate(conn, {.schema = db.schema, .partitions = 4});
    auto s = db.open();
    REQUIRE(txoutbox::soci::migrate(*s, {.schema = db.schema, .partitions = 4}).applied.empty());
    try {
      txoutbox::soci::migrate(*s, {.schema = db.schema, .partitions = 8});
      FAIL("a different partition count was accepted");
    } catch (const txoutbox::error& e) {
      REQUIRE(e.code() == txoutbox::errc::config_mismatch);
    }
  }
}

TEST_CASE("soci postgresql concurrent migrations apply each file once", "[soci-pg][migrate]") {
  TXOUTBOX_REQUIRE_SERVER(pg);
  server_db db(pg, 4, false);
  std::vector<std::future<std::size_t>> runs;
  for (int i = 0; i < 4; ++i) {
    runs.push_back(std::async(std::launch::async, [&db] {
      auto s = db.open();
      return txoutbox::soci::migrate(*s, {.schema = db.schema, .partitions = 4}).applied.size();
    }));
  }
  std::size_t applied = 0;
  for (auto& r : runs)
    applied += r.get();
  REQUIRE(applied == 1);
  REQUIRE(db.count("outbox_lease") == 4);
}

TEST_CASE("soci postgresql writer notifies the libpqxx channel at commit only",
          "[soci-pg][notify]") {
  TXOUTBOX_REQUIRE_SERVER(pg);
  server_db db(pg);
  pqxx::connection listener(db.url);
  struct receiver final : pqxx::notification_receiver {
    receiver(pqxx::connection_base& c, const std::string& channel)
        : pqxx::notification_receiver(c, channel) {}
    void operator()(const std::string&, int) override { ++count; }
    int count = 0;
  };
  receiver r(listener, "txoutbox_" + db.schema);
  auto s = db.open();
  const txoutbox::soci::writer w({.schema = db.schema});
  {
    txoutbox::soci::write_transaction tx(*s);
    w.enqueue(*s, make_message("k", 1));
    w.enqueue(*s, make_message("k", 2));
    tx.rollback();
  }
  {
    txoutbox::soci::write_transaction tx(*s);
    w.enqueue(*s, make_message("k", 3));
    w.enqueue(*s, make_message("k", 4));
    listener.get_notifs();
    REQUIRE(r.count == 0);  // nothing before the commit
    tx.commit();
  }
  REQUIRE(txoutbox::testing::wait_until([&] {
    listener.await_notification(0, 50'000);
    return r.count > 0;
  }));
  // One notification per transaction (identical ones fold), none for the rolled-back one.
  listener.await_notification(0, 200'000);
  REQUIRE(r.count == 1);
}

TEST_CASE("soci postgresql owner lock refuses a second holder until released",
          "[soci-pg][store][owner]") {
  TXOUTBOX_REQUIRE_SERVER(pg);
  server_db db(pg, 1);
  auto a = txoutbox::soci::make_store({.url = db.url, .schema = db.schema});
  auto b = txoutbox::soci::make_store({.url = db.url, .schema = db.schema});
  txoutbox::testing::owner_lock_refuses_a_second_holder_until_released(*a, *b);
}

TEST_CASE("soci postgresql and libpqxx relays share one owner lock per schema",
          "[soci-pg][store][owner]") {
  TXOUTBOX_REQUIRE_SERVER(pg);
  server_db db(pg, 1);
  auto a = txoutbox::postgres::make_store({.url = db.url, .schema = db.schema, .listen = false});
  auto b = txoutbox::soci::make_store({.url = db.url, .schema = db.schema});
  txoutbox::testing::owner_lock_refuses_a_second_holder_until_released(*a, *b);
}
