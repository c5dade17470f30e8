// The relay's shared partition state: every operation is a few map steps under one mutex.
#include "relay/partition_table.hpp"

#include <algorithm>
#include <utility>

#include "relay/relay_policy.hpp"

namespace txoutbox::detail {

// ---------------------------------------------------------------- lifecycle

void partition_table::close() {
  std::lock_guard lock(mu_);
  stopping_.store(true);
  cv_.notify_all();
}

void partition_table::wait_closed_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return stopping_.load(); });
}

// ---------------------------------------------------------------- lease keeper

std::vector<partition_table::lease_ref> partition_table::held() const {
  std::vector<lease_ref> out;
  std::lock_guard lock(mu_);
  out.reserve(leases_.size());
  for (const auto& [p, l] : leases_)
    out.emplace_back(p, l.epoch);
  return out;
}

partition_table::renewal partition_table::renewed(std::uint32_t p, std::uint64_t epoch, bool ok,
                                                  clock::time_point deadline) {
  std::lock_guard lock(mu_);
  auto it = leases_.find(p);
  if (it == leases_.end() || it->second.epoch != epoch)
    return renewal::gone;  // dropped or released meanwhile (a fenced settle, stop())
  if (ok) {
    it->second.deadline = deadline;
    return renewal::renewed;
  }
  leases_.erase(it);
  update_owned_locked();
  return renewal::lost;
}

partition_table::moves partition_table::retarget(
    const std::optional<std::set<std::uint32_t>>& target) {
  moves m;
  std::lock_guard lock(mu_);
  if (target) {
    target_ = *target;
    rebalanced_ = true;
  }
  for (const auto& [p, l] : leases_) {
    if (target_.count(p) == 0 && busy_.count(p) == 0)
      m.release.emplace_back(p, l.epoch);
  }
  for (auto p : target_) {
    if (leases_.count(p) == 0)
      m.acquire.push_back(p);
  }
  // Released ones stop being claimed now (the claimer checks leases_ both before and
  // after its store call); the store call follows.
  for (const auto& [p, epoch] : m.release)
    leases_.erase(p);
  update_owned_locked();
  return m;
}

bool partition_table::wanted(std::uint32_t p) const {
  std::lock_guard lock(mu_);
  return target_.count(p) != 0 && leases_.count(p) == 0;
}

bool partition_table::add(std::uint32_t p, lease l) {
  std::lock_guard lock(mu_);
  if (stopping_.load())
    return false;
  // Even if the target moved meanwhile, keep it: the next tick releases it.
  leases_[p] = l;
  update_owned_locked();
  return true;
}

void partition_table::notify_flush_waiters() {
  std::lock_guard lock(mu_);
  if (flush_waiters_ > 0)
    cv_.notify_all();
}

// ---------------------------------------------------------------- claimer

std::optional<partition_table::round> partition_table::begin_round(const clock& c,
                                                                   std::size_t max_waiting) {
  std::lock_guard lock(mu_);
  const auto now = c.now();
  const auto real_now = steady::now();
  if (real_now < claim_paused_until_)
    return std::nullopt;
  round r;
  r.number = ++rounds_started_;
  if (!rebalanced_)
    r.full_coverage = false;
  for (auto p : target_) {
    if (leases_.count(p) == 0)
      r.full_coverage = false;
  }
  for (const auto& [p, l] : leases_) {
    if (target_.count(p) == 0) {  // being handed over: released once idle
      r.full_coverage = false;
      continue;
    }
    auto pz = paused_.find(p);
    auto pk = parked_.find(p);
    const bool paused = (pz != paused_.end() && real_now < pz->second.until) ||
                        (pk != parked_.end() && now < pk->second);
    if (busy_.count(p) != 0 || paused || now >= l.deadline) {
      r.full_coverage = false;
      continue;
    }
    r.idle.push_back(p);
  }
  if (rotation_after_) {
    const auto first = std::upper_bound(r.idle.begin(), r.idle.end(), *rotation_after_);
    std::rotate(r.idle.begin(), first, r.idle.end());
  }
  r.room = waiting_rows_ < max_waiting ? max_waiting - waiting_rows_ : 0;
  if (r.room == 0 && !r.idle.empty()) {
    r.full_coverage = false;  // nothing is claimed: not a round that found nothing
    work_left_ = true;
  }
  return r;
}

void partition_table::claim_succeeded() {
  std::lock_guard lock(mu_);
  claim_failures_ = 0;
}

void partition_table::claim_failed(std::chrono::milliseconds poll) {
  std::lock_guard lock(mu_);
  ++claim_failures_;
  claim_paused_until_ = steady::now() + store_error_backoff(poll, claim_failures_);
}

std::vector<std::shared_ptr<claimed_partition>> partition_table::accept(
    std::vector<claimed_partition> claimed, const round& r) {
  std::vector<std::shared_ptr<claimed_partition>> jobs;
  std::size_t records = 0;
  std::lock_guard lock(mu_);
  for (auto& cp : claimed) {
    records += cp.records.size();
    if (cp.cut) {
      work_left_ = true;
      rotation_after_ = cp.partition;
    }
    if (cp.records.empty() || stopping_.load())
      continue;
    auto it = leases_.find(cp.partition);
    if (it == leases_.end() || busy_.count(cp.partition) != 0)
      continue;
    if (it->second.epoch != cp.epoch)
      continue;  // acquired again meanwhile: claim anew
    busy_.insert(cp.partition);
    ++jobs_;
    waiting_rows_ += cp.records.size();
    jobs.push_back(std::make_shared<claimed_partition>(std::move(cp)));
  }
  if (records == 0 && r.full_coverage) {
    last_empty_round_ = r.number;
    cv_.notify_all();
  }
  return jobs;
}

// ---------------------------------------------------------------- batch runner

bool partition_table::start_job(std::size_t rows) {
  std::lock_guard lock(mu_);
  waiting_rows_ -= std::min(rows, waiting_rows_);
  return std::exchange(work_left_, false);
}

bool partition_table::usable(std::uint32_t p, std::uint64_t epoch, const clock& c) const {
  std::lock_guard lock(mu_);
  auto it = leases_.find(p);
  if (it == leases_.end() || it->second.epoch != epoch)
    return false;
  return c.now() < it->second.deadline;  // else: renew first
}

void partition_table::drop(std::uint32_t p, std::uint64_t epoch) {
  std::lock_guard lock(mu_);
  auto it = leases_.find(p);
  if (it != leases_.end() && it->second.epoch == epoch) {
    leases_.erase(it);
    update_owned_locked();
  }
}

void partition_table::pause(std::uint32_t p, std::chrono::milliseconds poll) {
  std::lock_guard lock(mu_);
  auto& pz = paused_[p];
  ++pz.failures;
  pz.until = steady::now() + store_error_backoff(poll, pz.failures);
}

void partition_table::unpause(std::uint32_t p) {
  std::lock_guard lock(mu_);
  paused_.erase(p);
}

void partition_table::park(std::uint32_t p, clock::time_point until) {
  std::lock_guard lock(mu_);
  parked_[p] = until;
}

void partition_table::unpark_all() {
  std::lock_guard lock(mu_);
  parked_.clear();
}

void partition_table::note_unsettled(std::uint32_t p, const batch_marker& m) {
  std::lock_guard lock(mu_);
  unsettled_[p] = m;
}

bool partition_table::take_unsettled(std::uint32_t p, const batch_marker& stored) {
  std::lock_guard lock(mu_);
  const auto it = unsettled_.find(p);
  if (it == unsettled_.end())
    return false;
  const auto& m = it->second;
  const bool same = m.head_seq == stored.head_seq && m.last_seq == stored.last_seq &&
                    m.starts == stored.starts && m.suspect_through == stored.suspect_through;
  unsettled_.erase(it);
  return same;
}

bool partition_table::abandoned() const {
  std::lock_guard lock(mu_);
  return abandoned_;
}

bool partition_table::finish_job(std::uint32_t p) {
  std::lock_guard lock(mu_);
  busy_.erase(p);
  --jobs_;
  cv_.notify_all();
  return flush_waiters_ > 0;
}

// ---------------------------------------------------------------- caller

bool partition_table::wait_idle_until(steady::time_point deadline) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, deadline, [&] { return jobs_ == 0; });
}

std::map<std::uint32_t, partition_table::lease> partition_table::take_all(bool abandon) {
  std::map<std::uint32_t, lease> held;
  std::lock_guard lock(mu_);
  abandoned_ = abandon;
  held.swap(leases_);
  update_owned_locked();
  return held;
}

bool partition_table::wait_flushed(std::chrono::milliseconds timeout,
                                   const std::function<void()>& kick) {
  std::unique_lock lock(mu_);
  if (stopping_.load())
    return false;
  const auto after = rounds_started_;
  ++flush_waiters_;
  lock.unlock();
  kick();
  lock.lock();
  const bool ok = cv_.wait_for(
      lock, timeout, [&] { return stopping_.load() || (last_empty_round_ > after && jobs_ == 0); });
  --flush_waiters_;
  return ok && !stopping_.load();
}

}  // namespace txoutbox::detail
