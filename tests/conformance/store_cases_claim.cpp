// store conformance, claim: owned partitions, seq order, limits and the per-key head-of-line rule.
#include "store_case_support.hpp"

#include <algorithm>

#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"

namespace txoutbox::conformance {

using namespace support;
using namespace std::chrono_literals;

void claim_returns_owned_partitions_in_seq_order_up_to_the_limit(harness& h) {
  constexpr std::uint32_t n = 4;
  auto s = h.make_store(n);
  const auto x0 = h.enqueue_committed(msg(key_in(0, n, "x", 0), 1));
  const auto y0 = h.enqueue_committed(msg(key_in(1, n, "y", 0), 1));
  const auto x1 = h.enqueue_committed(msg(key_in(0, n, "x", 1), 1));
  h.enqueue_committed(msg(key_in(3, n, "w", 0), 1));
  const auto x2 = h.enqueue_committed(msg(key_in(0, n, "x", 2), 1));
  const auto y1 = h.enqueue_committed(msg(key_in(1, n, "y", 1), 1));
  const auto z0 = h.enqueue_committed(msg(key_in(2, n, "z", 0), 1));

  const auto e0 = acquire_or_fail(*s, owner_a, 0);
  const auto e1 = acquire_or_fail(*s, owner_a, 1);
  acquire_or_fail(*s, owner_b, 2);  // partition 3 stays free

  const auto parts = all_partitions(n);
  const auto claimed = s->claim(owner_a, parts, {.rows = 100});
  REQUIRE(claimed.size() == 2);
  std::vector<claimed_partition> sorted = claimed;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& l, const auto& r) { return l.partition < r.partition; });
  REQUIRE(sorted[0].partition == 0);
  REQUIRE(sorted[0].epoch == e0);
  REQUIRE(ids_of(sorted[0].records) == ids_of({x0, x1, x2}));
  REQUIRE(sorted[1].partition == 1);
  REQUIRE(sorted[1].epoch == e1);
  REQUIRE(ids_of(sorted[1].records) == ids_of({y0, y1}));
  for (const auto& cp : sorted) {
    for (std::size_t i = 0; i < cp.records.size(); ++i) {
      REQUIRE(cp.records[i].partition == cp.partition);
      REQUIRE(partition_of(cp.records[i].msg.aggregate_id, n) == cp.partition);
      if (i > 0)
        REQUIRE(cp.records[i - 1].seq < cp.records[i].seq);
    }
  }

  // The limit applies per partition and keeps the lowest seqs.
  const auto limited = s->claim(owner_a, parts, {.rows = 2});
  REQUIRE(limited.size() == 2);
  for (const auto& cp : limited) {
    REQUIRE(ids_of(cp.records) == (cp.partition == 0 ? ids_of({x0, x1}) : ids_of({y0, y1})));
  }

  // Only the partitions asked for; other owners see only their own; claiming wrote nothing.
  const std::vector<std::uint32_t> only1{1};
  const auto one = s->claim(owner_a, only1, {.rows = 100});
  REQUIRE(one.size() == 1);
  REQUIRE(one[0].partition == 1);
  REQUIRE(ids_of(claim_flat(*s, owner_b, n)) == ids_of({z0}));
  REQUIRE(claim_flat(*s, "relay-nobody", n).empty());
  REQUIRE(ids_of(claim_flat(*s, owner_a, n, 100)).size() == 5);
  REQUIRE(s->stats().backlog == 7);
}

void claim_honours_head_of_line_with_a_retry(harness& h) {
  auto s = h.make_store(1);
  const auto k1 = h.enqueue_committed(msg("k", 1));
  const auto k2 = h.enqueue_committed(msg("k", 2));
  const auto j1 = h.enqueue_committed(msg("j", 1));
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};

  // k2 rides behind k1 in the same claim: the run of a key, in seq order.
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({k1, k2, j1}));

  REQUIRE(settle(*s, f, {retry(k1, hold, "broker down"), published(j1)}));
  // k1 backs off, so k2 is not claimable either; another key still flows.
  REQUIRE(claim_flat(*s, owner_a, 1).empty());
  const auto j2 = h.enqueue_committed(msg("j", 2));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({j2}));

  h.advance(past_hold);
  const auto again = claim_flat(*s, owner_a, 1);
  REQUIRE(ids_of(again) == ids_of({k1, k2, j2}));
  REQUIRE(find_record(again, k1).attempts == 1);

  REQUIRE(settle(*s, f, {published(k1), published(j2)}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({k2}));
}

void claim_honours_head_of_line_with_deliver_after(harness& h) {
  auto s = h.make_store(1);
  auto delayed = msg("k", 1);
  delayed.deliver_after = hold;
  const auto k1 = h.enqueue_committed(delayed);
  const auto k2 = h.enqueue_committed(msg("k", 2));
  const auto j1 = h.enqueue_committed(msg("j", 1));
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};

  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({j1}));
  h.advance(past_hold);
  const auto now_due = claim_flat(*s, owner_a, 1);
  REQUIRE(ids_of(now_due) == ids_of({k1, k2, j1}));
  REQUIRE_FALSE(find_record(now_due, k1).msg.deliver_after.has_value());

  REQUIRE(settle(*s, f, {published(k1)}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({k2, j1}));
}

void claim_returns_a_run_of_one_hot_key_up_to_the_limit(harness& h) {
  auto s = h.make_store(1);
  std::vector<message> hot;
  for (int n = 1; n <= 12; ++n)
    hot.push_back(msg("hot", n));
  const auto ids = h.enqueue_committed_batch(hot);
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};

  // `limit` rows of the one key, its oldest first, not just its head.
  const auto five = claim_flat(*s, owner_a, 1, 5);
  REQUIRE(ids_of(five) == ids_of({ids[0], ids[1], ids[2], ids[3], ids[4]}));
  for (std::size_t i = 1; i < five.size(); ++i)
    REQUIRE(five[i - 1].seq < five[i].seq);
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 100)) == ids_of(ids));

  // After the first five are acknowledged, the run goes on from the sixth.
  REQUIRE(settle(*s, f,
                 {published(ids[0]), published(ids[1]), published(ids[2]), published(ids[3]),
                  published(ids[4])}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 3)) == ids_of({ids[5], ids[6], ids[7]}));
}

void a_run_stops_before_a_row_that_is_not_available(harness& h) {
  auto s = h.make_store(1);
  const auto k1 = h.enqueue_committed(msg("k", 1));
  const auto k2 = h.enqueue_committed(msg("k", 2));
  const auto k3 = h.enqueue_committed(msg("k", 3));
  const auto k4 = h.enqueue_committed(msg("k", 4));
  const auto j1 = h.enqueue_committed(msg("j", 1));
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({k1, k2, k3, k4, j1}));

  // k3 backs off: the run of k ends before it although k4 is available.
  REQUIRE(settle(*s, f, {published(k1), retry(k3, hold, "broker down")}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({k2, j1}));
  // A later row of the key that is delayed itself stops the run just the same.
  auto delayed = msg("j", 2);
  delayed.deliver_after = hold;
  const auto j2 = h.enqueue_committed(delayed);
  const auto j3 = h.enqueue_committed(msg("j", 3));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({k2, j1}));

  h.advance(past_hold);
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({k2, k3, k4, j1, j2, j3}));
}

void a_hot_key_interleaves_with_other_keys_in_seq_order(harness& h) {
  auto s = h.make_store(1);
  const std::vector<message> written{msg("hot", 1), msg("a", 1),  msg("hot", 2), msg("b", 1),
                                     msg("hot", 3), msg("b", 2),  msg("a", 2),   msg("hot", 4),
                                     msg("c", 1),   msg("hot", 5)};
  const auto ids = h.enqueue_committed_batch(written);
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  const auto& h1 = ids[0];
  const auto& a1 = ids[1];
  const auto& h2 = ids[2];
  const auto& b1 = ids[3];
  const auto& h3 = ids[4];
  const auto& a2 = ids[6];
  const auto& h4 = ids[7];
  const auto& c1 = ids[8];
  const auto& h5 = ids[9];

  // The limit keeps the lowest seqs across keys; every key's share is a prefix of it.
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 4)) == ids_of({h1, a1, h2, b1}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 100)) == ids_of(ids));

  // b1 backs off: b2 waits, the hot key and the others flow around it in seq order.
  REQUIRE(settle(*s, f, {published(h1), published(a1), retry(b1, hold, "later")}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 100)) == ids_of({h2, h3, a2, h4, c1, h5}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 3)) == ids_of({h2, h3, a2}));
}

void a_long_queue_behind_a_blocked_head_hides_no_later_key(harness& h) {
  auto s = h.make_store(1);
  std::vector<message> blocked;
  for (int n = 1; n <= 9; ++n)
    blocked.push_back(msg("b", n));
  const auto b = h.enqueue_committed_batch(blocked);
  const std::vector<message> later{msg("hot", 1), msg("hot", 2), msg("c", 1), msg("hot", 3)};
  const auto l = h.enqueue_committed_batch(later);
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  REQUIRE(settle(*s, f, {retry(b[0], hold, "broker down")}));

  // b's eight waiting rows are the oldest in the partition, more than a few limits' worth;
  // the claim still finds the keys behind them, oldest first, and never a row of b.
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 1)) == ids_of({l[0]}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 2)) == ids_of({l[0], l[1]}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 3)) == ids_of({l[0], l[1], l[2]}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 100)) == ids_of(l));
}

}  // namespace txoutbox::conformance
