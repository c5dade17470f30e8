// The SOCI relay store: the store SPI over SOCI sessions (SQLite, MariaDB, PostgreSQL).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "txoutbox/store.hpp"

namespace txoutbox::soci {

struct store_options {
  /// `sqlite:PATH`: a database file, relative paths from the working directory. The file
  /// must have been migrated (txoutbox::soci::migrate). ":memory:" is refused (every pooled
  /// session would see its own empty database).
  /// `mysql://user:password@host:port/database[?unix_socket=...&...]`: MariaDB; the
  /// database is also the default schema. `postgresql://user:password@host:port/db[?...]`:
  /// PostgreSQL (schema default "txoutbox", the libpqxx backend's tables and channel).
  /// Query parameters pass through to the SOCI backend / libpq; user and password are
  /// percent-decoded.
  std::string url{};
  /// Validated identifier; empty = the backend's default (see writer_options::schema).
  std::string schema{};
  /// Sessions the store opens at most; each SPI call checks one out for one short
  /// statement or transaction.
  /// A relay makes up to its threads + 3 calls at once; connections open only when needed.
  std::size_t pool_size = 8;
  /// How long a statement waits for another connection's write lock before failing with
  /// a transient error (SQLite busy timeout).
  std::chrono::milliseconds busy_timeout{5000};
  /// Retention of published rows. Only 0 (delete on acknowledgement) is supported.
  std::chrono::seconds keep_published{0};
};

/// Opens a store on a migrated database. Connects once to check: throws
/// error(errc::connection_failed, transient) when the database cannot be opened,
/// error(errc::not_migrated) when the tables are missing, and usage_error on bad options.
///
/// SQLite specifics: the store's sessions use WAL journal mode, the busy timeout above and
/// synchronous=NORMAL (a power loss may forget the last acknowledgements, which only
/// re-publishes: at-least-once holds). Its write transactions start with BEGIN IMMEDIATE,
/// so they queue on the busy timeout instead of failing on a lock upgrade. Times are
/// INTEGER unix milliseconds computed by SQLite itself, so every comparison is on the
/// database clock. No wake-ups (supports_wakeup() is false): relays poll.
///
/// Rows written by other programs (SQLite, MariaDB: the id column is text): a claimed row
/// whose id is not a UUID is dead-lettered by the claim, fenced by the lease, with the
/// reason "id is not a UUID: '<text>'", and the rest is returned; a UUID in upper case is
/// settled by the text it was read with (see docs/schema.md).
///
/// Thread-safe. Failures are mapped to txoutbox::error / transient_error (SQLITE_BUSY and
/// SQLITE_LOCKED are transient); messages carry the SQLite error name, never SOCI's text,
/// which contains bound values. A failed session is dropped and reopened on the next call.
std::shared_ptr<txoutbox::store> make_store(store_options options);

/// What a store URL means to SOCI: the backend name ("sqlite3", "mysql", "postgresql")
/// and its connect string (which holds the password, if any: never log it).
struct connection_target {
  std::string backend;
  std::string connect;
};

/// Parses a store URL as make_store() does, so an application (or a test) can open its
/// own ::soci::session on the store's database: `::soci::session s(t.backend, t.connect)`.
/// usage_error naming "url" when malformed or not supported by this build.
connection_target parse_url(const std::string& url);

}  // namespace txoutbox::soci
