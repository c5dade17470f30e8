// The relay's lease keeper: renewals and rebalancing on the control thread, takeovers on
// the acquirer thread.
#include "relay/lease_keeper.hpp"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

#include <boost/asio/post.hpp>

#include "relay/relay_assignment.hpp"
#include "relay/relay_threads.hpp"
#include "relay/timing.hpp"

namespace txoutbox::detail {

namespace asio = boost::asio;

lease_keeper::lease_keeper(const relay_config& config, partition_table& table, relay_hooks& hooks,
                           std::function<void()> wake_claimer)
    : config_(config), table_(table), hooks_(hooks), wake_claimer_(std::move(wake_claimer)) {}

void lease_keeper::start(std::uint32_t partitions) {
  partitions_ = partitions;
  control_guard_.emplace(control_io_.get_executor());
  acquire_guard_.emplace(acquire_io_.get_executor());
  asio::post(control_io_, [this] { on_tick({}); });
}

void lease_keeper::run_control() {
  run_until_stopped(control_io_, hooks_, "control thread");
}

void lease_keeper::run_acquirer() {
  run_until_stopped(acquire_io_, hooks_, "acquirer thread");
}

void lease_keeper::cancel() noexcept {
  try {
    asio::post(control_io_, [this] { timer_.cancel(); });
  } catch (...) {
  }
}

void lease_keeper::halt() noexcept {
  control_guard_.reset();
  acquire_guard_.reset();
  control_io_.stop();
  acquire_io_.stop();
}

clock::time_point lease_keeper::local_deadline(clock::time_point requested_at) const {
  const auto& o = config_.options;
  const auto ttl = std::chrono::duration_cast<clock::duration>(o.lease_ttl);
  const auto margin = ttl / (timing::lease_margin_divisor * o.renew_divisor);
  return requested_at + ttl - margin;
}

// ---------------------------------------------------------------- control thread

/// One lease tick, then the next one scheduled from this tick's START: a slow tick (a
/// loaded database) shortens the pause after it instead of stretching the period, so
/// renewals keep their lease_ttl / renew_divisor rhythm. A tick that overran the period
/// is followed at once. Renew first (held leases are what expires), then rebalance.
void lease_keeper::on_tick(const boost::system::error_code& ec) {
  if (ec || table_.stopping())
    return;
  const auto started = std::chrono::steady_clock::now();
  renew_held();
  if (!table_.stopping())
    rebalance();
  if (table_.stopping())
    return;
  timer_.expires_at(started + config_.options.lease_ttl / config_.options.renew_divisor);
  timer_.async_wait([this](const boost::system::error_code& e) { on_tick(e); });
}

/// Renews every held lease, whatever the heartbeat does next: renewing is always safe (a
/// lease taken over meanwhile is fenced and reported lost), and a relay that merely failed
/// one heartbeat should not drop partitions it still legitimately holds.
void lease_keeper::renew_held() {
  const auto held = table_.held();
  if (held.empty() || table_.stopping())
    return;
  std::vector<fence> fences;
  fences.reserve(held.size());
  for (const auto& [p, epoch] : held)
    fences.push_back(config_.fence_for(p, epoch));
  const auto requested = config_.clock->now();
  std::vector<bool> ok;
  try {
    ok = config_.store->renew_all(fences, config_.options.lease_ttl);
  } catch (...) {
    hooks_.fail("renewing " + std::to_string(held.size()) + " leases", std::current_exception());
    return;
  }
  if (ok.size() != held.size()) {
    hooks_.log(log_level::error, "store::renew_all answered " + std::to_string(ok.size()) + " of " +
                                     std::to_string(held.size()) + " leases");
    return;  // unrenewed leases run out on their local deadline
  }
  for (std::size_t i = 0; i < held.size(); ++i)
    note_renewal(held[i].first, held[i].second, ok[i], requested);
}

void lease_keeper::note_renewal(std::uint32_t p, std::uint64_t epoch, bool ok,
                                clock::time_point requested) {
  const auto result = table_.renewed(p, epoch, ok, local_deadline(requested));
  if (result == partition_table::renewal::lost)
    hooks_.log(log_level::warn, "lost the lease of partition " + std::to_string(p));
}

/// Heartbeat, membership, target, release, then an acquire pass for the missing target
/// partitions on the acquirer thread (one pass at a time).
void lease_keeper::rebalance() {
  // Marked as running under the membership lock, so leave() waits for a heartbeat that has
  // begun and none begins after it: no ghost registration outlives stop().
  {
    std::lock_guard lock(membership_mu_);
    if (left_)
      return;
    heartbeating_ = true;
  }
  bool alive = true;
  try {
    config_.store->heartbeat(config_.owner, config_.options.lease_ttl);
  } catch (...) {
    alive = false;
    hooks_.fail("heartbeat", std::current_exception());
  }
  {
    std::lock_guard lock(membership_mu_);
    heartbeating_ = false;
  }
  membership_cv_.notify_all();
  auto moves = table_.retarget(read_target(alive));
  release(moves.release);
  if (!moves.acquire.empty() && request_acquire(std::move(moves.acquire)))
    return;
  table_.notify_flush_waiters();
}

/// The partitions this relay should own, from the live owners. Without a fresh heartbeat
/// this relay may be missing from them: nullopt keeps the previous target rather than
/// giving every partition away over one failed call.
std::optional<std::set<std::uint32_t>> lease_keeper::read_target(bool alive) {
  if (!alive || table_.stopping())
    return std::nullopt;
  try {
    const auto owners = config_.store->live_owners();
    const auto mine = assigned_partitions(owners, config_.owner, partitions_);
    return std::set<std::uint32_t>(mine.begin(), mine.end());
  } catch (...) {
    hooks_.fail("reading live owners", std::current_exception());
    return std::nullopt;
  }
}

void lease_keeper::release(const std::vector<partition_table::lease_ref>& leases) {
  for (const auto& [p, epoch] : leases) {
    if (table_.stopping())
      break;
    try {
      config_.store->release(config_.fence_for(p, epoch));
      hooks_.log(log_level::info, "released partition " + std::to_string(p));
    } catch (...) {
      hooks_.fail("releasing partition " + std::to_string(p), std::current_exception());
    }
  }
}

/// Queues an acquire pass unless one is queued or running; true when queued.
bool lease_keeper::request_acquire(std::vector<std::uint32_t> partitions) {
  if (table_.stopping() || acquiring_.exchange(true))
    return false;
  try {
    asio::post(acquire_io_, [this, ps = std::move(partitions)] {
      try {
        acquire_all(ps);
      } catch (...) {
        hooks_.fail("acquiring partitions", std::current_exception());
      }
      acquiring_.store(false);
    });
    return true;
  } catch (...) {
    acquiring_.store(false);
    return false;
  }
}

// ---------------------------------------------------------------- acquirer thread

/// Acquires the given partitions that are still wanted and not held; then claims at once
/// if any was taken.
void lease_keeper::acquire_all(const std::vector<std::uint32_t>& partitions) {
  bool acquired = false;
  for (auto p : partitions) {
    if (table_.stopping())
      return;
    if (!table_.wanted(p))
      continue;  // the target moved on since the control thread asked
    try {
      if (acquire(p)) {
        acquired = true;
      } else if (table_.stopping()) {
        return;
      }
    } catch (...) {
      hooks_.fail("acquiring partition " + std::to_string(p), std::current_exception());
    }
  }
  if (acquired) {
    wake_claimer_();
  } else {
    table_.notify_flush_waiters();
  }
}

/// One acquire; true when the lease is now held. A lease won while stopping is released
/// again at once (stop() has taken, or will not see, the table's leases).
bool lease_keeper::acquire(std::uint32_t p) {
  const auto requested = config_.clock->now();
  const auto epoch = config_.store->acquire(config_.owner, p, config_.options.lease_ttl);
  if (!epoch)
    return false;  // another owner's lease is still live: next tick
  if (!table_.add(p, partition_table::lease{*epoch, local_deadline(requested)})) {
    try {
      config_.store->release(config_.fence_for(p, *epoch));
    } catch (...) {
    }
    return false;
  }
  hooks_.log(log_level::info,
             "acquired partition " + std::to_string(p) + " (epoch " + std::to_string(*epoch) + ")");
  return true;
}

// ---------------------------------------------------------------- stop()

void lease_keeper::release_and_leave(const std::map<std::uint32_t, partition_table::lease>& held,
                                     std::chrono::steady_clock::time_point deadline) noexcept {
  for (const auto& [p, l] : held) {
    try {
      config_.store->release(config_.fence_for(p, l.epoch));
    } catch (...) {
      hooks_.fail("releasing partition " + std::to_string(p), std::current_exception());
    }
  }
  // Wait for a heartbeat in flight, or it would register this owner again after leave().
  const auto wait_until =
      std::max(deadline, std::chrono::steady_clock::now() + timing::heartbeat_grace);
  bool waited_out = true;
  {
    std::unique_lock lock(membership_mu_);
    waited_out = membership_cv_.wait_until(lock, wait_until, [&] { return !heartbeating_; });
    left_ = true;
  }
  if (!waited_out) {
    hooks_.log(log_level::warn, "relay " + config_.owner +
                                    ": a heartbeat is still running; leaving anyway (the "
                                    "membership expires after lease_ttl)");
  }
  try {
    config_.store->leave(config_.owner);
  } catch (...) {
    hooks_.fail("leaving", std::current_exception());
  }
}

}  // namespace txoutbox::detail
