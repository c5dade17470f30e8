// SOCI-SQLite writer: transaction check, validation before SQL, batches, partitions, bytes.
#include <catch2/catch.hpp>

#include <vector>

#include "sqlite_support.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/soci/writer.hpp"

using txoutbox::testing::sqlite::make_message;
using txoutbox::testing::sqlite::temp_db;

TEST_CASE("soci writer refuses a session with no open transaction", "[soci][writer]") {
  temp_db db;
  auto s = db.open();
  const txoutbox::soci::writer w;
  try {
    w.enqueue(*s, make_message("k"));
    FAIL("enqueue outside a transaction was accepted");
  } catch (const txoutbox::usage_error& e) {
    REQUIRE(e.code() == txoutbox::errc::no_transaction);
  }
  const std::vector<txoutbox::message> batch{make_message("k", 1), make_message("k", 2)};
  REQUIRE_THROWS_AS(w.enqueue(*s, batch), txoutbox::usage_error);
  REQUIRE(db.count("outbox") == 0);
}

TEST_CASE("soci writer rejects bad input before touching the database", "[soci][writer]") {
  temp_db db;
  auto s = db.open();
  const txoutbox::soci::writer w;
  txoutbox::soci::write_transaction tx(*s);
  auto bad = make_message("k");
  bad.payload = "{not json";
  try {
    w.enqueue(*s, bad);
    FAIL("bad payload accepted");
  } catch (const txoutbox::usage_error& e) {
    REQUIRE(e.field() == "payload");
  }
  const std::vector<txoutbox::message> batch{make_message("k", 1), bad};
  try {
    w.enqueue(*s, batch);
    FAIL("bad batch accepted");
  } catch (const txoutbox::usage_error& e) {
    REQUIRE(e.field() == "messages[1].payload");
  }
  // The transaction is still usable and nothing was written by the refused calls.
  w.enqueue(*s, make_message("k", 3));
  tx.commit();
  REQUIRE(db.count("outbox") == 1);
}

TEST_CASE("soci writer refuses a control character in a routing field before touching the database",
          "[soci][writer][injection]") {
  temp_db db;
  auto s = db.open();
  const txoutbox::soci::writer w;
  txoutbox::soci::write_transaction tx(*s);
  auto bad = make_message("k");
  bad.aggregate_type = "order\x7f";
  const std::vector<txoutbox::message> batch{make_message("k", 1), bad};
  try {
    w.enqueue(*s, batch);
    FAIL("DEL in aggregate_type accepted");
  } catch (const txoutbox::usage_error& e) {
    REQUIRE(e.field() == "messages[1].aggregate_type");
  }
  w.enqueue(*s, make_message("k", 3));
  tx.commit();
  REQUIRE(db.count("outbox") == 1);
}

TEST_CASE("soci writer batch keeps order, ids and computes the partition", "[soci][writer]") {
  constexpr std::uint32_t n = 8;
  temp_db db(n);
  auto s = db.open();
  const txoutbox::soci::writer w;
  std::vector<txoutbox::message> batch;
  for (int i = 0; i < 2500; ++i)  // more than one multi-row chunk
    batch.push_back(make_message("key-" + std::to_string(i % 37), i));
  const auto given = txoutbox::message_id::generate();
  batch[5].id = given;
  txoutbox::soci::write_transaction tx(*s);
  const auto ids = w.enqueue(*s, batch);
  tx.commit();
  REQUIRE(ids.size() == batch.size());
  REQUIRE(ids[5] == given);

  std::string id, key;
  long long partition = 0;
  soci::statement st =
      (s->prepare << "SELECT id, aggregateid, partition_no FROM outbox ORDER BY seq",
       soci::into(id), soci::into(key), soci::into(partition));
  st.execute();
  std::size_t i = 0;
  bool partitions_match = true;
  bool order_matches = true;
  while (st.fetch()) {
    order_matches = order_matches && i < ids.size() && id == ids[i].to_string();
    partitions_match = partitions_match && partition == txoutbox::partition_of(key, n);
    ++i;
  }
  REQUIRE(i == batch.size());
  REQUIRE(order_matches);
  REQUIRE(partitions_match);
}

TEST_CASE("soci writer keeps payload bytes and headers exactly", "[soci][writer]") {
  temp_db db;
  auto s = db.open();
  const txoutbox::soci::writer w;
  auto m = make_message("k");
  m.payload = R"({"b":1.0,  "a":"caf\u00e9 ✓","a":2, "n":[1e2]})";
  m.headers = {{"traceparent", "00-abc-01"}, {"x-q", "say \"hi\""}};
  m.deliver_after = std::chrono::hours(1);
  txoutbox::soci::write_transaction tx(*s);
  const auto id = w.enqueue(*s, m);
  tx.commit();
  std::string payload, headers;
  long long delay = 0;
  const auto key = id.to_string();
  *s << "SELECT payload, headers, available_at - created_at FROM outbox WHERE id = :id",
      soci::use(key), soci::into(payload), soci::into(headers), soci::into(delay);
  REQUIRE(payload == m.payload);
  REQUIRE(headers == R"({"traceparent":"00-abc-01","x-q":"say \"hi\""})");
  REQUIRE(delay >= 3'600'000 - 1000);
  REQUIRE(delay <= 3'600'000 + 1000);
}

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
