// SOCI-MariaDB: rows inserted by plain SQL with an upper-case UUID or an id that is no UUID.
#include <catch2/catch.hpp>

#include "foreign_rows.hpp"
#include "server_support.hpp"
#include "txoutbox/soci/store.hpp"

using txoutbox::testing::soci_server::kind;
using txoutbox::testing::soci_server::server_db;

namespace {

/// One partition, so every plain-SQL row lands in partition 0 whatever its key hashes to.
struct raw_mysql {
  server_db db{kind::mysql, 1};
  std::unique_ptr<soci::session> session = db.open();
  txoutbox::testing::foreign::raw_outbox raw{
      .exec = [this](const std::string& sql) { *session << sql; }, .outbox = db.table("outbox")};
};

}  // namespace

TEST_CASE("soci mariadb relay publishes an upper-case id once and dead-letters a non-UUID id alone",
          "[mysql][store][foreign]") {
  TXOUTBOX_REQUIRE_SERVER(kind::mysql);
  raw_mysql db;
  txoutbox::testing::foreign::relay_publishes_upper_case_ids_and_sets_aside_non_uuid_ids(
      txoutbox::soci::make_store({.url = db.db.url}), db.raw);
}

TEST_CASE("soci mariadb dead letters of foreign ids list, requeue and purge",
          "[mysql][store][foreign]") {
  TXOUTBOX_REQUIRE_SERVER(kind::mysql);
  raw_mysql db;
  auto store = txoutbox::soci::make_store({.url = db.db.url});
  txoutbox::testing::foreign::foreign_dead_letters_list_requeue_and_purge(*store, db.raw);
}
