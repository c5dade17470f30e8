// PostgreSQL inbox, libpqxx only: first_time takes a real transaction, checked at compile time.
// The behaviours every backend shares are in tests/conformance/inbox_conformance.cpp.
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "txoutbox/postgres/inbox.hpp"

namespace {

template <class Tx>
concept can_record = requires(const txoutbox::postgres::inbox& in, Tx& tx) {
  in.first_time(tx, "consumer", "0190a7e2-0000-7000-8000-000000000000");
};

}  // namespace

TEST_CASE("the inbox records only inside a real transaction: a nontransaction does not compile",
          "[postgres][inbox]") {
  STATIC_REQUIRE(can_record<pqxx::work>);
  STATIC_REQUIRE(can_record<pqxx::subtransaction>);
  STATIC_REQUIRE_FALSE(can_record<pqxx::nontransaction>);
}
