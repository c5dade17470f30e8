// The store, writer and inbox conformance suites on SOCI-MariaDB: a fresh database per case.
#include "server_harness.hpp"

namespace {

std::unique_ptr<txoutbox::conformance::harness> make_mysql_harness() {
  return std::make_unique<txoutbox::testing::soci_server::server_harness>(
      txoutbox::testing::soci_server::kind::mysql);
}

namespace ss = txoutbox::testing::soci_server;

std::unique_ptr<txoutbox::conformance::writer_harness> make_mysql_writer_harness() {
  REQUIRE_FALSE(ss::server_url(ss::kind::mysql).empty());
  return txoutbox::testing::soci_conformance::make_writer_harness(
      ss::dialect_of(ss::kind::mysql), "soci-mariadb", ss::database_factory_for(ss::kind::mysql));
}

std::unique_ptr<txoutbox::conformance::inbox_harness> make_mysql_inbox_harness() {
  REQUIRE_FALSE(ss::server_url(ss::kind::mysql).empty());
  return txoutbox::testing::soci_conformance::make_inbox_harness(
      ss::dialect_of(ss::kind::mysql), "soci-mariadb", ss::database_factory_for(ss::kind::mysql));
}

}  // namespace

TXOUTBOX_STORE_CONFORMANCE_TESTS("mysql", make_mysql_harness)
TXOUTBOX_WRITER_CONFORMANCE_TESTS("mysql", make_mysql_writer_harness)
TXOUTBOX_WRITER_SESSION_CHECK_TESTS("mysql", make_mysql_writer_harness)
TXOUTBOX_INBOX_CONFORMANCE_TESTS("mysql", make_mysql_inbox_harness)
