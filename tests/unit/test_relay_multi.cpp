// Unit tests of several relays sharing one in-memory store: fair split, takeover, fencing.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "relay_test_support.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/testing/manual_clock.hpp"
#include "txoutbox/testing/memory_publisher.hpp"
#include "txoutbox/testing/memory_store.hpp"
#include "txoutbox/testing/scripted_publisher.hpp"
#include "txoutbox/testing/wait.hpp"

using namespace std::chrono_literals;
using relay_test::fast_options;
using relay_test::make_message;
using txoutbox::relay;
using txoutbox::testing::manual_clock;
using txoutbox::testing::memory_publisher;
using txoutbox::testing::memory_publisher_options;
using txoutbox::testing::memory_store;
using txoutbox::testing::memory_store_options;
using txoutbox::testing::scripted_publisher;
using txoutbox::testing::wait_until;

namespace {

/// True when the relays own all `n` partitions between them, each n/k or n/k+1.
bool fair_split(const std::vector<std::unique_ptr<relay>>& relays, std::uint32_t n) {
  std::uint32_t total = 0;
  const auto k = static_cast<std::uint32_t>(relays.size());
  for (const auto& r : relays) {
    const auto owned = r->stats().owned_partitions;
    if (owned < n / k || owned > n / k + 1)
      return false;
    total += owned;
  }
  return total == n;
}

void enqueue_round(memory_store& store, int round, int keys) {
  for (int k = 0; k < keys; ++k)
    store.enqueue(make_message("key-" + std::to_string(k), round));
}

}  // namespace

TEST_CASE("two and three relays split the partitions fairly and keep per-key order",
          "[relay][multi]") {
  const std::size_t count = GENERATE(2, 3);
  auto clk = std::make_shared<manual_clock>();
  auto store = std::make_shared<memory_store>(memory_store_options{.partitions = 16, .clock = clk});
  // One publisher shared by all relays: it sees a partition published by two relays at once.
  auto pub = std::make_shared<memory_publisher>(
      memory_publisher_options{.record = true, .delay_per_batch = 200us});
  std::vector<std::unique_ptr<relay>> relays;
  int round = 0;
  for (std::size_t i = 0; i < count; ++i) {
    auto opts = fast_options(clk, "relay-" + std::to_string(i));
    relays.push_back(std::make_unique<relay>(store, pub, opts));
    relays.back()->start();
    enqueue_round(*store, round++, 200);  // publishing goes on while membership changes
  }
  REQUIRE(wait_until([&] { return fair_split(relays, 16); }));
  for (int i = 0; i < 3; ++i)
    enqueue_round(*store, round++, 200);
  REQUIRE(wait_until([&] { return store->size() == 0; }, 20s));
  for (auto& r : relays)
    REQUIRE(r->flush(10s));
  CHECK(pub->overlaps() == 0);
  auto recs = pub->records();
  CHECK(relay_test::distinct(recs) == static_cast<std::size_t>(round) * 200);
  CHECK(relay_test::keys_in_order(recs));
  std::uint64_t published = 0;
  for (auto& r : relays)
    published += r->stats().published;
  CHECK(published == pub->count());

  SECTION("when one relay stops, the others take its partitions over") {
    REQUIRE(relays.front()->stop(5s));
    relays.erase(relays.begin());
    REQUIRE(wait_until([&] { return fair_split(relays, 16); }));
    for (int i = 0; i < 2; ++i)
      enqueue_round(*store, round++, 200);
    REQUIRE(wait_until([&] { return store->size() == 0; }, 20s));
    for (auto& r : relays)
      REQUIRE(r->flush(10s));
    recs = pub->records();
    CHECK(relay_test::distinct(recs) == static_cast<std::size_t>(round) * 200);
    CHECK(relay_test::keys_in_order(recs));
    CHECK(pub->overlaps() == 0);
  }
}

TEST_CASE("a retry holds the key back across a rebalance to another relay",
          "[relay][multi][retry]") {
  auto clk = std::make_shared<manual_clock>();
  auto store = std::make_shared<memory_store>(memory_store_options{.partitions = 4, .clock = clk});
  auto pub_a = std::make_shared<scripted_publisher>();
  pub_a->push(txoutbox::publish_result::retry("broker down", 3000ms));
  const auto a1 = store->enqueue(make_message("a", 1));
  const auto a2 = store->enqueue(make_message("a", 2));
  auto relay_a = std::make_unique<relay>(store, pub_a, fast_options(clk, "relay-a"));
  relay_a->start();
  REQUIRE(wait_until([&] { return relay_a->stats().retried == 1; }));
  REQUIRE(relay_a->stop(5s));

  auto pub_b = std::make_shared<memory_publisher>();
  relay relay_b(store, pub_b, fast_options(clk, "relay-b"));
  relay_b.start();
  REQUIRE(relay_b.flush(10s));
  CHECK(pub_b->count() == 0);  // a1 waits out its retry_after; a2 waits for a1
  clk->advance(3001ms);
  REQUIRE(wait_until([&] { return pub_b->count() == 2; }));
  const auto recs = pub_b->records();
  CHECK(recs[0].msg.id == a1);
  CHECK(recs[1].msg.id == a2);
}

TEST_CASE("a relay whose lease was taken over cannot settle, the new owner republishes",
          "[relay][multi][fencing]") {
  auto clk = std::make_shared<manual_clock>();
  auto store = std::make_shared<memory_store>(memory_store_options{.partitions = 1, .clock = clk});
  for (int i = 0; i < 8; ++i)
    store->enqueue(make_message("k" + std::to_string(i), i));

  // Relay A renews slowly (every 20 s of real time), so its lease can expire under it.
  auto pub_a = std::make_shared<scripted_publisher>();
  pub_a->hold(/*honour_shutdown=*/true);
  auto opts_a = fast_options(clk, "relay-a");
  opts_a.batch_size = 5;
  opts_a.lease_ttl = 60'000ms;
  opts_a.renew_divisor = 3;
  std::vector<txoutbox::batch_report> reports;
  std::mutex reports_mutex;
  opts_a.on_batch = [&](const txoutbox::batch_report& r) {
    std::lock_guard lock(reports_mutex);
    reports.push_back(r);
  };
  relay relay_a(store, pub_a, opts_a);
  relay_a.start();
  REQUIRE(pub_a->wait_until_blocked(10s));
  clk->advance(61'000ms);  // A's lease and heartbeat expire while it publishes

  auto pub_b = std::make_shared<memory_publisher>();
  auto opts_b = fast_options(clk, "relay-b");
  opts_b.batch_size = 5;
  relay relay_b(store, pub_b, opts_b);
  relay_b.start();
  REQUIRE(wait_until([&] { return relay_b.stats().owned_partitions == 1; }));
  pub_a->release();  // A's publish succeeds, but its settle is fenced
  REQUIRE(wait_until([&] { return relay_a.stats().fenced_batches == 1; }));
  CHECK(relay_a.stats().published == 0);
  REQUIRE(wait_until([&] { return relay_a.stats().owned_partitions == 0; }));
  REQUIRE(wait_until([&] { return store->size() == 0; }));
  REQUIRE(relay_b.flush(10s));
  // B published all 8; A's 5 were duplicates, within batch_size.
  CHECK(relay_test::distinct(pub_b->records()) == 8);
  CHECK(pub_b->count() == 8);
  const auto duplicates = pub_a->sent().size();
  CHECK(duplicates == 5);
  CHECK(duplicates <= opts_a.batch_size);
  CHECK(relay_b.stats().published == 8);
  {
    std::lock_guard lock(reports_mutex);
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].fenced);
  }
  (void)relay_a.stop(1s);  // relay_b took over: that is what this test checks
}

TEST_CASE("after a relay dies mid-batch the next owner isolates the batch, duplicates bounded",
          "[relay][multi][crash-loop]") {
  auto clk = std::make_shared<manual_clock>();
  auto store = std::make_shared<memory_store>(memory_store_options{.partitions = 1, .clock = clk});
  for (int i = 0; i < 12; ++i)
    store->enqueue(make_message("k" + std::to_string(i), i));

  // Relay A "crashes": its publish never returns and it is abandoned without settling.
  auto pub_a = std::make_shared<scripted_publisher>();
  pub_a->hold(/*honour_shutdown=*/false);
  auto opts_a = fast_options(clk, "relay-a");
  opts_a.batch_size = 5;
  auto relay_a = std::make_unique<relay>(store, pub_a, opts_a);
  relay_a->start();
  REQUIRE(pub_a->wait_until_blocked(10s));
  CHECK_FALSE(relay_a->stop(100ms));
  CHECK(store->marker(0).starts == 1);

  auto pub_b = std::make_shared<memory_publisher>();
  auto opts_b = fast_options(clk, "relay-b");
  opts_b.batch_size = 5;
  relay relay_b(store, pub_b, opts_b);
  relay_b.start();
  REQUIRE(wait_until([&] { return store->size() == 0; }));
  REQUIRE(relay_b.flush(10s));
  CHECK(pub_b->count() == 12);
  CHECK(relay_test::distinct(pub_b->records()) == 12);
  // The five suspects went one per batch, then batching resumed: 5 + ceil(7 / 5) batches.
  CHECK(pub_b->batches() == 7);
  CHECK(store->dead_letter_rows().empty());

  // The crashed relay's batch comes out late (as a real crash's in-flight sends would):
  // at most batch_size duplicates, and nothing it does is settled.
  pub_a->release();
  REQUIRE(wait_until([&] { return pub_a->sent().size() == 5; }));
  CHECK(pub_a->sent().size() <= opts_a.batch_size);
  CHECK(relay_a->stats().published == 0);
}

namespace {

/// heartbeat() signals that it started, then dawdles before registering, like a heartbeat
/// whose statement is slow on a loaded database.
class slow_heartbeat_store : public relay_test::forwarding_store {
 public:
  using forwarding_store::forwarding_store;
  void heartbeat(const std::string& o, std::chrono::milliseconds t) override {
    if (slow_.load()) {
      in_heartbeat_.store(true);
      std::this_thread::sleep_for(200ms);
    }
    inner_->heartbeat(o, t);
  }
  std::atomic<bool> slow_{false};
  std::atomic<bool> in_heartbeat_{false};
};

}  // namespace

TEST_CASE("stop waits for a heartbeat in flight, so no ghost owner remains", "[relay][stop]") {
  auto clk = std::make_shared<manual_clock>();
  auto inner = std::make_shared<memory_store>(memory_store_options{.partitions = 4, .clock = clk});
  auto store = std::make_shared<slow_heartbeat_store>(inner);
  auto opts = fast_options(clk, "r1");
  opts.lease_ttl = 60'000ms;
  opts.renew_divisor = 1200;  // a control tick every 50 ms
  relay r(store, std::make_shared<memory_publisher>(), opts);
  r.start();
  REQUIRE(wait_until([&] { return r.stats().owned_partitions == 4; }, 5s));
  store->slow_ = true;
  REQUIRE(wait_until([&] { return store->in_heartbeat_.load(); }, 5s));
  REQUIRE(r.stop(5s));
  // Had leave() run inside the heartbeat, the heartbeat would have registered r1 again.
  CHECK(inner->live_owners().empty());
}
