// The real relay over the PostgreSQL store: order, sharing, NOTIFY latency, recovery.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "pg_test_support.hpp"
#include "txoutbox/postgres/store.hpp"
#include "txoutbox/postgres/writer.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/testing/memory_publisher.hpp"
#include "txoutbox/testing/servers.hpp"
#include "txoutbox/testing/wait.hpp"

namespace {

using namespace std::chrono_literals;
using txoutbox::relay;
using txoutbox::relay_options;
using txoutbox::testing::memory_publisher;
using txoutbox::testing::wait_until;
using txoutbox::testing::pg::make_message;
using txoutbox::testing::pg::schema_fixture;
namespace pg = txoutbox::postgres;

std::shared_ptr<txoutbox::store> open_store(const schema_fixture& fx, const std::string& app) {
  return pg::make_store(
      {.url = fx.url, .schema = fx.schema, .listen = true, .application_name = app});
}

relay_options options_for(std::string owner, std::chrono::milliseconds poll = 200ms) {
  relay_options o;
  o.threads = 2;
  o.batch_size = 50;
  o.poll_interval = poll;
  o.backoff_initial = 50ms;
  o.backoff_max = 500ms;
  o.lease_ttl = 3000ms;
  o.owner = std::move(owner);
  return o;
}

/// What the writers committed: per key, the ids in write order.
struct written_log {
  std::mutex mutex;
  std::map<std::string, std::vector<std::string>> by_key;
  std::size_t total = 0;

  void add(const std::string& key, const std::string& id) {
    std::lock_guard lock(mutex);
    by_key[key].push_back(id);
    ++total;
  }
  std::set<std::string> ids() {
    std::lock_guard lock(mutex);
    std::set<std::string> out;
    for (const auto& [key, ids] : by_key)
      out.insert(ids.begin(), ids.end());
    return out;
  }
};

/// `writers` threads, each with its own connection, writing `per_writer` messages over
/// its own keys (so every key has one writer: the service serialises writes per key),
/// one to three messages per transaction. `pause` between transactions. Returns the
/// number of writer threads that failed (asserted by the caller on the test thread).
int write_concurrently(const schema_fixture& fx, written_log& log, int writers, int per_writer,
                       int keys_per_writer, std::chrono::microseconds pause = 0us) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  const auto url = fx.url;
  const auto options = fx.writer_options();
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&, t] {
      try {
        pqxx::connection conn(url);
        const pg::writer w(options);
        std::mt19937 rng(static_cast<unsigned>(t) + 11u);
        int written = 0;
        while (written < per_writer) {
          pqxx::work tx(conn);
          std::vector<std::pair<std::string, std::string>> mine;
          const int count = std::min(per_writer - written, 1 + static_cast<int>(rng() % 3));
          for (int m = 0; m < count; ++m, ++written) {
            const auto key = "key-" + std::to_string(t + writers * (written % keys_per_writer));
            mine.emplace_back(key, w.enqueue(tx, make_message(key, written)).to_string());
          }
          tx.commit();
          for (const auto& [key, id] : mine)
            log.add(key, id);
          if (pause.count() > 0)
            std::this_thread::sleep_for(pause);
        }
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& th : threads)
    th.join();
  return failures.load();
}

/// Per key, the ids in the order they were first published.
std::map<std::string, std::vector<std::string>> first_publish_order(const memory_publisher& pub) {
  std::map<std::string, std::vector<std::string>> order;
  std::set<std::string> seen;
  for (const auto& r : pub.records()) {
    auto id = r.msg.id.to_string();
    if (seen.insert(id).second)
      order[r.msg.aggregate_id].push_back(std::move(id));
  }
  return order;
}

std::set<std::string> published_ids(const memory_publisher& pub) {
  std::set<std::string> out;
  for (const auto& r : pub.records())
    out.insert(r.msg.id.to_string());
  return out;
}

}  // namespace

TEST_CASE(
    "relay over postgres publishes 2000 messages from 4 writers in per-key order without "
    "duplicates",
    "[pg][relay]") {
  TXOUTBOX_REQUIRE_PG();
  schema_fixture fx(16, "pgr");
  auto pub = std::make_shared<memory_publisher>();
  relay r(open_store(fx, txoutbox::testing::unique_name("txo_relay")), pub, options_for("relay-a"));
  r.start();

  written_log log;
  REQUIRE(write_concurrently(fx, log, 4, 500, 25) == 0);
  REQUIRE(log.total == 2000);
  REQUIRE(log.by_key.size() == 100);

  REQUIRE(wait_until([&] { return pub->count() >= 2000; }, 60s));
  REQUIRE(r.flush(10s));
  REQUIRE(r.stop(10s));

  CHECK(pub->count() == 2000);  // no duplicates in a clean run
  CHECK(published_ids(*pub) == log.ids());
  CHECK(first_publish_order(*pub) == log.by_key);
  CHECK(pub->overlaps() == 0);
  CHECK(fx.count_outbox() == 0);
}

TEST_CASE("two relays on one postgres schema share the partitions and keep per-key order",
          "[pg][relay][multi]") {
  TXOUTBOX_REQUIRE_PG();
  schema_fixture fx(16, "pgr");
  auto pub = std::make_shared<memory_publisher>();  // shared: overlaps() spans both relays
  relay a(open_store(fx, txoutbox::testing::unique_name("txo_ra")), pub, options_for("relay-a"));
  relay b(open_store(fx, txoutbox::testing::unique_name("txo_rb")), pub, options_for("relay-b"));
  a.start();
  b.start();
  // Two live owners converge on half each (partition p goes to owner p mod 2). A relay
  // that started before it saw its peer may hold a partition or two for a moment, and those
  // may be partitions none of the 40 keys hash to: only the settled split is a fair test.
  REQUIRE(wait_until(
      [&] { return a.stats().owned_partitions == 8 && b.stats().owned_partitions == 8; }, 30s));

  written_log log;
  REQUIRE(write_concurrently(fx, log, 4, 250, 10) == 0);
  REQUIRE(wait_until([&] { return published_ids(*pub).size() >= 1000; }, 60s));
  REQUIRE(a.flush(10s));
  REQUIRE(b.flush(10s));

  CHECK(a.stats().published > 0);
  CHECK(b.stats().published > 0);
  CHECK(published_ids(*pub) == log.ids());
  CHECK(first_publish_order(*pub) == log.by_key);
  CHECK(pub->overlaps() == 0);
  CHECK(pub->count() == 1000);  // leases were settled before the writes: no duplicates
  REQUIRE(a.stop(10s));
  REQUIRE(b.stop(10s));
  CHECK(fx.count_outbox() == 0);
}

TEST_CASE("a postgres NOTIFY wakes the relay long before its poll interval",
          "[pg][relay][notify]") {
  TXOUTBOX_REQUIRE_PG();
  schema_fixture fx(4, "pgr");
  auto pub = std::make_shared<memory_publisher>();
  // Poll and lease ticks every 10 s: within the test only a notification can start a claim.
  auto slow = options_for("relay-n", 10s);
  slow.lease_ttl = 30s;
  const auto settle_idle = [&](relay& r) {
    REQUIRE(wait_until([&] { return r.stats().owned_partitions == 4; }, 20s));
    std::this_thread::sleep_for(300ms);  // let the start-up claim round finish empty
  };

  // Control: without LISTEN the same relay leaves the message alone until its next poll.
  {
    auto deaf = pg::make_store({.url = fx.url, .schema = fx.schema, .listen = false});
    relay r(deaf, pub, slow);
    r.start();
    settle_idle(r);
    {
      pqxx::work tx(*fx.conn);
      pg::writer(fx.writer_options()).enqueue(tx, make_message("wake", 1));
      tx.commit();
    }
    std::this_thread::sleep_for(1500ms);
    CHECK(pub->count() == 0);
    REQUIRE(r.stop(10s));
  }
  REQUIRE(fx.count_outbox() == 1);
  {
    pqxx::nontransaction tx(*fx.conn);  // the next relay finds the message by its start-up claim
    tx.exec("DELETE FROM " + fx.table("outbox"));
  }

  relay r(open_store(fx, txoutbox::testing::unique_name("txo_rn")), pub, slow);
  r.start();
  settle_idle(r);
  const auto started = std::chrono::steady_clock::now();
  {
    pqxx::work tx(*fx.conn);
    pg::writer(fx.writer_options()).enqueue(tx, make_message("wake", 2));
    tx.commit();
  }
  // Well inside the 10 s poll interval: only the notification can have woken it.
  REQUIRE(wait_until([&] { return pub->count() == 1; }, 5s));
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  REQUIRE(r.stop(10s));
}

TEST_CASE("the relay recovers by itself when postgres terminates its connections mid-stream",
          "[pg][relay][recovery]") {
  TXOUTBOX_REQUIRE_PG();
  schema_fixture fx(8, "pgr");
  const auto app = txoutbox::testing::unique_name("txo_rk");
  auto pub = std::make_shared<memory_publisher>();
  relay r(open_store(fx, app), pub, options_for("relay-k"));
  r.start();

  written_log log;
  int writer_failures = -1;
  std::thread writer([&] { writer_failures = write_concurrently(fx, log, 2, 400, 10, 2ms); });
  int killed = 0;
  for (int round = 0; round < 3; ++round) {
    const auto target = static_cast<std::uint64_t>(100 + 200 * round);
    if (!wait_until([&] { return pub->count() >= target; }, 30s))
      break;
    pqxx::nontransaction tx(*fx.conn);
    killed += static_cast<int>(
        tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = " +
                tx.quote(app) + " AND pid <> pg_backend_pid()")
            .size());
  }
  writer.join();
  REQUIRE(writer_failures == 0);
  CHECK(killed >= 3);  // each round at least the listener and one pooled connection

  REQUIRE(log.total == 800);
  REQUIRE(wait_until([&] { return published_ids(*pub) == log.ids(); }, 60s));
  REQUIRE(r.flush(20s));
  CHECK(first_publish_order(*pub) == log.by_key);
  CHECK(pub->overlaps() == 0);
  // Duplicates only around the failures, at most a batch per partition per failure.
  CHECK(pub->count() - 800 <= 3u * 8u * 50u);
  REQUIRE(r.stop(10s));
  CHECK(fx.count_outbox() == 0);
}
