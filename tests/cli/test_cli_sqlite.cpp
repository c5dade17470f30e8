// The txoutbox command on a SQLite file: migrate/enqueue/status, relay processes, dead letters.
#include <rapidjson/document.h>
#include <signal.h>
#include <soci/session.h>

#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "cli_test_support.hpp"
#include "txoutbox/soci/session.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/soci/writer.hpp"
#include "txoutbox/testing/wait.hpp"
#ifdef TXOUTBOX_CLI_HTTP_SQLITE
#include "test_http_server.hpp"
#endif

using namespace txoutbox;
using namespace txoutbox::testing;
using namespace txoutbox::testing::cli;
using namespace std::chrono_literals;

namespace {

const std::map<std::string, std::optional<std::string>> clean_env{
    {"TXOUTBOX_DB_URL", std::nullopt}, {"TXOUTBOX_DB_PASSWORD", std::nullopt}};

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
    s.pop_back();
  return s;
}

/// A migrated SQLite file `orders.db` in a private working directory.
struct sqlite_db {
  explicit sqlite_db(std::uint32_t partitions = 1) {
    const auto r = run_cli_in(
        dir.path(),
        {"migrate", "--db", "sqlite:orders.db", "--partitions", std::to_string(partitions)},
        clean_env);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    migrate_out = r.out;
  }
  run_result run(std::vector<std::string> args) const {
    args.insert(args.begin() + (args.front() == "dead" ? 2 : 1), {"--db", "sqlite:orders.db"});
    return run_cli_in(dir.path(), args, clean_env);
  }
  /// Arguments of a relay process on this file (the subcommand and --db included).
  std::vector<std::string> relay(const std::string& publisher, const std::string& owner,
                                 std::vector<std::string> more = {}) const {
    std::vector<std::string> args{
        "relay",     "--db", "sqlite:orders.db", "--publisher", publisher, "--owner", owner,
        "--poll-ms", "50",   "--lease-ms",       "2000"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  rapidjson::Document status() const {
    const auto r = run({"status", "--json"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
        r.out.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.IsObject());
    return doc;
  }
  std::string url() const { return "sqlite:" + (dir.path() / "orders.db").string(); }

  temp_dir dir;
  std::string migrate_out;
};

/// Writes `rounds` messages for each of `keys` keys through the SOCI writer (one
/// transaction per round); returns id -> (key, round).
std::map<message_id, std::pair<std::string, int>> write_messages(const sqlite_db& db, int keys,
                                                                 int rounds) {
  auto session = txoutbox::soci::open_session(db.url());
  const txoutbox::soci::writer writer;
  std::map<message_id, std::pair<std::string, int>> out;
  for (int r = 0; r < rounds; ++r) {
    txoutbox::soci::write_transaction tx(*session);
    for (int k = 0; k < keys; ++k) {
      message m;
      m.aggregate_type = "order";
      m.aggregate_id = "key-" + std::to_string(k);
      m.type = "OrderPlaced";
      m.payload = "{\"k\":" + std::to_string(k) + ",\"n\":" + std::to_string(r) + "}";
      out.emplace(writer.enqueue(*session, m), std::make_pair(m.aggregate_id, r));
    }
    tx.commit();
  }
  return out;
}

/// Ids missing from all files, and per-file first appearances out of key order.
struct delivery {
  std::size_t missing = 0;
  std::size_t unknown = 0;
  std::size_t order_breaks = 0;
  std::size_t lines = 0;
};

delivery check(const std::vector<std::filesystem::path>& files,
               const std::map<message_id, std::pair<std::string, int>>& sent) {
  delivery d;
  std::set<message_id> seen;
  for (const auto& f : files) {
    std::map<std::string, int> last;
    std::set<message_id> here;
    for (const auto& p : read_published(f)) {
      ++d.lines;
      seen.insert(p.id);
      const auto it = sent.find(p.id);
      if (it == sent.end()) {
        ++d.unknown;
        continue;
      }
      if (!here.insert(p.id).second)
        continue;
      const auto [pos, fresh] = last.emplace(it->second.first, it->second.second);
      if (!fresh) {
        if (it->second.second <= pos->second)
          ++d.order_breaks;
        pos->second = it->second.second;
      }
    }
  }
  for (const auto& [id, _] : sent)
    d.missing += seen.contains(id) ? 0 : 1;
  return d;
}

}  // namespace

TEST_CASE(
    "on a SQLite file migrate is idempotent, enqueue prints ids and status --json shows "
    "them",
    "[cli][sqlite][status]") {
  sqlite_db db;
  CHECK(db.migrate_out.find("schema main migrated") != std::string::npos);
  const auto again = db.run({"migrate"});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(again.out.find("up to date") != std::string::npos);

  const std::string fixed = "0190a8f2-7c3e-7abc-8def-0123456789ab";
  const auto r = db.run({"enqueue", "--aggregate-type", "order", "--aggregate-id", "42", "--type",
                         "OrderPlaced", "--payload", R"({"total":10})", "--id", fixed});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(trim(r.out) == fixed);
  const auto second = db.run({"enqueue", "--aggregate-type", "order", "--aggregate-id", "43",
                              "--type", "OrderPlaced", "--payload", "{}"});
  REQUIRE(second.exit_code == 0);
  CHECK(message_id::try_parse(trim(second.out)).has_value());

  const auto doc = db.status();
  CHECK(std::string(doc["schema"].GetString()) == "main");
  CHECK(std::string(doc["backend"].GetString()) == "sqlite");
  CHECK(doc["partitions"].GetUint() == 1u);
  CHECK(doc["backlog"].GetInt64() == 2);
  CHECK(doc["dead_letters"].GetInt64() == 0);
  REQUIRE(doc["oldest_age_ms"].IsInt64());
  CHECK(doc["oldest_age_ms"].GetInt64() >= 0);
  CHECK(doc["live_owners"].GetArray().Size() == 0u);
  REQUIRE(doc["leases"].IsArray());
  CHECK(doc["leases"].GetArray().Size() == 1u);

  const auto text = db.run({"status"});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("backlog:       2") != std::string::npos);

  // The partition count belongs to the database.
  const auto other = db.run({"migrate", "--partitions", "4"});
  CHECK(other.exit_code == 1);
  CHECK(is_one_error_line(other.err));
}

TEST_CASE(
    "two relay processes on one SQLite file share its partitions, publish everything and "
    "keep per-key order",
    "[cli][sqlite][relay]") {
  sqlite_db db(4);
  const auto sent = write_messages(db, 12, 10);
  const std::vector<std::filesystem::path> files{db.dir.path() / "a.jsonl",
                                                 db.dir.path() / "b.jsonl"};
  child_process a(TXOUTBOX_CLI_PATH, db.relay("file:a.jsonl", "relay-a"), clean_env, db.dir.path(),
                  "relay-a", db.dir.path());
  child_process b(TXOUTBOX_CLI_PATH, db.relay("file:b.jsonl", "relay-b"), clean_env, db.dir.path(),
                  "relay-b", db.dir.path());
  REQUIRE(wait_started(a));
  REQUIRE(wait_started(b));
  const bool delivered = wait_until([&] { return check(files, sent).missing == 0; }, 30s);
  // Both relays hold leases once the rebalance settles (live owners: 2).
  const bool shared = wait_until(
      [&] {
        const auto doc = db.status();
        std::set<std::string> owners;
        for (const auto& l : doc["leases"].GetArray()) {
          if (l["live"].GetBool())
            owners.insert(l["owner"].GetString());
        }
        return owners.size() == 2;
      },
      20s);
  INFO(a.err() << b.err());
  REQUIRE(delivered);
  CHECK(shared);
  a.signal(SIGTERM);
  b.signal(SIGINT);
  CHECK(a.wait_for(15s) == std::optional<int>(0));
  CHECK(b.wait_for(15s) == std::optional<int>(0));
  const auto d = check(files, sent);
  CHECK(d.missing == 0);
  CHECK(d.unknown == 0);
  CHECK(d.order_breaks == 0);
  CHECK(d.lines >= sent.size());
  CHECK(db.status()["backlog"].GetInt64() == 0);
}

TEST_CASE("messages that fail their only attempt are listed, requeued and purged by dead",
          "[cli][sqlite][dead]") {
#ifndef TXOUTBOX_CLI_HTTP_SQLITE
  WARN("http publisher not built: test skipped");
  return;
#else
  sqlite_db db;
  const auto sent = write_messages(db, 3, 2);  // 6 messages
  // A webhook that refuses every message as unprocessable (422): each message's own
  // failure, so each goes straight to the dead letters. (A full disk would not do: that
  // is the destination's outage, `unavailable`, and the relay holds the messages.)
  http_test::test_http_server hook;
  hook.set_responder([](const http_test::recorded_request&) {
    http_test::scripted_response r;
    r.status = 422;
    return r;
  });
  {
    child_process relay(TXOUTBOX_CLI_PATH, db.relay(hook.url(), "failing", {"--max-attempts", "1"}),
                        clean_env, db.dir.path(), "failing", db.dir.path());
    REQUIRE(wait_started(relay));
    const bool all_dead =
        wait_until([&] { return db.status()["dead_letters"].GetInt64() == 6; }, 30s);
    INFO(relay.err());
    REQUIRE(all_dead);
    relay.signal(SIGTERM);
    REQUIRE(relay.wait_for(15s) == std::optional<int>(0));
    CHECK(relay.err().find("dead-lettered 6") != std::string::npos);
  }
  CHECK(db.status()["backlog"].GetInt64() == 0);

  const auto list = db.run({"dead", "list", "--json"});
  INFO(list.err);
  REQUIRE(list.exit_code == 0);
  rapidjson::Document doc;
  doc.Parse(list.out.c_str());
  REQUIRE(doc.IsArray());
  REQUIRE(doc.GetArray().Size() == 6u);
  std::vector<std::string> ids;
  for (const auto& d : doc.GetArray()) {
    ids.emplace_back(d["id"].GetString());
    CHECK(sent.contains(message_id::parse(ids.back())));
    CHECK(d["attempts"].GetInt() == 1);
    CHECK(std::string(d["reason"].GetString()).find("422") != std::string::npos);
    CHECK(d["payload"].IsObject());
  }
  const auto limited = db.run({"dead", "list", "--limit", "2"});
  REQUIRE(limited.exit_code == 0);
  CHECK(limited.out.find("2 dead letters") != std::string::npos);

  const auto requeue = db.run({"dead", "requeue", "--id", ids[0], "--id", ids[1]});
  INFO(requeue.err);
  REQUIRE(requeue.exit_code == 0);
  CHECK(trim(requeue.out) == "requeued 2 dead letters");
  CHECK(db.status()["backlog"].GetInt64() == 2);
  CHECK(db.status()["dead_letters"].GetInt64() == 4);

  const auto purge_one = db.run({"dead", "purge", "--id", ids[2], "--id", ids[0]});
  REQUIRE(purge_one.exit_code == 0);
  CHECK(trim(purge_one.out) == "purged 1 dead letter (1 of the given ids not found)");
  const auto purge_all = db.run({"dead", "purge", "--all"});
  REQUIRE(purge_all.exit_code == 0);
  CHECK(trim(purge_all.out) == "purged 3 dead letters");
  CHECK(db.status()["dead_letters"].GetInt64() == 0);

  // The requeued two are published by a working relay.
  child_process relay(TXOUTBOX_CLI_PATH, db.relay("file:out.jsonl", "working"), clean_env,
                      db.dir.path(), "working", db.dir.path());
  REQUIRE(wait_started(relay));
  const auto out = db.dir.path() / "out.jsonl";
  REQUIRE(wait_until([&] { return read_published(out).size() == 2; }, 20s));
  relay.signal(SIGTERM);
  CHECK(relay.wait_for(15s) == std::optional<int>(0));
  std::set<std::string> published;
  for (const auto& p : read_published(out))
    published.insert(p.id.to_string());
  CHECK(published == std::set<std::string>{ids[0], ids[1]});
#endif
}

TEST_CASE(
    "a kafka relay with an unreachable broker starts, retries in the background and stops "
    "cleanly",
    "[cli][sqlite][kafka]") {
#ifndef TXOUTBOX_CLI_TEST_KAFKA
  WARN("kafka publisher not built: test skipped");
  return;
#else
  sqlite_db db;
  write_messages(db, 2, 2);
  // Port 1 on loopback: nothing listens. librdkafka connects in the background, so this is
  // not a start error (exit 4): the relay runs and reports retries until the broker is up.
  child_process relay(TXOUTBOX_CLI_PATH,
                      db.relay("kafka://127.0.0.1:1", "kafka-relay",
                               {"--publisher-opt", "delivery-timeout-ms=500", "--backoff-ms", "100",
                                "--stop-timeout-ms", "5000"}),
                      clean_env, db.dir.path(), "kafka", db.dir.path());
  REQUIRE(wait_started(relay));
  CHECK(relay.running());
  relay.signal(SIGTERM);
  const auto code = relay.wait_for(20s);
  INFO(relay.err());
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  // Nothing was acknowledged by a broker: every message is still in the outbox.
  CHECK(db.status()["backlog"].GetInt64() == 4);
#endif
}
