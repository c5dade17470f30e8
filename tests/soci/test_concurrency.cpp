// SOCI-SQLite under concurrent writers: no "database is locked" escapes, nothing is lost.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "relay_check.hpp"
#include "sqlite_support.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/soci/inbox.hpp"
#include "txoutbox/soci/store.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/soci/writer.hpp"
#include "txoutbox/testing/memory_publisher.hpp"
#include "txoutbox/testing/wait.hpp"

using txoutbox::testing::sqlite::make_message;
using txoutbox::testing::sqlite::temp_db;

TEST_CASE("soci sqlite writers on several sessions and a relay share a file without lock errors",
          "[soci][concurrency]") {
  constexpr int writers = 3;
  constexpr int per_writer = 200;
  temp_db db(2);
  auto store = txoutbox::soci::make_store({.url = db.url(), .schema = {}, .pool_size = 3});
  auto publisher = std::make_shared<txoutbox::testing::memory_publisher>();
  std::atomic<std::uint64_t> log_errors{0};
  txoutbox::relay relay(
      store, publisher,
      txoutbox::relay_options{.threads = 2,
                              .batch_size = 50,
                              .poll_interval = std::chrono::milliseconds(5),
                              .on_log = [&](txoutbox::log_level level, std::string_view) {
                                if (level == txoutbox::log_level::error ||
                                    level == txoutbox::log_level::warn)
                                  ++log_errors;
                              }});
  relay.start();

  // Each writer thread is its own connection (as a second process would be): a business
  // read, then the outbox write, in one BEGIN IMMEDIATE transaction, plus an inbox entry.
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&, t] {
      try {
        auto s = db.open();
        const txoutbox::soci::writer w;
        const txoutbox::soci::inbox inbox;
        for (int i = 0; i < per_writer; ++i) {
          txoutbox::soci::write_transaction tx(*s);
          long long backlog = 0;
          *s << "SELECT count(*) FROM outbox", soci::into(backlog);
          w.enqueue(*s, make_message("writer-" + std::to_string(t), i));
          (void)inbox.first_time(*s, "writer-" + std::to_string(t), std::to_string(i));
          tx.commit();
        }
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& th : threads)
    th.join();

  const auto total = static_cast<std::uint64_t>(writers * per_writer);
  const bool drained = txoutbox::testing::wait_until([&] { return publisher->count() >= total; },
                                                     std::chrono::seconds(60));
  REQUIRE(relay.stop(std::chrono::seconds(10)));
  REQUIRE(failures == 0);
  REQUIRE(drained);
  REQUIRE(relay.stats().errors == 0);
  REQUIRE(log_errors == 0);
  std::size_t distinct = 0;
  REQUIRE(txoutbox::testing::sqlite::first_publications_in_order(publisher->records(), &distinct));
  REQUIRE(distinct == total);
  REQUIRE(db.count("outbox_inbox") == static_cast<long long>(total));
}
