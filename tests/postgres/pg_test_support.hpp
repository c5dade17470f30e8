// Shared helpers for PostgreSQL tests: the server URL, a fresh migrated schema per test.
#pragma once

#include <cstdint>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

#include "order_message.hpp"
#include "txoutbox/message.hpp"
#include "txoutbox/postgres/writer.hpp"

namespace txoutbox::testing::pg {

/// The PostgreSQL server for tests (TXOUTBOX_TEST_PG_URL or the CTest fixture's URL file).
/// When there is none: FAILs the running test under CI (CI=true); otherwise WARNs and
/// returns "" so the test can return early (see TXOUTBOX_REQUIRE_PG).
std::string server_url();

/// A new connection to the test server. The caller owns it.
std::unique_ptr<pqxx::connection> connect();

/// A uniquely named schema migrated with `partitions`, dropped (CASCADE) on destruction.
/// Not thread-safe: `conn` belongs to the test thread; give other threads connect().
struct schema_fixture {
  explicit schema_fixture(std::uint32_t partitions = 4, std::string_view prefix = "txo");
  ~schema_fixture();
  schema_fixture(const schema_fixture&) = delete;
  schema_fixture& operator=(const schema_fixture&) = delete;

  std::string url;
  std::string schema;  ///< lower-case, unquoted-safe; quoted() for SQL
  std::uint32_t partitions;
  std::unique_ptr<pqxx::connection> conn;  ///< no transaction open between helper calls

  /// "\"schema\"" — for SQL text.
  std::string quoted() const;
  /// "\"schema\".name" — a table of this schema, for SQL text.
  std::string table(std::string_view name) const;
  /// Writer options for this schema.
  postgres::writer_options writer_options(bool notify = true) const;

  /// Runs `sql` outside a transaction block on `conn` and returns the result.
  pqxx::result exec(const std::string& sql);
  /// Rows in the outbox table (committed, as seen by `conn`).
  long long count_outbox();
  /// Rows in any table of the schema.
  long long count(std::string_view table_name);
};

/// A valid message for `key` (order_message.hpp).
using testing::make_message;

}  // namespace txoutbox::testing::pg

/// Returns from the current test (after a WARN) when no PostgreSQL server is configured;
/// under CI server_url() has already FAILed.
#define TXOUTBOX_REQUIRE_PG()                          \
  do {                                                 \
    if (::txoutbox::testing::pg::server_url().empty()) \
      return;                                          \
  } while (false)
