// The real relay over a SOCI-SQLite store: drains a file with per-key order intact.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "owner_lock_check.hpp"
#include "relay_check.hpp"
#include "sqlite_support.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/soci/store.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/soci/writer.hpp"
#include "txoutbox/testing/memory_publisher.hpp"
#include "txoutbox/testing/wait.hpp"

using txoutbox::testing::sqlite::make_message;
using txoutbox::testing::sqlite::temp_db;

TEST_CASE("soci relay drains 2000 messages from a sqlite file in per-key order", "[soci][relay]") {
  constexpr int total = 2000;
  constexpr int keys = 40;
  temp_db db(4);
  auto s = db.open();
  const txoutbox::soci::writer w;
  {
    std::vector<txoutbox::message> batch;
    for (int i = 0; i < total; ++i)
      batch.push_back(make_message("key-" + std::to_string(i % keys), i / keys));
    txoutbox::soci::write_transaction tx(*s);
    w.enqueue(*s, batch);
    tx.commit();
  }
  auto store = txoutbox::soci::make_store({.url = db.url()});
  auto publisher = std::make_shared<txoutbox::testing::memory_publisher>();
  txoutbox::relay relay(
      store, publisher,
      txoutbox::relay_options{
          .threads = 2, .batch_size = 100, .poll_interval = std::chrono::milliseconds(20)});
  relay.start();
  const bool drained = txoutbox::testing::wait_until(
      [&] { return publisher->count() >= static_cast<std::uint64_t>(total); },
      std::chrono::seconds(60));
  REQUIRE(relay.stop(std::chrono::seconds(10)));
  REQUIRE(drained);
  REQUIRE(publisher->overlaps() == 0);
  std::size_t distinct = 0;
  REQUIRE(txoutbox::testing::sqlite::first_publications_in_order(publisher->records(), &distinct));
  REQUIRE(distinct == static_cast<std::size_t>(total));
  REQUIRE(store->stats().backlog == 0);
  REQUIRE(relay.stats().errors == 0);
}

TEST_CASE("soci sqlite owner lock refuses a second holder until released", "[soci][store][owner]") {
  temp_db db(1);
  auto a = txoutbox::soci::make_store({.url = db.url()});
  auto b = txoutbox::soci::make_store({.url = db.url()});
  txoutbox::testing::owner_lock_refuses_a_second_holder_until_released(*a, *b);
}
