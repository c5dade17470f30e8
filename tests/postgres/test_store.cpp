// Tests of the PostgreSQL relay store against a real server: SPI, wake-ups, recovery, plans.
#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "connection.hpp"
#include "pg_test_support.hpp"
#include "store_conformance.hpp"
#include "store_sql.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"
#include "txoutbox/postgres/store.hpp"
#include "txoutbox/postgres/writer.hpp"
#include "txoutbox/testing/servers.hpp"
#include "txoutbox/testing/wait.hpp"

namespace {

using namespace std::chrono_literals;
using txoutbox::fence;
using txoutbox::message;
using txoutbox::message_id;
using txoutbox::outcome;
using txoutbox::testing::pg::make_message;
using txoutbox::testing::pg::schema_fixture;
namespace pg = txoutbox::postgres;

std::shared_ptr<txoutbox::store> open_store(const schema_fixture& fx, bool listen = false,
                                            std::string application_name = "txoutbox_test") {
  return pg::make_store({.url = fx.url,
                         .schema = fx.schema,
                         .listen = listen,
                         .application_name = std::move(application_name)});
}

message_id enqueue(schema_fixture& fx, const message& m) {
  pqxx::work tx(*fx.conn);
  const auto id = pg::writer(fx.writer_options()).enqueue(tx, m);
  tx.commit();
  return id;
}

std::vector<std::uint32_t> all_partitions(std::uint32_t n) {
  std::vector<std::uint32_t> out(n);
  for (std::uint32_t p = 0; p < n; ++p)
    out[p] = p;
  return out;
}

/// Acquires every partition for `owner`; returns the fences by partition.
std::vector<fence> acquire_all(txoutbox::store& s, const std::string& owner, std::uint32_t n,
                               std::chrono::milliseconds ttl = 30s) {
  std::vector<fence> out;
  for (std::uint32_t p = 0; p < n; ++p) {
    const auto epoch = s.acquire(owner, p, ttl);
    REQUIRE(epoch.has_value());
    out.push_back(fence{owner, p, *epoch});
  }
  return out;
}

std::vector<std::string> claimed_ids(txoutbox::store& s, const std::string& owner, std::uint32_t n,
                                     std::size_t limit = 100) {
  std::vector<std::string> out;
  const auto parts = all_partitions(n);
  for (const auto& cp : s.claim(owner, parts, {.rows = limit})) {
    for (const auto& r : cp.records)
      out.push_back(r.msg.id.to_string());
  }
  return out;
}

/// Publishes everything claimable now; returns the ids in claim order.
std::vector<std::string> drain_once(txoutbox::store& s, const std::vector<fence>& fences,
                                    std::size_t limit) {
  std::vector<std::string> out;
  std::vector<std::uint32_t> parts;
  for (const auto& f : fences)
    parts.push_back(f.partition);
  for (const auto& cp : s.claim(fences.front().owner, parts, {.rows = limit})) {
    std::vector<outcome> done;
    for (const auto& r : cp.records) {
      out.push_back(r.msg.id.to_string());
      done.push_back(
          outcome{.id = r.msg.id, .what = outcome::action::published, .delay = {}, .reason = {}});
    }
    REQUIRE(s.settle(fences[cp.partition], done));
  }
  return out;
}

std::string key_in(std::uint32_t partition, std::uint32_t partitions, const std::string& prefix,
                   int index = 0) {
  for (int i = 0;; ++i) {
    auto key = prefix + "-" + std::to_string(i);
    if (txoutbox::partition_of(key, partitions) == partition && index-- == 0)
      return key;
  }
}

int terminate_backends(schema_fixture& fx, const std::string& application_name) {
  const auto res =
      fx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = " +
              fx.conn->quote(application_name) + " AND pid <> pg_backend_pid()");
  return static_cast<int>(res.size());
}

/// Runs `fn`, allowing transient errors (a store may report one lost connection).
template <class Fn>
bool eventually(Fn&& fn, int attempts = 3) {
  for (int i = 0; i < attempts; ++i) {
    try {
      fn();
      return true;
    } catch (const txoutbox::error& e) {
      if (!e.transient())
        throw;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("postgres store redacts passwords from every connection string form", "[pg][store]") {
  using txoutbox::postgres::detail::redact;
  CHECK(redact("postgresql://app:s3cret@db:5432/x") == "postgresql://app:***@db:5432/x");
  CHECK(redact("postgresql://app@db/x?password=s3cret&sslmode=require") ==
        "postgresql://app@db/x?password=***&sslmode=require");
  CHECK(redact("host=db password=s3cret user=app") == "host=db password=*** user=app");
  CHECK(redact("host=db password = 'it\\'s s3cret' user=app").find("s3cret") == std::string::npos);
  CHECK(redact("host=db user=app") == "host=db user=app");
}

TEST_CASE("postgres store appends its settings to both connection string forms", "[pg][store]") {
  using txoutbox::postgres::detail::build_conninfo;
  const txoutbox::postgres::detail::conninfo_options o{.connect_timeout = 5000ms,
                                                       .statement_timeout = 1500ms,
                                                       .keepalives = true,
                                                       .application_name = "my app"};
  CHECK(
      build_conninfo("postgresql://u@h/db", o) ==
      "postgresql://u@h/db?connect_timeout=5&keepalives=1&keepalives_idle=30&keepalives_interval=10"
      "&keepalives_count=3&application_name=my%20app&options=-c%20statement_timeout%3D1500");
  CHECK(build_conninfo("postgresql://u@h/db?sslmode=disable&application_name=mine", o) ==
        "postgresql://u@h/db?sslmode=disable&application_name=mine&connect_timeout=5&keepalives=1"
        "&keepalives_idle=30&keepalives_interval=10&keepalives_count=3"
        "&options=-c%20statement_timeout%3D1500");
  CHECK(build_conninfo("host=h dbname=db", o) ==
        "host=h dbname=db connect_timeout='5' keepalives='1' keepalives_idle='30' "
        "keepalives_interval='10' keepalives_count='3' application_name='my app' "
        "options='-c statement_timeout=1500'");
}

TEST_CASE("postgres store refuses a missing schema and an unreachable server", "[pg][store]") {
  TXOUTBOX_REQUIRE_PG();
  schema_fixture fx(4, "pgs");

  SECTION("a schema that was never migrated is not_migrated") {
    try {
      pg::make_store({.url = fx.url, .schema = "txo_never_migrated_schema"});
      FAIL("make_store succeeded on a missing schema");
    } catch (const txoutbox::error& e) {
      CHECK(e.code() == txoutbox::errc::not_migrated);
      CHECK_FALSE(e.transient());
    }
  }
  SECTION("an unreachable server is a transient connection failure without the password") {
    for (const std::string url : {"postgresql://postgres:pw-s3cret@127.0.0.1:1/postgres",
                                  "host=127.0.0.1 port=1 user=postgres password=pw-s3cret"}) {
      try {
        pg::make_store({.url = url, .schema = fx.schema, .connect_timeout = 2s});
        FAIL("make_store succeeded on an unreachable server");
      } catch (const txoutbox::error& e) {
        CHECK(e.code() == txoutbox::errc::connection_failed);
        CHECK(e.transient());
        CHECK(std::string(e.what()).find("pw-s3cret") == std::string::npos);
        CHECK(std::string(e.what()).find("***") != std::string::npos);
      }
    }
  }
  SECTION("bad options are usage errors naming the field") {
    try {
      pg::make_store({.url = fx.url, .schema = "bad-name"});
      FAIL("accepted a bad schema name");
    } catch (const txoutbox::usage_error& e) {
      CHECK(e.field() == "schema");
    }
    CHECK_THROWS_AS(pg::make_store({.url = fx.url, .schema = fx.schema, .pool_size = 0}),
                    txoutbox::usage_error);
  }
  SECTION("a migrated schema opens and reports its partition count") {
    auto s = open_store(fx);
    CHECK(s->partition_count() == 4);
    CHECK(s->leases().size() == 4);
  }
}

TEST_CASE("postgres leases fence every write after a takeover on the database clock",
          "[pg][store][lease]") {
  TXOUTBOX_REQUIRE_PG();
  schema_fixture fx(2, "pgs");
  auto a = open_store(fx);
  auto b = open_store(fx);
  const auto key = key_in(0, 2, "k");
  const auto id1 = enqueue(fx, make_message(key, 1));
  const auto id2 = enqueue(fx, make_message(key, 2));

  const auto epoch_a = a->acquire("relay-a", 0, 300ms);
  REQUIRE(epoch_a.has_value());
  const fence fa{"relay-a", 0, *epoch_a};
  CHECK_FALSE(b->acquire("relay-b", 0, 30s).has_value());
  REQUIRE(claimed_ids(*a, "relay-a", 2) ==
          std::vector<std::string>{id1.to_string(), id2.to_string()});
  CHECK(claimed_ids(*b, "relay-b", 2).empty());  // b holds nothing

  std::this_thread::sleep_for(400ms);            // real time: the database clock cannot be faked
  CHECK(claimed_ids(*a, "relay-a", 2).empty());  // an expired lease claims nothing
  const auto epoch_b = b->acquire("relay-b", 0, 30s);
  REQUIRE(epoch_b.has_value());
  CHECK(*epoch_b == *epoch_a + 1);
  const fence fb{"relay-b", 0, *epoch_b};

  const std::vector<outcome> late{
      outcome{.id = id1, .what = outcome::action::published, .delay = {}, .reason = {}}};
  CHECK_FALSE(a->settle(fa, late));
  CHECK_FALSE(a->renew(fa, 30s));
  CHECK_FALSE(a->begin_batch(fa, txoutbox::batch_marker{1, 2, 1, 0}));
  a->release(fa);  // fenced: changes nothing
  CHECK(fx.count_outbox() == 2);

  const auto leases = b->leases();
  REQUIRE(leases.size() == 2);
  CHECK(leases[0].owner == "relay-b");
  CHECK(leases[0].epoch == *epoch_b);
  CHECK(leases[0].expires_in > 0ms);
  CHECK(leases[1].owner.empty());
  CHECK(leases[1].expires_in < 0ms);

  CHECK(b->settle(fb, late));
  CHECK(claimed_ids(*b, "relay-b", 2) == std::vector<std::string>{id2.to_string()});

  b->heartbeat("relay-b", 30s);
  CHECK(b->live_owners() == std::vector<std::string>{"relay-b"});
  b->leave("relay-b");  // also gives its leases up
  CHECK(b->live_owners().empty());
  CHECK(b->leases()[0].owner.empty());
  CHECK(a->acquire("relay-a", 0, 30s) == *epoch_b + 1);
}

TEST_CASE("postgres claim holds a key behind a retry and a deliver_after", "[pg][store][order]") {
  TXOUTBOX_REQUIRE_PG();
  schema_fixture fx(1, "pgs");
  auto s = open_store(fx);
  const auto fences = acquire_all(*s, "relay", 1);
  const auto k1 = enqueue(fx, make_message("k", 1));
  const auto k2 = enqueue(fx, make_message("k", 2));
  const auto j1 = enqueue(fx, make_message("j", 1));
  message delayed = make_message("d", 1);
  delayed.deliver_after = 600ms;
  const auto d1 = enqueue(fx, delayed);
  const auto d2 = enqueue(fx, make_message("d", 2));

  // Each key's run: k2 rides behind k1; the delayed d1 holds d2 back.
  REQUIRE(claimed_ids(*s, "relay", 1) ==
          std::vector<std::string>{k1.to_string(), k2.to_string(), j1.to_string()});
  const std::vector<outcome> first{
      outcome{.id = k1, .what = outcome::action::retry, .delay = 600ms, .reason = "broker down"},
      outcome{.id = j1, .what = outcome::action::published, .delay = {}, .reason = {}}};
  REQUIRE(s->settle(fences[0], first));
  CHECK(claimed_ids(*s, "relay", 1).empty());  // k1 backs off, k2 waits behind it; d1 delayed

  std::this_thread::sleep_for(700ms);
  const auto parts = all_partitions(1);
  const auto again = s->claim("relay", parts, {.rows = 100});
  REQUIRE(again.size() == 1);
  REQUIRE(again[0].records.size() == 4);
  CHECK(again[0].records[0].msg.id == k1);
  CHECK(again[0].records[0].attempts == 1);
  CHECK(again[0].records[1].msg.id == k2);
  CHECK(again[0].records[2].msg.id == d1);
  CHECK(again[0].records[3].msg.id == d2);
  const std::vector<outcome> second{
      outcome{.id = k1, .what = outcome::action::published, .delay = {}, .reason = {}},
      outcome{.id = d1, .what = outcome::action::published, .delay = {}, .reason = {}}};
  REQUIRE(s->settle(fences[0], second));
  CHECK(claimed_ids(*s, "relay", 1) == std::vector<std::string>{k2.to_string(), d2.to_string()});
}

TEST_CASE("postgres claim never skips a row whose transaction commits late", "[pg][store][order]") {
  TXOUTBOX_REQUIRE_PG();
  schema_fixture fx(1, "pgs");
  auto s = open_store(fx);
  const auto fences = acquire_all(*s, "relay", 1);
  const pg::writer w(fx.writer_options());
  auto other = txoutbox::testing::pg::connect();

  pqxx::work tx_a(*fx.conn);
  const auto a = w.enqueue(tx_a, make_message("a", 1));  // takes the lower seq
  message_id b;
  {
    pqxx::work tx_b(*other);
    b = w.enqueue(tx_b, make_message("b", 1));
    tx_b.commit();
  }
  CHECK(drain_once(*s, fences, 100) == std::vector<std::string>{b.to_string()});
  tx_a.commit();
  CHECK(drain_once(*s, fences, 100) == std::vector<std::string>{a.to_string()});

  pqxx::nontransaction check(*other);
  CHECK(check.exec("SELECT count(*) FROM " + fx.table("outbox"))[0][0].as<int>() == 0);
}

TEST_CASE("postgres store claims every row exactly once under concurrent late-committing writers",
          "[pg][store][order]") {
  TXOUTBOX_REQUIRE_PG();
  constexpr std::uint32_t partitions = 4;
  constexpr int writers = 4, transactions = 40;
  schema_fixture fx(partitions, "pgs");
  auto s = open_store(fx);
  const auto fences = acquire_all(*s, "relay", partitions);
  const std::string url = fx.url;
  const auto options = fx.writer_options();

  std::mutex written_mutex;
  std::map<std::string, std::vector<std::string>> written;  // key -> ids in write order
  std::atomic<int> finished{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&, t] {
      try {
        pqxx::connection conn(url);
        const pg::writer w(options);
        std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1);
        for (int i = 0; i < transactions; ++i) {
          pqxx::work tx(conn);
          std::vector<std::pair<std::string, std::string>> mine;
          const int count = 1 + static_cast<int>(rng() % 3);
          for (int m = 0; m < count; ++m) {
            const auto key = "w" + std::to_string(t) + "-k" + std::to_string(rng() % 5);
            mine.emplace_back(key, w.enqueue(tx, make_message(key, i)).to_string());
          }
          std::this_thread::sleep_for(std::chrono::microseconds(rng() % 4000));  // commit late
          tx.commit();
          std::lock_guard lock(written_mutex);
          for (auto& [key, id] : mine)
            written[key].push_back(id);
        }
      } catch (...) {
        ++failures;
      }
      ++finished;
    });
  }

  std::vector<std::string> claimed;
  while (finished.load() < writers) {
    auto got = drain_once(*s, fences, 7);
    claimed.insert(claimed.end(), got.begin(), got.end());
  }
  for (auto& t : threads)
    t.join();
  REQUIRE(failures.load() == 0);
  for (auto got = drain_once(*s, fences, 50); !got.empty(); got = drain_once(*s, fences, 50)) {
    claimed.insert(claimed.end(), got.begin(), got.end());
  }

  std::size_t total = 0;
  for (const auto& [key, ids] : written)
    total += ids.size();
  CHECK(claimed.size() == total);
  CHECK(std::set<std::string>(claimed.begin(), claimed.end()).size() == claimed.size());
  // Per key, the claim order is the write order (each key has one writer thread).
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < claimed.size(); ++i)
    position[claimed[i]] = i;
  for (const auto& [key, ids] : written) {
    for (std::size_t i = 1; i < ids.size(); ++i) {
      INFO("key " << key << " index " << i);
      REQUIRE(position.at(ids[i - 1]) < position.at(ids[i]));
    }
  }
  CHECK(fx.count_outbox() == 0);
}

TEST_CASE("postgres settle applies published, retry and dead-letter outcomes in one transaction",
          "[pg][store][settle]") {
  TXOUTBOX_REQUIRE_PG();
  schema_fixture fx(1, "pgs");
  auto s = open_store(fx);
  const auto f = acquire_all(*s, "relay", 1)[0];
  const auto p = enqueue(fx, make_message("p", 1));
  const auto r = enqueue(fx, make_message("r", 1));
  const auto d = enqueue(fx, make_message("d", 1));
  REQUIRE(claimed_ids(*s, "relay", 1).size() == 3);
  REQUIRE(s->begin_batch(f, txoutbox::batch_marker{1, 3, 2, 1}));
  const auto marked = s->claim("relay", all_partitions(1), {.rows = 10});
  REQUIRE(marked.size() == 1);
  CHECK(marked[0].marker.starts == 2);
  CHECK(marked[0].marker.head_seq == 1);
  CHECK(marked[0].marker.last_seq == 3);
  CHECK(marked[0].marker.suspect_through == 1);

  // Reasons are arbitrary publisher text: quotes, backslashes, braces, bad UTF-8, NUL.
  const std::string nasty =
      std::string("say \"no\" \\ {a,b} ") + '\xff' + std::string(1, '\0') + " end";
  const std::vector<outcome> outcomes{
      outcome{.id = p, .what = outcome::action::published, .delay = {}, .reason = {}},
      outcome{.id = r, .what = outcome::action::retry, .delay = 60s, .reason = nasty},
      outcome{
          .id = d, .what = outcome::action::dead_letter, .delay = {}, .reason = "rejected: 400"}};
  REQUIRE(s->settle(f, outcomes));

  const auto rows = fx.exec(
      "SELECT id::text, attempts, last_error, available_at > now() + interval '50 seconds' "
      "FROM " +
      fx.table("outbox"));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0].as<std::string>() == r.to_string());
  CHECK(rows[0][1].as<int>() == 1);
  CHECK(rows[0][2].as<std::string>() == "say \"no\" \\ {a,b} ?? end");
  CHECK(rows[0][3].as<bool>());
  CHECK(fx.exec("SELECT batch_starts FROM " + fx.table("outbox_lease"))[0][0].as<int>() == 0);

  const auto dead = s->dead_letters(10);
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].record.msg.id == d);
  CHECK(dead[0].reason == "rejected: 400");
  CHECK(dead[0].record.attempts == 1);
  CHECK(dead[0].record.msg.aggregate_id == "d");
  CHECK(dead[0].record.seq == 3);
  const auto st = s->stats();
  CHECK(st.backlog == 1);
  CHECK(st.dead_letters == 1);

  // Requeue appends with a fresh seq and attempts reset; purge deletes.
  const std::vector<message_id> just_d{d};
  REQUIRE(s->requeue_dead_letters(just_d) == 1);
  const auto back = fx.exec("SELECT seq, attempts FROM " + fx.table("outbox") + " WHERE id = '" +
                            d.to_string() + "'");
  REQUIRE(back.size() == 1);
  CHECK(back[0][0].as<long long>() > 3);
  CHECK(back[0][1].as<int>() == 0);
  const std::vector<outcome> again{
      outcome{.id = d, .what = outcome::action::dead_letter, .delay = {}, .reason = "x"}};
  REQUIRE(s->settle(f, again));
  CHECK(s->purge_dead_letters({}) == 1);
  CHECK(s->dead_letters(10).empty());
}

TEST_CASE(
    "postgres store maps a statement timeout to transient and a dropped table to not_migrated",
    "[pg][store][errors]") {
  TXOUTBOX_REQUIRE_PG();
  schema_fixture fx(1, "pgs");
  auto s = pg::make_store(
      {.url = fx.url, .schema = fx.schema, .statement_timeout = 300ms, .listen = false});
  const auto f = acquire_all(*s, "relay", 1)[0];

  {
    // Another session holds the lease row: the fenced settle waits, then times out.
    pqxx::work blocker(*fx.conn);
    blocker.exec("SELECT 1 FROM " + fx.table("outbox_lease") + " FOR UPDATE");
    try {
      s->settle(f, {});
      FAIL("settle did not time out");
    } catch (const txoutbox::error& e) {
      CHECK(e.transient());
      CHECK(e.code() == txoutbox::errc::timeout);
      CHECK(std::string(e.what()).find("57014") != std::string::npos);
    }
    blocker.abort();
  }
  CHECK(s->settle(f, {}));  // the store carries on with a fresh connection

  fx.exec("DROP TABLE " + fx.table("outbox_member"));
  try {
    s->heartbeat("relay", 1s);
    FAIL("heartbeat succeeded without its table");
  } catch (const txoutbox::error& e) {
    CHECK(e.code() == txoutbox::errc::not_migrated);
    CHECK_FALSE(e.transient());
  }
}

TEST_CASE("postgres wake-up reports a committed enqueue and not a rolled-back one",
          "[pg][store][notify]") {
  TXOUTBOX_REQUIRE_PG();
  schema_fixture fx(2, "pgs");
  auto s = open_store(fx, true);
  REQUIRE(s->supports_wakeup());
  CHECK_FALSE(open_store(fx, false)->supports_wakeup());
  CHECK_FALSE(s->wait_for_wakeup(100ms));

  const pg::writer w(fx.writer_options());
  {
    pqxx::work tx(*fx.conn);
    w.enqueue(tx, make_message("a", 1));
    tx.abort();
  }
  CHECK_FALSE(s->wait_for_wakeup(300ms));

  std::thread writer_thread([&] {
    std::this_thread::sleep_for(100ms);
    enqueue(fx, make_message("a", 2));
  });
  const bool woke = s->wait_for_wakeup(10s);
  writer_thread.join();
  CHECK(woke);
  CHECK_FALSE(s->wait_for_wakeup(100ms));  // one transaction, one wake-up

  // A requeue is new work too.
  const auto f = acquire_all(*s, "relay", 2);
  const auto parts = all_partitions(2);
  for (const auto& cp : s->claim("relay", parts, {.rows = 10})) {
    const std::vector<outcome> dl{outcome{.id = cp.records[0].msg.id,
                                          .what = outcome::action::dead_letter,
                                          .delay = {},
                                          .reason = "x"}};
    REQUIRE(s->settle(f[cp.partition], dl));
  }
  CHECK_FALSE(s->wait_for_wakeup(100ms));
  REQUIRE(s->requeue_dead_letters({}) == 1);
  CHECK(s->wait_for_wakeup(10s));
}

TEST_CASE("postgres store and listener recover after their backends are terminated",
          "[pg][store][recovery]") {
  TXOUTBOX_REQUIRE_PG();
  schema_fixture fx(2, "pgs");
  const auto app = txoutbox::testing::unique_name("txo_app");
  auto s = open_store(fx, true, app);
  const auto fences = acquire_all(*s, "relay", 2);
  // Open several pooled connections at once.
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i)
      threads.emplace_back([&] { (void)s->leases(); });
    for (auto& t : threads)
      t.join();
  }
  enqueue(fx, make_message("before", 1));
  REQUIRE(s->wait_for_wakeup(10s));

  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    REQUIRE(terminate_backends(fx, app) >= 2);  // pool connections + the listener

    // The listener notices, rebuilds and wakes the relay (rows may have been missed).
    CHECK(s->wait_for_wakeup(10s));
    // The pool replaces dead connections; at most a transient error surfaces.
    CHECK(eventually([&] { s->heartbeat("relay", 30s); }));
    CHECK(eventually([&] { REQUIRE(s->renew(fences[0], 30s)); }));
    std::vector<std::string> got;
    CHECK(eventually([&] { got = claimed_ids(*s, "relay", 2); }));
    CHECK(got.size() == static_cast<std::size_t>(1 + round));  // 'before' + each 'after'

    // The rebuilt listener is healthy: quiet when nothing happens, woken by a commit.
    CHECK_FALSE(s->wait_for_wakeup(200ms));
    enqueue(fx, make_message("after", round));
    CHECK(s->wait_for_wakeup(10s));
  }
  CHECK(s->live_owners() == std::vector<std::string>{"relay"});
}

namespace {

/// True when the EXPLAIN (FORMAT JSON) plan has a sequential scan on `relation`.
bool has_seq_scan(const rapidjson::Value& node, const std::string& relation) {
  if (node.IsArray()) {
    for (const auto& child : node.GetArray()) {
      if (has_seq_scan(child, relation))
        return true;
    }
    return false;
  }
  if (!node.IsObject())
    return false;
  if (node.HasMember("Node Type") && std::string(node["Node Type"].GetString()) == "Seq Scan" &&
      node.HasMember("Relation Name") &&
      std::string(node["Relation Name"].GetString()) == relation) {
    return true;
  }
  for (const auto& m : node.GetObject()) {
    if ((m.value.IsObject() || m.value.IsArray()) && has_seq_scan(m.value, relation))
      return true;
  }
  return false;
}

/// Inserts `count` rows (ids from `first_id` up, ascending) whose aggregate id is the SQL
/// expression `key` of the series variable i. Loads fast on a busy 2-core box: the
/// shipped secondary indexes (same definitions, read back from the catalog) are built
/// after the rows.
void bulk_load(schema_fixture& fx, const std::string& key, long long first_id, long long count) {
  const auto indexes = fx.exec(
      "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
      "WHERE indrelid = '" +
      fx.table("outbox") + "'::regclass AND NOT indisprimary");
  REQUIRE(indexes.size() == 2);
  for (const auto& row : indexes)
    fx.exec("DROP INDEX " + row[0].as<std::string>());
  fx.exec("INSERT INTO " + fx.table("outbox") +
          " (id, aggregatetype, aggregateid, type, payload) "
          "SELECT lpad(to_hex(i), 32, '0')::uuid, 'order', " +
          key + ", 'Bulk', '{}'::jsonb FROM generate_series(" + std::to_string(first_id) + ", " +
          std::to_string(first_id + count - 1) + ") i");
  for (const auto& row : indexes)
    fx.exec(row[1].as<std::string>());
  fx.exec("ANALYZE " + fx.table("outbox"));
}

/// EXPLAIN (`options`) of the store's own claim statement, prepared, for owner "relay",
/// partitions 0-15 and limit 100, once with plan_cache_mode force_custom_plan and once with
/// force_generic_plan; `check` gets each parsed plan (the mode is in the INFO).
void for_each_claim_plan(schema_fixture& fx, const std::string& options,
                         const std::function<void(const rapidjson::Document&)>& check) {
  const txoutbox::postgres::detail::store_sql sql(fx.quoted());
  fx.exec("PREPARE txo_claim_plan AS " + sql.claim);
  for (const char* mode : {"force_custom_plan", "force_generic_plan"}) {
    INFO("plan_cache_mode " << mode);
    fx.exec(std::string("SET plan_cache_mode = ") + mode);
    const auto plan =
        fx
            .exec(
                "EXPLAIN (" + options +
                ") EXECUTE txo_claim_plan('relay', "
                "'{0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15}', 100, 67108864, 9223372036854775807)")[0]
                                                                                                 [0]
            .as<std::string>();
    rapidjson::Document doc;
    doc.Parse(plan.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    check(doc);
  }
  fx.exec("RESET plan_cache_mode");
}

/// Shared buffers (hit + read) the top plan node of an EXPLAIN (ANALYZE, BUFFERS, FORMAT
/// JSON) touched: the whole statement's page accesses, a plan property and not a time.
long long buffers_touched(const rapidjson::Document& doc) {
  const auto& top = doc.GetArray()[0]["Plan"];
  return top["Shared Hit Blocks"].GetInt64() + top["Shared Read Blocks"].GetInt64();
}

}  // namespace

TEST_CASE("postgres claim stays an index scan at a large backlog", "[pg][store][plan]") {
  TXOUTBOX_REQUIRE_PG();
  constexpr std::uint32_t partitions = 16;
  schema_fixture fx(partitions, "pgs");
  bulk_load(fx, "'k' || (i % 20000)", 1, 200000);
  auto s = open_store(fx);
  acquire_all(*s, "relay", partitions);

  for_each_claim_plan(fx, "FORMAT JSON", [](const rapidjson::Document& doc) {
    CHECK_FALSE(has_seq_scan(doc, "outbox"));
  });
  // The check itself can see a sequential scan (a filter no index serves).
  rapidjson::Document control;
  control.Parse(fx.exec("EXPLAIN (FORMAT JSON) SELECT * FROM " + fx.table("outbox") +
                        " WHERE attempts = 7")[0][0]
                    .as<std::string>()
                    .c_str());
  CHECK(has_seq_scan(control, "outbox"));

  const auto claimed = s->claim("relay", all_partitions(partitions), {.rows = 100});
  REQUIRE(claimed.size() == partitions);
  for (const auto& cp : claimed) {
    CHECK(cp.records.size() == 100);
    CHECK(std::is_sorted(cp.records.begin(), cp.records.end(),
                         [](const auto& x, const auto& y) { return x.seq < y.seq; }));
  }
}

TEST_CASE("postgres claim reads none of the rows queued behind blocked heads",
          "[pg][store][plan][hotkey]") {
  TXOUTBOX_REQUIRE_PG();
  constexpr std::uint32_t partitions = 16;
  constexpr long long queued = 200000;
  schema_fixture fx(partitions, "pgs");
  // 1,000 hot keys of 200 rows each; every head goes into backoff, so the 199,000 rows
  // behind them wait. Then 800 rows of fresh keys (about 50 a partition), the only
  // claimable ones.
  bulk_load(fx, "'hot' || (i % 1000)", 1, queued);
  fx.exec("UPDATE " + fx.table("outbox") +
          " o SET available_at = now() + interval '1 hour', attempts = 1 FROM (SELECT "
          "DISTINCT ON (aggregateid) seq FROM " +
          fx.table("outbox") + " ORDER BY aggregateid, seq) h WHERE o.seq = h.seq");
  fx.exec("INSERT INTO " + fx.table("outbox") +
          " (id, aggregatetype, aggregateid, type, payload) SELECT gen_random_uuid(), 'order', "
          "'fresh-' || i, 'Fresh', '{}'::jsonb FROM generate_series(1, 800) i");
  fx.exec("ANALYZE " + fx.table("outbox"));
  auto s = open_store(fx);
  acquire_all(*s, "relay", partitions);

  for_each_claim_plan(fx, "ANALYZE, BUFFERS, FORMAT JSON", [&](const rapidjson::Document& doc) {
    CHECK_FALSE(has_seq_scan(doc, "outbox"));
    // A claim that stepped over the waiting rows would touch at least one page per row
    // (an index entry or a heap tuple); this one hops from key to key instead.
    CHECK(buffers_touched(doc) < queued / 4);
  });

  const auto claimed = s->claim("relay", all_partitions(partitions), {.rows = 100});
  std::size_t total = 0;
  for (const auto& cp : claimed) {
    CHECK(std::is_sorted(cp.records.begin(), cp.records.end(),
                         [](const auto& x, const auto& y) { return x.seq < y.seq; }));
    for (const auto& r : cp.records)
      CHECK(r.msg.aggregate_id.rfind("fresh-", 0) == 0);
    total += cp.records.size();
  }
  CHECK(total == 800);
}

// -- the store conformance suite ---------------------------------------------------------

namespace {

class pg_harness final : public txoutbox::conformance::harness {
 public:
  std::shared_ptr<txoutbox::store> make_store(std::uint32_t partitions) override {
    fx_ = std::make_unique<schema_fixture>(partitions, "pgc");
    writer_ = std::make_unique<pg::writer>(fx_->writer_options());
    return make_peer_store();
  }
  std::shared_ptr<txoutbox::store> make_peer_store() override {
    return pg::make_store({.url = fx_->url, .schema = fx_->schema, .listen = false});
  }
  message_id enqueue_committed(const message& msg) override {
    pqxx::work tx(*fx_->conn);
    const auto id = writer_->enqueue(tx, msg);
    tx.commit();
    return id;
  }
  std::vector<message_id> enqueue_committed_batch(std::span<const message> msgs) override {
    pqxx::work tx(*fx_->conn);
    auto ids = writer_->enqueue(tx, msgs);
    tx.commit();
    return ids;
  }
  void enqueue_rolled_back(const message& msg) override {
    pqxx::work tx(*fx_->conn);
    writer_->enqueue(tx, msg);
    tx.abort();
  }
  std::pair<message_id, message_id> enqueue_out_of_order(
      const message& a, const message& b, const std::function<void()>& between) override {
    auto other = txoutbox::testing::pg::connect();
    pqxx::work tx_a(*fx_->conn);
    const auto id_a = writer_->enqueue(tx_a, a);
    message_id id_b;
    {
      pqxx::work tx_b(*other);
      id_b = writer_->enqueue(tx_b, b);
      tx_b.commit();
    }
    between();
    tx_a.commit();
    return {id_a, id_b};
  }
  void advance(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }
  std::optional<std::string> last_error(const message_id& id) override {
    pqxx::nontransaction tx(*fx_->conn);
    const auto res = tx.exec_params(
        "SELECT coalesce(last_error, '') FROM " + fx_->table("outbox") + " WHERE id = $1::uuid",
        id.to_string());
    if (res.empty())
      return std::nullopt;
    return res[0][0].as<std::string>();
  }
  std::string name() const override { return "pg"; }

 private:
  std::unique_ptr<schema_fixture> fx_;
  std::unique_ptr<pg::writer> writer_;
};

std::unique_ptr<txoutbox::conformance::harness> make_pg_harness() {
  REQUIRE_FALSE(txoutbox::testing::pg::server_url().empty());
  return std::make_unique<pg_harness>();
}

}  // namespace

TXOUTBOX_STORE_CONFORMANCE_TESTS("pg", make_pg_harness)
