// The relay's fixed timing values, named, each with the reason for its value.
#pragma once

#include <chrono>

namespace txoutbox::detail::timing {

using std::chrono::milliseconds;

// ------------------------------------------------------------------ option limits
/// Smallest lease_ttl accepted: below it a renewal cannot plausibly finish before expiry.
inline constexpr milliseconds min_lease_ttl{10};
/// Smallest renew period (lease_ttl / renew_divisor) accepted: the lease timer's granularity.
inline constexpr milliseconds min_renew_period{1};

// ------------------------------------------------------------------ leases
/// A lease is used locally until requested_at + lease_ttl - renew_period / lease_margin_divisor
/// (renew_period = lease_ttl / renew_divisor): half a renew period of slack, so no batch is
/// begun on a lease that may have expired in the database by the time its statement runs.
inline constexpr int lease_margin_divisor = 2;

// ------------------------------------------------------------------ store failures
/// First delay after a failed claim (or a failed job's partition pause) when poll_interval
/// is shorter: a retry loop never spins faster than this.
inline constexpr milliseconds store_backoff_floor{10};
/// Longest pause after repeated store failures: a lost database is not hammered, yet the
/// relay resumes within seconds once it is back.
inline constexpr milliseconds store_backoff_cap{5000};
/// settle() attempts before the batch is given up (its rows are claimed again later). A
/// settle lost to a transient error means duplicates, so it is worth a few quick retries.
inline constexpr int settle_attempts = 3;
/// Pause before settle attempt n+1 is n times this: short, the worker holds its partition.
inline constexpr milliseconds settle_retry_step{10};

// ------------------------------------------------------------------ wake-ups
/// One wait_for_wakeup() call blocks at most this long, so the listener notices stop()
/// within it (and stop() can join it).
inline constexpr milliseconds wakeup_wait{250};
/// Pause after a failed wait_for_wakeup(): a broken listening connection is not retried
/// in a busy loop; polling still claims meanwhile.
inline constexpr milliseconds wakeup_retry_pause{250};

// ------------------------------------------------------------------ stop
/// stop() waits for in-flight batches during 1 / stop_drain_divisor of its budget before it
/// calls publisher::shutdown(): half the budget for a normal finish.
inline constexpr int stop_drain_divisor = 2;
/// publisher::shutdown() gets 1 / shutdown_share_divisor of what is left of the budget, so
/// the batches it unblocks still have time to settle.
inline constexpr int shutdown_share_divisor = 2;
/// At least this long to join threads after the io_contexts stop, even past the budget:
/// a thread between two handlers ends within microseconds.
inline constexpr milliseconds join_grace{100};
/// The same with a listener thread, which may be inside one wakeup_wait: longer than it.
inline constexpr milliseconds listener_join_grace{400};
static_assert(listener_join_grace > wakeup_wait, "the listener must be joinable after stop");
/// stop() waits at least this long for a heartbeat in flight before it leaves the
/// membership, so the heartbeat cannot register the owner again afterwards.
inline constexpr milliseconds heartbeat_grace{500};
/// The budget of the stop() the destructor makes (documented in relay.hpp: 10 s).
inline constexpr milliseconds destructor_stop_budget{10'000};

}  // namespace txoutbox::detail::timing
