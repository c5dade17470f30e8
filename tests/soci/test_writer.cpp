// SOCI-SQLite writer, SQLite only: the schema option names an attached database.
// The behaviours every backend shares are in tests/conformance/writer_conformance.cpp.
#include <catch2/catch.hpp>

#include "sqlite_support.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/soci/writer.hpp"

using txoutbox::testing::sqlite::make_message;
using txoutbox::testing::sqlite::temp_db;

TEST_CASE("soci writer schema option names an attached database", "[soci][writer]") {
  temp_db db;
  REQUIRE_THROWS_AS(txoutbox::soci::writer(txoutbox::soci::writer_options{.schema = "bad name"}),
                    txoutbox::usage_error);
  auto s = db.open();
  const txoutbox::soci::writer w(txoutbox::soci::writer_options{.schema = "main"});
  txoutbox::soci::write_transaction tx(*s);
  w.enqueue(*s, make_message("k"));
  tx.commit();
  REQUIRE(db.count("outbox") == 1);
}
