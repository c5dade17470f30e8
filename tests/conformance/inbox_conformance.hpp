// inbox_conformance: one suite of inbox (first_time) behaviours, run against every backend.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

// How a backend suite uses it: implement `inbox_harness`, then expand the cases in its own
// test .cpp at namespace scope:
//
//   std::unique_ptr<txoutbox::conformance::inbox_harness> make_pg_inbox_harness();
//   TXOUTBOX_INBOX_CONFORMANCE_TESTS("pg", make_pg_inbox_harness)
//
// which registers TEST_CASEs named "pg inbox: <behaviour>" tagged [pg][inbox][conformance].
// Each case calls the factory once and make_database() first: a fresh, isolated database.

namespace txoutbox::conformance {

/// One transaction of the backend's own kind on one connection, recording with the
/// harness's inbox. Destroyed while open, it rolls back. Used by one thread at a time.
struct inbox_tx {
  virtual ~inbox_tx() = default;
  virtual bool first_time(std::string_view consumer, std::string_view message_id) = 0;
  /// purge_older_than(age, limit), or with the inbox's default limit when nullopt.
  virtual std::size_t purge_older_than(std::chrono::seconds age,
                                       std::optional<std::size_t> limit) = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
};

/// A connection of its own (another thread's), sharing the harness's inbox.
struct inbox_session {
  virtual ~inbox_session() = default;
  virtual std::unique_ptr<inbox_tx> begin() = 0;
};

/// One backend's inbox on a fresh database. Used from the test thread only, except that
/// the sessions it opens may go to another thread (one each).
struct inbox_harness {
  virtual ~inbox_harness() = default;

  /// Creates a fresh, empty, isolated migrated database. Called once, first.
  virtual void make_database() = 0;
  /// A transaction on the harness's own connection; one at a time, and none while
  /// age_entries() runs.
  virtual std::unique_ptr<inbox_tx> begin() = 0;
  /// A new connection, for another thread.
  virtual std::unique_ptr<inbox_session> open_session() = 0;
  /// True once `s` waits on a lock another transaction holds, as seen from a third
  /// connection. SQLite cannot show a waiter: it gives the waiter 200 ms and says true.
  virtual bool waits_on_a_lock(inbox_session& s) = 0;
  /// Moves processed_at of the entries with these message ids (all when empty) `by` into
  /// the past, committed.
  virtual void age_entries(const std::vector<std::string>& message_ids, std::chrono::hours by) = 0;
  /// Committed rows in outbox_inbox.
  virtual long long count_entries() = 0;
  /// Message ids in outbox_inbox, committed, sorted.
  virtual std::vector<std::string> message_ids() = 0;
  /// Constructs an inbox with options.schema = `schema` (throws what the constructor throws).
  virtual void make_inbox_with_schema(const std::string& schema) = 0;

  /// Short backend name for messages ("pg", "sqlite", ...).
  virtual std::string name() const = 0;
};

using inbox_harness_factory = std::function<std::unique_ptr<inbox_harness>()>;

// One function per case; each takes a fresh harness. The macro below registers them.
void first_time_is_true_once_per_consumer_and_message_id(inbox_harness& h);
void keys_are_byte_exact(inbox_harness& h);
void bad_consumer_or_message_id_is_refused_before_any_sql(inbox_harness& h);
void an_id_whose_transaction_rolled_back_is_forgotten(inbox_harness& h);
void a_concurrent_duplicate_waits_and_loses_when_the_first_commits(inbox_harness& h);
void a_concurrent_duplicate_waits_and_wins_when_the_first_rolls_back(inbox_harness& h);
void purge_deletes_only_old_entries_at_most_limit_at_a_time(inbox_harness& h);
void purge_works_through_a_backlog_in_bounded_steps(inbox_harness& h);

}  // namespace txoutbox::conformance

#define TXOUTBOX_INBOX_CASE_(TAG, FACTORY, NAME, FN)                                       \
  TEST_CASE(TAG " inbox: " NAME, "[" TAG "][inbox][conformance]") {                        \
    std::unique_ptr<::txoutbox::conformance::inbox_harness> txoutbox_harness_ = FACTORY(); \
    INFO("inbox backend: " << txoutbox_harness_->name());                                  \
    ::txoutbox::conformance::FN(*txoutbox_harness_);                                       \
  }

/// Registers every inbox conformance case as a Catch2 TEST_CASE named "TAG inbox: ...".
/// TAG is a string literal; FACTORY is callable with no arguments and returns
/// std::unique_ptr<inbox_harness>. Expand once per backend, at namespace scope.
#define TXOUTBOX_INBOX_CONFORMANCE_TESTS(TAG, FACTORY)                                           \
  TXOUTBOX_INBOX_CASE_(TAG, FACTORY, "first_time is true once per consumer and message id",      \
                       first_time_is_true_once_per_consumer_and_message_id)                      \
  TXOUTBOX_INBOX_CASE_(TAG, FACTORY,                                                             \
                       "keys are byte-exact: case or a trailing blank is no "                    \
                       "duplicate",                                                              \
                       keys_are_byte_exact)                                                      \
  TXOUTBOX_INBOX_CASE_(TAG, FACTORY,                                                             \
                       "an empty or malformed consumer or message id is refused before any SQL", \
                       bad_consumer_or_message_id_is_refused_before_any_sql)                     \
  TXOUTBOX_INBOX_CASE_(TAG, FACTORY, "an id whose transaction rolled back is forgotten",         \
                       an_id_whose_transaction_rolled_back_is_forgotten)                         \
  TXOUTBOX_INBOX_CASE_(TAG, FACTORY,                                                             \
                       "a concurrent duplicate waits for the first and loses when it commits",   \
                       a_concurrent_duplicate_waits_and_loses_when_the_first_commits)            \
  TXOUTBOX_INBOX_CASE_(TAG, FACTORY,                                                             \
                       "a concurrent duplicate waits for the first and wins when it rolls back", \
                       a_concurrent_duplicate_waits_and_wins_when_the_first_rolls_back)          \
  TXOUTBOX_INBOX_CASE_(TAG, FACTORY,                                                             \
                       "purge deletes only entries older than the age, at most limit at a time", \
                       purge_deletes_only_old_entries_at_most_limit_at_a_time)                   \
  TXOUTBOX_INBOX_CASE_(TAG, FACTORY, "purge works through a backlog in bounded steps",           \
                       purge_works_through_a_backlog_in_bounded_steps)
