// relay: the engine that claims outbox rows per owned partition, publishes and settles them.
#include "txoutbox/relay.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <shared_mutex>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "relay_assignment.hpp"
#include "relay_policy.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox {

namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

std::string random_hex8() {
  std::random_device rd;
  std::uint32_t v = rd();
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(v));
  return buf;
}

std::string default_owner() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof host, "%s", "localhost");
  }
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + random_hex8();
}

void validate(const relay_options& o) {
  auto bad = [](const char* field, const std::string& why) {
    throw usage_error(errc::invalid_argument, field,
                      std::string("relay_options.") + field + ": " + why);
  };
  if (o.threads == 0)
    bad("threads", "must be at least 1");
  if (o.batch_size == 0)
    bad("batch_size", "must be at least 1");
  if (o.poll_interval.count() <= 0)
    bad("poll_interval", "must be positive");
  if (o.max_attempts == 0)
    bad("max_attempts", "must be at least 1");
  if (o.backoff_initial.count() < 0)
    bad("backoff_initial", "must not be negative");
  if (o.backoff_max < o.backoff_initial)
    bad("backoff_max", "must not be below backoff_initial");
  if (o.renew_divisor < 2)
    bad("renew_divisor", "must be at least 2");
  if (o.lease_ttl < milliseconds(10))
    bad("lease_ttl", "must be at least 10 ms");
  if (o.lease_ttl / o.renew_divisor < milliseconds(1)) {
    bad("lease_ttl", "lease_ttl / renew_divisor must be at least 1 ms");
  }
  if (o.max_crash_starts == 0)
    bad("max_crash_starts", "must be at least 1");
}

std::string describe(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

/// Backoff for store failures (not publisher retries): doubles per consecutive failure
/// from the poll interval, capped at 5 s, so a lost database is not hammered.
milliseconds store_error_backoff(milliseconds poll, int failures) {
  auto d = std::max(poll, milliseconds(10));
  for (int i = 1; i < failures && d < milliseconds(5000); ++i)
    d *= 2;
  return std::min(d, milliseconds(5000));
}

}  // namespace

struct relay::impl {
  enum class run_state { created, running, stopped };

  /// One held lease, as this relay believes it. Guarded by mu_.
  struct lease {
    std::uint64_t epoch = 0;
    clock::time_point deadline{};  ///< local: do not start a batch past it
  };

  /// Per-partition pause after a store failure inside a job. Guarded by mu_.
  struct pause {
    steady::time_point until{};
    int failures = 0;
  };

  struct thread_slot {
    std::thread thread;
    bool done = false;
  };

  impl(std::shared_ptr<store> s, std::shared_ptr<publisher> p, relay_options o)
      : store_(std::move(s)), publisher_(std::move(p)), options_(std::move(o)) {
    if (!store_)
      throw usage_error(errc::invalid_argument, "store", "relay: store must not be null");
    if (!publisher_) {
      throw usage_error(errc::invalid_argument, "publisher", "relay: publisher must not be null");
    }
    validate(options_);
    clock_ = options_.clock ? options_.clock : steady_clock_source();
    owner_ = options_.owner.empty() ? default_owner() : options_.owner;
    policy_.max_attempts = options_.max_attempts;
    policy_.backoff_initial = options_.backoff_initial;
    policy_.backoff_max = options_.backoff_max;
  }

  // ---------------------------------------------------------------- configuration
  std::shared_ptr<store> store_;
  std::shared_ptr<publisher> publisher_;
  relay_options options_;
  std::shared_ptr<clock> clock_;
  std::string owner_;
  detail::retry_policy policy_;
  std::uint32_t partitions_ = 0;

  // ---------------------------------------------------------------- asio
  using work_guard = asio::executor_work_guard<asio::io_context::executor_type>;
  /// Lease upkeep only (renew, heartbeat, rebalance): never waits behind a claim, so a
  /// slow claim statement cannot let leases lapse.
  asio::io_context control_io_{1};
  /// Claim rounds, one at a time (a single thread runs it: single flight by construction).
  asio::io_context claim_io_{1};
  /// Lease acquisition. An acquire touches a row another relay may hold locked (a relay
  /// frozen inside its settle transaction keeps the row lock until it runs again), so it
  /// can wait up to the store's statement timeout: it must not hold up renewals.
  asio::io_context acquire_io_{1};
  asio::io_context worker_io_;
  std::optional<work_guard> control_guard_;
  std::optional<work_guard> claim_guard_;
  std::optional<work_guard> acquire_guard_;
  std::optional<work_guard> worker_guard_;
  asio::steady_timer lease_timer_{control_io_};  ///< control thread only
  asio::steady_timer poll_timer_{claim_io_};     ///< claimer thread only

  // ---------------------------------------------------------------- shared state (mu_)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  run_state state_ = run_state::created;
  std::map<std::uint32_t, lease> leases_;
  std::set<std::uint32_t> target_;
  bool rebalanced_ = false;       ///< target_ computed at least once
  std::set<std::uint32_t> busy_;  ///< partitions with a job queued or running
  std::map<std::uint32_t, pause> paused_;
  std::size_t jobs_ = 0;
  std::uint64_t rounds_started_ = 0;
  std::uint64_t last_empty_round_ = 0;
  std::size_t flush_waiters_ = 0;
  steady::time_point claim_paused_until_{};
  int claim_failures_ = 0;
  std::vector<thread_slot> threads_;
  bool abandoned_ = false;  ///< stop() gave up waiting: late results are not settled
  bool stop_result_ = true;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> claim_posted_{false};
  std::atomic<bool> acquiring_{false};  ///< an acquire pass is queued or running
  std::mutex stop_mu_;                  ///< serialises stop()

  /// Hooks are switched off when stop() returns, so a thread abandoned in a hung
  /// publish never calls into a caller that may be gone.
  std::shared_mutex hook_mu_;
  bool hooks_on_ = true;

  // ---------------------------------------------------------------- counters
  std::atomic<std::uint64_t> claimed_{0}, published_{0}, retried_{0}, dead_lettered_{0}, fenced_{0},
      errors_{0}, in_flight_{0}, batches_{0}, latency_total_us_{0}, latency_max_us_{0};
  std::atomic<std::uint32_t> owned_{0};

  // ================================================================ hooks
  void log(log_level level, const std::string& text) noexcept {
    try {
      std::shared_lock lock(hook_mu_);
      if (hooks_on_ && options_.on_log)
        options_.on_log(level, text);
    } catch (...) {
    }
  }

  void report(const batch_report& r) noexcept {
    try {
      std::shared_lock lock(hook_mu_);
      if (hooks_on_ && options_.on_batch)
        options_.on_batch(r);
    } catch (...) {
    }
  }

  void count_error(const std::string& context, std::exception_ptr ep) noexcept {
    errors_.fetch_add(1);
    try {
      log(log_level::error, context + ": " + describe(ep));
    } catch (...) {
    }
  }

  void update_owned_locked() { owned_.store(static_cast<std::uint32_t>(leases_.size())); }

  fence fence_for(std::uint32_t p, std::uint64_t epoch) const { return fence{owner_, p, epoch}; }

  clock::time_point local_deadline(clock::time_point requested_at) const {
    const auto ttl = std::chrono::duration_cast<clock::duration>(options_.lease_ttl);
    const auto margin = ttl / (2 * options_.renew_divisor);
    return requested_at + ttl - margin;
  }

  // ================================================================ threads
  void spawn(std::shared_ptr<impl> self, std::size_t index, void (impl::*body)()) {
    threads_[index].thread = std::thread([self = std::move(self), index, body]() {
      try {
        ((*self).*body)();
      } catch (...) {
        self->count_error("relay thread", std::current_exception());
      }
      std::lock_guard lock(self->mu_);
      self->threads_[index].done = true;
      self->cv_.notify_all();
    });
  }

  /// Runs `io` until it is stopped; a handler that throws is logged and the loop resumes.
  void run_io(asio::io_context& io, const char* what) {
    for (;;) {
      try {
        io.run();
        return;
      } catch (...) {
        count_error(what, std::current_exception());
      }
    }
  }

  void control_main() { run_io(control_io_, "control thread"); }
  void claimer_main() { run_io(claim_io_, "claimer thread"); }
  void acquirer_main() { run_io(acquire_io_, "acquirer thread"); }
  void worker_main() { run_io(worker_io_, "worker thread"); }

  /// Thread slots: control, claimer, acquirer, workers, then the optional listener.
  static constexpr std::size_t control_slot = 0;
  static constexpr std::size_t claimer_slot = 1;
  static constexpr std::size_t acquirer_slot = 2;
  static constexpr std::size_t first_worker_slot = 3;
  std::size_t listener_slot() const { return first_worker_slot + options_.threads; }

  void listener_main() {
    while (!stopping_.load()) {
      try {
        if (store_->wait_for_wakeup(milliseconds(250)))
          request_claim();
      } catch (...) {
        count_error("waiting for a wake-up", std::current_exception());
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, milliseconds(250), [&] { return stopping_.load(); });
      }
    }
  }

  void start(const std::shared_ptr<impl>& self) {
    {
      std::lock_guard lock(mu_);
      if (state_ != run_state::created) {
        throw usage_error(errc::invalid_argument, "start",
                          "relay::start: the relay was already started");
      }
    }
    const auto n = store_->partition_count();
    if (options_.partitions != 0 && options_.partitions != n) {
      throw error(errc::config_mismatch,
                  "relay: options.partitions is " + std::to_string(options_.partitions) +
                      " but the database was migrated with " + std::to_string(n) + " partitions");
    }
    if (n == 0)
      throw error(errc::config_mismatch, "relay: the database reports 0 partitions");
    partitions_ = n;
    {
      std::lock_guard lock(mu_);
      if (state_ != run_state::created) {
        throw usage_error(errc::invalid_argument, "start",
                          "relay::start: the relay was already started");
      }
      state_ = run_state::running;
      control_guard_.emplace(control_io_.get_executor());
      claim_guard_.emplace(claim_io_.get_executor());
      acquire_guard_.emplace(acquire_io_.get_executor());
      worker_guard_.emplace(worker_io_.get_executor());
      const bool listen = store_->supports_wakeup();
      threads_.resize(listener_slot() + (listen ? 1 : 0));
      asio::post(control_io_, [this] { on_lease_tick({}); });
      asio::post(claim_io_, [this] { on_poll({}); });
      spawn(self, control_slot, &impl::control_main);
      spawn(self, claimer_slot, &impl::claimer_main);
      spawn(self, acquirer_slot, &impl::acquirer_main);
      for (std::size_t i = 0; i < options_.threads; ++i)
        spawn(self, first_worker_slot + i, &impl::worker_main);
      if (listen)
        spawn(self, listener_slot(), &impl::listener_main);
    }
    log(log_level::info, "relay " + owner_ + " started: " + std::to_string(n) + " partitions, " +
                             std::to_string(options_.threads) + " threads");
  }

  // ================================================================ control thread
  /// One lease tick, then the next one scheduled from this tick's START: a slow tick
  /// (a loaded database) shortens the pause after it instead of stretching the period,
  /// so renewals keep their lease_ttl / renew_divisor rhythm. A tick that overran the
  /// period is followed at once.
  void on_lease_tick(const boost::system::error_code& ec) {
    if (ec || stopping_.load())
      return;
    const auto started = steady::now();
    lease_tick();
    if (stopping_.load())
      return;
    lease_timer_.expires_at(started + options_.lease_ttl / options_.renew_divisor);
    lease_timer_.async_wait([this](const boost::system::error_code& e) { on_lease_tick(e); });
  }

  /// Renew first (held leases are what expires), then heartbeat and membership, then
  /// release towards the target; acquiring is handed to the acquirer thread. Control
  /// thread only.
  void lease_tick() {
    renew_held();
    if (stopping_.load())
      return;
    rebalance();
  }

  /// Renews every held lease, whatever the heartbeat does next: renewing is always safe
  /// (a lease taken over meanwhile is fenced and reported lost), and a relay that merely
  /// failed one heartbeat should not drop partitions it still legitimately holds.
  /// Control thread only; one store call per lease.
  void renew_held() {
    std::vector<std::pair<std::uint32_t, std::uint64_t>> held;
    {
      std::lock_guard lock(mu_);
      held.reserve(leases_.size());
      for (const auto& [p, l] : leases_)
        held.emplace_back(p, l.epoch);
    }
    for (const auto& [p, epoch] : held) {
      if (stopping_.load())
        return;
      const auto requested = clock_->now();
      bool lost = false;
      try {
        const bool ok = store_->renew(fence_for(p, epoch), options_.lease_ttl);
        std::lock_guard lock(mu_);
        auto it = leases_.find(p);
        if (it == leases_.end() || it->second.epoch != epoch)
          continue;  // dropped or released meanwhile (a fenced settle, stop())
        if (ok) {
          it->second.deadline = local_deadline(requested);
        } else {
          leases_.erase(it);
          update_owned_locked();
          lost = true;
        }
      } catch (...) {
        count_error("renewing partition " + std::to_string(p), std::current_exception());
        continue;
      }
      if (lost)
        log(log_level::warn, "lost the lease of partition " + std::to_string(p));
    }
  }

  /// Heartbeat, membership, target, release, then an acquire pass for the missing target
  /// partitions on the acquirer thread (one pass at a time). Control thread only.
  void rebalance() {
    bool alive = true;
    try {
      store_->heartbeat(owner_, options_.lease_ttl);
    } catch (...) {
      alive = false;
      count_error("heartbeat", std::current_exception());
    }
    // Without a fresh heartbeat this relay may be missing from the live owners: keep the
    // previous target rather than giving every partition away over one failed call.
    std::optional<std::set<std::uint32_t>> target;
    if (alive && !stopping_.load()) {
      try {
        const auto owners = store_->live_owners();
        const auto mine = detail::assigned_partitions(owners, owner_, partitions_);
        target.emplace(mine.begin(), mine.end());
      } catch (...) {
        count_error("reading live owners", std::current_exception());
      }
    }

    std::vector<std::pair<std::uint32_t, std::uint64_t>> to_release;
    std::vector<std::uint32_t> to_acquire;
    {
      std::lock_guard lock(mu_);
      if (target) {
        target_ = *target;
        rebalanced_ = true;
      }
      for (const auto& [p, l] : leases_) {
        if (target_.count(p) == 0 && busy_.count(p) == 0)
          to_release.emplace_back(p, l.epoch);
      }
      for (auto p : target_) {
        if (leases_.count(p) == 0)
          to_acquire.push_back(p);
      }
      // Released ones stop being claimed now (the claimer checks leases_ under mu_ both
      // before and after its store call); the store call follows.
      for (const auto& [p, epoch] : to_release)
        leases_.erase(p);
      update_owned_locked();
    }

    for (const auto& [p, epoch] : to_release) {
      if (stopping_.load())
        break;
      try {
        store_->release(fence_for(p, epoch));
        log(log_level::info, "released partition " + std::to_string(p));
      } catch (...) {
        count_error("releasing partition " + std::to_string(p), std::current_exception());
      }
    }
    if (!to_acquire.empty() && !stopping_.load() && !acquiring_.exchange(true)) {
      try {
        asio::post(acquire_io_, [this, ps = std::move(to_acquire)] {
          try {
            acquire_all(ps);
          } catch (...) {
            count_error("acquiring partitions", std::current_exception());
          }
          acquiring_.store(false);
        });
        return;
      } catch (...) {
        acquiring_.store(false);
      }
    }
    notify_flush_waiters();
  }

  /// Wakes flush() waiters that wait for ownership.
  void notify_flush_waiters() {
    std::lock_guard lock(mu_);
    if (flush_waiters_ > 0)
      cv_.notify_all();
  }

  /// Acquires the given partitions that are still wanted and not held. Acquirer thread.
  void acquire_all(const std::vector<std::uint32_t>& partitions) {
    bool acquired = false;
    for (auto p : partitions) {
      if (stopping_.load())
        return;
      {
        std::lock_guard lock(mu_);
        if (target_.count(p) == 0 || leases_.count(p) != 0)
          continue;  // the target moved on since the control thread asked
      }
      const auto requested = clock_->now();
      try {
        const auto epoch = store_->acquire(owner_, p, options_.lease_ttl);
        if (!epoch)
          continue;  // another owner's lease is still live: next tick
        std::unique_lock lock(mu_);
        if (stopping_.load()) {
          lock.unlock();
          try {
            store_->release(fence_for(p, *epoch));
          } catch (...) {
          }
          return;
        }
        // Even if the target moved meanwhile, keep it: the next tick releases it.
        leases_[p] = lease{*epoch, local_deadline(requested)};
        update_owned_locked();
        acquired = true;
        lock.unlock();
        log(log_level::info,
            "acquired partition " + std::to_string(p) + " (epoch " + std::to_string(*epoch) + ")");
      } catch (...) {
        count_error("acquiring partition " + std::to_string(p), std::current_exception());
      }
    }
    if (acquired) {
      request_claim();
    } else {
      notify_flush_waiters();
    }
  }

  // ================================================================ claimer thread
  void on_poll(const boost::system::error_code& ec) {
    if (ec || stopping_.load())
      return;
    claim_round();
    if (stopping_.load())
      return;
    poll_timer_.expires_after(options_.poll_interval);
    poll_timer_.async_wait([this](const boost::system::error_code& e) { on_poll(e); });
  }

  /// From any thread: run one claim round on the claimer thread soon (coalesced).
  void request_claim() noexcept {
    if (stopping_.load())
      return;
    if (claim_posted_.exchange(true))
      return;
    try {
      asio::post(claim_io_, [this] {
        claim_posted_.store(false);
        claim_round();
      });
    } catch (...) {
      claim_posted_.store(false);
    }
  }

  /// One claim round over the idle owned partitions. Claimer thread only (single flight).
  /// Runs beside the control thread: everything it reads or decides is under mu_, and a
  /// claim result is used only if its lease (same epoch) is still held and idle then.
  void claim_round() {
    if (stopping_.load())
      return;
    std::vector<std::uint32_t> idle;
    bool full_coverage = true;
    std::uint64_t round = 0;
    {
      std::lock_guard lock(mu_);
      const auto now = clock_->now();
      const auto real_now = steady::now();
      if (real_now < claim_paused_until_)
        return;
      round = ++rounds_started_;
      if (!rebalanced_)
        full_coverage = false;
      for (auto p : target_) {
        if (leases_.count(p) == 0)
          full_coverage = false;
      }
      for (const auto& [p, l] : leases_) {
        if (target_.count(p) == 0) {  // being handed over: released once idle
          full_coverage = false;
          continue;
        }
        auto pz = paused_.find(p);
        const bool paused = pz != paused_.end() && real_now < pz->second.until;
        if (busy_.count(p) != 0 || paused || now >= l.deadline) {
          full_coverage = false;
          continue;
        }
        idle.push_back(p);
      }
    }
    std::vector<claimed_partition> claimed;
    if (!idle.empty()) {
      try {
        claimed = store_->claim(owner_, idle, options_.batch_size);
        std::lock_guard lock(mu_);
        claim_failures_ = 0;
      } catch (...) {
        count_error("claiming", std::current_exception());
        std::lock_guard lock(mu_);
        ++claim_failures_;
        claim_paused_until_ =
            steady::now() + store_error_backoff(options_.poll_interval, claim_failures_);
        return;
      }
    }
    std::size_t records = 0;
    std::lock_guard lock(mu_);
    for (auto& cp : claimed) {
      records += cp.records.size();
      if (cp.records.empty() || stopping_.load())
        continue;
      auto it = leases_.find(cp.partition);
      if (it == leases_.end() || busy_.count(cp.partition) != 0)
        continue;
      if (it->second.epoch != cp.epoch)
        continue;  // acquired again meanwhile: claim anew
      busy_.insert(cp.partition);
      ++jobs_;
      auto job = std::make_shared<claimed_partition>(std::move(cp));
      asio::post(worker_io_, [this, job] { run_job(*job); });
    }
    if (records == 0 && full_coverage) {
      last_empty_round_ = round;
      cv_.notify_all();
    }
  }

  // ================================================================ worker threads
  /// Marks the partition idle again and decides whether to claim at once.
  void finish_job(std::uint32_t partition, bool drain) noexcept {
    bool claim_now = drain;
    {
      std::lock_guard lock(mu_);
      busy_.erase(partition);
      --jobs_;
      if (flush_waiters_ > 0)
        claim_now = true;
      cv_.notify_all();
    }
    if (claim_now)
      request_claim();
  }

  void drop_lease(std::uint32_t partition, std::uint64_t epoch) {
    std::lock_guard lock(mu_);
    auto it = leases_.find(partition);
    if (it != leases_.end() && it->second.epoch == epoch) {
      leases_.erase(it);
      update_owned_locked();
    }
  }

  void pause_partition(std::uint32_t partition) {
    std::lock_guard lock(mu_);
    auto& pz = paused_[partition];
    ++pz.failures;
    pz.until = steady::now() + store_error_backoff(options_.poll_interval, pz.failures);
  }

  /// Publishes and settles one claimed partition. Worker thread; never throws.
  void run_job(const claimed_partition& cp) noexcept {
    bool drain = false;
    batch_report rep;
    rep.partition = cp.partition;
    bool reported = false;
    try {
      drain = process(cp, rep, reported);
    } catch (...) {
      count_error("partition " + std::to_string(cp.partition), std::current_exception());
      try {
        pause_partition(cp.partition);
      } catch (...) {
      }
    }
    if (reported)
      report(rep);
    finish_job(cp.partition, drain);
  }

  /// The job body; returns true when the partition probably has more rows (drain mode).
  bool process(const claimed_partition& cp, batch_report& rep, bool& reported) {
    if (stopping_.load() || cp.records.empty())
      return false;
    const fence f = fence_for(cp.partition, cp.epoch);
    {
      std::lock_guard lock(mu_);
      auto it = leases_.find(cp.partition);
      if (it == leases_.end() || it->second.epoch != cp.epoch)
        return false;
      if (clock_->now() >= it->second.deadline)
        return false;  // renew first
    }
    const auto plan = detail::plan_batch(cp.marker, cp.records, options_.max_crash_starts);
    const std::span<const outbox_record> batch(cp.records.data(), plan.count);
    if (!store_->begin_batch(f, plan.next)) {
      drop_lease(cp.partition, cp.epoch);
      log(log_level::warn,
          "lost the lease of partition " + std::to_string(cp.partition) + " before publishing");
      return false;
    }
    if (plan.isolate) {
      log(log_level::warn, "partition " + std::to_string(cp.partition) + ": publishing seq " +
                               std::to_string(batch.front().seq) +
                               " alone after an unfinished batch (start " +
                               std::to_string(plan.next.starts) + ")");
    }
    claimed_.fetch_add(batch.size());
    rep.claimed = batch.size();

    detail::settle_plan settle_plan;
    if (plan.crash_loop) {
      const auto times = plan.next.starts - 1;
      outcome out;
      out.id = batch.front().msg.id;
      out.what = outcome::action::dead_letter;
      out.reason = "crash loop: relay stopped " + std::to_string(times) +
                   " times while publishing this message";
      settle_plan.outcomes.push_back(std::move(out));
      settle_plan.dead_lettered = 1;
      log(log_level::error, "partition " + std::to_string(cp.partition) + ": dead-lettering seq " +
                                std::to_string(batch.front().seq) + " after a crash loop");
    } else {
      in_flight_.fetch_add(batch.size());
      const auto t0 = steady::now();
      std::vector<publish_result> results;
      try {
        results = publisher_->publish(batch);
      } catch (...) {
        // The contract says publish() never throws; treat a throw as "all retry".
        count_error("publisher", std::current_exception());
        results.clear();
      }
      const auto latency =
          std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - t0);
      in_flight_.fetch_sub(batch.size());
      rep.publish_latency = latency;
      latency_total_us_.fetch_add(static_cast<std::uint64_t>(latency.count()));
      auto prev = latency_max_us_.load();
      const auto lat = static_cast<std::uint64_t>(latency.count());
      while (lat > prev && !latency_max_us_.compare_exchange_weak(prev, lat)) {
      }
      batches_.fetch_add(1);
      settle_plan = detail::map_results(batch, results, policy_, rng());
      if (settle_plan.contract_error) {
        errors_.fetch_add(1);
        log(log_level::error,
            "partition " + std::to_string(cp.partition) + ": " + *settle_plan.contract_error);
      }
    }

    {
      std::lock_guard lock(mu_);
      if (abandoned_) {
        // stop() gave up on this batch and released the lease; the next owner republishes.
        return false;
      }
    }
    if (!settle_with_retries(f, settle_plan.outcomes)) {
      fenced_.fetch_add(1);
      drop_lease(cp.partition, cp.epoch);
      rep.fenced = true;
      reported = true;
      log(log_level::warn, "partition " + std::to_string(cp.partition) +
                               ": settle refused, the lease was taken over (" +
                               std::to_string(batch.size()) + " records will be republished)");
      return false;
    }
    {
      std::lock_guard lock(mu_);
      paused_.erase(cp.partition);
    }
    published_.fetch_add(settle_plan.published);
    retried_.fetch_add(settle_plan.retried);
    dead_lettered_.fetch_add(settle_plan.dead_lettered);
    rep.published = settle_plan.published;
    rep.retried = settle_plan.retried;
    rep.dead_lettered = settle_plan.dead_lettered;
    reported = true;
    return cp.records.size() >= options_.batch_size || plan.count < cp.records.size() ||
           settle_plan.deferred > 0;
  }

  /// settle(), retried a few times on a store exception (a lost ack means duplicates).
  bool settle_with_retries(const fence& f, std::span<const outcome> outcomes) {
    for (int attempt = 1;; ++attempt) {
      try {
        return store_->settle(f, outcomes);
      } catch (...) {
        if (attempt >= 3 || stopping_.load())
          throw;
        count_error("settling partition " + std::to_string(f.partition) + " (will retry)",
                    std::current_exception());
        std::this_thread::sleep_for(milliseconds(10 * attempt));
      }
    }
  }

  static std::mt19937_64& rng() {
    thread_local std::mt19937_64 gen{std::random_device{}()};
    return gen;
  }

  // ================================================================ caller-facing
  bool stop(milliseconds timeout) noexcept {
    std::lock_guard stop_lock(stop_mu_);
    const auto deadline = steady::now() + timeout;
    {
      std::lock_guard lock(mu_);
      if (state_ == run_state::created) {
        state_ = run_state::stopped;
        return true;
      }
      if (state_ == run_state::stopped)
        return stop_result_;
      state_ = run_state::stopped;
      stopping_.store(true);
      cv_.notify_all();
    }
    try {
      asio::post(control_io_, [this] { lease_timer_.cancel(); });
      asio::post(claim_io_, [this] { poll_timer_.cancel(); });
    } catch (...) {
    }
    log(log_level::info, "relay " + owner_ + " stopping");

    bool finished = false;
    {
      std::unique_lock lock(mu_);
      finished = cv_.wait_until(lock, steady::now() + timeout / 2, [&] { return jobs_ == 0; });
    }
    if (!finished) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady::now());
      try {
        publisher_->shutdown(std::max(left / 2, milliseconds(0)));
      } catch (...) {
      }
      std::unique_lock lock(mu_);
      finished = cv_.wait_until(lock, deadline, [&] { return jobs_ == 0; });
    }
    std::map<std::uint32_t, lease> held;
    {
      std::lock_guard lock(mu_);
      abandoned_ = !finished;
      held.swap(leases_);
      update_owned_locked();
    }
    if (!finished) {
      log(log_level::warn,
          "relay " + owner_ + ": in-flight batches did not finish in time; abandoning them");
    }
    for (const auto& [p, l] : held) {
      try {
        store_->release(fence_for(p, l.epoch));
      } catch (...) {
        count_error("releasing partition " + std::to_string(p), std::current_exception());
      }
    }
    try {
      store_->leave(owner_);
    } catch (...) {
      count_error("leaving", std::current_exception());
    }
    control_guard_.reset();
    claim_guard_.reset();
    acquire_guard_.reset();
    worker_guard_.reset();
    control_io_.stop();
    claim_io_.stop();
    acquire_io_.stop();
    worker_io_.stop();

    // Join threads that end in time; detach the ones stuck in a publish or a store call.
    const bool listener = threads_.size() > listener_slot();
    const auto join_deadline =
        std::max(deadline, steady::now() + (listener ? milliseconds(400) : milliseconds(100)));
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, join_deadline, [&] {
        return std::all_of(threads_.begin(), threads_.end(),
                           [](const thread_slot& s) { return s.done; });
      });
    }
    for (auto& slot : threads_) {
      bool done = false;
      {
        std::lock_guard lock(mu_);
        done = slot.done;
      }
      if (!slot.thread.joinable())
        continue;
      if (done) {
        slot.thread.join();
      } else {
        slot.thread.detach();
      }
    }
    log(log_level::info, "relay " + owner_ + " stopped");
    {
      std::unique_lock hooks(hook_mu_);
      hooks_on_ = false;
    }
    std::lock_guard lock(mu_);
    stop_result_ = finished;
    return finished;
  }

  bool flush(milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (state_ != run_state::running || stopping_.load())
      return false;
    const auto after = rounds_started_;
    ++flush_waiters_;
    lock.unlock();
    request_claim();
    lock.lock();
    const bool ok = cv_.wait_for(lock, timeout, [&] {
      if (stopping_.load())
        return true;
      if (last_empty_round_ > after && jobs_ == 0)
        return true;
      return false;
    });
    --flush_waiters_;
    if (!ok || stopping_.load())
      return false;
    return true;
  }
};

// ==================================================================== relay

relay::relay(std::shared_ptr<store> store, std::shared_ptr<publisher> publisher,
             relay_options options)
    : impl_(std::make_shared<impl>(std::move(store), std::move(publisher), std::move(options))) {}

relay::~relay() {
  try {
    if (impl_)
      impl_->stop(std::chrono::seconds(10));
  } catch (...) {
  }
}

void relay::start() {
  impl_->start(impl_);
}

bool relay::stop(std::chrono::milliseconds timeout) {
  return impl_->stop(timeout);
}

bool relay::flush(std::chrono::milliseconds timeout) {
  return impl_->flush(timeout);
}

void relay::poke() noexcept {
  impl_->request_claim();
}

relay_stats relay::stats() const noexcept {
  const auto& i = *impl_;
  relay_stats s;
  s.claimed = i.claimed_.load();
  s.published = i.published_.load();
  s.retried = i.retried_.load();
  s.dead_lettered = i.dead_lettered_.load();
  s.fenced_batches = i.fenced_.load();
  s.errors = i.errors_.load();
  s.in_flight = i.in_flight_.load();
  s.owned_partitions = i.owned_.load();
  s.batches = i.batches_.load();
  s.publish_latency_total = std::chrono::microseconds(i.latency_total_us_.load());
  s.publish_latency_max = std::chrono::microseconds(i.latency_max_us_.load());
  return s;
}

const std::string& relay::owner() const noexcept {
  return impl_->owner_;
}

}  // namespace txoutbox
