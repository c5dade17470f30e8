// store conformance, settle: the batch marker, retries with their last error, mixed outcomes.
#include "store_case_support.hpp"

#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"

namespace txoutbox::conformance {

using namespace support;
using namespace std::chrono_literals;

void begin_batch_persists_the_marker_and_settle_resets_starts(harness& h) {
  auto s = h.make_store(1);
  const auto r1 = h.enqueue_committed(msg("k", 1));
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  const auto first = claim_flat(*s, owner_a, 1);
  REQUIRE(first.size() == 1);
  require_same_marker(marker_via_claim(*s, owner_a), batch_marker{});

  const batch_marker m{first[0].seq, first[0].seq, 3, first[0].seq};
  REQUIRE(s->begin_batch(f, m));
  require_same_marker(marker_via_claim(*s, owner_a), m);

  REQUIRE(settle(*s, f, {published(r1)}));
  h.enqueue_committed(msg("k", 2));
  const auto reset = marker_via_claim(*s, owner_a);
  REQUIRE(reset.starts == 0);
  REQUIRE(reset.suspect_through == m.suspect_through);

  // The marker survives a release and a new acquire (a crash-looping batch is remembered).
  const auto second = claim_flat(*s, owner_a, 1);
  const batch_marker m2{second[0].seq, second[0].seq, 1, m.suspect_through};
  REQUIRE(s->begin_batch(f, m2));
  s->release(f);
  const fence f2{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  require_same_marker(marker_via_claim(*s, owner_a), m2);

  // Settling nothing still ends the batch.
  REQUIRE(s->settle(f2, std::span<const outcome>{}));
  REQUIRE(marker_via_claim(*s, owner_a).starts == 0);
}

void retry_counts_attempts_and_records_the_last_error(harness& h) {
  auto s = h.make_store(1);
  const auto r = h.enqueue_committed(msg("k", 1));
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  REQUIRE(claim_flat(*s, owner_a, 1).at(0).attempts == 0);
  REQUIRE(h.last_error(r) == std::optional<std::string>(""));

  REQUIRE(settle(*s, f, {retry(r, 0ms, "broker unavailable")}));
  REQUIRE(claim_flat(*s, owner_a, 1).at(0).attempts == 1);
  REQUIRE(h.last_error(r) == std::optional<std::string>("broker unavailable"));

  REQUIRE(settle(*s, f, {retry(r, 0ms, "timed out")}));
  REQUIRE(claim_flat(*s, owner_a, 1).at(0).attempts == 2);
  REQUIRE(h.last_error(r) == std::optional<std::string>("timed out"));
  REQUIRE(s->stats().backlog == 1);
}

void settle_applies_mixed_outcomes(harness& h) {
  auto s = h.make_store(1);
  const auto r1 = h.enqueue_committed(msg("k", 1));
  const auto r2 = h.enqueue_committed(msg("j", 1));
  const auto r3 = h.enqueue_committed(msg("m", 1));
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  REQUIRE(claim_flat(*s, owner_a, 1).size() == 3);

  REQUIRE(settle(*s, f, {published(r1), retry(r2, 0ms, "later"), dead_letter(r3, "bad")}));
  const auto left = claim_flat(*s, owner_a, 1);
  REQUIRE(ids_of(left) == ids_of({r2}));
  REQUIRE(left[0].attempts == 1);
  const auto dead = s->dead_letters(10);
  REQUIRE(dead.size() == 1);
  REQUIRE(dead[0].record.msg.id == r3);
  REQUIRE(dead[0].reason == "bad");
  REQUIRE_FALSE(h.last_error(r1).has_value());

  // An outcome for a row already gone is harmless.
  REQUIRE(settle(*s, f, {published(r1)}));
  const auto st = s->stats();
  REQUIRE(st.backlog == 1);
  REQUIRE(st.dead_letters == 1);
}

}  // namespace txoutbox::conformance
