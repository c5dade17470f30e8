// The relay's batch runner: plan, begin, publish and settle one claimed partition.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "relay/partition_table.hpp"
#include "relay/relay_config.hpp"
#include "relay/relay_counters.hpp"
#include "relay/relay_hooks.hpp"
#include "relay/relay_policy.hpp"
#include "relay/route_gate.hpp"
#include "relay/route_health.hpp"

namespace txoutbox::detail {

/// Runs the jobs the claimer hands over on `options.threads` worker threads sharing one
/// io_context, one job per partition at a time (the table marks it busy). A job:
/// checks its lease, plans the batch (crash-loop isolation, plan_batch), holds back what
/// an unavailable destination cannot take (route_gate; a partition with nothing else to
/// send is parked until the next probe, writing nothing), persists the marker with
/// begin_batch, publishes (or dead-letters a crash-looping head without publishing), then
/// settles with a few retries, fenced by the lease epoch. A job that
/// stop() abandoned does not settle its late results: the next owner republishes them.
/// No lock of its own: store and publisher calls run with no lock held; partition state
/// goes through the table, counters are atomic.
class batch_runner {
 public:
  /// `wake_claimer` asks for a claim round (more rows, or a flush() waiting); noexcept.
  batch_runner(const relay_config& config, partition_table& table, relay_hooks& hooks,
               relay_counters& counters, route_health& health, std::function<void()> wake_claimer);

  /// Keeps the io_context running. From start() only.
  void start();
  void run_worker();  ///< a worker thread's body
  /// Queues a job the table already counted (partition busy). Claimer thread.
  void submit(std::shared_ptr<claimed_partition> job);
  /// Lets the worker threads end (queued jobs are dropped). From stop(), last.
  void halt() noexcept;

 private:
  using work_guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  using batch = std::span<const outbox_record>;

  void run_job(const claimed_partition& cp) noexcept;
  /// The job body: the report to send (when something was settled or fenced), and whether
  /// the partition probably has more rows (drain: claim again at once).
  bool process(const claimed_partition& cp, std::optional<batch_report>& report);
  bool begin(const claimed_partition& cp, const batch_plan& plan, batch b);
  settle_plan dead_letter_crash_loop(const claimed_partition& cp, const batch_plan& plan, batch b);
  settle_plan publish(const claimed_partition& cp, route_gate::admitted& a, batch_report& rep,
                      route_gate::verdicts& v);
  bool conclude(const claimed_partition& cp, const batch_plan& plan, const settle_plan& sp,
                const route_gate::admitted& a, const route_gate::verdicts& v,
                std::optional<batch_report>& report, batch_report rep = {});
  bool settle(const claimed_partition& cp, const batch_plan& plan, const settle_plan& sp,
              batch_report& rep);
  bool settle_with_retries(const fence& f, std::span<const outcome> outcomes);

  const relay_config& config_;
  partition_table& table_;
  relay_hooks& hooks_;
  relay_counters& counters_;
  std::function<void()> wake_claimer_;
  route_gate gate_;

  boost::asio::io_context io_;
  std::optional<work_guard> guard_;
};

}  // namespace txoutbox::detail
