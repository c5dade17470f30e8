// The PostgreSQL writer: enqueues messages on the caller's libpqxx transaction.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "txoutbox/message.hpp"
#include "txoutbox/message_id.hpp"
#include "txoutbox/validation.hpp"

namespace pqxx {
class dbtransaction;
}

namespace txoutbox::postgres {

struct writer_options {
  std::string schema = "txoutbox";  ///< validated identifier, quoted in the SQL
  /// NOTIFY the relay's channel in the same statement as the INSERT. PostgreSQL folds
  /// identical notifications of one transaction into one, so a transaction sends one
  /// wake-up whatever it enqueues. NOTIFY takes a cluster-wide lock at commit: turn it off
  /// for write-heavy services whose relays poll often enough (it cost about 30% of
  /// throughput at 4 concurrent writers in our measurements).
  bool notify = true;
  validation_options validation{};  ///< payload and field size caps
};

/// Writes messages into <schema>.outbox inside a transaction the caller owns.
///
/// enqueue() runs on the given transaction and nothing else: it never opens, commits or
/// aborts a transaction and holds no connection. Every message is validated before any SQL
/// is sent; bad input throws usage_error naming the field and leaves the transaction
/// untouched and usable. Database errors propagate unchanged as pqxx exceptions (the
/// transaction is then aborted, as with any failed statement). Ids are generated on the
/// client (UUIDv7) and no RETURNING is used, so a role with INSERT privilege only can
/// enqueue. Immutable after construction: one writer may serve every thread (each with
/// its own transaction).
class writer {
 public:
  /// Validates the schema name (usage_error) and builds the SQL text once.
  explicit writer(writer_options options = {});

  /// Enqueues one message in one statement; returns its id (the given one, or a new
  /// UUIDv7 when the message's id is nil). `tx` is a real transaction (pqxx::work,
  /// robusttransaction, subtransaction): a pqxx::nontransaction would commit the event
  /// on its own, apart from the change it announces, so it does not compile.
  message_id enqueue(pqxx::dbtransaction& tx, const message& msg) const;

  /// Enqueues a batch in one statement (one round trip, any size: the rows travel as
  /// array parameters). Ids are returned in input order; sequence order follows input
  /// order. An empty batch sends nothing. A usage_error names the offending message as
  /// "messages[i].<field>".
  std::vector<message_id> enqueue(pqxx::dbtransaction& tx, std::span<const message> messages) const;

  const writer_options& options() const noexcept { return options_; }

 private:
  writer_options options_;
  std::string channel_;     ///< NOTIFY channel of the schema
  std::string single_sql_;  ///< one row, scalar parameters
  std::string batch_sql_;   ///< many rows, array parameters
};

}  // namespace txoutbox::postgres
