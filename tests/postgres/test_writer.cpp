// PostgreSQL writer: atomic capture, validation before SQL, batches, columns, partitions, NOTIFY,
// roles.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <pqxx/pqxx>
#include <set>
#include <sstream>

#include "../../src/core/migration_text.hpp"
#include "../../src/postgres/names.hpp"
#include "pg_test_support.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"
#include "txoutbox/postgres/writer.hpp"
#include "txoutbox/testing/servers.hpp"

namespace pg = txoutbox::testing::pg;
using txoutbox::message;
using txoutbox::message_id;
using txoutbox::postgres::writer;

namespace {

/// Counts notifications on one channel; a second "sentinel" channel marks the end of a test
/// step: notifications arrive in commit order, so once the sentinel is in, all earlier are.
struct counting_receiver : pqxx::notification_receiver {
  counting_receiver(pqxx::connection_base& conn, const std::string& channel)
      : pqxx::notification_receiver(conn, channel) {}
  void operator()(const std::string& payload, int) override {
    ++count;
    last_payload = payload;
  }
  int count = 0;
  std::string last_payload;
};

/// Commits a NOTIFY on `channel` from `conn`, then drains `listener` until it arrives.
void await_sentinel(pqxx::connection& conn, pqxx::connection& listener,
                    counting_receiver& sentinel) {
  const int before = sentinel.count;
  {
    pqxx::work tx(conn);
    tx.exec0("NOTIFY " + tx.quote_name(sentinel.channel()));
    tx.commit();
  }
  for (int i = 0; i < 60 && sentinel.count == before; ++i)
    listener.await_notification(1, 0);
  REQUIRE(sentinel.count == before + 1);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

}  // namespace

namespace {

template <class Tx>
concept can_enqueue = requires(const txoutbox::postgres::writer& w, Tx& tx,
                               const txoutbox::message& m) {
  w.enqueue(tx, m);
};

}  // namespace

TEST_CASE("the writer takes real transactions only: a nontransaction does not compile",
          "[postgres][writer]") {
  // Atomic capture: an event written through a nontransaction would commit on its own,
  // apart from the change it announces.
  STATIC_REQUIRE(can_enqueue<pqxx::work>);
  STATIC_REQUIRE(can_enqueue<pqxx::robusttransaction<>>);
  STATIC_REQUIRE(can_enqueue<pqxx::subtransaction>);
  STATIC_REQUIRE_FALSE(can_enqueue<pqxx::nontransaction>);
}

TEST_CASE("a committed enqueue is in the outbox and a rolled back one is not",
          "[postgres][writer]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const writer w(fx.writer_options());
  message_id kept;
  {
    pqxx::work tx(*fx.conn);
    kept = w.enqueue(tx, pg::make_message("a", 1));
    tx.commit();
  }
  {
    pqxx::work tx(*fx.conn);
    w.enqueue(tx, pg::make_message("b", 2));
    const std::vector<message> batch{pg::make_message("c"), pg::make_message("d")};
    w.enqueue(tx, batch);
    tx.abort();
  }
  {
    pqxx::work tx(*fx.conn);
    w.enqueue(tx, pg::make_message("e"));
  }  // destroyed without commit: rolled back
  CHECK(fx.count_outbox() == 1);
  const auto row = fx.exec("SELECT id::text, aggregateid FROM " + fx.table("outbox"));
  CHECK(row[0][0].as<std::string>() == kept.to_string());
  CHECK(row[0][1].as<std::string>() == "a");
  CHECK_FALSE(kept.is_nil());
}

TEST_CASE("a caller-supplied id is kept and a nil id is generated", "[postgres][writer]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const writer w(fx.writer_options(false));
  auto given = pg::make_message("k");
  given.id = message_id::parse("0190f7a6-1234-7abc-8def-0123456789ab");
  pqxx::work tx(*fx.conn);
  CHECK(w.enqueue(tx, given) == given.id);
  std::vector<message> batch2{pg::make_message("k"), pg::make_message("k")};
  batch2[1].id = message_id::parse("0190f7a6-1234-7abc-8def-0123456789ac");
  const auto ids = w.enqueue(tx, batch2);
  REQUIRE(ids.size() == 2);
  CHECK_FALSE(ids[0].is_nil());
  CHECK(ids[1] == batch2[1].id);
  CHECK(ids[0] != ids[1]);
  tx.commit();
  CHECK(fx.count("outbox") == 3);
}

TEST_CASE("bad input throws a usage_error naming the field before any SQL is sent",
          "[postgres][writer]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const writer w(fx.writer_options());
  pqxx::work tx(*fx.conn);

  auto no_type = pg::make_message("a");
  no_type.aggregate_type.clear();
  try {
    w.enqueue(tx, no_type);
    FAIL("accepted an empty aggregate_type");
  } catch (const txoutbox::usage_error& e) {
    CHECK(e.field() == "aggregate_type");
  }

  std::vector<message> batch;
  for (int i = 0; i < 5; ++i)
    batch.push_back(pg::make_message("k", i));
  batch[3].payload = "{\"unterminated\": ";
  try {
    w.enqueue(tx, batch);
    FAIL("accepted invalid JSON");
  } catch (const txoutbox::usage_error& e) {
    CHECK(e.code() == txoutbox::errc::invalid_message);
    CHECK(e.field() == "messages[3].payload");
    CHECK_THAT(e.what(), Catch::StartsWith("messages[3].payload: "));
  }
  batch[3] = pg::make_message("k", 3);
  batch[4].headers.emplace("bad header", "x");
  try {
    w.enqueue(tx, batch);
    FAIL("accepted a header name that is not a token");
  } catch (const txoutbox::usage_error& e) {
    CHECK_THAT(e.field(), Catch::StartsWith("messages[4].headers["));
  }

  // Nothing reached the server, so the transaction is still usable: commit other work.
  w.enqueue(tx, pg::make_message("after", 9));
  tx.commit();
  const auto rows = fx.exec("SELECT aggregateid FROM " + fx.table("outbox"));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0].as<std::string>() == "after");
}

TEST_CASE("a routing field with a control character is refused before any SQL is sent",
          "[postgres][writer][injection]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const writer w(fx.writer_options());
  pqxx::work tx(*fx.conn);
  std::vector<message> batch{pg::make_message("k", 0), pg::make_message("k", 1)};
  batch[1].aggregate_id = "o1\r\nX-Injected: 1";
  try {
    w.enqueue(tx, batch);
    FAIL("accepted CR LF in aggregate_id");
  } catch (const txoutbox::usage_error& e) {
    CHECK(e.field() == "messages[1].aggregate_id");
  }
  auto bad_type = pg::make_message("k", 2);
  bad_type.type = "Order\tPlaced";
  CHECK_THROWS_AS(w.enqueue(tx, bad_type), txoutbox::usage_error);
  w.enqueue(tx, pg::make_message("after", 9));
  tx.commit();
  const auto rows = fx.exec("SELECT aggregateid FROM " + fx.table("outbox"));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0].as<std::string>() == "after");
}

TEST_CASE("a database error propagates unchanged and aborts the caller's transaction",
          "[postgres][writer]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  fx.exec("DROP TABLE " + fx.table("outbox") + " CASCADE");
  const writer w(fx.writer_options());
  pqxx::work tx(*fx.conn);
  CHECK_THROWS_AS(w.enqueue(tx, pg::make_message("x")), pqxx::undefined_table);
}

TEST_CASE("a batch of 1,000 is written in one call in input order", "[postgres][writer][batch]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const writer w(fx.writer_options());
  std::vector<message> batch;
  for (int i = 0; i < 1000; ++i)
    batch.push_back(pg::make_message("key-" + std::to_string(i % 10), i));
  std::vector<message_id> ids;
  {
    pqxx::work tx(*fx.conn);
    ids = w.enqueue(tx, batch);
    tx.commit();
  }
  REQUIRE(ids.size() == 1000);
  const auto rows =
      fx.exec("SELECT id::text, (payload->>'n')::int FROM " + fx.table("outbox") + " ORDER BY seq");
  REQUIRE(rows.size() == 1000);
  bool in_order = true;
  for (int i = 0; i < 1000; ++i) {
    in_order =
        in_order && rows[i][0].as<std::string>() == ids[i].to_string() && rows[i][1].as<int>() == i;
  }
  CHECK(in_order);

  // An empty batch sends nothing and returns nothing.
  pqxx::work tx(*fx.conn);
  CHECK(w.enqueue(tx, std::span<const message>{}).empty());
}

TEST_CASE("a batch larger than a multi-row VALUES could carry is one statement",
          "[postgres][writer][batch]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const writer w(fx.writer_options());
  // 7 values a row: 65,535 parameters would end at 9,362 rows.
  std::vector<message> batch;
  for (int i = 0; i < 12'000; ++i)
    batch.push_back(pg::make_message("k" + std::to_string(i % 97), i));
  pqxx::work tx(*fx.conn);
  CHECK(w.enqueue(tx, batch).size() == 12'000);
  tx.commit();
  CHECK(fx.count_outbox() == 12'000);
}

TEST_CASE("payloads, routing fields and headers round trip through the array encoding",
          "[postgres][writer]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const writer w(fx.writer_options());
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
    auto m = pg::make_message("key \"quoted\" \\ {braces}, comma ✓", static_cast<int>(i));
    m.type = "Type,With\"Odd}Chars";
    m.payload = payloads[i];
    m.headers = {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                 {"x-odd", "value with \"quotes\", \\backslash\\ and {braces} ✓\ttab"}};
    batch.push_back(m);
  }
  auto single = batch[1];
  pqxx::work tx(*fx.conn);
  const auto ids = w.enqueue(tx, batch);
  const auto single_id = w.enqueue(tx, single);
  tx.commit();

  pqxx::nontransaction check(*fx.conn);
  auto compare = [&](const message_id& id, const message& m) {
    const auto row = check.exec_params1(
        "SELECT payload = $2::jsonb, aggregatetype, aggregateid, type, headers->>'traceparent', "
        "headers->>'x-odd', (SELECT count(*) FROM jsonb_object_keys(headers)) FROM " +
            fx.table("outbox") + " WHERE id = $1::uuid",
        id.to_string(), m.payload);
    CHECK(row[0].as<bool>());  // jsonb equality: the same JSON value
    CHECK(row[1].as<std::string>() == m.aggregate_type);
    CHECK(row[2].as<std::string>() == m.aggregate_id);
    CHECK(row[3].as<std::string>() == m.type);
    CHECK(row[4].as<std::string>() == m.headers.at("traceparent"));
    CHECK(row[5].as<std::string>() == m.headers.at("x-odd"));
    CHECK(row[6].as<int>() == 2);
  };
  for (std::size_t i = 0; i < ids.size(); ++i)
    compare(ids[i], batch[i]);
  compare(single_id, single);
  CHECK(
      check.exec1("SELECT count(*) FROM " + fx.table("outbox") + " WHERE headers <> '{}'::jsonb")[0]
          .as<int>() == static_cast<int>(payloads.size() + 1));
}

TEST_CASE("deliver_after sets available_at later on the database clock", "[postgres][writer]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const writer w(fx.writer_options());
  auto later = pg::make_message("d", 1);
  later.deliver_after = std::chrono::hours(1);
  auto soon = pg::make_message("d", 2);
  soon.deliver_after = std::chrono::milliseconds(1500);
  {
    pqxx::work tx(*fx.conn);
    w.enqueue(tx, later);
    const std::vector<message> batch{pg::make_message("d", 3), soon};
    w.enqueue(tx, batch);
    tx.commit();
  }
  // created_at and available_at both come from the transaction's now(): the delay is exact.
  const auto rows = fx.exec(
      "SELECT (payload->>'n')::int, extract(epoch FROM available_at - created_at)::numeric, "
      "available_at > now() FROM " +
      fx.table("outbox") + " ORDER BY seq");
  REQUIRE(rows.size() == 3);
  CHECK(rows[0][1].as<double>() == 3600.0);
  CHECK(rows[0][2].as<bool>());
  CHECK(rows[1][1].as<double>() == 0.0);
  CHECK(rows[2][1].as<double>() == 1.5);
}

TEST_CASE("partition_no equals partition_of for every key, from the writer and from plain SQL",
          "[postgres][writer][partition]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx(7);
  const writer w(fx.writer_options(false));
  std::vector<message> batch;
  for (int i = 0; i < 500; ++i)
    batch.push_back(pg::make_message("aggregate-" + std::to_string(i * 7919), i));
  batch.push_back(pg::make_message("ключ ✓ 🚀"));
  pqxx::work tx(*fx.conn);
  w.enqueue(tx, batch);
  tx.commit();
  const auto rows = fx.exec("SELECT aggregateid, partition_no FROM " + fx.table("outbox"));
  REQUIRE(rows.size() == batch.size());
  int mismatches = 0;
  std::set<std::uint32_t> seen;
  for (const auto& row : rows) {
    const auto key = row[0].as<std::string>();
    const auto partition = row[1].as<std::uint32_t>();
    seen.insert(partition);
    if (partition != txoutbox::partition_of(key, 7))
      ++mismatches;
  }
  CHECK(mismatches == 0);
  CHECK(seen.size() == 7);
}

TEST_CASE("a plain SQL INSERT of the five Debezium columns is a complete enqueue",
          "[postgres][writer][partition]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx(5);
  fx.exec("INSERT INTO " + fx.table("outbox") +
          " (aggregatetype, aggregateid, type, payload) VALUES ('order', 'plain-1', 'Created', "
          "'{\"x\":1}')");
  fx.exec("INSERT INTO " + fx.table("outbox") +
          " (id, aggregatetype, aggregateid, type, payload)"
          " VALUES ('0190f7a6-1234-7abc-8def-0123456789ab', 'order', 'plain-2', 'Created', '{}')");
  const auto rows = fx.exec(
      "SELECT id IS NOT NULL, aggregateid, partition_no, headers = '{}'::jsonb, seq IS NOT NULL, "
      "available_at <= now(), attempts, last_error IS NULL FROM " +
      fx.table("outbox") + " ORDER BY seq");
  REQUIRE(rows.size() == 2);
  for (const auto& row : rows) {
    CHECK(row[0].as<bool>());
    CHECK(row[2].as<std::uint32_t>() == txoutbox::partition_of(row[1].as<std::string>(), 5));
    CHECK(row[3].as<bool>());
    CHECK(row[4].as<bool>());
    CHECK(row[5].as<bool>());
    CHECK(row[6].as<int>() == 0);
    CHECK(row[7].as<bool>());
  }
}

TEST_CASE("NOTIFY is delivered once per committed transaction, never on rollback or when off",
          "[postgres][writer][notify]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const auto listener = pg::connect();
  counting_receiver wakeups(*listener, txoutbox::postgres::detail::notify_channel(fx.schema));
  counting_receiver sentinel(*listener, fx.schema + "_sentinel");
  const writer with_notify(fx.writer_options(true));
  const writer without_notify(fx.writer_options(false));

  {  // Several enqueues in one transaction: one notification.
    pqxx::work tx(*fx.conn);
    with_notify.enqueue(tx, pg::make_message("n", 1));
    with_notify.enqueue(tx, pg::make_message("n", 2));
    const std::vector<message> batch{pg::make_message("n", 3), pg::make_message("m", 4)};
    with_notify.enqueue(tx, batch);
    tx.commit();
  }
  await_sentinel(*fx.conn, *listener, sentinel);
  CHECK(wakeups.count == 1);
  CHECK(wakeups.last_payload.empty());

  {  // Rolled back: nothing.
    pqxx::work tx(*fx.conn);
    with_notify.enqueue(tx, pg::make_message("n", 5));
    tx.abort();
  }
  {  // notify = false: nothing.
    pqxx::work tx(*fx.conn);
    without_notify.enqueue(tx, pg::make_message("n", 6));
    const std::vector<message> batch{pg::make_message("n", 7)};
    without_notify.enqueue(tx, batch);
    tx.commit();
  }
  await_sentinel(*fx.conn, *listener, sentinel);
  CHECK(wakeups.count == 1);

  {  // A second committed transaction: a second notification.
    pqxx::work tx(*fx.conn);
    const std::vector<message> batch{pg::make_message("n", 8)};
    with_notify.enqueue(tx, batch);
    tx.commit();
  }
  await_sentinel(*fx.conn, *listener, sentinel);
  CHECK(wakeups.count == 2);
  CHECK(fx.count_outbox() == 7);
}

TEST_CASE("one writer serves several threads, each with its own transaction",
          "[postgres][writer][concurrency]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const writer w(fx.writer_options());
  const auto url = fx.url;
  auto work = [&w, url](int thread) {
    pqxx::connection conn(url);
    for (int i = 0; i < 25; ++i) {
      pqxx::work tx(conn);
      w.enqueue(tx, pg::make_message("t" + std::to_string(thread), i));
      const std::vector<message> batch{pg::make_message("t" + std::to_string(thread), 100 + i)};
      w.enqueue(tx, batch);
      tx.commit();
    }
  };
  std::vector<std::future<void>> threads;
  for (int t = 0; t < 4; ++t)
    threads.push_back(std::async(std::launch::async, work, t));
  for (auto& t : threads)
    t.get();
  CHECK(fx.count_outbox() == 4 * 25 * 2);
}

TEST_CASE("the writer enqueues under the least-privilege writer role from roles.sql",
          "[postgres][writer][roles]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const auto suffix = txoutbox::testing::unique_name("r");
  const std::string writer_role = "w_" + suffix, relay_role = "rl_" + suffix,
                    consumer_role = "c_" + suffix;
  struct role_guard {
    pg::schema_fixture& fx;
    std::vector<std::string> roles;
    ~role_guard() {
      for (const auto& role : roles) {
        try {
          fx.exec("DROP OWNED BY \"" + role + "\"");
          fx.exec("DROP ROLE IF EXISTS \"" + role + "\"");
        } catch (...) {
        }
      }
    }
  } guard{fx, {writer_role, relay_role, consumer_role}};
  for (const auto& role : guard.roles)
    fx.exec("CREATE ROLE \"" + role + "\" NOLOGIN");

  const auto script_path = std::filesystem::path(__FILE__).parent_path() / ".." / ".." /
                           "migrations" / "postgresql" / "roles.sql";
  auto script = txoutbox::detail::render(read_file(script_path), fx.quoted(), fx.partitions);
  replace_all(script, "{{writer_role}}", "\"" + writer_role + "\"");
  replace_all(script, "{{relay_role}}", "\"" + relay_role + "\"");
  replace_all(script, "{{consumer_role}}", "\"" + consumer_role + "\"");
  REQUIRE(script.find("{{") == std::string::npos);
  for (const auto& statement : txoutbox::detail::split_statements(script))
    fx.exec(statement);

  const writer w(fx.writer_options(true));
  {
    pqxx::work tx(*fx.conn);
    tx.exec0("SET LOCAL ROLE \"" + writer_role + "\"");
    w.enqueue(tx, pg::make_message("role", 1));
    const std::vector<message> batch{pg::make_message("role", 2), pg::make_message("role", 3)};
    w.enqueue(tx, batch);
    tx.commit();
  }
  CHECK(fx.count_outbox() == 3);
  {  // The writer role really is INSERT-only: it cannot read the outbox.
    pqxx::work tx(*fx.conn);
    tx.exec0("SET LOCAL ROLE \"" + writer_role + "\"");
    CHECK_THROWS_AS(tx.exec("SELECT count(*) FROM " + fx.table("outbox")),
                    pqxx::insufficient_privilege);
  }
}
