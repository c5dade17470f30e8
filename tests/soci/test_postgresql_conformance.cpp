// The store conformance suite on SOCI-PostgreSQL: a fresh schema per case.
#include "server_harness.hpp"

namespace {

std::unique_ptr<txoutbox::conformance::harness> make_postgresql_harness() {
  return std::make_unique<txoutbox::testing::soci_server::server_harness>(
      txoutbox::testing::soci_server::kind::postgresql);
}

}  // namespace

TXOUTBOX_STORE_CONFORMANCE_TESTS("soci-pg", make_postgresql_harness)
