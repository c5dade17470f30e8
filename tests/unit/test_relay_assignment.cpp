// Unit tests of the relay's pure decisions: partition assignment, crash-loop plans, backoff.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "relay/relay_assignment.hpp"
#include "relay/relay_policy.hpp"
#include "txoutbox/message_id.hpp"

using txoutbox::detail::assigned_partitions;
using namespace std::chrono_literals;

TEST_CASE("a single owner is assigned every partition", "[relay][assignment]") {
  const auto mine = assigned_partitions({"a"}, "a", 16);
  REQUIRE(mine.size() == 16);
  for (std::uint32_t p = 0; p < 16; ++p)
    CHECK(mine[p] == p);
}

TEST_CASE("owners split partitions round-robin in sorted order", "[relay][assignment]") {
  // Input order does not matter: every relay must compute the same answer.
  const std::vector<std::string> owners{"c", "a", "b"};
  CHECK(assigned_partitions(owners, "a", 7) == std::vector<std::uint32_t>{0, 3, 6});
  CHECK(assigned_partitions(owners, "b", 7) == std::vector<std::uint32_t>{1, 4});
  CHECK(assigned_partitions(owners, "c", 7) == std::vector<std::uint32_t>{2, 5});
}

TEST_CASE("assignment covers every partition exactly once and fairly", "[relay][assignment]") {
  for (std::uint32_t n : {1u, 2u, 16u, 17u, 64u}) {
    for (std::size_t k = 1; k <= 7; ++k) {
      std::vector<std::string> owners;
      for (std::size_t i = 0; i < k; ++i)
        owners.push_back("host:" + std::to_string(i * 7919));
      std::multiset<std::uint32_t> all;
      for (const auto& o : owners) {
        const auto mine = assigned_partitions(owners, o, n);
        CHECK(mine.size() >= n / k);
        CHECK(mine.size() <= n / k + 1);
        all.insert(mine.begin(), mine.end());
      }
      REQUIRE(all.size() == n);
      for (std::uint32_t p = 0; p < n; ++p)
        CHECK(all.count(p) == 1);
    }
  }
}

TEST_CASE("a relay missing from the live owners is assigned nothing", "[relay][assignment]") {
  CHECK(assigned_partitions({"a", "b"}, "z", 16).empty());
  CHECK(assigned_partitions({}, "a", 16).empty());
  // A duplicated name does not skew the split.
  CHECK(assigned_partitions({"a", "a", "b"}, "b", 4) == std::vector<std::uint32_t>{1, 3});
}

namespace {

std::vector<txoutbox::outbox_record> records_with_seqs(std::vector<std::int64_t> seqs) {
  std::vector<txoutbox::outbox_record> out;
  for (auto s : seqs) {
    txoutbox::outbox_record r;
    r.seq = s;
    r.msg.id = txoutbox::message_id::generate();
    r.msg.aggregate_id = "k" + std::to_string(s);
    out.push_back(r);
  }
  return out;
}

}  // namespace

TEST_CASE("a clean partition publishes the whole claimed batch", "[relay][crash-loop]") {
  const auto recs = records_with_seqs({5, 6, 9});
  const auto plan = txoutbox::detail::plan_batch({}, recs, 3);
  CHECK_FALSE(plan.isolate);
  CHECK_FALSE(plan.crash_loop);
  CHECK(plan.count == 3);
  CHECK(plan.next.starts == 1);
  CHECK(plan.next.head_seq == 5);
  CHECK(plan.next.last_seq == 9);
  CHECK(plan.next.suspect_through == 0);
}

TEST_CASE("an unsettled batch makes its rows suspects published one at a time",
          "[relay][crash-loop]") {
  const txoutbox::batch_marker crashed{
      .head_seq = 5, .last_seq = 9, .starts = 1, .suspect_through = 0};
  const auto recs = records_with_seqs({5, 6, 9, 12});
  const auto plan = txoutbox::detail::plan_batch(crashed, recs, 3);
  CHECK(plan.isolate);
  CHECK_FALSE(plan.crash_loop);
  CHECK(plan.count == 1);
  CHECK(plan.next.starts == 2);  // the same head was begun again
  CHECK(plan.next.head_seq == 5);
  CHECK(plan.next.last_seq == 5);
  CHECK(plan.next.suspect_through == 9);

  // After the head settled (starts reset), the next suspect is still isolated, fresh count.
  const txoutbox::batch_marker settled{
      .head_seq = 5, .last_seq = 5, .starts = 0, .suspect_through = 9};
  const auto rest = records_with_seqs({6, 9, 12});
  const auto next = txoutbox::detail::plan_batch(settled, rest, 3);
  CHECK(next.isolate);
  CHECK(next.count == 1);
  CHECK(next.next.starts == 1);
  CHECK(next.next.head_seq == 6);

  // Past the suspects, batching resumes.
  const auto clean = txoutbox::detail::plan_batch(settled, records_with_seqs({12, 13}), 3);
  CHECK_FALSE(clean.isolate);
  CHECK(clean.count == 2);
}

TEST_CASE("a head begun more than max_crash_starts times is a crash loop", "[relay][crash-loop]") {
  const auto recs = records_with_seqs({5, 6});
  txoutbox::batch_marker m{.head_seq = 5, .last_seq = 5, .starts = 2, .suspect_through = 9};
  CHECK_FALSE(txoutbox::detail::plan_batch(m, recs, 3).crash_loop);  // third start
  m.starts = 3;
  const auto plan = txoutbox::detail::plan_batch(m, recs, 3);
  CHECK(plan.crash_loop);
  CHECK(plan.next.starts == 4);
  // A different head does not inherit the count.
  m.head_seq = 4;
  CHECK_FALSE(txoutbox::detail::plan_batch(m, recs, 3).crash_loop);
}

TEST_CASE("the backoff ceiling doubles per attempt and is capped", "[relay][backoff]") {
  using txoutbox::detail::backoff_ceiling;
  CHECK(backoff_ceiling(0, 100ms, 1000ms) == 100ms);
  CHECK(backoff_ceiling(1, 100ms, 1000ms) == 200ms);
  CHECK(backoff_ceiling(2, 100ms, 1000ms) == 400ms);
  CHECK(backoff_ceiling(3, 100ms, 1000ms) == 800ms);
  CHECK(backoff_ceiling(4, 100ms, 1000ms) == 1000ms);
  CHECK(backoff_ceiling(1000, 100ms, 1000ms) == 1000ms);  // no overflow
  CHECK(backoff_ceiling(5, 0ms, 1000ms) == 0ms);
}

TEST_CASE("retry delays are full jitter under the ceiling, never below a capped retry_after",
          "[relay][backoff]") {
  using txoutbox::detail::retry_delay;
  CHECK(retry_delay(2, 100ms, 1000ms, std::nullopt, 0.0) == 0ms);
  CHECK(retry_delay(2, 100ms, 1000ms, std::nullopt, 1.0) == 400ms);
  CHECK(retry_delay(2, 100ms, 1000ms, std::nullopt, 0.5) == 200ms);
  CHECK(retry_delay(9, 100ms, 1000ms, std::nullopt, 1.0) == 1000ms);
  CHECK(retry_delay(0, 100ms, 1000ms, 700ms, 0.3) == 700ms);
  // A transport's hint is honoured up to backoff_max, never for years.
  CHECK(retry_delay(0, 100ms, 1000ms, 5000ms, 0.3) == 1000ms);
  CHECK(retry_delay(0, 100ms, 1000ms, std::chrono::hours(24 * 365 * 10), 0.3) == 1000ms);
  CHECK(retry_delay(3, 100ms, 1000ms, 10ms, 1.0) == 800ms);
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::set<long> seen;
  for (int i = 0; i < 200; ++i) {
    const auto d = retry_delay(3, 100ms, 1000ms, std::nullopt, u(rng));
    CHECK(d >= 0ms);
    CHECK(d <= 800ms);
    seen.insert(static_cast<long>(d.count()));
  }
  CHECK(seen.size() > 50);  // jittered, not constant
}

TEST_CASE("publisher results map to outcomes", "[relay][results]") {
  using txoutbox::outcome;
  using txoutbox::publish_result;
  auto recs = records_with_seqs({1, 2, 3, 4});
  recs[3].attempts = 2;
  const txoutbox::detail::retry_policy policy{
      .max_attempts = 3, .backoff_initial = 100ms, .backoff_max = 1000ms};
  std::mt19937_64 rng(1);
  const std::vector<publish_result> results{
      publish_result::ok(), publish_result::retry("busy", 900ms),
      publish_result::reject("bad payload"), publish_result::retry("down")};
  const auto plan = txoutbox::detail::map_results(recs, results, policy, rng);
  REQUIRE(plan.outcomes.size() == 4);
  CHECK(plan.outcomes[0].what == outcome::action::published);
  CHECK(plan.outcomes[0].id == recs[0].msg.id);
  CHECK(plan.outcomes[1].what == outcome::action::retry);
  CHECK(plan.outcomes[1].delay == 900ms);
  CHECK(plan.outcomes[1].reason == "busy");
  CHECK(plan.outcomes[2].what == outcome::action::dead_letter);
  CHECK(plan.outcomes[2].reason == "bad payload");
  CHECK(plan.outcomes[3].what == outcome::action::dead_letter);
  CHECK(plan.outcomes[3].reason == "max attempts (3) reached: down");
  CHECK(plan.published == 1);
  CHECK(plan.retried == 1);
  CHECK(plan.dead_lettered == 2);
  CHECK_FALSE(plan.contract_error);
}

TEST_CASE("a wrong result count turns the batch into retries", "[relay][results]") {
  const auto recs = records_with_seqs({1, 2, 3});
  std::mt19937_64 rng(1);
  const std::vector<txoutbox::publish_result> results{txoutbox::publish_result::ok()};
  const auto plan = txoutbox::detail::map_results(recs, results, {}, rng);
  REQUIRE(plan.contract_error);
  CHECK(*plan.contract_error == "publisher returned 1 results for 3 records");
  REQUIRE(plan.outcomes.size() == 3);
  for (const auto& o : plan.outcomes)
    CHECK(o.what == txoutbox::outcome::action::retry);
  CHECK(plan.published == 0);
}

TEST_CASE("a key's unsent followers are left in place without using an attempt",
          "[relay][results]") {
  auto recs = records_with_seqs({1, 2, 3});
  recs[1].msg.aggregate_id = recs[0].msg.aggregate_id;
  std::mt19937_64 rng(1);
  const std::vector<txoutbox::publish_result> results{
      txoutbox::publish_result::retry("down"),
      txoutbox::publish_result::retry("not sent: an earlier message of this key failed"),
      txoutbox::publish_result::ok()};
  const auto plan = txoutbox::detail::map_results(recs, results, {}, rng);
  REQUIRE(plan.outcomes.size() == 2);
  CHECK(plan.outcomes[0].id == recs[0].msg.id);
  CHECK(plan.outcomes[1].id == recs[2].msg.id);
  CHECK(plan.deferred == 1);
}
