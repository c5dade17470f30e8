// The SOCI writer: enqueues messages on the caller's ::soci::session transaction.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "txoutbox/message.hpp"
#include "txoutbox/message_id.hpp"
#include "txoutbox/validation.hpp"

namespace soci {
class session;
}

namespace txoutbox::soci {

struct writer_options {
  /// Where the outbox tables live, a validated identifier, quoted in the SQL. Empty means
  /// the backend's default: SQLite "main" (an attached database's name selects that one),
  /// PostgreSQL schema "txoutbox", MariaDB the session's current database.
  std::string schema{};
  validation_options validation{};  ///< payload and field size caps
  /// PostgreSQL only: after the INSERT, `pg_notify('txoutbox_<schema>', '')` in the same
  /// transaction (one more round trip per enqueue call; PostgreSQL sends one notification
  /// per channel at commit), so LISTENing relays (the libpqxx store) wake at once instead of
  /// at their next poll. Costs throughput under concurrent writers (the commit-time NOTIFY
  /// lock is cluster-wide); turn it off when the relays' poll interval is latency enough.
  /// Ignored by SQLite and MariaDB (their relays poll).
  bool notify = true;
};

/// Writes messages into the outbox inside a transaction the caller owns, over SOCI.
///
/// enqueue() runs on the given session and nothing else: it never opens, commits or rolls
/// back a transaction and holds no connection. It refuses a session with no open
/// transaction (usage_error(errc::no_transaction), checked on the native handle: SOCI
/// cannot tell), so an enqueue can never commit on its own. Every message is validated
/// before any SQL is sent; bad input throws usage_error naming the field and leaves the
/// session untouched. Database errors propagate unchanged as ::soci::soci_error (their
/// what() contains the bound values, i.e. the payload: do not log it whole).
///
/// The transaction check asks the native handle: sqlite3_get_autocommit, MariaDB's server
/// status (SERVER_STATUS_IN_TRANS), PostgreSQL's PQtransactionStatus. MariaDB and
/// PostgreSQL compute the partition in a generated column; SQLite computes nothing itself: the
/// INSERT carries the 32-bit partition hash of the aggregate id and the partition is taken modulo
/// the count stored in the config table by a sub-select of the same statement, so the writer caches
/// nothing and opens nothing. On SQLite write transactions should start with BEGIN IMMEDIATE (see
/// txoutbox::soci::write_transaction) so that concurrent writers wait on the busy timeout
/// instead of failing with "database is locked".
///
/// Immutable after construction: one writer may serve every thread (each with its own
/// session).
class writer {
 public:
  /// Validates the schema name (usage_error).
  explicit writer(writer_options options = {});

  /// Enqueues one message in one statement; returns its id (the given one, or a new
  /// UUIDv7 when the message's id is nil).
  message_id enqueue(::soci::session& session, const message& msg) const;

  /// Enqueues a batch with multi-row INSERTs (one statement per 1,000 rows, far below
  /// SQLite's 32,766 and the servers' 65,535-parameter limits; on MariaDB also per 4 MiB
  /// of values, below max_allowed_packet). Ids are returned in input order; sequence order
  /// follows input order. An empty batch sends nothing. A usage_error names the offending
  /// message as "messages[i].<field>".
  std::vector<message_id> enqueue(::soci::session& session,
                                  std::span<const message> messages) const;

  const writer_options& options() const noexcept { return options_; }

 private:
  writer_options options_;
};

}  // namespace txoutbox::soci
