// Tests of the test kit's memory_store: the store conformance suite plus its own extras.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store_conformance.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"
#include "txoutbox/testing/manual_clock.hpp"
#include "txoutbox/testing/memory_store.hpp"
#include "txoutbox/validation.hpp"

namespace {

using namespace std::chrono_literals;
using txoutbox::fence;
using txoutbox::message;
using txoutbox::message_id;
using txoutbox::outcome;
using txoutbox::testing::manual_clock;
using txoutbox::testing::memory_store;

/// The memory backend for the conformance suite. Time is a manual clock, so advance() is
/// instant. The memory store has no transactions: a committed write is enqueue(), a
/// rolled-back one validates and then writes nothing, and out-of-order commits cannot
/// happen (enqueue assigns seq and "commits" at once), so enqueue_out_of_order writes in
/// order and runs `between` afterwards — trivially fine, and the suite's checks hold.
class memory_harness final : public txoutbox::conformance::harness {
 public:
  std::shared_ptr<txoutbox::store> make_store(std::uint32_t partitions) override {
    store_ = std::make_shared<memory_store>(
        txoutbox::testing::memory_store_options{.partitions = partitions, .clock = clock_});
    return store_;
  }
  std::shared_ptr<txoutbox::store> make_peer_store() override { return store_; }

  message_id enqueue_committed(const message& msg) override { return store_->enqueue(msg); }
  std::vector<message_id> enqueue_committed_batch(std::span<const message> msgs) override {
    for (const auto& m : msgs)
      txoutbox::validate(m);  // all or nothing, like one transaction
    std::vector<message_id> ids;
    for (const auto& m : msgs)
      ids.push_back(store_->enqueue(m));
    return ids;
  }
  void enqueue_rolled_back(const message& msg) override { txoutbox::validate(msg); }
  std::pair<message_id, message_id> enqueue_out_of_order(
      const message& a, const message& b, const std::function<void()>& between) override {
    const auto id_a = store_->enqueue(a);
    const auto id_b = store_->enqueue(b);
    between();
    return {id_a, id_b};
  }

  void advance(std::chrono::milliseconds d) override { clock_->advance(d); }
  std::optional<std::string> last_error(const message_id& id) override {
    return store_->last_error(id);
  }
  std::string name() const override { return "memory"; }

 private:
  std::shared_ptr<manual_clock> clock_ = std::make_shared<manual_clock>();
  std::shared_ptr<memory_store> store_;
};

std::unique_ptr<txoutbox::conformance::harness> make_memory_harness() {
  return std::make_unique<memory_harness>();
}

message msg(const std::string& key, int n) {
  return message{.id = {},
                 .aggregate_type = "order",
                 .aggregate_id = key,
                 .type = "OrderPlaced",
                 .payload = "{\"n\":" + std::to_string(n) + "}",
                 .headers = {},
                 .deliver_after = std::nullopt};
}

/// Expects `fn` to throw the injected transient_error.
template <class Fn>
void require_injected(Fn&& fn) {
  try {
    fn();
    FAIL("expected an injected transient_error");
  } catch (const txoutbox::transient_error& e) {
    REQUIRE(e.transient());
    REQUIRE(e.code() == txoutbox::errc::connection_failed);
    REQUIRE(std::string(e.what()) == "injected failure");
  }
}

}  // namespace

TXOUTBOX_STORE_CONFORMANCE_TESTS("memory", make_memory_harness)

TEST_CASE("memory store fail_next_calls makes the next SPI calls throw transient_error",
          "[memory_store][faults]") {
  auto clock = std::make_shared<manual_clock>();
  memory_store s({.partitions = 2, .clock = clock});
  s.fail_next_calls(2);

  // Neither the writer nor the inspection calls use up an injected failure.
  const auto id = s.enqueue(msg("k", 1));
  REQUIRE(s.size() == 1);
  REQUIRE(s.rows().size() == 1);
  REQUIRE(s.dead_letter_rows().empty());
  REQUIRE(s.marker(0).starts == 0);
  REQUIRE(s.last_error(id) == std::optional<std::string>(""));

  const auto p = txoutbox::partition_of("k", 2);
  require_injected([&] { s.acquire("relay-a", p, 10s); });
  require_injected([&] { (void)s.stats(); });
  // A failed acquire took nothing: the lease is still free.
  const auto epoch = s.acquire("relay-a", p, 10s);
  REQUIRE(epoch == std::optional<std::uint64_t>(1));

  s.fail_next_calls(1);
  const std::vector<outcome> done{
      outcome{.id = id, .what = outcome::action::published, .delay = {}, .reason = {}}};
  require_injected([&] { s.settle(fence{"relay-a", p, *epoch}, done); });
  REQUIRE(s.size() == 1);  // the failed settle wrote nothing
  REQUIRE(s.settle(fence{"relay-a", p, *epoch}, done));
  REQUIRE(s.size() == 0);

  s.fail_next_calls(3);
  s.fail_next_calls(0);  // cancels what is pending
  REQUIRE(s.live_owners().empty());
}

TEST_CASE("memory store enqueue validates and writes nothing on bad input", "[memory_store]") {
  memory_store s({.partitions = 4, .clock = std::make_shared<manual_clock>()});
  auto no_key = msg("", 1);
  REQUIRE_THROWS_AS(s.enqueue(no_key), txoutbox::usage_error);
  auto bad_json = msg("k", 1);
  bad_json.payload = "{\"n\":";
  REQUIRE_THROWS_AS(s.enqueue(bad_json), txoutbox::usage_error);
  auto big = msg("k", 1);
  big.payload = "\"" + std::string(200, 'x') + "\"";
  REQUIRE_THROWS_AS(s.enqueue(big, {.max_payload_bytes = 100}), txoutbox::usage_error);
  REQUIRE(s.size() == 0);
  REQUIRE(s.stats().backlog == 0);
}

TEST_CASE("memory store enqueue assigns ids seqs partitions and availability", "[memory_store]") {
  auto clock = std::make_shared<manual_clock>();
  memory_store s({.partitions = 8, .clock = clock});
  const auto given = message_id::generate();
  auto first = msg("order-1", 1);
  first.id = given;
  auto delayed = msg("order-2", 2);
  delayed.deliver_after = 5s;
  REQUIRE(s.enqueue(first) == given);
  const auto generated = s.enqueue(delayed);
  REQUIRE_FALSE(generated.is_nil());

  const auto rows = s.rows();
  REQUIRE(rows.size() == 2);
  REQUIRE(rows[0].msg.id == given);
  REQUIRE(rows[1].msg.id == generated);
  REQUIRE(rows[0].seq < rows[1].seq);
  REQUIRE(rows[0].partition == txoutbox::partition_of("order-1", 8));
  REQUIRE(rows[1].partition == txoutbox::partition_of("order-2", 8));
  REQUIRE_FALSE(rows[1].msg.deliver_after.has_value());
  REQUIRE(rows[1].attempts == 0);

  // The same id twice is refused, as a primary key would refuse it.
  try {
    s.enqueue(first);
    FAIL("expected usage_error");
  } catch (const txoutbox::usage_error& e) {
    REQUIRE(e.field() == "id");
  }
  REQUIRE(s.size() == 2);

  // The delayed row becomes claimable only once the clock passes its delay.
  const auto p = rows[1].partition;
  REQUIRE(s.acquire("relay-a", p, 60s).has_value());
  const std::vector<std::uint32_t> parts{p};
  const auto holds_delayed = [&] {
    const auto claimed = s.claim("relay-a", parts, {.rows = 10});
    return !claimed.empty() && std::any_of(claimed[0].records.begin(), claimed[0].records.end(),
                                           [&](const auto& r) { return r.msg.id == generated; });
  };
  REQUIRE_FALSE(holds_delayed());
  clock->advance(4999ms);
  REQUIRE_FALSE(holds_delayed());
  clock->advance(1ms);
  REQUIRE(holds_delayed());
}

TEST_CASE("memory store inspection shows markers dead letters and last errors", "[memory_store]") {
  memory_store s({.partitions = 1, .clock = std::make_shared<manual_clock>()});
  const auto a = s.enqueue(msg("a", 1));
  const auto b = s.enqueue(msg("b", 1));
  const auto epoch = s.acquire("relay-a", 0, 10s);
  REQUIRE(epoch.has_value());
  const fence f{"relay-a", 0, *epoch};
  REQUIRE(s.begin_batch(f, {.head_seq = 1, .last_seq = 2, .starts = 4, .suspect_through = 2}));
  REQUIRE(s.marker(0).starts == 4);
  REQUIRE(s.marker(0).last_seq == 2);

  const std::vector<outcome> outcomes{
      outcome{.id = a, .what = outcome::action::retry, .delay = 1s, .reason = "slow"},
      outcome{.id = b, .what = outcome::action::dead_letter, .delay = {}, .reason = "rejected"}};
  REQUIRE(s.settle(f, outcomes));
  REQUIRE(s.marker(0).starts == 0);
  REQUIRE(s.marker(0).suspect_through == 2);
  REQUIRE(s.marker(0).head_seq == 1);
  REQUIRE(s.last_error(a) == std::optional<std::string>("slow"));
  REQUIRE_FALSE(s.last_error(b).has_value());
  const auto dead = s.dead_letter_rows();
  REQUIRE(dead.size() == 1);
  REQUIRE(dead[0].record.msg.id == b);
  REQUIRE(dead[0].reason == "rejected");
  REQUIRE(s.rows().size() == 1);
  REQUIRE(s.rows()[0].attempts == 1);
}

TEST_CASE("memory store settle leaves rows of other partitions alone", "[memory_store][fence]") {
  constexpr std::uint32_t n = 4;
  memory_store s({.partitions = n, .clock = std::make_shared<manual_clock>()});
  const std::string key = "elsewhere";
  const auto theirs = txoutbox::partition_of(key, n);
  const auto mine = (theirs + 1) % n;
  const auto id = s.enqueue(msg(key, 1));
  const auto epoch = s.acquire("relay-a", mine, 10s);
  REQUIRE(epoch.has_value());
  const std::vector<outcome> done{
      outcome{.id = id, .what = outcome::action::published, .delay = {}, .reason = {}}};
  REQUIRE(s.settle(fence{"relay-a", mine, *epoch}, done));
  REQUIRE(s.size() == 1);
}

TEST_CASE("memory store rejects bad partitions and owners", "[memory_store]") {
  REQUIRE_THROWS_AS(memory_store({.partitions = 0, .clock = nullptr}), txoutbox::usage_error);
  memory_store s({.partitions = 2, .clock = nullptr});  // default: the steady clock
  REQUIRE_THROWS_AS(s.acquire("relay-a", 2, 1s), txoutbox::usage_error);
  REQUIRE_THROWS_AS(s.acquire("", 0, 1s), txoutbox::usage_error);
  REQUIRE_THROWS_AS(s.marker(2), txoutbox::usage_error);
  REQUIRE_FALSE(s.renew(fence{"relay-a", 7, 1}, 1s));
  const std::vector<std::uint32_t> out_of_range{5};
  REQUIRE(s.claim("relay-a", out_of_range, {.rows = 10}).empty());
}

TEST_CASE("memory store serves concurrent relays each row exactly once",
          "[memory_store][threads]") {
  constexpr std::uint32_t n = 8;
  constexpr int relays = 4;
  constexpr int rows = 400;
  memory_store s({.partitions = n, .clock = nullptr});
  for (int i = 0; i < rows; ++i)
    s.enqueue(msg("key-" + std::to_string(i % 37), i));

  std::mutex mutex;
  std::map<message_id, int> seen;
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < relays; ++r) {
    threads.emplace_back([&, r] {
      const auto owner = "relay-" + std::to_string(r);
      std::vector<std::uint32_t> mine;
      std::map<std::uint32_t, std::uint64_t> epochs;
      for (std::uint32_t p = static_cast<std::uint32_t>(r); p < n; p += relays) {
        if (auto e = s.acquire(owner, p, 60s)) {
          mine.push_back(p);
          epochs[p] = *e;
        }
      }
      for (;;) {
        const auto claimed = s.claim(owner, mine, {.rows = 5});
        if (claimed.empty())
          return;
        for (const auto& cp : claimed) {
          std::vector<outcome> done;
          {
            std::lock_guard lock(mutex);
            for (const auto& rec : cp.records) {
              ++seen[rec.msg.id];
              done.push_back(outcome{
                  .id = rec.msg.id, .what = outcome::action::published, .delay = {}, .reason = {}});
            }
          }
          if (!s.settle(fence{owner, cp.partition, epochs[cp.partition]}, done))
            ++refused;
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();

  REQUIRE(refused.load() == 0);
  REQUIRE(s.size() == 0);
  REQUIRE(seen.size() == static_cast<std::size_t>(rows));
  REQUIRE(std::all_of(seen.begin(), seen.end(), [](const auto& e) { return e.second == 1; }));
}
