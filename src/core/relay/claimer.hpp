// The relay's claimer: claim rounds over the idle owned partitions, polled or woken up.
#pragma once

#include <atomic>
#include <optional>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "relay/batch_runner.hpp"
#include "relay/partition_table.hpp"
#include "relay/relay_config.hpp"
#include "relay/relay_hooks.hpp"

namespace txoutbox::detail {

/// Claims batches and hands them to the batch runner. Its own io_context runs on one
/// claimer thread, so claim rounds are single flight by construction; a round runs every
/// poll_interval and on request (poke(), a store wake-up, a drained batch, a new lease),
/// requests coalescing into one queued round. The listener thread (only when the store
/// supports wake-ups) waits for the store's notifications and requests a round for each.
/// No lock of its own: what a round reads and decides is in the partition table, and the
/// claim statement runs with no lock held, beside the lease keeper's renewals.
class claimer {
 public:
  claimer(const relay_config& config, partition_table& table, relay_hooks& hooks,
          batch_runner& runner);

  /// Keeps the io_context running and queues the first round. From start() only.
  void start();
  void run_claimer();   ///< the claimer thread's body
  void run_listener();  ///< the listener thread's body: returns once stopping
  /// From any thread: run one claim round on the claimer thread soon (coalesced).
  void request_claim() noexcept;
  /// Cancels the poll timer (on the claimer thread). From stop(), after table.close().
  void cancel() noexcept;
  /// Lets the claimer thread end. From stop(), last.
  void halt() noexcept;

 private:
  using work_guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  void on_poll(const boost::system::error_code& ec);
  void claim_round();

  const relay_config& config_;
  partition_table& table_;
  relay_hooks& hooks_;
  batch_runner& runner_;

  boost::asio::io_context io_{1};
  std::optional<work_guard> guard_;
  boost::asio::steady_timer timer_{io_};  ///< claimer thread only
  std::atomic<bool> posted_{false};       ///< a requested round is queued
};

}  // namespace txoutbox::detail
