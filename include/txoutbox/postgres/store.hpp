// The PostgreSQL relay store: the store SPI over libpqxx, with LISTEN/NOTIFY wake-ups.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "txoutbox/store.hpp"

namespace txoutbox::postgres {

struct store_options {
  /// libpqxx connection string, passed as given: a postgresql:// URI or key=value pairs.
  /// The store appends connect_timeout, keepalives, application_name and the statement
  /// timeout as conninfo parameters. Never printed with its password.
  std::string url;
  std::string schema = "txoutbox";  ///< validated identifier, quoted in every statement
  std::chrono::milliseconds connect_timeout{5000};     ///< per connection attempt (>= 1 s)
  std::chrono::milliseconds statement_timeout{30000};  ///< server-side, per statement
  bool keepalives = true;  ///< TCP keepalives, so a vanished server is noticed
  bool listen = true;      ///< LISTEN on the schema's channel for wake-ups
  /// Connections the store opens at most for SPI calls (the LISTEN connection is extra).
  /// Each call checks one out for one short transaction.
  /// A relay makes up to its threads + 3 calls at once; connections open only when needed.
  std::size_t pool_size = 8;
  /// application_name of every connection (shows in pg_stat_activity); ignored when the
  /// URL sets one itself.
  std::string application_name = "txoutbox";
  /// Retention of published rows. Only 0 (delete on acknowledgement) is supported by this
  /// release; any other value is rejected with usage_error rather than silently ignored.
  std::chrono::seconds keep_published{0};
};

/// Opens a store on a migrated schema. Connects once to check: throws
/// error(errc::connection_failed, transient) when the database is unreachable,
/// error(errc::not_migrated) when the schema or its tables are missing, and usage_error
/// on bad options (schema name, pool_size 0, keep_published). The store is thread-safe;
/// wait_for_wakeup() must be called from one thread only. Failures of SPI calls are
/// mapped to txoutbox::error / transient_error; the failed connection is dropped and a
/// new one opened on the next call.
std::shared_ptr<txoutbox::store> make_store(store_options options);

}  // namespace txoutbox::postgres
