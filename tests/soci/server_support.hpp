// Shared helpers for the SOCI server tests (MariaDB, PostgreSQL): a fresh migrated database
// or schema per test on the fixture's server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <soci/soci.h>

#include "order_message.hpp"
#include "txoutbox/message.hpp"

namespace txoutbox::testing::soci_server {

enum class kind { mysql, postgresql };

/// The fixture's URL for `k` (TXOUTBOX_TEST_MYSQL_URL / TXOUTBOX_TEST_PG_URL or the URL
/// file). When there is none: FAILs under CI, else WARNs and returns "".
std::string server_url(kind k);

/// A session on `url` with the backend this build links (not loaded by name).
std::unique_ptr<::soci::session> connect(const std::string& url);

/// A uniquely named database (MariaDB) or schema (PostgreSQL), migrated with `partitions`
/// unless `migrate` is false, dropped on destruction. Not thread-safe.
struct server_db {
  server_db(kind k, std::uint32_t partitions = 4, bool migrate = true);
  ~server_db();
  server_db(const server_db&) = delete;
  server_db& operator=(const server_db&) = delete;

  kind k;
  std::string server;  ///< the fixture URL
  std::string name;    ///< the database / schema
  std::string url;     ///< store URL (MariaDB: the database in the path)
  std::string schema;  ///< store_options::schema ("" on MariaDB: the URL's database)

  /// A new session (MariaDB: current database = name) with no transaction open.
  std::unique_ptr<::soci::session> open() const;
  /// `name` quoted, then ".table".
  std::string table(std::string_view t) const;
  /// Committed rows in `table`.
  long long count(std::string_view t) const;
};

/// A valid message for `key` (order_message.hpp).
using testing::make_message;

}  // namespace txoutbox::testing::soci_server

/// Returns from the current test when the server is not configured (FAILs under CI).
#define TXOUTBOX_REQUIRE_SERVER(K)                               \
  do {                                                           \
    if (::txoutbox::testing::soci_server::server_url(K).empty()) \
      return;                                                    \
  } while (false)
