// Rows written by other programs with plain SQL: an upper-case UUID id and ids that are not
// UUIDs, checked the same way on every SOCI dialect (and the libpqxx store on PostgreSQL).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "txoutbox/store.hpp"

namespace txoutbox::testing::foreign {

/// A migrated outbox with one partition, reached by plain SQL.
struct raw_outbox {
  /// Runs one statement outside any transaction (it commits at once).
  std::function<void(const std::string& sql)> exec;
  /// The outbox table, qualified as the SQL needs it.
  std::string outbox;
  /// True when the id column is a uuid type (PostgreSQL): text that is not a UUID cannot be
  /// stored, so only the upper-case row is written.
  bool typed_ids = false;
};

/// Inserts, by plain SQL, a canonical row, an upper-case UUID row, two rows whose ids are
/// not UUIDs (one with a tab) and two canonical rows, one of them on a bad row's key, then
/// runs a relay on `store` until the outbox is empty. Proves: every UUID row is published
/// exactly once and deleted (the upper-case one too), each non-UUID row is dead-lettered
/// alone with the reason "id is not a UUID: '<text>'", and the relay reports no error.
void relay_publishes_upper_case_ids_and_sets_aside_non_uuid_ids(
    const std::shared_ptr<txoutbox::store>& store, const raw_outbox& db);

/// Store level: an upper-case row is claimed with its parsed id and dead-lettered under
/// its canonical id, so requeue and purge by message_id find it; a non-UUID row lists with
/// the nil id, stays out of a requeue of everything, and a purge of everything removes it.
void foreign_dead_letters_list_requeue_and_purge(txoutbox::store& store, const raw_outbox& db);

}  // namespace txoutbox::testing::foreign
