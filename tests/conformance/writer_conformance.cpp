// writer_conformance: the cases every writer must pass, written against write_tx only.
#include "writer_conformance.hpp"

#include <rapidjson/document.h>

#include <chrono>
#include <future>
#include <map>
#include <set>

#include "order_message.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"

namespace txoutbox::conformance {

namespace {

using testing::make_message;

/// The stored headers object as a map; FAILs when it is not an object of strings.
header_map headers_of(const stored_row& row) {
  rapidjson::Document doc;
  doc.Parse(row.headers.c_str(), row.headers.size());
  INFO("stored headers " << row.headers);
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  header_map out;
  for (const auto& member : doc.GetObject()) {
    REQUIRE(member.value.IsString());
    out.emplace(std::string(member.name.GetString(), member.name.GetStringLength()),
                std::string(member.value.GetString(), member.value.GetStringLength()));
  }
  return out;
}

/// The payload's "n" member, or -1.
int n_of(const stored_row& row) {
  rapidjson::Document doc;
  doc.Parse(row.payload.c_str(), row.payload.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("n") || !doc["n"].IsInt())
    return -1;
  return doc["n"].GetInt();
}

const stored_row& row_of(const std::vector<stored_row>& rows, const message_id& id) {
  for (const auto& row : rows) {
    if (row.id == id.to_string())
      return row;
  }
  FAIL("no outbox row " << id.to_string());
  return rows.front();
}

/// The field of the usage_error `enqueue` throws; FAILs when it throws nothing.
template <class F>
std::string refused_field(F&& enqueue) {
  try {
    enqueue();
  } catch (const usage_error& e) {
    return e.field();
  }
  FAIL("the writer accepted it");
  return {};
}

/// Enqueues one message after refused calls, commits, and checks it is the only row.
void require_only_row_after(writer_harness& h, std::unique_ptr<write_tx> tx) {
  // Nothing reached the database, so the transaction is still usable: commit other work.
  tx->enqueue(make_message("after", 9));
  tx->commit();
  tx.reset();
  const auto rows = h.rows();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].aggregate_id == "after");
}

}  // namespace

message_id writer_harness::enqueue_without_transaction(const message&) {
  FAIL(name() << ": this driver refuses a missing transaction at compile time");
  return {};
}

std::vector<message_id> writer_harness::enqueue_without_transaction(std::span<const message>) {
  FAIL(name() << ": this driver refuses a missing transaction at compile time");
  return {};
}

void a_committed_enqueue_is_kept_and_a_rolled_back_one_is_not(writer_harness& h) {
  h.make_database(4);
  message_id kept;
  {
    auto tx = h.begin();
    kept = tx->enqueue(make_message("a", 1));
    tx->commit();
  }
  {
    auto tx = h.begin();
    tx->enqueue(make_message("b", 2));
    const std::vector<message> batch{make_message("c"), make_message("d")};
    tx->enqueue(batch);
    tx->rollback();
  }
  {
    auto tx = h.begin();
    tx->enqueue(make_message("e"));
  }  // destroyed without commit: rolled back
  const auto rows = h.rows();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].id == kept.to_string());
  CHECK(rows[0].aggregate_id == "a");
  CHECK_FALSE(kept.is_nil());
}

void a_caller_supplied_id_is_kept_and_a_nil_id_is_generated(writer_harness& h) {
  h.make_database(4);
  auto given = make_message("k");
  given.id = message_id::parse("0190f7a6-1234-7abc-8def-0123456789ab");
  auto tx = h.begin();
  CHECK(tx->enqueue(given) == given.id);
  std::vector<message> batch2{make_message("k"), make_message("k")};
  batch2[1].id = message_id::parse("0190f7a6-1234-7abc-8def-0123456789ac");
  const auto ids = tx->enqueue(batch2);
  REQUIRE(ids.size() == 2);
  CHECK_FALSE(ids[0].is_nil());
  CHECK(ids[1] == batch2[1].id);
  CHECK(ids[0] != ids[1]);
  tx->commit();
  tx.reset();
  const auto rows = h.rows();
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].id == given.id.to_string());
  CHECK(rows[2].id == batch2[1].id.to_string());
}

void bad_input_is_refused_naming_the_field_before_any_sql(writer_harness& h) {
  h.make_database(4);
  auto tx = h.begin();

  auto no_type = make_message("a");
  no_type.aggregate_type.clear();
  CHECK(refused_field([&] { tx->enqueue(no_type); }) == "aggregate_type");
  auto bad_json = make_message("a");
  bad_json.payload = "{not json";
  CHECK(refused_field([&] { tx->enqueue(bad_json); }) == "payload");
  const std::vector<message> pair{make_message("k", 1), bad_json};
  CHECK(refused_field([&] { tx->enqueue(pair); }) == "messages[1].payload");

  std::vector<message> batch;
  for (int i = 0; i < 5; ++i)
    batch.push_back(make_message("k", i));
  batch[3].payload = "{\"unterminated\": ";
  try {
    tx->enqueue(batch);
    FAIL("accepted invalid JSON");
  } catch (const usage_error& e) {
    CHECK(e.code() == errc::invalid_message);
    CHECK(e.field() == "messages[3].payload");
    CHECK_THAT(e.what(), Catch::StartsWith("messages[3].payload: "));
  }
  batch[3] = make_message("k", 3);
  batch[4].headers.emplace("bad header", "x");
  CHECK_THAT(refused_field([&] { tx->enqueue(batch); }), Catch::StartsWith("messages[4].headers["));
  require_only_row_after(h, std::move(tx));
}

void a_control_character_in_a_routing_field_is_refused_before_any_sql(writer_harness& h) {
  h.make_database(4);
  auto tx = h.begin();
  std::vector<message> batch{make_message("k", 0), make_message("k", 1)};
  batch[1].aggregate_id = "o1\r\nX-Injected: 1";
  CHECK(refused_field([&] { tx->enqueue(batch); }) == "messages[1].aggregate_id");
  batch[1] = make_message("k", 1);
  batch[1].aggregate_type = "order\x7f";
  CHECK(refused_field([&] { tx->enqueue(batch); }) == "messages[1].aggregate_type");
  auto bad_type = make_message("k", 2);
  bad_type.type = "Order\tPlaced";
  CHECK_THROWS_AS(tx->enqueue(bad_type), usage_error);
  require_only_row_after(h, std::move(tx));
}

void a_database_error_propagates_unchanged(writer_harness& h) {
  h.make_database(4);
  h.drop_outbox();
  auto tx = h.begin();
  std::exception_ptr thrown;
  try {
    tx->enqueue(make_message("x"));
  } catch (...) {
    thrown = std::current_exception();
  }
  REQUIRE(thrown);
  CHECK(h.is_missing_table_error(thrown));
}

void a_batch_of_1000_is_written_in_input_order(writer_harness& h) {
  h.make_database(4);
  std::vector<message> batch;
  for (int i = 0; i < 1000; ++i)
    batch.push_back(make_message("key-" + std::to_string(i % 10), i));
  std::vector<message_id> ids;
  {
    auto tx = h.begin();
    ids = tx->enqueue(batch);
    tx->commit();
  }
  REQUIRE(ids.size() == 1000);
  const auto rows = h.rows();
  REQUIRE(rows.size() == 1000);
  bool in_order = true;
  for (std::size_t i = 0; i < 1000; ++i)
    in_order = in_order && rows[i].id == ids[i].to_string() && n_of(rows[i]) == static_cast<int>(i);
  CHECK(in_order);

  // An empty batch sends nothing and returns nothing.
  auto tx = h.begin();
  CHECK(tx->enqueue(std::span<const message>{}).empty());
}

void a_batch_of_12000_is_written_whole(writer_harness& h) {
  h.make_database(4);
  // 7 values a row: 65,535 parameters would end at 9,362 rows.
  std::vector<message> batch;
  for (int i = 0; i < 12'000; ++i)
    batch.push_back(make_message("k" + std::to_string(i % 97), i));
  {
    auto tx = h.begin();
    CHECK(tx->enqueue(batch).size() == 12'000);
    tx->commit();
  }
  CHECK(h.rows().size() == 12'000);
}

void a_batch_keeps_order_and_ids_and_routes_every_key(writer_harness& h) {
  constexpr std::uint32_t n = 16;
  h.make_database(n);
  std::vector<message> batch;
  for (int i = 0; i < 2500; ++i)  // more than one multi-row statement
    batch.push_back(make_message("key-" + std::to_string(i % 37) + "-é", i));
  const auto given = message_id::generate();
  batch[5].id = given;
  std::vector<message_id> ids;
  {
    auto tx = h.begin();
    ids = tx->enqueue(batch);
    tx->commit();
  }
  REQUIRE(ids.size() == batch.size());
  REQUIRE(ids[5] == given);
  const auto rows = h.rows();
  REQUIRE(rows.size() == batch.size());
  bool order_matches = true;
  bool partitions_match = true;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    order_matches = order_matches && rows[i].id == ids[i].to_string();
    partitions_match =
        partitions_match && rows[i].partition == partition_of(rows[i].aggregate_id, n);
  }
  REQUIRE(order_matches);
  REQUIRE(partitions_match);
}

void odd_payloads_routing_fields_and_headers_round_trip(writer_harness& h) {
  h.make_database(4);
  const std::vector<std::string> payloads{
      R"({"a":1,"b":[true,false,null],"c":{"d":"e"}})",
      R"({"quote":"\"","backslash":"\\","brace":"}{","comma":",","null":"NULL","nl":"\n"})",
      R"(["ünïcødé ✓ 🚀", "\u00e9", "tab\tafter"])",
      R"("just a string")",
      R"(42.5)",
      R"(null)",
      R"({"nested":{"deep":[[[[{"x":"y"}]]]]}})",
  };
  std::vector<message> batch;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    auto m = make_message("key \"quoted\" \\ {braces}, comma ✓", static_cast<int>(i));
    m.type = "Type,With\"Odd}Chars";
    m.payload = payloads[i];
    m.headers = {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                 {"x-odd", "value with \"quotes\", \\backslash\\ and {braces} ✓\ttab"}};
    batch.push_back(m);
  }
  auto single = batch[1];
  std::vector<message_id> ids;
  message_id single_id;
  {
    auto tx = h.begin();
    ids = tx->enqueue(batch);
    single_id = tx->enqueue(single);
    tx->commit();
  }
  const auto rows = h.rows();
  auto compare = [&](const message_id& id, const message& m) {
    const auto& row = row_of(rows, id);
    CHECK(h.same_json(row.payload, m.payload));
    CHECK(row.aggregate_type == m.aggregate_type);
    CHECK(row.aggregate_id == m.aggregate_id);
    CHECK(row.type == m.type);
    const auto headers = headers_of(row);
    CHECK(headers.size() == 2);
    CHECK(headers == m.headers);
  };
  for (std::size_t i = 0; i < ids.size(); ++i)
    compare(ids[i], batch[i]);
  compare(single_id, single);
  std::size_t with_headers = 0;
  for (const auto& row : rows)
    with_headers += headers_of(row).empty() ? 0 : 1;
  CHECK(with_headers == payloads.size() + 1);
}

void payload_bytes_headers_and_delay_are_kept(writer_harness& h) {
  h.make_database(4);
  auto m = make_message("k");
  m.payload = R"({"b":1.0,  "a":"caf\u00e9 ✓ 'q' \\ :x","a":2, "n":[1e2]})";
  m.headers = {{"traceparent", "00-abc-01"}, {"x-q", "say \"hi\""}};
  m.deliver_after = std::chrono::hours(1);
  message_id id;
  {
    auto tx = h.begin();
    id = tx->enqueue(m);
    tx->commit();
  }
  const auto rows = h.rows();
  const auto& row = row_of(rows, id);
  CHECK(h.same_json(row.payload, m.payload));
  CHECK(h.same_json(row.headers, R"({"traceparent":"00-abc-01","x-q":"say \"hi\""})"));
  CHECK(row.delay_ms >= 3'600'000 - 1000);
  CHECK(row.delay_ms <= 3'600'000 + 1000);
}

void deliver_after_sets_available_at_on_the_database_clock(writer_harness& h) {
  h.make_database(4);
  auto later = make_message("d", 1);
  later.deliver_after = std::chrono::hours(1);
  auto soon = make_message("d", 2);
  soon.deliver_after = std::chrono::milliseconds(1500);
  {
    auto tx = h.begin();
    tx->enqueue(later);
    const std::vector<message> batch{make_message("d", 3), soon};
    tx->enqueue(batch);
    tx->commit();
  }
  // created_at and available_at both come from one statement's clock: the delay is exact.
  const auto rows = h.rows();
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].delay_ms == 3'600'000);
  CHECK_FALSE(rows[0].available);
  CHECK(rows[1].delay_ms == 0);
  CHECK(rows[1].available);
  CHECK(rows[2].delay_ms == 1500);
}

void partition_no_equals_partition_of_for_every_key(writer_harness& h) {
  h.make_database(7);
  std::vector<message> batch;
  for (int i = 0; i < 500; ++i)
    batch.push_back(make_message("aggregate-" + std::to_string(i * 7919), i));
  batch.push_back(make_message("ключ ✓ 🚀"));
  {
    auto tx = h.begin();
    tx->enqueue(batch);
    tx->commit();
  }
  const auto rows = h.rows();
  REQUIRE(rows.size() == batch.size());
  int mismatches = 0;
  std::set<std::uint32_t> seen;
  for (const auto& row : rows) {
    seen.insert(row.partition);
    if (row.partition != partition_of(row.aggregate_id, 7))
      ++mismatches;
  }
  CHECK(mismatches == 0);
  CHECK(seen.size() == 7);
}

void a_plain_insert_of_the_debezium_columns_is_a_complete_enqueue(writer_harness& h) {
  const auto n = h.plain_insert_partitions();
  h.make_database(n);
  const std::string given = "0190f7a6-1234-7abc-8def-0123456789ab";
  h.insert_plain(std::nullopt, "plain-1", R"({"x":1})");
  h.insert_plain(given, "plain-2", R"({"n": 1})");
  const auto rows = h.rows();
  REQUIRE(rows.size() == 2);
  for (const auto& row : rows) {
    CHECK_FALSE(row.id.empty());
    CHECK(row.partition == partition_of(row.aggregate_id, n));
    CHECK(h.same_json(row.headers, "{}"));
    CHECK(row.seq > 0);
    CHECK(row.available);
    CHECK(row.attempts == 0);
    CHECK(row.last_error_null);
  }
  CHECK(rows[1].id == given);

  // A relay claims it like any other row.
  const auto store = h.make_store();
  const auto p = partition_of("plain-2", n);
  REQUIRE(store->acquire("relay-a", p, std::chrono::seconds(30)).has_value());
  const std::uint32_t parts[] = {p};
  message_id claimed_id;
  int claimed = 0;
  for (const auto& cp : store->claim("relay-a", parts, {.rows = 10})) {
    for (const auto& r : cp.records) {
      if (r.msg.aggregate_id != "plain-2")
        continue;
      ++claimed;
      claimed_id = r.msg.id;
      CHECK(h.same_json(r.msg.payload, R"({"n": 1})"));
      CHECK(r.msg.headers.empty());
    }
  }
  CHECK(claimed == 1);
  CHECK(claimed_id.to_string() == given);
}

void one_writer_serves_several_threads(writer_harness& h) {
  h.make_database(4);
  auto work = [](std::unique_ptr<write_session> session, int thread) {
    for (int i = 0; i < 25; ++i) {
      auto tx = session->begin();
      tx->enqueue(make_message("t" + std::to_string(thread), i));
      const std::vector<message> batch{make_message("t" + std::to_string(thread), 100 + i)};
      tx->enqueue(batch);
      tx->commit();
    }
  };
  std::vector<std::future<void>> threads;
  for (int t = 0; t < 4; ++t)
    threads.push_back(std::async(std::launch::async, work, h.open_session(), t));
  for (auto& t : threads)
    t.get();
  CHECK(h.rows().size() == 4 * 25 * 2);
}

void a_session_with_no_open_transaction_is_refused(writer_harness& h) {
  h.make_database(4);
  try {
    h.enqueue_without_transaction(make_message("k"));
    FAIL("enqueue outside a transaction was accepted");
  } catch (const usage_error& e) {
    REQUIRE(e.code() == errc::no_transaction);
  }
  const std::vector<message> batch{make_message("k", 1), make_message("k", 2)};
  REQUIRE_THROWS_AS(h.enqueue_without_transaction(batch), usage_error);
  REQUIRE(h.rows().empty());
  {
    auto tx = h.begin();
    tx->enqueue(make_message("k"));
    tx->commit();
  }
  // After the commit the database reports no transaction again.
  REQUIRE_THROWS_AS(h.enqueue_without_transaction(make_message("k", 2)), usage_error);
  REQUIRE(h.rows().size() == 1);
}

}  // namespace txoutbox::conformance
