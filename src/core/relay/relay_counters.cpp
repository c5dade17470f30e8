// The relay's counters: latency accounting and the stats snapshot.
#include "relay/relay_counters.hpp"

namespace txoutbox::detail {

void relay_counters::record_publish(std::chrono::microseconds latency) noexcept {
  const auto lat = static_cast<std::uint64_t>(latency.count());
  latency_total_us.fetch_add(lat);
  auto prev = latency_max_us.load();
  while (lat > prev && !latency_max_us.compare_exchange_weak(prev, lat)) {
  }
  batches.fetch_add(1);
}

relay_stats relay_counters::snapshot(std::uint32_t owned) const noexcept {
  relay_stats s;
  s.claimed = claimed.load();
  s.published = published.load();
  s.retried = retried.load();
  s.dead_lettered = dead_lettered.load();
  s.fenced_batches = fenced.load();
  s.errors = errors.load();
  s.in_flight = in_flight.load();
  s.held = held.load();
  s.owned_partitions = owned;
  s.batches = batches.load();
  s.publish_latency_total = std::chrono::microseconds(latency_total_us.load());
  s.publish_latency_max = std::chrono::microseconds(latency_max_us.load());
  return s;
}

}  // namespace txoutbox::detail
