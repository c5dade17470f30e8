// The relay's lease keeper: membership heartbeat, renew, rebalance, acquire and release.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "relay/partition_table.hpp"
#include "relay/relay_config.hpp"
#include "relay/relay_hooks.hpp"

namespace txoutbox::detail {

/// Keeps this relay's share of the partitions. Two threads, each running one io_context
/// of its own:
/// - the control thread ticks every lease_ttl / renew_divisor: renew every held lease,
///   heartbeat, read the live owners, release what left the target. It never waits
///   behind a claim or an acquisition, so a slow claim cannot let leases lapse;
/// - the acquirer thread takes over the partitions missing from the target, one pass at
///   a time. An acquire may wait on a row lock another relay holds (a relay frozen inside
///   its settle transaction) up to the store's statement timeout; renewals go on meanwhile.
/// No lock of its own: shared state is in the partition table, and its store calls are
/// made with no lock held.
class lease_keeper {
 public:
  /// `wake_claimer` asks for a claim round (after new leases); any thread, noexcept.
  lease_keeper(const relay_config& config, partition_table& table, relay_hooks& hooks,
               std::function<void()> wake_claimer);

  /// Keeps both io_contexts running and queues the first tick. From start() only.
  void start(std::uint32_t partitions);
  void run_control();   ///< the control thread's body
  void run_acquirer();  ///< the acquirer thread's body
  /// Cancels the tick timer (on the control thread). From stop(), after table.close().
  void cancel() noexcept;
  /// Releases `held` (taken from the table) and leaves the membership, after the heartbeat
  /// in flight if any (waiting until `deadline`, at least timing::heartbeat_grace). From
  /// stop().
  void release_and_leave(const std::map<std::uint32_t, partition_table::lease>& held,
                         std::chrono::steady_clock::time_point deadline) noexcept;
  /// Lets both threads end. From stop(), last.
  void halt() noexcept;

 private:
  using work_guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  // control thread
  void on_tick(const boost::system::error_code& ec);
  void renew_held();
  void note_renewal(std::uint32_t p, std::uint64_t epoch, bool ok, clock::time_point requested);
  void rebalance();
  std::optional<std::set<std::uint32_t>> read_target(bool alive);
  void release(const std::vector<partition_table::lease_ref>& leases);
  bool request_acquire(std::vector<std::uint32_t> partitions);
  // acquirer thread
  void acquire_all(const std::vector<std::uint32_t>& partitions);
  bool acquire(std::uint32_t p);

  /// The local deadline of a lease requested (or renewed) at `requested_at`.
  clock::time_point local_deadline(clock::time_point requested_at) const;

  const relay_config& config_;
  partition_table& table_;
  relay_hooks& hooks_;
  std::function<void()> wake_claimer_;
  std::uint32_t partitions_ = 0;  ///< set by start(), before the threads run

  boost::asio::io_context control_io_{1};
  boost::asio::io_context acquire_io_{1};
  std::optional<work_guard> control_guard_;
  std::optional<work_guard> acquire_guard_;
  boost::asio::steady_timer timer_{control_io_};  ///< control thread only
  std::atomic<bool> acquiring_{false};            ///< an acquire pass is queued or running
  /// Guards the two flags: a heartbeat() call is running, leave() has begun (no heartbeat
  /// starts after it). leave() waits on the condition variable for the running one.
  std::mutex membership_mu_;
  std::condition_variable membership_cv_;
  bool heartbeating_ = false;
  bool left_ = false;
};

}  // namespace txoutbox::detail
