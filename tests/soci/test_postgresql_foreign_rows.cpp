// PostgreSQL: a row inserted by plain SQL with an upper-case UUID, through the SOCI store and
// the libpqxx store. The uuid column normalises it and refuses text that is no UUID.
#include <catch2/catch.hpp>

#include "foreign_rows.hpp"
#include "server_support.hpp"
#include "txoutbox/postgres/store.hpp"
#include "txoutbox/soci/store.hpp"

using txoutbox::testing::soci_server::kind;
using txoutbox::testing::soci_server::server_db;

namespace {

struct raw_pg {
  server_db db{kind::postgresql, 1};
  std::unique_ptr<soci::session> session = db.open();
  txoutbox::testing::foreign::raw_outbox raw{
      .exec = [this](const std::string& sql) { *session << sql; },
      .outbox = db.table("outbox"),
      .typed_ids = true};
};

}  // namespace

TEST_CASE("soci postgresql relay publishes an upper-case id once", "[soci-pg][store][foreign]") {
  TXOUTBOX_REQUIRE_SERVER(kind::postgresql);
  raw_pg db;
  txoutbox::testing::foreign::relay_publishes_upper_case_ids_and_sets_aside_non_uuid_ids(
      txoutbox::soci::make_store({.url = db.db.url, .schema = db.db.schema}), db.raw);
}

TEST_CASE("libpqxx relay publishes an upper-case id once", "[soci-pg][store][foreign]") {
  TXOUTBOX_REQUIRE_SERVER(kind::postgresql);
  raw_pg db;
  txoutbox::testing::foreign::relay_publishes_upper_case_ids_and_sets_aside_non_uuid_ids(
      txoutbox::postgres::make_store({.url = db.db.url, .schema = db.db.schema, .listen = false}),
      db.raw);
}

TEST_CASE("soci postgresql dead letters of an upper-case id requeue and purge by id",
          "[soci-pg][store][foreign]") {
  TXOUTBOX_REQUIRE_SERVER(kind::postgresql);
  raw_pg db;
  auto store = txoutbox::soci::make_store({.url = db.db.url, .schema = db.db.schema});
  txoutbox::testing::foreign::foreign_dead_letters_list_requeue_and_purge(*store, db.raw);
}

TEST_CASE("libpqxx dead letters of an upper-case id requeue and purge by id",
          "[soci-pg][store][foreign]") {
  TXOUTBOX_REQUIRE_SERVER(kind::postgresql);
  raw_pg db;
  auto store =
      txoutbox::postgres::make_store({.url = db.db.url, .schema = db.db.schema, .listen = false});
  txoutbox::testing::foreign::foreign_dead_letters_list_requeue_and_purge(*store, db.raw);
}
