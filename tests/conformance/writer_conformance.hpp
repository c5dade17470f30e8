// writer_conformance: one suite of writer behaviours, run unchanged against every backend.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "txoutbox/message.hpp"
#include "txoutbox/message_id.hpp"
#include "txoutbox/store.hpp"

// How a backend suite uses it: implement `writer_harness`, then expand the cases in its own
// test .cpp at namespace scope:
//
//   std::unique_ptr<txoutbox::conformance::writer_harness> make_pg_writer_harness();
//   TXOUTBOX_WRITER_CONFORMANCE_TESTS("pg", make_pg_writer_harness)
//
// which registers TEST_CASEs named "pg writer: <behaviour>" tagged [pg][writer][conformance].
// A driver that checks for an open transaction at run time (SOCI; libpqxx refuses at compile
// time) also expands TXOUTBOX_WRITER_SESSION_CHECK_TESTS. Each case calls the factory once
// and make_database() first: every case gets a fresh, isolated database.

namespace txoutbox::conformance {

/// One transaction of the backend's own kind (pqxx::work, soci::write_transaction) on one
/// connection, enqueueing with the harness's writer. Destroyed while open, it rolls back.
/// Used by one thread at a time.
struct write_tx {
  virtual ~write_tx() = default;
  virtual message_id enqueue(const message& msg) = 0;
  virtual std::vector<message_id> enqueue(std::span<const message> msgs) = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
};

/// A connection of its own (another thread's), sharing the harness's writer.
struct write_session {
  virtual ~write_session() = default;
  virtual std::unique_ptr<write_tx> begin() = 0;
};

/// One outbox row as the database stores it, read back with plain SQL.
struct stored_row {
  std::string id;
  std::string aggregate_type;
  std::string aggregate_id;
  std::string type;
  std::string payload;  ///< as the database returns it (PostgreSQL: jsonb text)
  std::string headers;  ///< the JSON object text, as the database returns it
  std::uint32_t partition = 0;
  std::int64_t seq = 0;
  std::int64_t delay_ms = 0;  ///< available_at - created_at
  bool available = false;     ///< available_at <= now, on the database clock
  std::int64_t attempts = 0;
  bool last_error_null = false;
};

/// One backend's writer on a fresh database. Used from the test thread only, except that
/// the sessions it opens go to other threads (one each).
struct writer_harness {
  virtual ~writer_harness() = default;

  /// Creates a fresh, empty, isolated database migrated with `partitions`. Called once, first.
  virtual void make_database(std::uint32_t partitions) = 0;
  /// A transaction on the harness's own connection. Only one is open at a time, and none
  /// while rows() or the other inspection calls run.
  virtual std::unique_ptr<write_tx> begin() = 0;
  /// A new connection, for another thread.
  virtual std::unique_ptr<write_session> open_session() = 0;
  /// A store on the database (a relay's view of what was written).
  virtual std::shared_ptr<store> make_store() = 0;

  /// The committed outbox rows in seq order.
  virtual std::vector<stored_row> rows() = 0;
  /// Whether stored JSON text equals what was written: byte for byte where the column keeps
  /// the bytes (SQLite, MariaDB), as the same jsonb value on PostgreSQL.
  virtual bool same_json(const std::string& stored, const std::string& written) = 0;
  /// Plain SQL, no writer: INSERTs only the five Debezium columns (no id when nullopt),
  /// aggregatetype 'order', type 'Created', committed.
  virtual void insert_plain(const std::optional<std::string>& id, const std::string& aggregate_id,
                            const std::string& payload) = 0;
  /// The partition count a plain INSERT is routed under: the database computes the
  /// partition (PostgreSQL, MariaDB), or it lands in partition 0 and needs a count of 1
  /// (SQLite, whose writer computes it).
  virtual std::uint32_t plain_insert_partitions() const = 0;
  /// Drops the outbox table, so that the next enqueue fails in the database.
  virtual void drop_outbox() = 0;
  /// True when `e` is the database's own error for a missing table, passed through
  /// unchanged (pqxx::undefined_table, ::soci::soci_error), not one of txoutbox's.
  virtual bool is_missing_table_error(std::exception_ptr e) = 0;

  /// SOCI only: enqueue on the harness's connection with no transaction open.
  virtual message_id enqueue_without_transaction(const message& msg);
  virtual std::vector<message_id> enqueue_without_transaction(std::span<const message> msgs);

  /// Short backend name for messages ("pg", "sqlite", ...).
  virtual std::string name() const = 0;
};

using writer_harness_factory = std::function<std::unique_ptr<writer_harness>()>;

// One function per case; each takes a fresh harness. The macros below register them.
void a_committed_enqueue_is_kept_and_a_rolled_back_one_is_not(writer_harness& h);
void a_caller_supplied_id_is_kept_and_a_nil_id_is_generated(writer_harness& h);
void bad_input_is_refused_naming_the_field_before_any_sql(writer_harness& h);
void a_control_character_in_a_routing_field_is_refused_before_any_sql(writer_harness& h);
void a_database_error_propagates_unchanged(writer_harness& h);
void a_batch_of_1000_is_written_in_input_order(writer_harness& h);
void a_batch_of_12000_is_written_whole(writer_harness& h);
void a_batch_keeps_order_and_ids_and_routes_every_key(writer_harness& h);
void odd_payloads_routing_fields_and_headers_round_trip(writer_harness& h);
void payload_bytes_headers_and_delay_are_kept(writer_harness& h);
void deliver_after_sets_available_at_on_the_database_clock(writer_harness& h);
void partition_no_equals_partition_of_for_every_key(writer_harness& h);
void a_plain_insert_of_the_debezium_columns_is_a_complete_enqueue(writer_harness& h);
void one_writer_serves_several_threads(writer_harness& h);
void a_session_with_no_open_transaction_is_refused(writer_harness& h);

}  // namespace txoutbox::conformance

#define TXOUTBOX_WRITER_CASE_(TAG, FACTORY, NAME, FN)                                       \
  TEST_CASE(TAG " writer: " NAME, "[" TAG "][writer][conformance]") {                       \
    std::unique_ptr<::txoutbox::conformance::writer_harness> txoutbox_harness_ = FACTORY(); \
    INFO("writer backend: " << txoutbox_harness_->name());                                  \
    ::txoutbox::conformance::FN(*txoutbox_harness_);                                        \
  }

/// Registers every writer conformance case as a Catch2 TEST_CASE named "TAG writer: ...".
/// TAG is a string literal ("pg", "sqlite"); FACTORY is callable with no arguments and
/// returns std::unique_ptr<writer_harness>. Expand once per backend, at namespace scope.
#define TXOUTBOX_WRITER_CONFORMANCE_TESTS(TAG, FACTORY)                                           \
  TXOUTBOX_WRITER_CASE_(TAG, FACTORY,                                                             \
                        "a committed enqueue is in the outbox and a rolled back "                 \
                        "one is not",                                                             \
                        a_committed_enqueue_is_kept_and_a_rolled_back_one_is_not)                 \
  TXOUTBOX_WRITER_CASE_(TAG, FACTORY, "a caller-supplied id is kept and a nil id is generated",   \
                        a_caller_supplied_id_is_kept_and_a_nil_id_is_generated)                   \
  TXOUTBOX_WRITER_CASE_(TAG, FACTORY,                                                             \
                        "bad input throws a usage_error naming the field before any SQL is sent", \
                        bad_input_is_refused_naming_the_field_before_any_sql)                     \
  TXOUTBOX_WRITER_CASE_(TAG, FACTORY,                                                             \
                        "a routing field with a control character is refused before any SQL",     \
                        a_control_character_in_a_routing_field_is_refused_before_any_sql)         \
  TXOUTBOX_WRITER_CASE_(TAG, FACTORY, "a database error propagates unchanged",                    \
                        a_database_error_propagates_unchanged)                                    \
  TXOUTBOX_WRITER_CASE_(TAG, FACTORY, "a batch of 1,000 is written in one call in input order",   \
                        a_batch_of_1000_is_written_in_input_order)                                \
  TXOUTBOX_WRITER_CASE_(TAG, FACTORY,                                                             \
                        "a batch larger than one multi-row statement could carry is written "     \
                        "whole",                                                                  \
                        a_batch_of_12000_is_written_whole)                                        \
  TXOUTBOX_WRITER_CASE_(TAG, FACTORY, "a batch keeps order and ids and routes every key",         \
                        a_batch_keeps_order_and_ids_and_routes_every_key)                         \
  TXOUTBOX_WRITER_CASE_(TAG, FACTORY, "odd payloads, routing fields and headers round trip",      \
                        odd_payloads_routing_fields_and_headers_round_trip)                       \
  TXOUTBOX_WRITER_CASE_(TAG, FACTORY, "payload bytes, headers and the delay are kept",            \
                        payload_bytes_headers_and_delay_are_kept)                                 \
  TXOUTBOX_WRITER_CASE_(TAG, FACTORY,                                                             \
                        "deliver_after sets available_at later on the database "                  \
                        "clock",                                                                  \
                        deliver_after_sets_available_at_on_the_database_clock)                    \
  TXOUTBOX_WRITER_CASE_(TAG, FACTORY, "partition_no equals partition_of for every key",           \
                        partition_no_equals_partition_of_for_every_key)                           \
  TXOUTBOX_WRITER_CASE_(TAG, FACTORY,                                                             \
                        "a plain SQL INSERT of the five Debezium columns is a complete enqueue",  \
                        a_plain_insert_of_the_debezium_columns_is_a_complete_enqueue)             \
  TXOUTBOX_WRITER_CASE_(TAG, FACTORY,                                                             \
                        "one writer serves several threads, each with its own "                   \
                        "transaction",                                                            \
                        one_writer_serves_several_threads)

/// Registers the run-time transaction check, for drivers whose writer makes it (SOCI).
#define TXOUTBOX_WRITER_SESSION_CHECK_TESTS(TAG, FACTORY)                              \
  TXOUTBOX_WRITER_CASE_(TAG, FACTORY, "a session with no open transaction is refused", \
                        a_session_with_no_open_transaction_is_refused)
