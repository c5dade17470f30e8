// memory_store: a faithful in-memory implementation of the store SPI, for engine tests.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "txoutbox/clock.hpp"
#include "txoutbox/message.hpp"
#include "txoutbox/store.hpp"
#include "txoutbox/validation.hpp"

namespace txoutbox::testing {

struct memory_store_options {
  std::uint32_t partitions = 16;
  std::shared_ptr<txoutbox::clock> clock{};  ///< null = steady clock; the "database clock"
};

/// Keeps the outbox, dead letters, leases and membership in memory under one mutex,
/// applying every rule of the store SPI (head-of-line, availability, fencing by epoch,
/// lease expiry on its clock). Thread-safe. Failure injection lets tests make the next
/// calls throw transient_error, as a lost database connection would.
class memory_store final : public store {
 public:
  explicit memory_store(memory_store_options options = {});
  ~memory_store() override;

  /// The memory "writer": validates, assigns id (if nil), seq, partition and
  /// available time, and appends. Returns the id.
  message_id enqueue(const message& msg, const validation_options& options = {});

  /// Makes the next `count` SPI calls throw transient_error("injected failure") before
  /// changing anything. enqueue() and the inspection calls below never fail; 0 cancels.
  void fail_next_calls(int count);

  /// Inspection for tests.
  std::vector<outbox_record> rows() const;
  std::vector<dead_letter_record> dead_letter_rows() const;
  std::size_t size() const;
  batch_marker marker(std::uint32_t partition) const;
  /// The last_error column of an outbox row (empty until a retry); nullopt when the id
  /// is not in the outbox.
  std::optional<std::string> last_error(const message_id& id) const;

  // store SPI
  std::uint32_t partition_count() override;
  void heartbeat(const std::string& owner, std::chrono::milliseconds ttl) override;
  std::vector<std::string> live_owners() override;
  void leave(const std::string& owner) override;
  std::optional<std::uint64_t> acquire(const std::string& owner, std::uint32_t partition,
                                       std::chrono::milliseconds ttl) override;
  bool renew(const fence& f, std::chrono::milliseconds ttl) override;
  void release(const fence& f) override;
  std::vector<lease_info> leases() override;
  std::vector<claimed_partition> claim(const std::string& owner,
                                       std::span<const std::uint32_t> partitions,
                                       const claim_limits& limits) override;
  bool begin_batch(const fence& f, const batch_marker& marker) override;
  bool settle(const fence& f, std::span<const outcome> outcomes) override;
  store_stats stats() override;
  std::vector<dead_letter_record> dead_letters(std::size_t limit) override;
  std::size_t requeue_dead_letters(std::span<const message_id> ids) override;
  std::size_t purge_dead_letters(std::span<const message_id> ids) override;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace txoutbox::testing
