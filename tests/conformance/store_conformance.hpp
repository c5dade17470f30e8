// store_conformance: one suite of store SPI behaviours, run unchanged against every backend.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "txoutbox/message.hpp"
#include "txoutbox/message_id.hpp"
#include "txoutbox/store.hpp"

// How a backend suite uses it: implement `harness`, then expand the cases in its own
// test .cpp at namespace scope:
//
//   std::unique_ptr<txoutbox::conformance::harness> make_pg_harness();
//   TXOUTBOX_STORE_CONFORMANCE_TESTS("pg", make_pg_harness)
//
// which registers TEST_CASEs named "pg store: <behaviour>" tagged [pg][store][conformance].
// The TEST_CASEs are expanded in the backend's .cpp, not compiled into the static library,
// so the linker keeps them. Each case calls the factory once: every case (and every rerun
// of it) gets a fresh, isolated database. Durations stay under a second (leases of 300 ms,
// delays of 600 ms) because database backends really sleep in advance().

namespace txoutbox::conformance {

/// One backend under test: a fresh database plus its writer and a way to let time pass.
/// Used from the test thread only, except that the stores it returns must be thread-safe
/// (the concurrency cases call them from several threads).
struct harness {
  virtual ~harness() = default;

  /// Creates a fresh, empty, isolated database (own schema, database or file) migrated
  /// with `partitions` partitions and returns a store on it. Called once, first.
  virtual std::shared_ptr<store> make_store(std::uint32_t partitions) = 0;
  /// A second store on the database of make_store(), with its own connections: another
  /// relay process. The memory backend may return the same object.
  virtual std::shared_ptr<store> make_peer_store() = 0;

  /// Writes `msg` with the backend's writer in a transaction that commits.
  virtual message_id enqueue_committed(const message& msg) = 0;
  /// Writes all of `msgs` with the writer's batch call in ONE transaction that commits
  /// (sequence order within a transaction is the order given).
  virtual std::vector<message_id> enqueue_committed_batch(std::span<const message> msgs) = 0;
  /// Writes `msg` with the writer in a transaction that then rolls back.
  virtual void enqueue_rolled_back(const message& msg) = 0;
  /// Commits two transactions out of sequence order: A writes `a` first and so takes the
  /// lower seq, B writes `b` and commits, `between()` runs (A still open), then A commits.
  /// A backend that cannot hold two write transactions open (SQLite, memory) may write
  /// both in order and call `between()` after; the suite's checks still hold.
  virtual std::pair<message_id, message_id> enqueue_out_of_order(
      const message& a, const message& b, const std::function<void()>& between) = 0;

  /// Lets `d` pass on the database clock: memory moves its manual clock, databases sleep.
  virtual void advance(std::chrono::milliseconds d) = 0;
  /// The last_error column of the outbox row `id`: empty when none was recorded (NULL),
  /// nullopt when the row is not in the outbox. Inspection only (the SPI hides it).
  virtual std::optional<std::string> last_error(const message_id& id) = 0;

  /// Short backend name for messages ("memory", "pg", "sqlite", ...).
  virtual std::string name() const = 0;
};

using harness_factory = std::function<std::unique_ptr<harness>()>;

// One function per case; each takes a fresh harness. The macro below registers them.
void commit_and_rollback_are_atomic(harness& h);
void out_of_order_commits_are_never_skipped(harness& h);
void claim_returns_owned_partitions_in_seq_order_up_to_the_limit(harness& h);
void claim_honours_head_of_line_with_a_retry(harness& h);
void claim_honours_head_of_line_with_deliver_after(harness& h);
void batch_enqueue_keeps_transaction_order(harness& h);
void claim_returns_a_run_of_one_hot_key_up_to_the_limit(harness& h);
void a_run_stops_before_a_row_that_is_not_available(harness& h);
void a_hot_key_interleaves_with_other_keys_in_seq_order(harness& h);
void a_long_queue_behind_a_blocked_head_hides_no_later_key(harness& h);
void acquire_is_exclusive_and_bumps_the_epoch(harness& h);
void concurrent_acquires_grant_a_partition_once(harness& h);
void an_expired_lease_is_taken_over(harness& h);
void an_expired_lease_not_taken_over_renews(harness& h);
void begin_batch_fails_on_an_expired_lease(harness& h);
void renew_all_renews_held_leases_and_refuses_stale_ones(harness& h);
void a_stale_epoch_writes_nothing(harness& h);
void begin_batch_persists_the_marker_and_settle_resets_starts(harness& h);
void retry_counts_attempts_and_records_the_last_error(harness& h);
void settle_applies_mixed_outcomes(harness& h);
void dead_letter_releases_the_key_and_requeue_appends(harness& h);
void dead_letters_list_oldest_first_and_purge(harness& h);
void stats_report_the_outbox(harness& h);
void membership_follows_heartbeats_expiry_and_leave(harness& h);
void headers_and_payload_round_trip(harness& h);
// The claim-wide budgets (store_cases_budget.cpp).
void claim_keeps_within_the_byte_budget(harness& h);
void one_oversized_row_is_returned_alone(harness& h);
void budget_cuts_leave_a_seq_prefix_per_partition(harness& h);
void the_total_rows_cap_spans_partitions(harness& h);
void rows_cut_this_round_are_claimed_next_round(harness& h);

}  // namespace txoutbox::conformance

#define TXOUTBOX_STORE_CASE_(TAG, FACTORY, NAME, FN)                                 \
  TEST_CASE(TAG " store: " NAME, "[" TAG "][store][conformance]") {                  \
    std::unique_ptr<::txoutbox::conformance::harness> txoutbox_harness_ = FACTORY(); \
    INFO("store backend: " << txoutbox_harness_->name());                            \
    ::txoutbox::conformance::FN(*txoutbox_harness_);                                 \
  }

/// Registers every store conformance case as a Catch2 TEST_CASE named "TAG store: ...".
/// TAG is a string literal ("memory", "pg"); FACTORY is callable with no arguments and
/// returns std::unique_ptr<harness>. Expand once per backend, at namespace scope.
#define TXOUTBOX_STORE_CONFORMANCE_TESTS(TAG, FACTORY)                                           \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "a rolled-back enqueue is never claimable",                 \
                       commit_and_rollback_are_atomic)                                           \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "out-of-order commits are never skipped",                   \
                       out_of_order_commits_are_never_skipped)                                   \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY,                                                             \
                       "claim returns owned partitions in seq order up to the limit",            \
                       claim_returns_owned_partitions_in_seq_order_up_to_the_limit)              \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "claim honours the per-key head-of-line rule on retry",     \
                       claim_honours_head_of_line_with_a_retry)                                  \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY,                                                             \
                       "claim honours the per-key head-of-line rule on deliver_after",           \
                       claim_honours_head_of_line_with_deliver_after)                            \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "a batch enqueue keeps transaction order",                  \
                       batch_enqueue_keeps_transaction_order)                                    \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "claim returns a run of one hot key up to the limit",       \
                       claim_returns_a_run_of_one_hot_key_up_to_the_limit)                       \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "a key's run stops before its first row not available",     \
                       a_run_stops_before_a_row_that_is_not_available)                           \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "a hot key interleaves with other keys in seq order",       \
                       a_hot_key_interleaves_with_other_keys_in_seq_order)                       \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "a long queue behind a blocked head hides no later key",    \
                       a_long_queue_behind_a_blocked_head_hides_no_later_key)                    \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "acquire is exclusive and bumps the epoch",                 \
                       acquire_is_exclusive_and_bumps_the_epoch)                                 \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "concurrent acquires grant a partition to one owner",       \
                       concurrent_acquires_grant_a_partition_once)                               \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "an expired lease is taken over by another owner",          \
                       an_expired_lease_is_taken_over)                                           \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "an expired lease not taken over is renewed",               \
                       an_expired_lease_not_taken_over_renews)                                   \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "begin_batch fails on an expired lease",                    \
                       begin_batch_fails_on_an_expired_lease)                                    \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "renew_all renews held leases and refuses stale ones",      \
                       renew_all_renews_held_leases_and_refuses_stale_ones)                      \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "writes fenced by a stale epoch change nothing",            \
                       a_stale_epoch_writes_nothing)                                             \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "begin_batch persists the marker and settle resets starts", \
                       begin_batch_persists_the_marker_and_settle_resets_starts)                 \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "retry counts attempts and records the last error",         \
                       retry_counts_attempts_and_records_the_last_error)                         \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "settle applies mixed outcomes in one call",                \
                       settle_applies_mixed_outcomes)                                            \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY,                                                             \
                       "dead-lettering releases the key and requeue appends behind newer rows",  \
                       dead_letter_releases_the_key_and_requeue_appends)                         \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "dead letters list oldest first and purge",                 \
                       dead_letters_list_oldest_first_and_purge)                                 \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "stats report backlog oldest age dead letters and owners",  \
                       stats_report_the_outbox)                                                  \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "membership follows heartbeats expiry and leave",           \
                       membership_follows_heartbeats_expiry_and_leave)                           \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "headers and payload survive the round trip",               \
                       headers_and_payload_round_trip)                                           \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "a claim keeps within its byte budget",                     \
                       claim_keeps_within_the_byte_budget)                                       \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "one row over the byte budget is still claimed alone",      \
                       one_oversized_row_is_returned_alone)                                      \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "budget cuts leave each partition a seq prefix",            \
                       budget_cuts_leave_a_seq_prefix_per_partition)                             \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "the total rows cap spans partitions in the order given",   \
                       the_total_rows_cap_spans_partitions)                                      \
  TXOUTBOX_STORE_CASE_(TAG, FACTORY, "rows cut from one claim are claimed by the next",          \
                       rows_cut_this_round_are_claimed_next_round)
