// Relay processes publishing to a local HTTP sink that fails and recovers, SIGKILLed mid-stream.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli_test_support.hpp"
#include "delivery_checker.hpp"
#include "test_http_server.hpp"
#include "txoutbox/testing/wait.hpp"
#ifdef TXOUTBOX_CLI_HTTP_SQLITE
#include <soci/session.h>
#include <soci/soci.h>

#include "txoutbox/soci/session.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/soci/writer.hpp"
#endif

using namespace txoutbox;
using namespace txoutbox::testing;
using namespace txoutbox::testing::cli;
using namespace std::chrono_literals;

namespace {

constexpr int keys = 20;
constexpr int batch = 20;
constexpr std::uint32_t partitions = 4;

const std::map<std::string, std::optional<std::string>> clean_env{
    {"TXOUTBOX_DB_URL", std::nullopt}, {"TXOUTBOX_DB_PASSWORD", std::nullopt}};

/// The webhook endpoint: answers 503 while failing, 200 otherwise. Remembers the ce-id of
/// every request it accepted (2xx), in arrival order, and how often each id was refused.
/// Responders run on the server's connection threads; readers take the same lock.
class webhook_sink {
 public:
  explicit webhook_sink(unsigned short port = 0) : server_(std::nullopt, port) {
    server_.set_responder([this](const http_test::recorded_request& req) {
      http_test::scripted_response resp;
      std::lock_guard lock(mutex_);
      if (failing_) {
        resp.status = 503;
        ++refused_[req.header("ce-id")];
        ++refused_total_;
      } else {
        accepted_.push_back(req.header("ce-id"));
        accepted_ids_.insert(accepted_.back());
      }
      return resp;
    });
  }

  std::string url() const { return server_.url("/hook"); }
  void set_failing(bool failing) {
    std::lock_guard lock(mutex_);
    failing_ = failing;
  }
  std::size_t accepted_count() const {
    std::lock_guard lock(mutex_);
    return accepted_.size();
  }
  std::vector<std::string> accepted() const {
    std::lock_guard lock(mutex_);
    return accepted_;
  }
  /// True when every id of `ids` was accepted at least once.
  bool accepted_all(const std::set<std::string>& ids) const {
    std::lock_guard lock(mutex_);
    for (const auto& id : ids) {
      if (!accepted_ids_.contains(id))
        return false;
    }
    return true;
  }
  std::size_t refused_total() const {
    std::lock_guard lock(mutex_);
    return refused_total_;
  }
  /// The most refusals any one message got (retries of the same message).
  std::size_t most_refusals() const {
    std::lock_guard lock(mutex_);
    std::size_t most = 0;
    for (const auto& [id, n] : refused_)
      most = std::max(most, n);
    return most;
  }

 private:
  mutable std::mutex mutex_;
  bool failing_ = false;
  std::vector<std::string> accepted_;
  std::set<std::string> accepted_ids_;
  std::map<std::string, std::size_t> refused_;
  std::size_t refused_total_ = 0;
  http_test::test_http_server server_;  // last: stopped (joined) before the state above goes
};

/// One backend under test: how to run a relay on it and how to write to it.
struct backend {
  /// The relay's arguments (subcommand, database and the given flags).
  std::function<std::vector<std::string>(std::vector<std::string> flags)> relay_args;
  /// Commits (or rolls back, every few transactions) one message for every key at
  /// position `round`, serialised per key (the test thread is the only writer).
  std::function<void(int round)> write_round;
  /// Committed ids with their key and position; ids of rolled-back transactions.
  std::function<const std::map<message_id, sent_message>&()> committed;
  std::function<const std::set<message_id>&()> rolled_back;
  std::filesystem::path cwd;  ///< the relays' working directory
  /// The highest `attempts` of any row in the outbox, and the dead-letter count.
  std::function<long()> max_attempts;
  std::function<long()> dead_letters;
};

std::set<std::string> committed_ids(const backend& b) {
  std::set<std::string> out;
  for (const auto& [id, sent] : b.committed())
    out.insert(id.to_string());
  return out;
}

/// The delivery check of a scenario: every committed message of `b` per key in write order
/// (position n), then every accepted request in arrival order; duplicates bounded by one
/// batch per partition.
txoutbox::testing::delivery_report check_sink_delivery(const backend& b,
                                                       const std::vector<std::string>& accepted) {
  std::map<std::string, std::map<int, std::string>> by_key;
  for (const auto& [id, sent] : b.committed())
    by_key[sent.key][sent.n] = id.to_string();
  delivery_checker checker;
  for (const auto& [key, ids] : by_key) {
    for (const auto& [n, id] : ids)
      checker.committed(id, key);
  }
  for (const auto& id : accepted)
    checker.delivered(id);
  return checker.check(static_cast<std::size_t>(batch) * partitions);
}

/// Phase 1: the sink answers 503 while a backlog builds and the relay keeps retrying.
/// Phase 2: the sink recovers; the relay is SIGKILLed as soon as it delivers from the
/// backlog, a second relay takes over while more is written. Then every committed message
/// must have reached the sink, per key first deliveries in write order, nothing rolled
/// back, and at most one batch per partition re-delivered for the one kill.
void run_scenario(const backend& b, const temp_dir& dir) {
  webhook_sink sink;
  sink.set_failing(true);
  const std::vector<std::string> flags{"--publisher",      sink.url(),
                                       "--batch",          std::to_string(batch),
                                       "--poll-ms",        "50",
                                       "--lease-ms",       "1000",
                                       "--backoff-ms",     "20",
                                       "--backoff-max-ms", "200",
                                       "--max-attempts",   "100000",
                                       "--threads",        "2",
                                       "--publisher-opt",  "timeout-ms=500"};
  const auto with_owner = [&](const std::string& owner) {
    auto f = flags;
    f.insert(f.end(), {"--owner", owner});
    return b.relay_args(f);
  };

  int round = 0;
  for (; round < 5; ++round)
    b.write_round(round);
  child_process a(TXOUTBOX_CLI_PATH, with_owner("relay-a"), clean_env, dir.path(), "relay-a",
                  b.cwd);
  REQUIRE(wait_started(a));

  // Everything is refused for a while: the same messages come back again and again.
  const bool retried = wait_until([&] { return sink.most_refusals() >= 5; }, 20s);
  {
    INFO(a.err());
    REQUIRE(retried);
    REQUIRE(a.running());
  }
  CHECK(sink.accepted_count() == 0);
  for (; round < 50; ++round)  // a backlog builds up behind the outage
    b.write_round(round);
  REQUIRE(a.running());

  sink.set_failing(false);
  const auto total_before_kill = committed_ids(b).size();
  const bool delivering = wait_until([&] { return sink.accepted_count() >= 50; }, 20s);
  a.signal(SIGKILL);
  const auto accepted_at_kill = sink.accepted_count();
  {
    INFO(a.err());
    REQUIRE(delivering);
  }
  REQUIRE(a.wait_for(5s) == std::optional<int>(128 + SIGKILL));
  // Mid-stream: much of the backlog was still undelivered when the relay died.
  REQUIRE(accepted_at_kill < total_before_kill);

  child_process c(TXOUTBOX_CLI_PATH, with_owner("relay-c"), clean_env, dir.path(), "relay-c",
                  b.cwd);
  REQUIRE(wait_started(c));
  for (; round < 60; ++round)
    b.write_round(round);

  const auto expected = committed_ids(b);
  const bool delivered = wait_until([&] { return sink.accepted_all(expected); }, 30s);
  c.signal(SIGTERM);
  const auto code = c.wait_for(15s);

  const auto accepted = sink.accepted();
  const auto report = check_sink_delivery(b, accepted);
  std::size_t rolled_back_delivered = 0;
  for (const auto& id : b.rolled_back())
    rolled_back_delivered += std::count(accepted.begin(), accepted.end(), id.to_string());

  INFO(report.describe());
  INFO("refused " << sink.refused_total() << " requests; " << accepted_at_kill << " of "
                  << total_before_kill << " accepted when relay-a was killed");
  INFO("relay-a:\n" << a.err() << "relay-c:\n" << c.err());
  REQUIRE(delivered);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(b.rolled_back().size() > 0);
  CHECK(rolled_back_delivered == 0);
  CHECK(report.missing == 0);
  CHECK(report.extra == 0);
  CHECK(report.order_violations == 0);
  CHECK(report.duplicates <= report.max_duplicates);
  CHECK(report.ok());
}

/// A webhook that refuses connections (nothing listens on its port) for 30 s, with relay
/// settings that dead-letter within a second of failures (3 attempts, 100 ms backoff), then
/// starts listening: nothing is dead-lettered, no row used an attempt, everything committed
/// arrives in per-key order, nothing rolled back does.
void run_refusing_scenario(const backend& b, const temp_dir& dir) {
  const auto port = http_test::unused_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  const auto args = b.relay_args({"--publisher", url, "--batch", std::to_string(batch), "--poll-ms",
                                  "50", "--max-attempts", "3", "--backoff-ms", "100", "--threads",
                                  "2", "--publisher-opt", "timeout-ms=500"});
  int round = 0;
  for (; round < 5; ++round)
    b.write_round(round);
  child_process relay(TXOUTBOX_CLI_PATH, args, clean_env, dir.path(), "relay", b.cwd);
  REQUIRE(wait_started(relay));
  const auto outage_end = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < outage_end && round < 10) {
    std::this_thread::sleep_for(3s);
    b.write_round(round++);  // a backlog builds up behind the outage
  }
  std::this_thread::sleep_until(outage_end);
  {
    INFO(relay.err());
    REQUIRE(relay.running());
    CHECK(b.dead_letters() == 0);
    CHECK(b.max_attempts() == 0);
    CHECK(relay.err().find("destination unavailable since") != std::string::npos);
  }

  webhook_sink sink(port);
  const auto expected = committed_ids(b);
  const bool delivered = wait_until([&] { return sink.accepted_all(expected); }, 60s);
  relay.signal(SIGTERM);
  const auto code = relay.wait_for(15s);

  const auto report = check_sink_delivery(b, sink.accepted());
  INFO(report.describe());
  INFO("relay:\n" << relay.err());
  REQUIRE(delivered);
  REQUIRE(code == std::optional<int>(0));
  CHECK(b.dead_letters() == 0);
  CHECK(report.missing == 0);
  CHECK(report.extra == 0);
  CHECK(report.order_violations == 0);
  CHECK(report.ok());
  CHECK(relay.err().find("destination back after") != std::string::npos);
}

}  // namespace

TEST_CASE(
    "relay processes on postgres deliver every committed message to a failing then recovering "
    "http sink across a SIGKILL",
    "[cli][http][relay][fault]") {
  TXOUTBOX_CLI_REQUIRE_PG();
  cli_schema s(partitions);
  temp_dir dir;
  workload w(s, keys, 5);
  backend b{
      .relay_args =
          [&](std::vector<std::string> flags) {
            flags.insert(flags.begin(), "relay");
            return s.args(flags);
          },
      .write_round = [&](int round) { w.round(round, 7); },
      .committed = [&]() -> const std::map<message_id, sent_message>& { return w.committed; },
      .rolled_back = [&]() -> const std::set<message_id>& { return w.rolled_back; },
      .cwd = dir.path(),
      .max_attempts = {},
      .dead_letters = {},
  };
  run_scenario(b, dir);
}

namespace {

long pg_count(const cli_schema& s, const std::string& sql) {
  pqxx::connection c(s.url);
  pqxx::nontransaction tx(c);
  return tx.exec1(sql)[0].as<long>();
}

}  // namespace

TEST_CASE(
    "a relay process on postgres rides out a webhook refusing connections for 30 s without "
    "dead-lettering or using attempts",
    "[cli][http][relay][outage]") {
  TXOUTBOX_CLI_REQUIRE_PG();
  cli_schema s(partitions);
  temp_dir dir;
  workload w(s, keys, 5);
  const std::string q = "\"" + s.schema + "\".";
  backend b{
      .relay_args =
          [&](std::vector<std::string> flags) {
            flags.insert(flags.begin(), "relay");
            return s.args(flags);
          },
      .write_round = [&](int round) { w.round(round, 7); },
      .committed = [&]() -> const std::map<message_id, sent_message>& { return w.committed; },
      .rolled_back = [&]() -> const std::set<message_id>& { return w.rolled_back; },
      .cwd = dir.path(),
      .max_attempts =
          [&] { return pg_count(s, "SELECT coalesce(max(attempts), 0) FROM " + q + "outbox"); },
      .dead_letters =
          [&] { return pg_count(s, "SELECT count(*) FROM " + q + "outbox_dead_letter"); },
  };
  run_refusing_scenario(b, dir);
}

#ifdef TXOUTBOX_CLI_HTTP_SQLITE
namespace {

/// The SQLite counterpart of cli::workload: one session on the file, the SOCI writer,
/// every `rollback_every`-th transaction rolled back.
struct sqlite_workload {
  sqlite_workload(const std::filesystem::path& db, int rollback_every_)
      : session(txoutbox::soci::open_session("sqlite:" + db.string())),
        rollback_every(rollback_every_) {}

  void round(int round, int per_tx) {
    for (int first = 0; first < keys; first += per_tx) {
      const bool rollback = ++transactions % rollback_every == 0;
      std::vector<std::pair<message_id, sent_message>> ids;
      txoutbox::soci::write_transaction tx(*session);
      for (int k = first; k < std::min(first + per_tx, keys); ++k) {
        message m;
        m.aggregate_type = "order";
        m.aggregate_id = "key-" + std::to_string(k);
        m.type = "OrderPlaced";
        m.payload = "{\"k\":" + std::to_string(k) + ",\"n\":" + std::to_string(round) + "}";
        ids.emplace_back(writer.enqueue(*session, m), sent_message{m.aggregate_id, round});
      }
      if (rollback) {
        tx.rollback();
        for (auto& [id, sent] : ids)
          rolled_back.insert(id);
      } else {
        tx.commit();
        for (auto& [id, sent] : ids)
          committed.emplace(id, sent);
      }
    }
  }

  std::unique_ptr<::soci::session> session;
  const txoutbox::soci::writer writer{};
  int rollback_every;
  int transactions = 0;
  std::map<message_id, sent_message> committed;
  std::set<message_id> rolled_back;
};

}  // namespace

TEST_CASE(
    "relay processes on a SQLite file deliver every committed message to a failing then "
    "recovering http sink across a SIGKILL",
    "[cli][http][sqlite][relay][fault]") {
  temp_dir dir;
  const auto migrated = run_cli_in(
      dir.path(),
      {"migrate", "--db", "sqlite:orders.db", "--partitions", std::to_string(partitions)},
      clean_env);
  INFO(migrated.err);
  REQUIRE(migrated.exit_code == 0);
  sqlite_workload w(dir.path() / "orders.db", 5);
  backend b{
      .relay_args =
          [&](std::vector<std::string> flags) {
            flags.insert(flags.begin(), {"relay", "--db", "sqlite:orders.db"});
            return flags;
          },
      .write_round = [&](int round) { w.round(round, 7); },
      .committed = [&]() -> const std::map<message_id, sent_message>& { return w.committed; },
      .rolled_back = [&]() -> const std::set<message_id>& { return w.rolled_back; },
      .cwd = dir.path(),
      .max_attempts = {},
      .dead_letters = {},
  };
  run_scenario(b, dir);
}

TEST_CASE(
    "a relay process on a SQLite file rides out a webhook refusing connections for 30 s "
    "without dead-lettering or using attempts",
    "[cli][http][sqlite][relay][outage]") {
  temp_dir dir;
  const auto migrated = run_cli_in(
      dir.path(),
      {"migrate", "--db", "sqlite:orders.db", "--partitions", std::to_string(partitions)},
      clean_env);
  INFO(migrated.err);
  REQUIRE(migrated.exit_code == 0);
  sqlite_workload w(dir.path() / "orders.db", 5);
  const auto count = [&](const std::string& sql) {
    int n = 0;
    *w.session << sql, ::soci::into(n);
    return static_cast<long>(n);
  };
  backend b{
      .relay_args =
          [&](std::vector<std::string> flags) {
            flags.insert(flags.begin(), {"relay", "--db", "sqlite:orders.db"});
            return flags;
          },
      .write_round = [&](int round) { w.round(round, 7); },
      .committed = [&]() -> const std::map<message_id, sent_message>& { return w.committed; },
      .rolled_back = [&]() -> const std::set<message_id>& { return w.rolled_back; },
      .cwd = dir.path(),
      .max_attempts = [&] { return count("SELECT coalesce(max(attempts), 0) FROM outbox"); },
      .dead_letters = [&] { return count("SELECT count(*) FROM outbox_dead_letter"); },
  };
  run_refusing_scenario(b, dir);
}
#endif
