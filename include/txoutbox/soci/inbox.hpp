// The SOCI inbox: exactly-once effects for consumers, inside their own transaction.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace soci {
class session;
}

namespace txoutbox::soci {

struct inbox_options {
  /// Validated identifier; empty = the backend's default (see writer_options::schema).
  std::string schema{};
};

/// Records which message ids each consumer has processed, in the outbox_inbox table.
///
/// Use it in the transaction that applies the effect: if first_time() returns false the
/// message was already applied (or is being applied by a concurrent transaction that then
/// committed) and the effect must be skipped. Never opens, commits or rolls back a
/// transaction. Immutable after construction: thread-safe.
class inbox {
 public:
  /// Validates the schema name (usage_error).
  explicit inbox(inbox_options options = {});

  /// Inserts (consumer, message_id) and says whether the pair was new (SQLite:
  /// INSERT OR IGNORE and the changed-row count; PostgreSQL: ON CONFLICT DO NOTHING;
  /// MariaDB: a plain INSERT whose duplicate-key error 1062 means "not new" and leaves the
  /// transaction usable; keys there are byte-exact and at most 255 characters). A concurrent
  /// transaction holding the same pair makes this call wait (SQLite: on the session's busy timeout,
  /// for the database write lock) until that one ends: false if it committed, true if it rolled
  /// back. Throws usage_error when either string is empty or not clean UTF-8; database
  /// errors propagate unchanged as ::soci::soci_error.
  [[nodiscard]] bool first_time(::soci::session& session, std::string_view consumer,
                                std::string_view message_id) const;

  /// Deletes at most `limit` entries processed more than `age` ago (database clock) and
  /// returns how many it deleted. Call repeatedly (one short transaction each) until it
  /// returns less than `limit` to purge a large backlog.
  std::size_t purge_older_than(::soci::session& session, std::chrono::seconds age,
                               std::size_t limit = 10000) const;

  const inbox_options& options() const noexcept { return options_; }

 private:
  inbox_options options_;
};

}  // namespace txoutbox::soci
