// Rows the relay must not hand to a publisher, and settles that fail without a crash.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "relay_test_support.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/testing/manual_clock.hpp"
#include "txoutbox/testing/memory_store.hpp"
#include "txoutbox/testing/scripted_publisher.hpp"
#include "txoutbox/testing/wait.hpp"

using namespace std::chrono_literals;
using relay_test::fast_options;
using relay_test::make_message;
using txoutbox::relay;
using txoutbox::testing::manual_clock;
using txoutbox::testing::memory_store;
using txoutbox::testing::memory_store_options;
using txoutbox::testing::scripted_publisher;
using txoutbox::testing::wait_until;

namespace {

/// Hands out one row with a hostile routing field, as a row written by plain SQL that
/// skipped validation would arrive.
class hostile_row_store : public relay_test::forwarding_store {
 public:
  hostile_row_store(std::shared_ptr<memory_store> inner, txoutbox::message_id target,
                    std::string field, std::string value)
      : forwarding_store(std::move(inner)),
        target_(target),
        field_(std::move(field)),
        value_(std::move(value)) {}

  std::vector<txoutbox::claimed_partition> claim(const std::string& o,
                                                 std::span<const std::uint32_t> p,
                                                 const txoutbox::claim_limits& limit) override {
    auto claimed = inner_->claim(o, p, limit);
    for (auto& cp : claimed) {
      for (auto& rec : cp.records) {
        if (rec.msg.id != target_)
          continue;
        auto& m = rec.msg;
        (field_ == "aggregate_type" ? m.aggregate_type
         : field_ == "type"         ? m.type
                                    : m.aggregate_id) = value_;
      }
    }
    return claimed;
  }

 private:
  txoutbox::message_id target_;
  std::string field_, value_;
};

/// settle() throws a transient error for its first `failures` calls.
class failing_settle_store : public relay_test::forwarding_store {
 public:
  failing_settle_store(std::shared_ptr<memory_store> inner, int failures)
      : forwarding_store(std::move(inner)), failures_(failures) {}
  bool settle(const txoutbox::fence& f, std::span<const txoutbox::outcome> o) override {
    if (failures_.fetch_sub(1) > 0)
      throw txoutbox::transient_error("injected settle failure");
    return inner_->settle(f, o);
  }

 private:
  std::atomic<int> failures_;
};

}  // namespace

TEST_CASE("a row with a control character in a routing field is dead-lettered alone",
          "[relay][screen]") {
  const auto [field, value] = GENERATE(table<std::string, std::string>(
      {{"aggregate_id", "o1\r\nX-Injected: 1"},
       {"aggregate_id", "o1\r\n\r\nPOST /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"},
       {"type", "Order\tChanged"},
       {"aggregate_type", "order\x7f"},
       {"aggregate_id", "o1\xc2\x85"}}));
  auto clk = std::make_shared<manual_clock>();
  auto inner = std::make_shared<memory_store>(memory_store_options{.partitions = 4, .clock = clk});
  const auto bad = inner->enqueue(make_message("o1", 1));
  inner->enqueue(make_message("o1", 2));
  inner->enqueue(make_message("o2", 1));
  auto store = std::make_shared<hostile_row_store>(inner, bad, field, value);
  auto pub = std::make_shared<scripted_publisher>();
  relay r(store, pub, fast_options(clk, "r1"));
  r.start();
  REQUIRE(r.flush(10s));
  const auto dead = inner->dead_letter_rows();
  REQUIRE(dead.size() == 1);
  CHECK(dead.front().record.msg.id == bad);
  CHECK(dead.front().reason.rfind("unsafe routing field: " + field +
                                      " contains the control "
                                      "character U+00",
                                  0) == 0);
  // The publisher never saw it; the rest, its own key's next message included, went.
  const auto sent = pub->sent();
  CHECK(sent.size() == 2);
  for (const auto& rec : sent)
    CHECK(rec.msg.id != bad);
  CHECK(inner->size() == 0);
  REQUIRE(r.stop(5s));
}

TEST_CASE("settles that keep failing do not dead-letter a message as a crash loop",
          "[relay][crash-loop]") {
  auto clk = std::make_shared<manual_clock>();
  auto inner = std::make_shared<memory_store>(memory_store_options{.partitions = 1, .clock = clk});
  inner->enqueue(make_message("k", 1));
  // Four batches in a row whose settle fails all its attempts (3 each): more than
  // max_crash_starts begins of the same head, none of them a crash.
  auto store = std::make_shared<failing_settle_store>(inner, 12);
  auto pub = std::make_shared<scripted_publisher>();
  auto opts = fast_options(clk, "r1");
  opts.max_crash_starts = 3;
  relay r(store, pub, opts);
  r.start();
  REQUIRE(wait_until([&] { return inner->size() == 0; }, 30s));
  CHECK(inner->dead_letter_rows().empty());
  CHECK(pub->sent().size() >= 5);  // published again after each failed settle
  REQUIRE(r.stop(5s));
}
