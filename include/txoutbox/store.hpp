// store: the relay's view of an outbox database (the SPI every backend implements).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "txoutbox/message_id.hpp"
#include "txoutbox/outbox_record.hpp"

namespace txoutbox {

/// Proof of partition ownership carried by every write the relay makes. A write whose
/// fence no longer matches the lease row (another owner acquired it since: the epoch
/// moved) changes nothing and reports `false`.
struct fence {
  std::string owner{};
  std::uint32_t partition = 0;
  std::uint64_t epoch = 0;
};

/// Crash-loop bookkeeping kept on a partition's lease row, per batch (not per row).
/// The relay computes it; the store persists it verbatim with begin_batch() and resets
/// `starts` to 0 in settle(). See relay.cpp for the state machine.
struct batch_marker {
  std::int64_t head_seq = 0;         ///< first seq of the batch in flight
  std::int64_t last_seq = 0;         ///< last seq of the batch in flight
  std::int32_t starts = 0;           ///< times a batch with this head was begun; 0 = none
  std::int64_t suspect_through = 0;  ///< rows with seq <= this are published one at a time
};

/// How much one store::claim() may return. The claim-wide budgets exist because the
/// client library holds a statement's whole result in memory: without them a claim over
/// many partitions of large rows could hold partitions x rows x row size at once. Both are
/// enforced in the claim statement itself (a running sum over the result in the order
/// the partitions were given, each partition's rows in seq order) and cut whole rows from
/// the end, so each partition's share stays a seq prefix of its uncut share and per-key
/// order holds. The first row is always returned, however large: a huge row never jams
/// the relay. Works with designated initializers: `claim_limits{.rows = 100}`.
struct claim_limits {
  static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t default_max_bytes = std::size_t{64} << 20;  ///< 64 MiB

  std::size_t rows = 100;  ///< per partition (the batch size); 0 claims nothing
  /// Over the whole claim: bytes of payload plus headers, as the database stores their
  /// text (PostgreSQL: jsonb's text form; the memory store: payload plus header names and
  /// values). Rows past the budget are left out, except the claim's first row.
  std::size_t max_bytes = default_max_bytes;
  std::size_t max_rows = unlimited;  ///< over the whole claim; the first row always comes
};

/// The rows claimed from one partition, in seq order.
struct claimed_partition {
  std::uint32_t partition = 0;
  std::uint64_t epoch = 0;  ///< the lease epoch the claim was made under
  batch_marker marker{};    ///< as stored on the lease row at claim time
  std::vector<outbox_record> records{};
  /// Set on the last partition of a claim that claim_limits::max_bytes or max_rows cut
  /// short: claimable rows of this partition after these, or of partitions after it in the
  /// order given, were left out and can be claimed now.
  bool cut = false;
};

/// What to do with one published (or failed) record; applied by settle().
struct outcome {
  enum class action {
    published,    ///< delete the row (or mark it published, per retention setting)
    retry,        ///< attempts+1, last_error=reason, available again at db now()+delay
    dead_letter,  ///< move to the dead-letter table with reason and attempts+1
  };
  message_id id{};
  action what = action::published;
  std::chrono::milliseconds delay{0};  ///< retry only
  std::string reason{};                ///< retry and dead_letter
};

struct lease_info {
  std::uint32_t partition = 0;
  std::string owner{};  ///< empty when free
  std::uint64_t epoch = 0;
  std::chrono::milliseconds expires_in{0};  ///< negative when expired (db clock)
};

struct store_stats {
  std::int64_t backlog = 0;                               ///< rows in the outbox
  std::optional<std::chrono::milliseconds> oldest_age{};  ///< of the oldest row, db clock
  std::int64_t dead_letters = 0;
  std::int64_t live_owners = 0;
  std::uint32_t partitions = 0;
};

struct dead_letter_record {
  outbox_record record{};  ///< seq is the original seq
  std::string reason{};    ///< the last error
  std::chrono::system_clock::time_point failed_at{};
};

/// A relay's hold on its owner name, taken by store::lock_owner() at relay::start() and
/// kept until stop(): a session-level lock (advisory lock, GET_LOCK, a lock file) that the
/// database or the OS drops with the process, so a restart after a crash takes it at once.
/// Destruction releases it. Not thread-safe; the relay owns it.
class owner_lock {
 public:
  virtual ~owner_lock() = default;
};

/// The relay's database operations. Implementations are thread-safe (the relay calls
/// them from several threads at once), own and rebuild their connections, never leak
/// driver types (pqxx::, soci::) and throw only txoutbox::error: transient_error (or
/// error with transient()==true) for failures worth retrying, error otherwise.
///
/// Time: every duration is applied to the DATABASE's clock (now() + d), never to
/// application time points, so relays on hosts with skewed clocks agree on expiry.
class store {
 public:
  virtual ~store() = default;

  /// The partition count the database was migrated with.
  virtual std::uint32_t partition_count() = 0;

  // -- membership ------------------------------------------------------------------
  /// Registers or refreshes `owner` as live until db now() + ttl.
  virtual void heartbeat(const std::string& owner, std::chrono::milliseconds ttl) = 0;
  /// Owners whose heartbeat has not expired, sorted ascending.
  virtual std::vector<std::string> live_owners() = 0;
  /// Removes `owner` from membership (clean stop).
  virtual void leave(const std::string& owner) = 0;

  /// Takes the owner's session-level lock for the life of a relay, so that two live
  /// processes started with the same owner name are told apart from a restart after a
  /// crash (whose lock died with it). Throws error(errc::owner_in_use) when another live
  /// holder has it, or the store's error when the database cannot be reached. The default
  /// takes no lock (the memory store: one process by construction).
  virtual std::unique_ptr<owner_lock> lock_owner(const std::string& owner) {
    (void)owner;
    return std::make_unique<owner_lock>();
  }

  // -- leases ----------------------------------------------------------------------
  /// Takes `partition` if it is free, expired, or already held by `owner`; the epoch is
  /// incremented on every successful acquire. Returns the new epoch, or nullopt when
  /// another owner holds an unexpired lease.
  [[nodiscard]] virtual std::optional<std::uint64_t> acquire(const std::string& owner,
                                                             std::uint32_t partition,
                                                             std::chrono::milliseconds ttl) = 0;
  /// Extends a held lease to db now() + ttl. False when the fence no longer matches
  /// (epoch moved on). A lease that expired but was not taken over is renewed.
  [[nodiscard]] virtual bool renew(const fence& f, std::chrono::milliseconds ttl) = 0;
  /// renew() for every fence of one owner, in one statement where the backend can: the
  /// relay renews all its leases each tick. Returns, per fence in order, renew()'s answer.
  /// The default calls renew() for each; an exception leaves the rest unrenewed.
  [[nodiscard]] virtual std::vector<bool> renew_all(std::span<const fence> fences,
                                                    std::chrono::milliseconds ttl) {
    std::vector<bool> out;
    out.reserve(fences.size());
    for (const auto& f : fences)
      out.push_back(renew(f, ttl));
    return out;
  }
  /// Gives the partition up (owner cleared, expiry now); keeps the batch marker.
  virtual void release(const fence& f) = 0;
  virtual std::vector<lease_info> leases() = 0;

  // -- relay path --------------------------------------------------------------------
  /// In one statement, for each of `partitions` that `owner` holds with an unexpired
  /// lease: up to `limits.rows` rows in seq order, where a row qualifies when it and every row
  /// of the same aggregate id with a lower seq still in the outbox are available
  /// (available_at <= now()). So each key contributes a RUN: its head and the rows
  /// directly behind it, ending before its first row in backoff or delayed, whatever is
  /// available after that; a busy key fills a batch instead of draining one row a claim.
  /// Taking the lowest seqs keeps every key's share a prefix of its queue, so a relay may
  /// publish the rows of one key in the order given. Partitions not held, or with no
  /// claimable row, are omitted. Claiming writes nothing: ownership comes from the lease.
  /// Cost: it must not grow with the rows queued behind a blocked head (see each
  /// backend's claim SQL and docs/benchmarks.md).
  virtual std::vector<claimed_partition> claim(const std::string& owner,
                                               std::span<const std::uint32_t> partitions,
                                               const claim_limits& limits) = 0;
  /// Stores the crash-loop marker for the batch about to be published. Fenced, and false
  /// when the lease has expired (db clock) even if nobody took it over: a batch begun
  /// then could be published past the lease.
  [[nodiscard]] virtual bool begin_batch(const fence& f, const batch_marker& marker) = 0;
  /// Applies the outcomes in one transaction with the lease row locked, and resets the
  /// marker's `starts` to 0. Fenced: on a mismatch nothing is written and it returns false.
  [[nodiscard]] virtual bool settle(const fence& f, std::span<const outcome> outcomes) = 0;

  // -- wake-ups ----------------------------------------------------------------------
  /// True when wait_for_wakeup() can report new rows (PostgreSQL LISTEN).
  virtual bool supports_wakeup() const { return false; }
  /// Blocks up to `max_wait` for a notification that rows were written. Returns true
  /// when one arrived. Called from one dedicated relay thread; must not throw past a
  /// lost connection (reconnect, return false).
  virtual bool wait_for_wakeup(std::chrono::milliseconds max_wait) {
    (void)max_wait;
    return false;
  }

  // -- operations ------------------------------------------------------------------
  virtual store_stats stats() = 0;
  /// Oldest first, at most `limit`. A row a store set aside because its id was not a UUID
  /// (SOCI SQLite/MariaDB: written by another program) lists with the nil id.
  virtual std::vector<dead_letter_record> dead_letters(std::size_t limit) = 0;
  /// Moves the given dead letters (all when `ids` is empty) back to the outbox, appended
  /// with a new seq and attempts reset. Returns how many moved.
  virtual std::size_t requeue_dead_letters(std::span<const message_id> ids) = 0;
  /// Deletes the given dead letters (all when `ids` is empty). Returns how many.
  virtual std::size_t purge_dead_letters(std::span<const message_id> ids) = 0;
};

}  // namespace txoutbox
