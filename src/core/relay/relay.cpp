// relay: the composition of the relay's parts, their threads and the caller-facing calls.
#include "txoutbox/relay.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <string>
#include <utility>

#include "relay/batch_runner.hpp"
#include "relay/claimer.hpp"
#include "relay/lease_keeper.hpp"
#include "relay/partition_table.hpp"
#include "relay/relay_config.hpp"
#include "relay/relay_counters.hpp"
#include "relay/relay_hooks.hpp"
#include "relay/relay_threads.hpp"
#include "relay/route_health.hpp"
#include "relay/timing.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox {

using std::chrono::milliseconds;

/// The parts (see each header for its thread and lock), wired together: the lease keeper
/// and the batch runner wake the claimer, the claimer feeds the batch runner, all share
/// the partition table. The lifecycle (created, running, stopped) is guarded by life_mu_,
/// held briefly and never together with the table's lock, except around the thread
/// spawning in start() so that stop() sees all threads or none; stop_mu_ serialises stop().
struct relay::impl {
  enum class run_state { created, running, stopped };
  using steady = std::chrono::steady_clock;

  impl(std::shared_ptr<store> s, std::shared_ptr<publisher> p, relay_options o)
      : config_(std::move(s), std::move(p), std::move(o)) {}

  detail::relay_config config_;
  detail::relay_counters counters_;
  detail::relay_hooks hooks_{config_.options, counters_};
  detail::partition_table table_;
  detail::route_health health_{config_.options.probe_interval, config_.options.backoff_max};
  detail::batch_runner runner_{config_,   table_,  hooks_,
                               counters_, health_, [this] { wake_claimer(); }};
  detail::claimer claimer_{config_, table_, hooks_, runner_};
  detail::lease_keeper keeper_{config_, table_, hooks_, [this] { wake_claimer(); }};
  detail::thread_group threads_;
  bool listening_ = false;                  ///< a listener thread runs; set by start()
  std::unique_ptr<owner_lock> owner_lock_;  ///< held from start() to the end of stop()

  std::mutex life_mu_;
  run_state state_ = run_state::created;  ///< guarded by life_mu_
  bool stop_result_ = true;               ///< guarded by life_mu_
  std::mutex stop_mu_;

  void wake_claimer() noexcept { claimer_.request_claim(); }

  void require_created() {
    if (state_ != run_state::created) {
      throw usage_error(errc::invalid_argument, "start",
                        "relay::start: the relay was already started");
    }
  }

  std::uint32_t read_partitions() {
    const auto n = config_.store->partition_count();
    const auto expected = config_.options.partitions;
    if (expected != 0 && expected != n) {
      throw error(errc::config_mismatch,
                  "relay: options.partitions is " + std::to_string(expected) +
                      " but the database was migrated with " + std::to_string(n) + " partitions");
    }
    if (n == 0)
      throw error(errc::config_mismatch, "relay: the database reports 0 partitions");
    return n;
  }

  void start(const std::shared_ptr<impl>& self) {
    {
      std::lock_guard lock(life_mu_);
      require_created();
    }
    auto owner_lock = config_.store->lock_owner(config_.owner);
    const auto n = read_partitions();
    {
      std::lock_guard lock(life_mu_);
      require_created();
      state_ = run_state::running;
      owner_lock_ = std::move(owner_lock);
      keeper_.start(n);
      claimer_.start();
      runner_.start();
      spawn_threads(self);
    }
    hooks_.log(log_level::info, "relay " + config_.owner + " started: " + std::to_string(n) +
                                    " partitions, " + std::to_string(config_.options.threads) +
                                    " threads");
  }

  /// Control, claimer, acquirer, the workers, then the listener if the store wakes up.
  void spawn_threads(const std::shared_ptr<impl>& self) {
    auto spawn = [&](void (impl::*body)()) {
      threads_.spawn(self, [this, body] {
        try {
          (this->*body)();
        } catch (...) {
          hooks_.fail("relay thread", std::current_exception());
        }
      });
    };
    spawn(&impl::control_main);
    spawn(&impl::claimer_main);
    spawn(&impl::acquirer_main);
    for (std::size_t i = 0; i < config_.options.threads; ++i)
      spawn(&impl::worker_main);
    listening_ = config_.store->supports_wakeup();
    if (listening_)
      spawn(&impl::listener_main);
  }

  void control_main() { keeper_.run_control(); }
  void claimer_main() { claimer_.run_claimer(); }
  void acquirer_main() { keeper_.run_acquirer(); }
  void worker_main() { runner_.run_worker(); }
  void listener_main() { claimer_.run_listener(); }

  bool stop(milliseconds timeout) noexcept {
    std::lock_guard stop_lock(stop_mu_);
    const auto deadline = steady::now() + timeout;
    {
      std::lock_guard lock(life_mu_);
      if (state_ == run_state::created) {
        state_ = run_state::stopped;
        return true;
      }
      if (state_ == run_state::stopped)
        return stop_result_;
      state_ = run_state::stopped;
    }
    table_.close();
    keeper_.cancel();
    claimer_.cancel();
    hooks_.log(log_level::info, "relay " + config_.owner + " stopping");
    const bool finished = drain(timeout, deadline);
    const auto held = table_.take_all(!finished);
    if (!finished) {
      hooks_.log(
          log_level::warn,
          "relay " + config_.owner + ": in-flight batches did not finish in time; abandoning them");
    }
    keeper_.release_and_leave(held, deadline);
    keeper_.halt();
    claimer_.halt();
    runner_.halt();
    join_threads(deadline);
    owner_lock_.reset();
    hooks_.log(log_level::info, "relay " + config_.owner + " stopped");
    hooks_.disable();
    std::lock_guard lock(life_mu_);
    stop_result_ = finished;
    return finished;
  }

  /// Waits for the in-flight jobs: part of the budget alone, then with publisher::shutdown
  /// called to unblock them, until the deadline. True when they all finished.
  bool drain(milliseconds timeout, steady::time_point deadline) noexcept {
    try {
      if (table_.wait_idle_until(steady::now() + timeout / detail::timing::stop_drain_divisor))
        return true;
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady::now());
      try {
        config_.publisher->shutdown(
            std::max(left / detail::timing::shutdown_share_divisor, milliseconds(0)));
      } catch (...) {
      }
      return table_.wait_idle_until(deadline);
    } catch (...) {
      return false;
    }
  }

  /// Joins the threads that end in time; detaches the ones stuck in a publish or a store
  /// call. Waits at least a short grace past the deadline for threads between handlers.
  void join_threads(steady::time_point deadline) noexcept {
    try {
      const auto grace =
          listening_ ? detail::timing::listener_join_grace : detail::timing::join_grace;
      threads_.wait_done_until(std::max(deadline, steady::now() + grace));
      threads_.join_or_detach();
    } catch (...) {
    }
  }

  bool flush(milliseconds timeout) {
    {
      std::lock_guard lock(life_mu_);
      if (state_ != run_state::running)
        return false;
    }
    return table_.wait_flushed(timeout, [this] { wake_claimer(); });
  }
};

// ==================================================================== relay

relay::relay(std::shared_ptr<store> store, std::shared_ptr<publisher> publisher,
             relay_options options)
    : impl_(std::make_shared<impl>(std::move(store), std::move(publisher), std::move(options))) {}

relay::~relay() {
  try {
    if (impl_)
      impl_->stop(detail::timing::destructor_stop_budget);
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
  impl_->wake_claimer();
}

relay_stats relay::stats() const noexcept {
  auto s = impl_->counters_.snapshot(impl_->table_.owned());
  try {
    const auto routes = impl_->health_.summarize();
    s.destinations_down = routes.down;
    if (routes.oldest_since) {
      s.unavailable_for = std::chrono::duration_cast<milliseconds>(impl_->config_.clock->now() -
                                                                   *routes.oldest_since);
    }
  } catch (...) {  // summarize() takes a lock; stats() promises noexcept
  }
  return s;
}

const std::string& relay::owner() const noexcept {
  return impl_->config_.owner;
}

}  // namespace txoutbox
