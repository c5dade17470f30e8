// SOCI-SQLite inbox: first time vs duplicate, rollback, a concurrent duplicate, purge.
#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <thread>

#include "sqlite_support.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/soci/inbox.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/testing/wait.hpp"

using txoutbox::testing::sqlite::temp_db;

TEST_CASE("soci inbox says first time once per consumer and id", "[soci][inbox]") {
  temp_db db;
  auto s = db.open();
  const txoutbox::soci::inbox inbox;
  {
    txoutbox::soci::write_transaction tx(*s);
    REQUIRE(inbox.first_time(*s, "billing", "m-1"));
    REQUIRE_FALSE(inbox.first_time(*s, "billing", "m-1"));
    REQUIRE(inbox.first_time(*s, "shipping", "m-1"));
    tx.commit();
  }
  txoutbox::soci::write_transaction tx(*s);
  REQUIRE_FALSE(inbox.first_time(*s, "billing", "m-1"));
  REQUIRE_THROWS_AS(inbox.first_time(*s, "", "m-2"), txoutbox::usage_error);
  REQUIRE_THROWS_AS(inbox.first_time(*s, "billing", std::string("a\0b", 3)), txoutbox::usage_error);
  tx.commit();
  REQUIRE(db.count("outbox_inbox") == 2);
}

TEST_CASE("soci inbox forgets an id whose transaction rolled back", "[soci][inbox]") {
  temp_db db;
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

TEST_CASE("soci inbox concurrent duplicate waits for the first and loses", "[soci][inbox]") {
  temp_db db;
  auto first = db.open();
  const txoutbox::soci::inbox inbox;
  txoutbox::soci::write_transaction tx(*first);
  REQUIRE(inbox.first_time(*first, "billing", "m-1"));

  std::atomic<bool> started{false};
  auto second = std::async(std::launch::async, [&] {
    auto s = db.open();  // 10 s busy timeout
    started = true;
    txoutbox::soci::write_transaction tx2(*s);  // waits for the first's write lock
    const bool fresh = inbox.first_time(*s, "billing", "m-1");
    tx2.commit();
    return fresh;
  });
  REQUIRE(txoutbox::testing::wait_until([&] { return started.load(); }));
  // The second is blocked on the busy timeout while the first holds the lock.
  REQUIRE(second.wait_for(std::chrono::milliseconds(200)) == std::future_status::timeout);
  tx.commit();
  REQUIRE_FALSE(second.get());
  REQUIRE(db.count("outbox_inbox") == 1);
}

TEST_CASE("soci inbox purges old entries in bounded steps", "[soci][inbox]") {
  temp_db db;
  auto s = db.open();
  const txoutbox::soci::inbox inbox;
  {
    txoutbox::soci::write_transaction tx(*s);
    for (int i = 0; i < 5; ++i)
      REQUIRE(inbox.first_time(*s, "c", "old-" + std::to_string(i)));
    *s << "UPDATE outbox_inbox SET processed_at = processed_at - 7200000";
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
