// Unit tests of one relay on the in-memory store: delivery, order, retries, dead letters, stop.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <thread>

#include "relay_test_support.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/testing/manual_clock.hpp"
#include "txoutbox/testing/memory_publisher.hpp"
#include "txoutbox/testing/memory_store.hpp"
#include "txoutbox/testing/scripted_publisher.hpp"
#include "txoutbox/testing/wait.hpp"

using namespace std::chrono_literals;
using relay_test::fast_options;
using relay_test::make_message;
using txoutbox::publish_result;
using txoutbox::relay;
using txoutbox::testing::manual_clock;
using txoutbox::testing::memory_publisher;
using txoutbox::testing::memory_store;
using txoutbox::testing::memory_store_options;
using txoutbox::testing::scripted_publisher;
using txoutbox::testing::wait_until;

namespace {

struct fixture {
  std::shared_ptr<manual_clock> clk = std::make_shared<manual_clock>();
  std::shared_ptr<memory_store> store;
  explicit fixture(std::uint32_t partitions = 16)
      : store(std::make_shared<memory_store>(
            memory_store_options{.partitions = partitions, .clock = clk})) {}
};

}  // namespace

TEST_CASE("relay publishes every message once in per-key order", "[relay][order]") {
  fixture f;
  auto pub = std::make_shared<memory_publisher>();
  auto opts = fast_options(f.clk, "r1");
  opts.threads = 4;
  opts.batch_size = 25;
  std::atomic<std::uint64_t> reported{0};
  opts.on_batch = [&](const txoutbox::batch_report& r) { reported.fetch_add(r.published); };
  relay r(f.store, pub, opts);
  // Half before start, half while running.
  for (int i = 0; i < 5; ++i) {
    for (int k = 0; k < 200; ++k)
      f.store->enqueue(make_message("key-" + std::to_string(k), i));
  }
  r.start();
  for (int i = 5; i < 10; ++i) {
    for (int k = 0; k < 200; ++k)
      f.store->enqueue(make_message("key-" + std::to_string(k), i));
  }
  REQUIRE(r.flush(20s));
  CHECK(f.store->size() == 0);
  const auto recs = pub->records();
  CHECK(recs.size() == 2000);
  CHECK(relay_test::distinct(recs) == 2000);  // once each
  CHECK(relay_test::keys_in_order(recs));
  for (const auto& [key, seqs] : relay_test::first_publish_order(recs))
    CHECK(seqs.size() == 10);
  CHECK(pub->overlaps() == 0);
  const auto s = r.stats();
  CHECK(s.published == 2000);
  CHECK(s.claimed == 2000);
  CHECK(s.published == pub->count());
  CHECK(s.batches == pub->batches());
  CHECK(reported.load() == 2000);
  CHECK(s.in_flight == 0);
  CHECK(s.owned_partitions == 16);
  CHECK(s.errors == 0);
  CHECK(s.publish_latency_max <= s.publish_latency_total);
  CHECK(r.stop(5s));
}

TEST_CASE("relay retries a transient failure after the backoff", "[relay][retry]") {
  fixture f;
  auto pub = std::make_shared<scripted_publisher>();
  pub->push(publish_result::retry("broker down"));
  const auto id = f.store->enqueue(make_message("a", 1));
  auto opts = fast_options(f.clk, "r1");
  opts.backoff_initial = 30'000ms;  // far beyond the test's real time: only the clock moves it
  opts.backoff_max = 60'000ms;
  relay r(f.store, pub, opts);
  r.start();
  REQUIRE(wait_until([&] { return r.stats().retried == 1; }));
  REQUIRE(f.store->rows().size() == 1);
  CHECK(f.store->rows()[0].attempts == 1);
  CHECK(f.store->last_error(id) == std::optional<std::string>("broker down"));
  f.clk->advance(30'001ms);  // the first delay is at most backoff_initial
  REQUIRE(wait_until([&] { return r.stats().published == 1; }));
  const auto sent = pub->sent();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].msg.id == id);
  CHECK(sent[1].msg.id == id);
  CHECK(sent[1].attempts == 1);
  CHECK(f.store->size() == 0);
}

TEST_CASE("relay backoff stays under the cap however many attempts", "[relay][retry]") {
  fixture f;
  auto pub = std::make_shared<scripted_publisher>();
  pub->push(publish_result::retry("still down"), 7);
  f.store->enqueue(make_message("a", 1));
  auto opts = fast_options(f.clk, "r1");
  opts.backoff_initial = 1000ms;
  opts.backoff_max = 4000ms;
  relay r(f.store, pub, opts);
  r.start();
  for (std::uint64_t n = 1; n <= 7; ++n) {
    // Each retry becomes claimable again within the cap (4 s of clock): a delay past the
    // cap (the uncapped ceiling reaches 64 s) would leave the relay waiting here.
    REQUIRE(wait_until([&] { return r.stats().retried == n; }, 5s));
    f.clk->advance(4001ms);
  }
  REQUIRE(wait_until([&] { return r.stats().published == 1; }, 5s));
  CHECK(pub->sent().size() == 8);
}

TEST_CASE("relay honours the publisher's retry_after", "[relay][retry]") {
  fixture f;
  auto pub = std::make_shared<scripted_publisher>();
  pub->push(publish_result::retry("slow down", 5000ms));
  f.store->enqueue(make_message("a", 1));
  auto opts = fast_options(f.clk, "r1");
  opts.backoff_initial = 10ms;
  opts.backoff_max = 10'000ms;  // the hint is within the cap
  relay r(f.store, pub, opts);
  r.start();
  REQUIRE(wait_until([&] { return r.stats().retried == 1; }));
  f.clk->advance(4900ms);
  // A full claim round now finds nothing: the row is not available before 5 s.
  REQUIRE(r.flush(5s));
  CHECK(pub->calls() == 1);
  f.clk->advance(101ms);
  REQUIRE(wait_until([&] { return r.stats().published == 1; }));
  CHECK(pub->calls() == 2);
}

TEST_CASE("a retry_after of years is honoured only up to backoff_max", "[relay][retry]") {
  fixture f;
  auto pub = std::make_shared<scripted_publisher>();
  pub->push(publish_result::retry("come back in ten years", std::chrono::hours(24 * 3650)));
  f.store->enqueue(make_message("a", 1));
  auto opts = fast_options(f.clk, "r1");
  opts.backoff_max = 2000ms;
  relay r(f.store, pub, opts);
  r.start();
  REQUIRE(wait_until([&] { return r.stats().retried == 1; }));
  f.clk->advance(2001ms);
  REQUIRE(wait_until([&] { return r.stats().published == 1; }));
  CHECK(pub->calls() == 2);
}

TEST_CASE("a retry of message k holds k+1 of the same key back", "[relay][retry][order]") {
  fixture f;
  auto pub = std::make_shared<scripted_publisher>();
  const auto a1 = f.store->enqueue(make_message("a", 1));
  const auto a2 = f.store->enqueue(make_message("a", 2));
  const auto b1 = f.store->enqueue(make_message("b", 1));
  // a1's first send fails; "a" and "b" hash to different partitions, published by two
  // workers in either order, so the failure is tied to the id rather than to send order.
  std::atomic<bool> failed_once{false};
  pub->set_fallback([&](const txoutbox::outbox_record& rec) {
    if (rec.msg.id == a1 && !failed_once.exchange(true))
      return publish_result::retry("broker down", 2000ms);
    return publish_result::ok();
  });
  relay r(f.store, pub, fast_options(f.clk, "r1"));
  r.start();
  REQUIRE(wait_until([&] { return r.stats().published == 1 && r.stats().retried == 1; }));
  REQUIRE(r.flush(5s));
  auto sent = pub->sent();
  REQUIRE(sent.size() == 2);
  CHECK(((sent[0].msg.id == a1 && sent[1].msg.id == b1) ||
         (sent[0].msg.id == b1 && sent[1].msg.id == a1)));  // a2 not sent while a1 waits
  f.clk->advance(2001ms);
  REQUIRE(wait_until([&] { return r.stats().published == 3; }));
  sent = pub->sent();
  REQUIRE(sent.size() == 4);
  CHECK(sent[2].msg.id == a1);
  CHECK(sent[3].msg.id == a2);
}

TEST_CASE("relay dead-letters a message after max_attempts, other keys flow", "[relay][dead]") {
  fixture f;
  auto pub = std::make_shared<scripted_publisher>();
  const auto bad = f.store->enqueue(make_message("a", 1));
  const auto after_bad = f.store->enqueue(make_message("a", 2));
  for (int i = 0; i < 3; ++i)
    f.store->enqueue(make_message("b", i));
  pub->set_fallback([bad](const txoutbox::outbox_record& rec) {
    return rec.msg.id == bad ? publish_result::retry("broker says no") : publish_result::ok();
  });
  auto opts = fast_options(f.clk, "r1");
  opts.max_attempts = 3;
  opts.backoff_initial = 0ms;  // retry at once
  opts.backoff_max = 0ms;
  relay r(f.store, pub, opts);
  r.start();
  REQUIRE(wait_until([&] { return r.stats().dead_lettered == 1 && r.stats().published == 4; }));
  REQUIRE(r.flush(5s));
  const auto dead = f.store->dead_letter_rows();
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].record.msg.id == bad);
  CHECK(dead[0].reason == "max attempts (3) reached: broker says no");
  CHECK(dead[0].record.attempts == 3);
  CHECK(r.stats().retried == 2);
  CHECK(f.store->size() == 0);
  // The dead letter released the key: a2 was published after the three tries of a1.
  const auto sent = pub->sent();
  std::vector<txoutbox::message_id> key_a;
  for (const auto& rec : sent) {
    if (rec.msg.aggregate_id == "a")
      key_a.push_back(rec.msg.id);
  }
  CHECK(key_a == std::vector<txoutbox::message_id>{bad, bad, bad, after_bad});
}

TEST_CASE("relay dead-letters a rejected message with the publisher's reason", "[relay][dead]") {
  fixture f;
  auto pub = std::make_shared<scripted_publisher>();
  pub->push(publish_result::reject("schema violation"));
  const auto a1 = f.store->enqueue(make_message("a", 1));
  const auto a2 = f.store->enqueue(make_message("a", 2));
  relay r(f.store, pub, fast_options(f.clk, "r1"));
  r.start();
  REQUIRE(wait_until([&] { return r.stats().published == 1; }));
  const auto dead = f.store->dead_letter_rows();
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].record.msg.id == a1);
  CHECK(dead[0].reason == "schema violation");
  CHECK(r.stats().dead_lettered == 1);
  REQUIRE(pub->sent().size() == 2);
  CHECK(pub->sent()[1].msg.id == a2);
}

TEST_CASE("relay stop is bounded while a publish hangs and ignores shutdown", "[relay][stop]") {
  fixture f;
  auto pub = std::make_shared<scripted_publisher>();
  pub->hold(/*honour_shutdown=*/false);
  for (int i = 0; i < 5; ++i)
    f.store->enqueue(make_message("k" + std::to_string(i), i));
  relay_test::log_sink logs;
  auto opts = fast_options(f.clk, "r1");
  opts.on_log = logs.hook();
  {
    relay r(f.store, pub, opts);
    r.start();
    REQUIRE(pub->wait_until_blocked(10s));
    const auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(r.stop(300ms));
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took < 3s);
    CHECK(logs.contains("did not finish in time"));
    // The lease was released even though a worker is stuck.
    for (const auto& l : f.store->leases())
      CHECK(l.owner.empty());
    CHECK(r.stop(1s) == false);  // idempotent: the same answer
  }
  // The abandoned publish returns late; its results are not settled: rows stay.
  pub->release();
  CHECK(f.store->size() == 5);
}

TEST_CASE("relay stop unblocks a publish through shutdown, the rows are retried later",
          "[relay][stop]") {
  fixture f;
  auto pub = std::make_shared<scripted_publisher>();
  pub->hold(/*honour_shutdown=*/true);
  for (int i = 0; i < 5; ++i)
    f.store->enqueue(make_message("k" + std::to_string(i), i));
  auto opts = fast_options(f.clk, "r1");
  opts.partitions = 16;
  relay r(f.store, pub, opts);
  r.start();
  REQUIRE(pub->wait_until_blocked(10s));
  CHECK(r.stop(1s));  // half the budget waits, then shutdown() unblocks the publish
  CHECK(r.stats().in_flight == 0);
  REQUIRE(f.store->size() == 5);
  std::size_t retried = 0;
  for (const auto& row : f.store->rows())
    retried += row.attempts == 1 ? 1 : 0;
  CHECK(retried == r.stats().retried);
  CHECK(retried >= 1);

  auto pub2 = std::make_shared<memory_publisher>();
  relay r2(f.store, pub2, fast_options(f.clk, "r2"));
  r2.start();
  f.clk->advance(1001ms);  // past backoff_max
  REQUIRE(wait_until([&] { return pub2->count() == 5; }));
  REQUIRE(r2.flush(5s));
  CHECK(f.store->size() == 0);
}

TEST_CASE("relay logs and counts store failures and recovers", "[relay][faults]") {
  fixture f;
  auto pub = std::make_shared<memory_publisher>();
  relay_test::log_sink logs;
  auto opts = fast_options(f.clk, "r1");
  opts.on_log = logs.hook();
  relay r(f.store, pub, opts);
  r.start();
  REQUIRE(wait_until([&] { return r.stats().owned_partitions == 16; }));
  for (int round = 0; round < 5; ++round) {
    for (int k = 0; k < 40; ++k)
      f.store->enqueue(make_message("key-" + std::to_string(k), round));
    f.store->fail_next_calls(3);
    const auto errors = r.stats().errors;
    REQUIRE(wait_until([&] { return r.stats().errors >= errors + 1; }));
  }
  REQUIRE(wait_until([&] { return f.store->size() == 0; }, 20s));
  REQUIRE(r.flush(10s));
  CHECK(logs.contains("injected failure"));
  CHECK(r.stats().errors >= 5);
  const auto recs = pub->records();
  CHECK(relay_test::distinct(recs) == 200);
  CHECK(relay_test::keys_in_order(recs));
  CHECK(pub->overlaps() == 0);
}

TEST_CASE("relay flush waits for ownership and a drained round", "[relay][flush]") {
  fixture f;
  auto pub = std::make_shared<memory_publisher>();
  for (int k = 0; k < 50; ++k)
    f.store->enqueue(make_message("key-" + std::to_string(k), 0));
  relay r(f.store, pub, fast_options(f.clk, "r1"));
  CHECK_FALSE(r.flush(50ms));  // not running
  r.start();
  REQUIRE(r.flush(10s));  // at once: it must first own its partitions
  CHECK(pub->count() == 50);
  CHECK(r.stats().published == 50);
  CHECK(r.stats().owned_partitions == 16);
  // A message delayed by deliver_after is not "to publish" yet.
  auto delayed = make_message("late", 1);
  delayed.deliver_after = 10'000ms;
  f.store->enqueue(delayed);
  REQUIRE(r.flush(5s));
  CHECK(pub->count() == 50);
  f.clk->advance(10'001ms);
  r.poke();
  REQUIRE(wait_until([&] { return pub->count() == 51; }));
  REQUIRE(r.stop(5s));
  CHECK_FALSE(r.flush(50ms));  // stopped
}

TEST_CASE("relay isolates and dead-letters a message that crashed relays repeatedly",
          "[relay][crash-loop]") {
  fixture f(1);
  auto pub = std::make_shared<memory_publisher>();
  const auto m1 = f.store->enqueue(make_message("a", 1));
  f.store->enqueue(make_message("b", 1));
  f.store->enqueue(make_message("c", 1));
  f.store->enqueue(make_message("d", 1));  // after the suspects: batched normally
  const auto rows = f.store->rows();
  // A relay that began the batch [m1..c1] three times and never settled it.
  const auto epoch = f.store->acquire("ghost", 0, 1000ms);
  REQUIRE(epoch);
  REQUIRE(f.store->begin_batch(
      txoutbox::fence{"ghost", 0, *epoch},
      txoutbox::batch_marker{
          .head_seq = rows[0].seq, .last_seq = rows[2].seq, .starts = 3, .suspect_through = 0}));
  f.clk->advance(1001ms);  // its lease expires
  relay_test::log_sink logs;
  auto opts = fast_options(f.clk, "r1");
  opts.on_log = logs.hook();
  relay r(f.store, pub, opts);
  r.start();
  REQUIRE(r.flush(10s));
  const auto dead = f.store->dead_letter_rows();
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].record.msg.id == m1);
  CHECK(dead[0].reason == "crash loop: relay stopped 3 times while publishing this message");
  // b and c were suspects: published one per batch; d followed.
  CHECK(pub->count() == 3);
  const auto recs = pub->records();
  REQUIRE(recs.size() == 3);
  CHECK(recs[0].msg.aggregate_id == "b");
  CHECK(recs[1].msg.aggregate_id == "c");
  CHECK(pub->batches() >= 3);
  CHECK(logs.contains("alone after an unfinished batch"));
  CHECK(f.store->marker(0).starts == 0);
}

TEST_CASE("relay options are validated", "[relay][options]") {
  fixture f;
  auto pub = std::make_shared<memory_publisher>();
  auto bad = [&](auto mutate, const char* field) {
    auto o = fast_options(f.clk, "r1");
    mutate(o);
    try {
      relay r(f.store, pub, o);
      r.start();
      FAIL("no usage_error for " << field);
    } catch (const txoutbox::usage_error& e) {
      CHECK(e.field() == field);
    }
  };
  bad([](txoutbox::relay_options& o) { o.threads = 0; }, "threads");
  bad([](txoutbox::relay_options& o) { o.batch_size = 0; }, "batch_size");
  bad([](txoutbox::relay_options& o) { o.renew_divisor = 1; }, "renew_divisor");
  bad([](txoutbox::relay_options& o) { o.max_attempts = 0; }, "max_attempts");
  bad([](txoutbox::relay_options& o) { o.lease_ttl = 5ms; }, "lease_ttl");
  bad([](txoutbox::relay_options& o) { o.poll_interval = 0ms; }, "poll_interval");
  CHECK_THROWS_AS(relay(nullptr, pub), txoutbox::usage_error);
}

TEST_CASE("relay refuses a partition count that disagrees with the database", "[relay][options]") {
  fixture f;
  auto opts = fast_options(f.clk, "r1");
  opts.partitions = 8;
  relay r(f.store, std::make_shared<memory_publisher>(), opts);
  try {
    r.start();
    FAIL("start() accepted 8 partitions against 16");
  } catch (const txoutbox::error& e) {
    CHECK(e.code() == txoutbox::errc::config_mismatch);
  }
  opts.partitions = 16;
  relay ok(f.store, std::make_shared<memory_publisher>(), opts);
  ok.start();
  CHECK_THROWS_AS(ok.start(), txoutbox::usage_error);
  CHECK(ok.owner() == "r1");
  relay generated(f.store, std::make_shared<memory_publisher>());
  CHECK(std::count(generated.owner().begin(), generated.owner().end(), ':') >= 2);
}

namespace {

/// A memory store that reports wake-ups like PostgreSQL LISTEN: notify() wakes
/// wait_for_wakeup(). Everything else is forwarded.
class waking_store final : public relay_test::forwarding_store {
 public:
  using forwarding_store::forwarding_store;
  void notify() {
    {
      std::lock_guard lock(mutex_);
      pending_ = true;
    }
    cv_.notify_all();
  }
  std::size_t waits() const { return waits_.load(); }

  bool supports_wakeup() const override { return true; }
  bool wait_for_wakeup(std::chrono::milliseconds max_wait) override {
    waits_.fetch_add(1);
    std::unique_lock lock(mutex_);
    const bool got = cv_.wait_for(lock, max_wait, [&] { return pending_; });
    pending_ = false;
    return got;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool pending_ = false;
  std::atomic<std::size_t> waits_{0};
};

}  // namespace

TEST_CASE("relay claims at once on poke() without waiting for the poll", "[relay][wakeup]") {
  fixture f;
  auto pub = std::make_shared<memory_publisher>();
  auto opts = fast_options(f.clk, "r1");
  opts.poll_interval = 3'600'000ms;  // the poll alone would take an hour
  relay r(f.store, pub, opts);
  r.start();
  REQUIRE(r.flush(10s));
  f.store->enqueue(make_message("a", 1));
  r.poke();
  REQUIRE(wait_until([&] { return pub->count() == 1; }));
}

TEST_CASE("relay claims when the store reports a wake-up", "[relay][wakeup]") {
  fixture f;
  auto waking = std::make_shared<waking_store>(f.store);
  auto pub = std::make_shared<memory_publisher>();
  auto opts = fast_options(f.clk, "r1");
  opts.poll_interval = 3'600'000ms;
  relay r(waking, pub, opts);
  r.start();
  REQUIRE(r.flush(10s));
  REQUIRE(wait_until([&] { return waking->waits() >= 1; }));
  f.store->enqueue(make_message("a", 1));
  waking->notify();
  REQUIRE(wait_until([&] { return pub->count() == 1; }));
  // The listener thread ends within its wait slice when the relay stops.
  REQUIRE(r.stop(5s));
}

namespace {

/// Records the lease-upkeep calls (renew, heartbeat, live_owners, acquire, release) in
/// the order they reach the store, can hold claim() at a gate (a claim statement stuck
/// on a loaded database) and can make heartbeats fail. Everything else is forwarded.
class observed_store final : public relay_test::forwarding_store {
 public:
  using forwarding_store::forwarding_store;

  void hold_claims() {
    std::lock_guard lock(mutex_);
    held_ = true;
  }
  void release_claims() {
    {
      std::lock_guard lock(mutex_);
      held_ = false;
    }
    cv_.notify_all();
  }
  /// claim() calls waiting at the gate right now.
  std::size_t claims_waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_;
  }
  /// acquire() of `partition` waits until release_acquires(), as an UPDATE waits on a
  /// lease row that a frozen relay keeps locked.
  void hold_acquires_of(std::uint32_t partition) {
    std::lock_guard lock(mutex_);
    held_acquire_ = partition;
  }
  void release_acquires() {
    {
      std::lock_guard lock(mutex_);
      held_acquire_.reset();
    }
    cv_.notify_all();
  }
  std::size_t acquires_waiting() const {
    std::lock_guard lock(mutex_);
    return acquires_waiting_;
  }
  void fail_heartbeats(bool on) { fail_heartbeats_.store(on); }
  std::vector<std::string> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::size_t count(const std::string& name) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count(calls_.begin(), calls_.end(), name));
  }

  void heartbeat(const std::string& o, std::chrono::milliseconds t) override {
    record("heartbeat");
    if (fail_heartbeats_.load())
      throw txoutbox::transient_error("injected heartbeat failure");
    inner_->heartbeat(o, t);
  }
  std::vector<std::string> live_owners() override {
    record("live_owners");
    return inner_->live_owners();
  }
  std::optional<std::uint64_t> acquire(const std::string& o, std::uint32_t p,
                                       std::chrono::milliseconds t) override {
    record("acquire");
    {
      std::unique_lock lock(mutex_);
      ++acquires_waiting_;
      cv_.wait(lock, [&] { return held_acquire_ != p; });
      --acquires_waiting_;
    }
    return inner_->acquire(o, p, t);
  }
  bool renew(const txoutbox::fence& f, std::chrono::milliseconds t) override {
    record("renew");
    return inner_->renew(f, t);
  }
  void release(const txoutbox::fence& f) override {
    record("release");
    inner_->release(f);
  }
  std::vector<txoutbox::claimed_partition> claim(const std::string& o,
                                                 std::span<const std::uint32_t> p,
                                                 const txoutbox::claim_limits& limit) override {
    {
      std::unique_lock lock(mutex_);
      ++waiting_;
      cv_.wait(lock, [&] { return !held_; });
      --waiting_;
    }
    return inner_->claim(o, p, limit);
  }

 private:
  void record(const char* name) {
    std::lock_guard lock(mutex_);
    calls_.emplace_back(name);
  }

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool held_ = false;
  std::size_t waiting_ = 0;
  std::optional<std::uint32_t> held_acquire_;
  std::size_t acquires_waiting_ = 0;
  std::vector<std::string> calls_;
  std::atomic<bool> fail_heartbeats_{false};
};

/// Opens the gates when the test leaves, even on a failed REQUIRE, so the relay (declared
/// before it, destroyed after it) never stops with a call stuck in the store.
struct claim_gate_opener {
  observed_store& store;
  ~claim_gate_opener() {
    store.release_claims();
    store.release_acquires();
  }
};

}  // namespace

TEST_CASE("relay keeps renewing its leases while a claim round is stuck in the store",
          "[relay][lease]") {
  fixture f(4);
  auto observed = std::make_shared<observed_store>(f.store);
  auto pub = std::make_shared<memory_publisher>();
  relay r(observed, pub, fast_options(f.clk, "r1"));
  claim_gate_opener opener{*observed};
  r.start();
  REQUIRE(r.flush(10s));
  REQUIRE(r.stats().owned_partitions == 4);

  f.store->enqueue(make_message("a", 1));
  observed->hold_claims();
  r.poke();
  REQUIRE(wait_until([&] { return observed->claims_waiting() == 1; }));
  // Three more lease ticks (4 renewals and a heartbeat each) while the claim is stuck,
  // with the database clock moving past the lease lifetime meanwhile.
  const auto renews = observed->count("renew");
  const auto heartbeats = observed->count("heartbeat");
  f.clk->advance(40'000ms);
  REQUIRE(wait_until([&] { return observed->count("renew") >= renews + 3 * 4; }));
  f.clk->advance(40'000ms);  // 80 s after the stuck claim began: a 60 s lease
  const auto renewed_after = observed->count("renew");
  REQUIRE(wait_until([&] { return observed->count("renew") >= renewed_after + 4; }));
  // The heartbeat follows the renewals within each tick: wait for it, do not race it.
  CHECK(wait_until([&] { return observed->count("heartbeat") >= heartbeats + 3; }));
  CHECK(observed->claims_waiting() == 1);  // still the same stuck round
  CHECK(r.stats().owned_partitions == 4);
  for (const auto& l : f.store->leases()) {
    CHECK(l.owner == "r1");
    CHECK(l.expires_in.count() > 0);
  }
  CHECK(pub->count() == 0);

  observed->release_claims();
  REQUIRE(wait_until([&] { return pub->count() == 1; }));
  REQUIRE(r.flush(10s));
  CHECK(r.stats().errors == 0);
  CHECK(r.stop(5s));
}

TEST_CASE("relay keeps renewing and publishing while an acquire waits on a locked lease row",
          "[relay][lease]") {
  fixture f(4);
  // Partition 3 is held by an owner that has no heartbeat (a frozen relay): r1 is assigned
  // all four, and its acquire of 3 waits as on a row that owner keeps locked.
  REQUIRE(f.store->acquire("ghost", 3, 60'000ms).has_value());
  auto observed = std::make_shared<observed_store>(f.store);
  observed->hold_acquires_of(3);
  auto pub = std::make_shared<memory_publisher>();
  relay r(observed, pub, fast_options(f.clk, "r1"));
  claim_gate_opener opener{*observed};
  r.start();
  REQUIRE(wait_until([&] { return observed->acquires_waiting() == 1; }));
  REQUIRE(wait_until([&] { return r.stats().owned_partitions == 3; }));

  const auto renews = observed->count("renew");
  const auto heartbeats = observed->count("heartbeat");
  REQUIRE(wait_until([&] { return observed->count("renew") >= renews + 3 * 3; }));
  // The heartbeat follows the renewals within each tick: wait for it, do not race it.
  CHECK(wait_until([&] { return observed->count("heartbeat") >= heartbeats + 3; }));
  std::size_t elsewhere = 0;
  for (int k = 0; k < 40; ++k) {
    const auto key = "key-" + std::to_string(k);
    f.store->enqueue(make_message(key, 0));
    if (txoutbox::partition_of(key, 4) != 3)
      ++elsewhere;
  }
  REQUIRE(elsewhere > 0);
  REQUIRE(wait_until([&] { return pub->count() == elsewhere; }));
  CHECK(observed->acquires_waiting() == 1);  // still the same stuck acquire

  // The lock goes away and the ghost's lease runs out: r1 takes partition 3 and drains it.
  observed->release_acquires();
  f.clk->advance(60'001ms);
  REQUIRE(wait_until([&] { return r.stats().owned_partitions == 4; }));
  REQUIRE(r.flush(10s));
  CHECK(pub->count() == 40);
  CHECK(f.store->size() == 0);
  CHECK(r.stop(5s));
}

TEST_CASE("a relay whose heartbeat fails keeps renewing and keeps its partitions",
          "[relay][lease][faults]") {
  fixture f(4);
  auto observed = std::make_shared<observed_store>(f.store);
  auto pub = std::make_shared<memory_publisher>();
  relay_test::log_sink logs;
  auto opts = fast_options(f.clk, "r1");
  opts.on_log = logs.hook();
  relay r(observed, pub, opts);
  r.start();
  REQUIRE(r.flush(10s));

  observed->fail_heartbeats(true);
  const auto renews = observed->count("renew");
  const auto heartbeats = observed->count("heartbeat");
  REQUIRE(wait_until([&] { return observed->count("heartbeat") >= heartbeats + 3; }));
  f.clk->advance(40'000ms);
  const auto renewed_after = observed->count("renew");
  REQUIRE(wait_until([&] { return observed->count("renew") >= renewed_after + 4; }));
  f.clk->advance(40'000ms);  // past the lease renewed before the failures began
  CHECK(observed->count("renew") >= renews + 3 * 4);
  CHECK(logs.contains("injected heartbeat failure"));
  CHECK(r.stats().owned_partitions == 4);
  for (const auto& l : f.store->leases()) {
    CHECK(l.owner == "r1");
    CHECK(l.expires_in.count() > 0);
  }
  // It still publishes while its heartbeat fails.
  f.store->enqueue(make_message("a", 1));
  r.poke();
  REQUIRE(wait_until([&] { return pub->count() == 1; }));

  observed->fail_heartbeats(false);
  REQUIRE(r.flush(10s));
  CHECK(r.stop(5s));
}
