// PostgreSQL inbox: first_time under duplicates (sequential and concurrent), validation, purge.
#include <catch2/catch.hpp>
#include <future>
#include <pqxx/pqxx>

#include "pg_test_support.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/postgres/inbox.hpp"
#include "txoutbox/testing/wait.hpp"

namespace pg = txoutbox::testing::pg;
using txoutbox::postgres::inbox;

namespace {

/// True once the backend `pid` waits on a heavyweight lock (a row or transaction lock).
bool is_waiting_on_lock(pqxx::connection& observer, int pid) {
  pqxx::nontransaction tx(observer);
  return tx.exec_params1(
               "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
               pid)[0]
             .as<int>() == 1;
}

/// Runs first_time for the same pair on a second connection while the first connection's
/// transaction holds it uncommitted; `commit_first` decides how the first one ends.
/// Returns {first's result, second's result} after checking the second really waited.
std::pair<bool, bool> race(pg::schema_fixture& fx, bool commit_first) {
  const inbox box({.schema = fx.schema});
  const auto second_conn = pg::connect();
  const auto observer = pg::connect();
  const int second_pid = second_conn->backendpid();

  pqxx::work first_tx(*fx.conn);
  const bool first = box.first_time(first_tx, "billing", "msg-race");

  auto second = std::async(std::launch::async, [&] {
    pqxx::work tx(*second_conn);
    const bool result = box.first_time(tx, "billing", "msg-race");
    tx.commit();
    return result;
  });
  // The second insert must block on the first transaction's uncommitted row.
  const bool waited =
      txoutbox::testing::wait_until([&] { return is_waiting_on_lock(*observer, second_pid); });
  CHECK(waited);
  CHECK(second.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
  if (commit_first) {
    first_tx.commit();
  } else {
    first_tx.abort();
  }
  return {first, second.get()};
}

}  // namespace

namespace {

template <class Tx>
concept can_record = requires(const txoutbox::postgres::inbox& in, Tx& tx) {
  in.first_time(tx, "consumer", "0190a7e2-0000-7000-8000-000000000000");
};

}  // namespace

TEST_CASE("the inbox records only inside a real transaction: a nontransaction does not compile",
          "[postgres][inbox]") {
  STATIC_REQUIRE(can_record<pqxx::work>);
  STATIC_REQUIRE(can_record<pqxx::subtransaction>);
  STATIC_REQUIRE_FALSE(can_record<pqxx::nontransaction>);
}

TEST_CASE("inbox first_time is true once per consumer and message id", "[postgres][inbox]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const inbox box({.schema = fx.schema});
  {
    pqxx::work tx(*fx.conn);
    CHECK(box.first_time(tx, "billing", "m1"));
    CHECK_FALSE(box.first_time(tx, "billing", "m1"));  // same transaction
    CHECK(box.first_time(tx, "shipping", "m1"));       // another consumer
    CHECK(box.first_time(tx, "billing", "m2"));
    tx.commit();
  }
  {
    pqxx::work tx(*fx.conn);
    CHECK_FALSE(box.first_time(tx, "billing", "m1"));  // a later transaction
    CHECK(box.first_time(tx, "billing", "m3"));
    tx.abort();
  }
  {
    pqxx::work tx(*fx.conn);
    CHECK(box.first_time(tx, "billing", "m3"));  // the rolled-back record is gone
    tx.commit();
  }
  CHECK(fx.count("outbox_inbox") == 4);
}

TEST_CASE("inbox rejects empty or malformed consumer and message id before any SQL",
          "[postgres][inbox]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const inbox box({.schema = fx.schema});
  pqxx::work tx(*fx.conn);
  auto field_of = [&](std::string_view consumer, std::string_view id) -> std::string {
    try {
      (void)box.first_time(tx, consumer, id);
    } catch (const txoutbox::usage_error& e) {
      return e.field();
    }
    return "accepted";
  };
  CHECK(field_of("", "m") == "consumer");
  CHECK(field_of("c", "") == "message_id");
  CHECK(field_of("c", std::string_view("a\0b", 3)) == "message_id");
  CHECK(field_of("bad\xff", "m") == "consumer");
  CHECK_THROWS_AS(inbox({.schema = "bad schema"}), txoutbox::usage_error);
  // The transaction is untouched and still usable.
  CHECK(box.first_time(tx, "c", "m"));
  tx.commit();
  CHECK(fx.count("outbox_inbox") == 1);
}

TEST_CASE("a concurrent duplicate waits for the first and loses when it commits",
          "[postgres][inbox][concurrency]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const auto [first, second] = race(fx, true);
  CHECK(first);
  CHECK_FALSE(second);
  CHECK(fx.count("outbox_inbox") == 1);
}

TEST_CASE("a concurrent duplicate waits for the first and wins when it rolls back",
          "[postgres][inbox][concurrency]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const auto [first, second] = race(fx, false);
  CHECK(first);
  CHECK(second);
  CHECK(fx.count("outbox_inbox") == 1);
}

TEST_CASE("inbox purge deletes only entries older than the age, at most limit at a time",
          "[postgres][inbox][purge]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const inbox box({.schema = fx.schema});
  {
    pqxx::work tx(*fx.conn);
    for (int i = 0; i < 8; ++i)
      (void)box.first_time(tx, "c", "m" + std::to_string(i));
    tx.commit();
  }
  // Five entries processed two days ago, three just now.
  fx.exec("UPDATE " + fx.table("outbox_inbox") +
          " SET processed_at = now() - interval '2 days' WHERE message_id IN "
          "('m0','m1','m2','m3','m4')");
  std::vector<std::size_t> purged;
  for (int round = 0; round < 4; ++round) {
    pqxx::work tx(*fx.conn);
    purged.push_back(box.purge_older_than(tx, std::chrono::hours(24), 2));
    tx.commit();
  }
  CHECK(purged == std::vector<std::size_t>{2, 2, 1, 0});
  const auto left =
      fx.exec("SELECT message_id FROM " + fx.table("outbox_inbox") + " ORDER BY message_id");
  REQUIRE(left.size() == 3);
  CHECK(left[0][0].as<std::string>() == "m5");
  {
    pqxx::work tx(*fx.conn);
    CHECK(box.purge_older_than(tx, std::chrono::seconds(0)) == 3);
    tx.abort();
  }
  CHECK(fx.count("outbox_inbox") == 3);
}
