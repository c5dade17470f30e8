// The store, writer and inbox conformance suites on SOCI-PostgreSQL: a fresh schema per case.
#include "server_harness.hpp"

namespace {

std::unique_ptr<txoutbox::conformance::harness> make_postgresql_harness() {
  return std::make_unique<txoutbox::testing::soci_server::server_harness>(
      txoutbox::testing::soci_server::kind::postgresql);
}

namespace ss = txoutbox::testing::soci_server;

std::unique_ptr<txoutbox::conformance::writer_harness> make_postgresql_writer_harness() {
  REQUIRE_FALSE(ss::server_url(ss::kind::postgresql).empty());
  return txoutbox::testing::soci_conformance::make_writer_harness(
      ss::dialect_of(ss::kind::postgresql), "soci-postgresql",
      ss::database_factory_for(ss::kind::postgresql));
}

std::unique_ptr<txoutbox::conformance::inbox_harness> make_postgresql_inbox_harness() {
  REQUIRE_FALSE(ss::server_url(ss::kind::postgresql).empty());
  return txoutbox::testing::soci_conformance::make_inbox_harness(
      ss::dialect_of(ss::kind::postgresql), "soci-postgresql",
      ss::database_factory_for(ss::kind::postgresql));
}

}  // namespace

TXOUTBOX_STORE_CONFORMANCE_TESTS("soci-pg", make_postgresql_harness)
TXOUTBOX_WRITER_CONFORMANCE_TESTS("soci-pg", make_postgresql_writer_harness)
TXOUTBOX_WRITER_SESSION_CHECK_TESTS("soci-pg", make_postgresql_writer_harness)
TXOUTBOX_INBOX_CONFORMANCE_TESTS("soci-pg", make_postgresql_inbox_harness)
