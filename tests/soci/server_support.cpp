// Shared helpers for the SOCI server tests.
#include "server_support.hpp"

#include <catch2/catch.hpp>

#include <soci/mysql/soci-mysql.h>
#include <soci/postgresql/soci-postgresql.h>

#include "txoutbox/soci/migrate.hpp"
#include "txoutbox/soci/store.hpp"
#include "txoutbox/testing/servers.hpp"

namespace txoutbox::testing::soci_server {

std::string server_url(kind k) {
  const auto found = k == kind::mysql
                         ? txoutbox::testing::server_url("mysql", "TXOUTBOX_TEST_MYSQL_URL")
                         : txoutbox::testing::server_url("pg", "TXOUTBOX_TEST_PG_URL");
  if (found && !found->empty())
    return *found;
  const char* what = k == kind::mysql ? "MariaDB" : "PostgreSQL";
  if (running_under_ci())
    FAIL(what << " test server missing under CI");
  WARN(what << " test server not configured: test skipped");
  return {};
}

std::unique_ptr<::soci::session> connect(const std::string& url) {
  const auto target = txoutbox::soci::parse_url(url);
  if (target.backend == "mysql")
    return std::make_unique<::soci::session>(::soci::mysql, target.connect);
  return std::make_unique<::soci::session>(::soci::postgresql, target.connect);
}

server_db::server_db(kind kind_, std::uint32_t partitions, bool migrate)
    : k(kind_), server(server_url(kind_)), name(unique_name("soci")) {
  REQUIRE_FALSE(server.empty());
  if (k == kind::mysql) {
    const auto slash = server.find('/', server.find("//") + 2);
    const auto query = server.find('?');
    url = server.substr(0, slash) + "/" + name +
          (query == std::string::npos ? std::string() : server.substr(query));
    auto admin = connect(server);
    *admin << "CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4";
  } else {
    url = server;
    schema = name;
  }
  if (migrate) {
    auto s = open();
    txoutbox::soci::migrate(
        *s, txoutbox::soci::migrate_options{.schema = schema, .partitions = partitions});
  }
}

server_db::~server_db() {
  try {
    auto admin = connect(server);
    if (k == kind::mysql)
      *admin << "DROP DATABASE IF EXISTS `" + name + "`";
    else {
      *admin << "SET client_min_messages = warning";  // no "drop cascades to" chatter
      *admin << "DROP SCHEMA IF EXISTS \"" + name + "\" CASCADE";
    }
  } catch (...) {
    // Left behind for inspection; names are unique.
  }
}

std::unique_ptr<::soci::session> server_db::open() const {
  return connect(url);
}

std::string server_db::table(std::string_view t) const {
  const auto q = k == kind::mysql ? "`" : "\"";
  return q + name + q + "." + std::string(t);
}

long long server_db::count(std::string_view t) const {
  auto s = open();
  long long n = 0;
  *s << "SELECT count(*) FROM " + table(t), ::soci::into(n);
  return n;
}

}  // namespace txoutbox::testing::soci_server
