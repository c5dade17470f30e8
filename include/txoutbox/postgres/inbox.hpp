// The PostgreSQL inbox: exactly-once effects for consumers, inside their own transaction.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace pqxx {
class dbtransaction;
class transaction_base;
}  // namespace pqxx

namespace txoutbox::postgres {

struct inbox_options {
  std::string schema = "txoutbox";  ///< validated identifier, quoted in the SQL
};

/// Records which message ids each consumer has processed, in <schema>.outbox_inbox.
///
/// Use it in the transaction that applies the effect: if first_time() returns false the
/// message was already applied (or is being applied by a concurrent transaction that then
/// committed) and the effect must be skipped. Never opens, commits or aborts a transaction.
/// Immutable after construction: thread-safe.
class inbox {
 public:
  /// Validates the schema name (usage_error).
  explicit inbox(inbox_options options = {});

  /// Inserts (consumer, message_id) with ON CONFLICT DO NOTHING and says whether the pair
  /// was new. A concurrent transaction holding the same pair makes this call wait until
  /// that one ends: false if it committed, true if it rolled back. Throws usage_error when
  /// either string is empty or not clean UTF-8; database errors propagate unchanged.
  /// `tx` is the transaction that applies the effect (a pqxx::nontransaction would record
  /// the message apart from its effect, so it does not compile).
  [[nodiscard]] bool first_time(pqxx::dbtransaction& tx, std::string_view consumer,
                                std::string_view message_id) const;

  /// Deletes at most `limit` entries processed more than `age` ago (database clock) and
  /// returns how many it deleted. Call repeatedly (one short transaction each) until it
  /// returns less than `limit` to purge a large backlog.
  std::size_t purge_older_than(pqxx::transaction_base& tx, std::chrono::seconds age,
                               std::size_t limit = 10000) const;

  const inbox_options& options() const noexcept { return options_; }

 private:
  inbox_options options_;
  std::string insert_sql_;
  std::string purge_sql_;
};

}  // namespace txoutbox::postgres
