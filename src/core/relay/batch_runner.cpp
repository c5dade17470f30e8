// The relay's batch runner: one claimed partition from plan to settle, on a worker thread.
#include "relay/batch_runner.hpp"

#include <exception>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

#include "relay/record_screen.hpp"
#include "relay/relay_threads.hpp"
#include "relay/timing.hpp"

namespace txoutbox::detail {

namespace asio = boost::asio;

namespace {

std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return gen;
}

std::string partition_text(std::uint32_t p) {
  return "partition " + std::to_string(p);
}

}  // namespace

batch_runner::batch_runner(const relay_config& config, partition_table& table, relay_hooks& hooks,
                           relay_counters& counters, route_health& health,
                           std::function<void()> wake_claimer)
    : config_(config),
      table_(table),
      hooks_(hooks),
      counters_(counters),
      wake_claimer_(std::move(wake_claimer)),
      gate_(config, health, hooks) {}

void batch_runner::start() {
  guard_.emplace(io_.get_executor());
}

void batch_runner::run_worker() {
  run_until_stopped(io_, hooks_, "worker thread");
}

void batch_runner::submit(std::shared_ptr<claimed_partition> job) {
  asio::post(io_, [this, job = std::move(job)] { run_job(*job); });
}

void batch_runner::halt() noexcept {
  guard_.reset();
  io_.stop();
}

/// Runs one job, reports it, marks the partition idle again and claims at once when it
/// has more rows or a flush() waits; taking it, claims at once when the last claim round
/// left work behind for lack of room. A job that throws (a store failure) pauses its
/// partition with a growing backoff. Never throws.
void batch_runner::run_job(const claimed_partition& cp) noexcept {
  try {
    if (table_.start_job(cp.records.size()))
      wake_claimer_();  // the last round left work behind: refill the room this job freed
  } catch (...) {
  }
  bool drain = false;
  std::optional<batch_report> report;
  try {
    drain = process(cp, report);
  } catch (...) {
    hooks_.fail(partition_text(cp.partition), std::current_exception());
    try {
      table_.pause(cp.partition, config_.options.poll_interval);
    } catch (...) {
    }
  }
  if (report)
    hooks_.report(*report);
  bool claim_now = drain;
  try {
    if (table_.finish_job(cp.partition))
      claim_now = true;
  } catch (...) {
  }
  if (claim_now)
    wake_claimer_();
}

bool batch_runner::process(const claimed_partition& cp, std::optional<batch_report>& report) {
  if (table_.stopping() || cp.records.empty())
    return false;
  if (!table_.usable(cp.partition, cp.epoch, *config_.clock))
    return false;  // lost, or past its local deadline: renew first
  batch_marker marker = cp.marker;
  if (table_.take_unsettled(cp.partition, marker))
    marker.starts = 0;  // left by this relay's own failed settle: not a crash
  const auto plan = plan_batch(marker, cp.records, config_.options.max_crash_starts);
  const batch b(cp.records.data(), plan.count);
  route_gate::admitted a;
  route_gate::verdicts v;
  if (plan.crash_loop) {
    if (!begin(cp, plan, b))
      return false;
    return conclude(cp, plan, dead_letter_crash_loop(cp, plan, b), a, v, report);
  }
  const auto s = screen(b);
  a = gate_.admit(cp.partition, s.records);
  if (a.records.empty() && s.dead.empty()) {
    // Everything waits for an unavailable destination: write nothing (no begin_batch, so
    // no crash-loop suspicion), come back at its next probe or when it is back.
    counters_.held.fetch_add(a.held);
    if (a.wake_at)
      table_.park(cp.partition, *a.wake_at);
    return false;
  }
  if (!begin(cp, plan, a.records.empty() ? b : a.records)) {
    gate_.abandon(a);
    return false;
  }
  batch_report rep;
  settle_plan sp;
  if (!a.records.empty())
    sp = publish(cp, a, rep, v);
  for (const auto& dead : s.dead) {
    hooks_.log(log_level::error,
               partition_text(cp.partition) + ": dead-lettering a row: " + dead.reason);
    sp.outcomes.push_back(dead);
  }
  sp.dead_lettered += s.dead.size();
  sp.deferred += s.deferred;
  return conclude(cp, plan, std::move(sp), a, v, report, rep);
}

/// Settles and reports a begun batch, then decides what the partition does next: resume
/// everything when a destination came back, park when all it had waits for one, or claim
/// again at once when it probably has more (drain).
bool batch_runner::conclude(const claimed_partition& cp, const batch_plan& plan,
                            const settle_plan& sp, const route_gate::admitted& a,
                            const route_gate::verdicts& v, std::optional<batch_report>& report,
                            batch_report rep) {
  if (table_.abandoned()) {
    // stop() gave up on this batch and released the lease; the next owner republishes.
    return false;
  }
  rep.partition = cp.partition;
  rep.claimed = a.records.empty() ? plan.count : a.records.size();
  const bool settled = settle(cp, plan, sp, rep);
  rep.held = a.held + sp.held;
  counters_.held.fetch_add(rep.held);
  report = rep;
  if (!settled)
    return false;
  if (v.came_back) {
    table_.unpark_all();  // the first success resumes every partition at once
    return true;
  }
  const bool full = cp.records.size() >= config_.options.batch_size;
  if (rep.held > 0) {
    if (sp.published + sp.retried + sp.dead_lettered > 0)
      return full;  // progress: keep draining
    std::optional<clock::time_point> wake = a.wake_at;
    if (v.wake_at && (!wake || *v.wake_at < *wake))
      wake = v.wake_at;
    if (wake)
      table_.park(cp.partition, *wake);
    return false;
  }
  return full || plan.count < cp.records.size() || sp.deferred > 0;
}

/// Persists the batch marker (the crash-loop state machine's input next time) under the
/// lease's fence; false when the lease was lost.
bool batch_runner::begin(const claimed_partition& cp, const batch_plan& plan, batch b) {
  if (!config_.store->begin_batch(config_.fence_for(cp.partition, cp.epoch), plan.next)) {
    table_.drop(cp.partition, cp.epoch);
    hooks_.log(log_level::warn, "lost the lease of partition " + std::to_string(cp.partition) +
                                    " before publishing");
    return false;
  }
  if (plan.isolate) {
    hooks_.log(log_level::warn, partition_text(cp.partition) + ": publishing seq " +
                                    std::to_string(b.front().seq) +
                                    " alone after an unfinished batch (start " +
                                    std::to_string(plan.next.starts) + ")");
  }
  counters_.claimed.fetch_add(b.size());
  return true;
}

/// The isolated head was begun too often without settling: dead-letter it unpublished.
settle_plan batch_runner::dead_letter_crash_loop(const claimed_partition& cp,
                                                 const batch_plan& plan, batch b) {
  const auto times = plan.next.starts - 1;
  settle_plan sp;
  outcome out;
  out.id = b.front().msg.id;
  out.what = outcome::action::dead_letter;
  out.reason =
      "crash loop: relay stopped " + std::to_string(times) + " times while publishing this message";
  sp.outcomes.push_back(std::move(out));
  sp.dead_lettered = 1;
  hooks_.log(log_level::error, partition_text(cp.partition) + ": dead-lettering seq " +
                                   std::to_string(b.front().seq) + " after a crash loop");
  return sp;
}

/// Publishes the admitted records, judges `unavailable` results (route_gate) and maps the
/// results to outcomes; times the publish() call.
settle_plan batch_runner::publish(const claimed_partition& cp, route_gate::admitted& a,
                                  batch_report& rep, route_gate::verdicts& v) {
  const batch b = a.records;
  counters_.in_flight.fetch_add(b.size());
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<publish_result> results;
  try {
    results = config_.publisher->publish(b);
  } catch (...) {
    // The contract says publish() never throws; treat a throw as "all retry".
    hooks_.fail("publisher", std::current_exception());
    results.clear();
  }
  const auto latency =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  counters_.in_flight.fetch_sub(b.size());
  rep.publish_latency = latency;
  counters_.record_publish(latency);
  v = gate_.judge(cp.partition, a, results);
  auto sp = map_results(b, results, config_.policy, rng());
  if (sp.contract_error) {
    counters_.errors.fetch_add(1);
    hooks_.log(log_level::error, partition_text(cp.partition) + ": " + *sp.contract_error);
  }
  return sp;
}

/// Settles the outcomes and counts them; false when the settle was fenced (the lease was
/// taken over: the rows will be republished by the new owner). A settle that keeps failing
/// throws, after noting that the marker it leaves behind is this relay's, not a crash's.
bool batch_runner::settle(const claimed_partition& cp, const batch_plan& plan,
                          const settle_plan& sp, batch_report& rep) {
  bool ok = false;
  try {
    ok = settle_with_retries(config_.fence_for(cp.partition, cp.epoch), sp.outcomes);
  } catch (...) {
    table_.note_unsettled(cp.partition, plan.next);
    throw;
  }
  if (!ok) {
    counters_.fenced.fetch_add(1);
    table_.drop(cp.partition, cp.epoch);
    rep.fenced = true;
    hooks_.log(log_level::warn, partition_text(cp.partition) +
                                    ": settle refused, the lease was taken over (" +
                                    std::to_string(rep.claimed) + " records will be republished)");
    return false;
  }
  table_.unpause(cp.partition);
  counters_.published.fetch_add(sp.published);
  counters_.retried.fetch_add(sp.retried);
  counters_.dead_lettered.fetch_add(sp.dead_lettered);
  rep.published = sp.published;
  rep.retried = sp.retried;
  rep.dead_lettered = sp.dead_lettered;
  return true;
}

/// settle(), retried a few times on a store exception (a lost ack means duplicates).
bool batch_runner::settle_with_retries(const fence& f, std::span<const outcome> outcomes) {
  for (int attempt = 1;; ++attempt) {
    try {
      return config_.store->settle(f, outcomes);
    } catch (...) {
      if (attempt >= timing::settle_attempts || table_.stopping())
        throw;
      hooks_.fail("settling partition " + std::to_string(f.partition) + " (will retry)",
                  std::current_exception());
      std::this_thread::sleep_for(timing::settle_retry_step * attempt);
    }
  }
}

}  // namespace txoutbox::detail
