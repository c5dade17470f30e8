// relay: publishes committed outbox rows through a publisher, on its own threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "txoutbox/clock.hpp"
#include "txoutbox/publisher.hpp"
#include "txoutbox/store.hpp"

namespace txoutbox {

enum class log_level { debug, info, warn, error };

/// Called for each log event, from any relay thread (several at once): be thread-safe
/// and quick. The text never contains payloads or connection secrets.
using log_hook = std::function<void(log_level, std::string_view)>;

/// Reported after every settled batch, from the worker thread that published it.
struct batch_report {
  std::uint32_t partition = 0;
  std::size_t claimed = 0;
  std::size_t published = 0;
  std::size_t retried = 0;
  std::size_t dead_lettered = 0;
  std::size_t held = 0;  ///< not sent or left as they were: their destination is unavailable
  std::chrono::microseconds publish_latency{0};  ///< time inside publisher::publish()
  bool fenced = false;                           ///< the lease was lost: nothing was settled
};
using metrics_hook = std::function<void(const batch_report&)>;

struct relay_options {
  std::size_t threads = 2;       ///< worker threads publishing batches
  std::size_t batch_size = 100;  ///< max rows claimed per partition per batch
  /// Most payload + headers bytes one claim statement returns (claim_limits::max_bytes):
  /// the database client holds a whole result in memory. A single larger row still comes,
  /// alone. Claimed rows waiting for a worker are also capped, at 2 * threads * batch_size
  /// (docs/relay.md, "Memory").
  std::size_t claim_max_bytes = claim_limits::default_max_bytes;
  std::chrono::milliseconds poll_interval{500};    ///< claim at least this often
  std::uint32_t max_attempts = 10;                 ///< failed attempts before dead-lettering
  std::chrono::milliseconds backoff_initial{200};  ///< first retry delay (before jitter)
  /// Cap of the exponential backoff, and of a transport's Retry-After hint.
  std::chrono::milliseconds backoff_max{60'000};
  /// While a destination (a publisher route) is unavailable, one message probes it this
  /// often; its other messages wait without using attempts (docs/relay.md).
  std::chrono::milliseconds probe_interval{500};
  std::chrono::milliseconds lease_ttl{10'000};  ///< lease and heartbeat lifetime
  /// Renew leases and heartbeat every lease_ttl / renew_divisor (>= 2).
  std::uint32_t renew_divisor = 3;
  /// A partition whose head message was in this many unfinished batches is isolated and
  /// the message dead-lettered ("crash loop").
  std::uint32_t max_crash_starts = 3;
  /// Expected partition count; 0 = accept the database's. A mismatch fails start().
  std::uint32_t partitions = 0;
  /// Stable identity of this relay; empty = "<host>:<pid>:<random>".
  std::string owner{};
  log_hook on_log{};                         ///< optional
  metrics_hook on_batch{};                   ///< optional
  std::shared_ptr<txoutbox::clock> clock{};  ///< null = steady clock
};

/// Counters since start(); a consistent-enough snapshot (each field read atomically).
struct relay_stats {
  std::uint64_t claimed = 0;
  std::uint64_t published = 0;
  std::uint64_t retried = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t fenced_batches = 0;  ///< batches whose settle was refused (lease lost)
  std::uint64_t errors = 0;          ///< store or publisher failures logged
  std::uint64_t in_flight = 0;       ///< records inside publish() right now
  /// Records held back (not sent, no attempt used) because their destination was down.
  std::uint64_t held = 0;
  std::uint32_t destinations_down = 0;  ///< routes unavailable right now
  /// How long the longest-down route has been unavailable; 0 when every route is up.
  std::chrono::milliseconds unavailable_for{0};
  std::uint32_t owned_partitions = 0;
  std::uint64_t batches = 0;
  std::chrono::microseconds publish_latency_total{0};
  std::chrono::microseconds publish_latency_max{0};
};

/// Claims batches per owned partition, publishes them, settles the outcomes.
///
/// Runs on its own threads: one control thread (lease renewal, heartbeat, rebalance),
/// one claimer thread (polling and claim rounds) and one acquirer thread (taking
/// partitions over, which may wait on another relay's row lock), so neither a slow claim
/// nor a stuck acquire delays a lease renewal; `threads` workers (one batch per partition
/// at a time), plus one listener thread when the store supports wake-ups. A store should
/// allow `threads` + 3 concurrent calls (its connection pool) for none of them to wait on
/// another. Several relays, in
/// one process or many, share the partitions through leases; one key's messages are
/// first published in write order.
/// Never throws from its threads: failures go to on_log and stats().errors and are
/// retried. Thread-safe: every member function may be called from any thread.
class relay {
 public:
  /// Throws usage_error on inconsistent options (zero threads, batch_size 0, ...).
  relay(std::shared_ptr<store> store, std::shared_ptr<publisher> publisher,
        relay_options options = {});
  /// Stops with a 10 s budget if still running. Never throws.
  ~relay();

  relay(const relay&) = delete;
  relay& operator=(const relay&) = delete;

  /// Takes the owner's lock (store::lock_owner: throws error(owner_in_use) while another
  /// live relay runs with the same owner name; held until stop()), reads the partition
  /// count (throws error(config_mismatch) when it disagrees with options.partitions, or the
  /// store's error when the database is unreachable), then starts the threads. Calling
  /// start() twice is a usage_error.
  void start();

  /// Stops claiming, waits for in-flight batches up to `timeout` (calling
  /// publisher::shutdown with what is left when they do not finish), settles what was
  /// published, releases leases and leaves. Returns within about `timeout` even if a
  /// publish hangs (such a thread is abandoned and its late results are fenced).
  /// Returns true when everything in flight finished. Idempotent.
  [[nodiscard]] bool stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  /// Waits until a claim round that began after this call found nothing to publish in
  /// any owned partition and no batch is in flight. False on timeout or when stopped.
  [[nodiscard]] bool flush(std::chrono::milliseconds timeout);

  /// Wakes the claimer thread to claim now (as a NOTIFY would).
  void poke() noexcept;

  relay_stats stats() const noexcept;
  const std::string& owner() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace txoutbox
