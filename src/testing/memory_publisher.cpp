// memory_publisher: an accept-everything publisher that counts, records and polices the relay.
#include "txoutbox/testing/memory_publisher.hpp"

#include <algorithm>
#include <thread>

namespace txoutbox::testing {

memory_publisher::memory_publisher(memory_publisher_options options) : options_(options) {}

std::vector<publish_result> memory_publisher::publish(
    std::span<const outbox_record> batch) noexcept {
  if (batch.empty())
    return {};
  // A batch holds one partition; mark it busy for the whole call so a second call for
  // the same partition, from any thread, is seen as an overlap.
  const std::uint32_t partition = batch.front().partition;
  {
    std::lock_guard lock(mutex_);
    if (std::find(busy_partitions_.begin(), busy_partitions_.end(), partition) !=
        busy_partitions_.end()) {
      overlaps_.fetch_add(1);
    }
    busy_partitions_.push_back(partition);
  }
  if (options_.delay_per_batch.count() > 0)
    std::this_thread::sleep_for(options_.delay_per_batch);
  {
    std::lock_guard lock(mutex_);
    if (options_.record)
      records_.insert(records_.end(), batch.begin(), batch.end());
    busy_partitions_.erase(std::find(busy_partitions_.begin(), busy_partitions_.end(), partition));
    count_.fetch_add(batch.size());
    batches_.fetch_add(1);
  }
  return std::vector<publish_result>(batch.size(), publish_result::ok());
}

bool memory_publisher::flush(std::chrono::milliseconds /*timeout*/) noexcept {
  return true;
}

// Never blocks longer than delay_per_batch, so there is nothing to unblock; it keeps
// accepting, so one instance can be shared by relays that stop and start.
void memory_publisher::shutdown(std::chrono::milliseconds /*timeout*/) noexcept {}

std::vector<outbox_record> memory_publisher::records() const {
  std::lock_guard lock(mutex_);
  return records_;
}

}  // namespace txoutbox::testing
