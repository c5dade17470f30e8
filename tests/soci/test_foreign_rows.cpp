// SOCI-SQLite: rows inserted by plain SQL with an upper-case UUID or an id that is no UUID.
#include <catch2/catch.hpp>

#include "foreign_rows.hpp"
#include "sqlite_support.hpp"
#include "txoutbox/soci/store.hpp"

namespace {

struct raw_sqlite {
  txoutbox::testing::sqlite::temp_db db{1};
  std::unique_ptr<soci::session> session = db.open();
  txoutbox::testing::foreign::raw_outbox raw{
      .exec = [this](const std::string& sql) { *session << sql; }, .outbox = "outbox"};
};

}  // namespace

TEST_CASE("soci sqlite relay publishes an upper-case id once and dead-letters a non-UUID id alone",
          "[soci][store][foreign]") {
  raw_sqlite db;
  txoutbox::testing::foreign::relay_publishes_upper_case_ids_and_sets_aside_non_uuid_ids(
      txoutbox::soci::make_store({.url = db.db.url()}), db.raw);
}

TEST_CASE("soci sqlite dead letters of foreign ids list, requeue and purge",
          "[soci][store][foreign]") {
  raw_sqlite db;
  auto store = txoutbox::soci::make_store({.url = db.db.url()});
  txoutbox::testing::foreign::foreign_dead_letters_list_requeue_and_purge(*store, db.raw);
}
