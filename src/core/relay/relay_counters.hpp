// The relay's counters behind relay::stats().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "txoutbox/relay.hpp"

namespace txoutbox::detail {

/// Monotonic counters since start(). Lock-free: any thread adds, any thread reads; each
/// field is atomic on its own, so a snapshot is consistent enough, not a transaction.
struct relay_counters {
  std::atomic<std::uint64_t> claimed{0}, published{0}, retried{0}, dead_lettered{0}, fenced{0},
      errors{0}, in_flight{0}, held{0}, batches{0}, latency_total_us{0}, latency_max_us{0};

  /// Counts one publish() call: a batch, its duration in the total and the maximum. Worker
  /// threads.
  void record_publish(std::chrono::microseconds latency) noexcept;

  /// The counters as relay_stats; `owned` comes from the partition table.
  relay_stats snapshot(std::uint32_t owned) const noexcept;
};

}  // namespace txoutbox::detail
