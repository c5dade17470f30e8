// store conformance, stats: backlog, oldest age, dead letters and live owners.
#include "store_case_support.hpp"

#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"

namespace txoutbox::conformance {

using namespace support;
using namespace std::chrono_literals;

void stats_report_the_outbox(harness& h) {
  constexpr std::uint32_t n = 4;
  auto s = h.make_store(n);
  const auto empty = s->stats();
  REQUIRE(empty.backlog == 0);
  REQUIRE_FALSE(empty.oldest_age.has_value());
  REQUIRE(empty.dead_letters == 0);
  REQUIRE(empty.live_owners == 0);
  REQUIRE(empty.partitions == n);
  REQUIRE(s->partition_count() == n);

  const auto first = h.enqueue_committed(msg("a", 1));
  h.enqueue_committed(msg("b", 1));
  h.enqueue_committed(msg("c", 1));
  h.advance(past_short_ttl);
  s->heartbeat(owner_a, long_ttl);
  const auto busy = s->stats();
  REQUIRE(busy.backlog == 3);
  REQUIRE(busy.oldest_age.has_value());
  REQUIRE(*busy.oldest_age >= past_short_ttl);
  REQUIRE(busy.live_owners == 1);

  const auto p = partition_of("a", n);
  const fence f{owner_a, p, acquire_or_fail(*s, owner_a, p)};
  REQUIRE(settle(*s, f, {dead_letter(first, "bad")}));
  const auto after = s->stats();
  REQUIRE(after.backlog == 2);
  REQUIRE(after.dead_letters == 1);
  REQUIRE(after.partitions == n);
}

}  // namespace txoutbox::conformance
