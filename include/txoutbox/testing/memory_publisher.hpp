// memory_publisher: counts (and optionally records) what the relay published.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "txoutbox/publisher.hpp"

namespace txoutbox::testing {

struct memory_publisher_options {
  /// Keep a copy of every published record (off: count only, so a million messages
  /// do not fill memory).
  bool record = true;
  /// Sleep this long per publish() call, to simulate a slow transport.
  std::chrono::microseconds delay_per_batch{0};
};

/// Accepts everything (`ok`). Thread-safe. Detects contract violations by the relay:
/// two concurrent publish() calls for one partition are counted in overlaps().
class memory_publisher final : public publisher {
 public:
  explicit memory_publisher(memory_publisher_options options = {});

  std::vector<publish_result> publish(std::span<const outbox_record> batch) noexcept override;
  bool flush(std::chrono::milliseconds timeout) noexcept override;
  void shutdown(std::chrono::milliseconds timeout) noexcept override;

  std::uint64_t count() const noexcept { return count_.load(); }
  std::uint64_t batches() const noexcept { return batches_.load(); }
  /// Concurrent publish() calls seen for the same partition (must stay 0).
  std::uint64_t overlaps() const noexcept { return overlaps_.load(); }
  /// Every record published, in the order publish() received them (when recording).
  std::vector<outbox_record> records() const;

 private:
  memory_publisher_options options_;
  std::atomic<std::uint64_t> count_{0}, batches_{0}, overlaps_{0};
  mutable std::mutex mutex_;
  std::vector<outbox_record> records_;
  std::vector<std::uint32_t> busy_partitions_;
};

}  // namespace txoutbox::testing
