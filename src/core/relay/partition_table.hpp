// The state the relay's parts share: leases held, the target, busy and paused partitions.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "txoutbox/clock.hpp"
#include "txoutbox/store.hpp"

namespace txoutbox::detail {

/// Which partitions this relay holds and works on, and the job accounting flush() and
/// stop() wait on. Thread-safe: every member takes the table's one mutex for a few map
/// operations and never calls out (no store, publisher or hook call) while holding it,
/// so no part waits on the table behind another part's I/O. Its condition variable wakes
/// flush() and stop() waiters when a job ends, a round finds nothing, or the relay stops.
///
/// The invariants the parts rely on: a partition is claimed only while its lease (same
/// epoch) is held, in the target and idle (not busy, not paused), and a claim result is
/// used only if that still holds after the store call; a busy partition is not released
/// by a rebalance; once close() has run no lease is added.
class partition_table {
 public:
  using steady = std::chrono::steady_clock;

  /// One held lease, as this relay believes it.
  struct lease {
    std::uint64_t epoch = 0;
    clock::time_point deadline{};  ///< local: do not start a batch past it
  };
  using lease_ref = std::pair<std::uint32_t, std::uint64_t>;  ///< partition, epoch

  // ------------------------------------------------------------ lifecycle (any thread)
  /// Lock-free: the relay is stopping, every loop winds down.
  bool stopping() const noexcept { return stopping_.load(); }
  /// Starts stopping and wakes every waiter. From then on no lease is added.
  void close();
  /// Sleeps up to `d`, less when the relay starts stopping.
  void wait_closed_for(std::chrono::milliseconds d);
  /// Lock-free: how many leases are held (stats().owned_partitions).
  std::uint32_t owned() const noexcept { return owned_.load(); }

  // ------------------------------------------------------------ lease keeper
  std::vector<lease_ref> held() const;
  enum class renewal { gone, renewed, lost };
  /// Records a renew() result for a lease still held with `epoch` (else `gone`: dropped
  /// or released meanwhile). A refused renewal drops the lease (`lost`).
  renewal renewed(std::uint32_t p, std::uint64_t epoch, bool ok, clock::time_point deadline);

  /// What a rebalance does next: release the first (already removed from the table, so
  /// they stop being claimed now), acquire the second.
  struct moves {
    std::vector<lease_ref> release;
    std::vector<std::uint32_t> acquire;
  };
  /// Adopts `target` when given (else keeps the previous one) and removes the leases
  /// outside it that are idle.
  moves retarget(const std::optional<std::set<std::uint32_t>>& target);
  /// In the target and not held: worth an acquire.
  bool wanted(std::uint32_t p) const;
  /// Records an acquired lease; false (nothing recorded) once stopping: release it.
  bool add(std::uint32_t p, lease l);
  /// Wakes flush() waiters that wait for ownership.
  void notify_flush_waiters();

  // ------------------------------------------------------------ claimer
  /// One claim round's view: the idle partitions to claim, and whether they cover the
  /// whole target (a round that finds nothing then lets flush() return).
  struct round {
    std::uint64_t number = 0;
    /// Starting after the partition the last cut claim stopped at, so the partitions a
    /// budget left out go first this time (a rotation, not ascending order).
    std::vector<std::uint32_t> idle;
    bool full_coverage = true;
    /// Rows this round may claim: `max_waiting` less the rows claimed and not yet started.
    /// 0 with idle partitions: the round claims nothing and is not an empty round; the
    /// next job to start asks for a round (start_job).
    std::size_t room = 0;
  };
  /// Starts a round; nullopt while claiming is paused after a store failure. At most
  /// `max_waiting` claimed rows may wait for a worker at any time.
  std::optional<round> begin_round(const clock& c, std::size_t max_waiting);
  void claim_succeeded();
  /// Pauses claiming for store_error_backoff(poll, consecutive failures).
  void claim_failed(std::chrono::milliseconds poll);
  /// Marks busy, and counts as jobs, the claimed partitions still held with the claimed
  /// epoch and idle; returns them to run, their rows counted as waiting. Ends the round
  /// (see round::full_coverage). A claim cut by its budgets (claimed_partition::cut)
  /// moves the rotation past the cut partition and makes the next start_job() ask for a
  /// round.
  std::vector<std::shared_ptr<claimed_partition>> accept(std::vector<claimed_partition> claimed,
                                                         const round& r);

  // ------------------------------------------------------------ batch runner
  /// A worker took a job of `rows` rows: they stop counting as waiting. True (once) when
  /// the last round left claimable work behind (cut, or no room): claim again now.
  bool start_job(std::size_t rows);
  /// The lease is still held with `epoch` and before its local deadline.
  bool usable(std::uint32_t p, std::uint64_t epoch, const clock& c) const;
  void drop(std::uint32_t p, std::uint64_t epoch);
  /// Keeps the partition from being claimed for store_error_backoff(poll, its failures).
  void pause(std::uint32_t p, std::chrono::milliseconds poll);
  void unpause(std::uint32_t p);
  /// Keeps the partition from being claimed until `until` (relay clock): everything it
  /// offered waits for an unavailable destination's next probe. Nothing is written.
  void park(std::uint32_t p, clock::time_point until);
  /// A destination came back: every parked partition may be claimed at once.
  void unpark_all();
  /// This relay began `m` on `p` and could not settle it (the store kept failing): the
  /// marker left on the lease row is not a crash.
  void note_unsettled(std::uint32_t p, const batch_marker& m);
  /// True, once, when `stored` is exactly the marker note_unsettled() recorded for `p`.
  bool take_unsettled(std::uint32_t p, const batch_marker& stored);
  /// stop() gave up waiting: late results are not settled.
  bool abandoned() const;
  /// Marks the partition idle again; true when flush() waiters want a claim at once.
  bool finish_job(std::uint32_t p);

  // ------------------------------------------------------------ caller (stop, flush)
  /// Waits until no job is queued or running; false at the deadline.
  bool wait_idle_until(steady::time_point deadline);
  /// Removes and returns every lease; `abandon` marks late results as not to be settled.
  std::map<std::uint32_t, lease> take_all(bool abandon);
  /// flush(): calls `kick` (request a claim round), then waits until a round that began
  /// after this call found nothing and no job runs. False on timeout or when stopping.
  bool wait_flushed(std::chrono::milliseconds timeout, const std::function<void()>& kick);

 private:
  /// Per-partition pause after a store failure inside a job.
  struct pause_state {
    steady::time_point until{};
    int failures = 0;
  };

  void update_owned_locked() { owned_.store(static_cast<std::uint32_t>(leases_.size())); }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint32_t, lease> leases_;
  std::set<std::uint32_t> target_;
  bool rebalanced_ = false;       ///< target_ computed at least once
  std::set<std::uint32_t> busy_;  ///< partitions with a job queued or running
  std::map<std::uint32_t, pause_state> paused_;
  std::map<std::uint32_t, clock::time_point> parked_;  ///< until, on the relay clock
  std::map<std::uint32_t, batch_marker> unsettled_;    ///< markers of failed settles
  std::size_t jobs_ = 0;
  std::size_t waiting_rows_ = 0;                 ///< rows of jobs queued, not yet started
  bool work_left_ = false;                       ///< the last round was cut or had no room
  std::optional<std::uint32_t> rotation_after_;  ///< where the last cut claim stopped
  std::uint64_t rounds_started_ = 0;
  std::uint64_t last_empty_round_ = 0;
  std::size_t flush_waiters_ = 0;
  steady::time_point claim_paused_until_{};
  int claim_failures_ = 0;
  bool abandoned_ = false;
  std::atomic<bool> stopping_{false};  ///< written under mu_, read anywhere
  std::atomic<std::uint32_t> owned_{0};
};

}  // namespace txoutbox::detail
