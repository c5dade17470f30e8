// The store conformance suite on SOCI-MariaDB: a fresh database per case.
#include "server_harness.hpp"

namespace {

std::unique_ptr<txoutbox::conformance::harness> make_mysql_harness() {
  return std::make_unique<txoutbox::testing::soci_server::server_harness>(
      txoutbox::testing::soci_server::kind::mysql);
}

}  // namespace

TXOUTBOX_STORE_CONFORMANCE_TESTS("mysql", make_mysql_harness)
