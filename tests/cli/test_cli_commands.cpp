// The txoutbox command's happy paths: migrate, enqueue, status and a relay process.
#include <rapidjson/document.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>

#include "cli_test_support.hpp"
#include "txoutbox/envelope.hpp"
#include "txoutbox/testing/wait.hpp"

using namespace txoutbox;
using namespace txoutbox::testing;
using namespace txoutbox::testing::cli;
using namespace std::chrono_literals;

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
    s.pop_back();
  return s;
}

/// Runs `status --json` and parses it; REQUIREs a clean run and a JSON object.
rapidjson::Document status_json(const cli_schema& s) {
  const auto r = run_cli(s.args({"status", "--json"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(r.out.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

}  // namespace

TEST_CASE("migrate twice is idempotent, enqueue prints ids and status --json shows the backlog",
          "[cli][migrate][status]") {
  TXOUTBOX_CLI_REQUIRE_PG();
  cli_schema s(4);
  CHECK(s.migrate_result.out.find("migrated") != std::string::npos);

  const auto again = run_cli(s.args({"migrate", "--partitions", "4"}));
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(again.out.find("up to date") != std::string::npos);

  std::set<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    const auto r = run_cli(s.args(
        {"enqueue", "--aggregate-type", "order", "--aggregate-id", "k" + std::to_string(i),
         "--type", "OrderPlaced", "--payload", R"({"n":)" + std::to_string(i) + "}", "--header",
         "traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto id = trim(r.out);
    CHECK(message_id::try_parse(id).has_value());
    ids.insert(id);
  }
  CHECK(ids.size() == 3);
  const std::string fixed = "0190a8f2-7c3e-7abc-8def-0123456789ab";
  const auto given = run_cli(
      s.args({"enqueue", "--aggregate-type", "order", "--aggregate-id", "k9", "--type",
              "OrderPlaced", "--payload", "{}", "--id", fixed, "--deliver-after-ms", "600000"}));
  INFO(given.err);
  REQUIRE(given.exit_code == 0);
  CHECK(trim(given.out) == fixed);

  const auto doc = status_json(s);
  CHECK(std::string(doc["schema"].GetString()) == s.schema);
  CHECK(doc["partitions"].GetUint() == 4u);
  CHECK(doc["backlog"].GetInt64() == 4);
  CHECK(doc["dead_letters"].GetInt64() == 0);
  REQUIRE(doc["oldest_age_ms"].IsInt64());
  CHECK(doc["oldest_age_ms"].GetInt64() >= 0);
  CHECK(doc["live_owners"].IsArray());
  CHECK(doc["leases"].IsArray());

  const auto text = run_cli(s.args({"status"}));
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("backlog:       4") != std::string::npos);

  // A different partition count is a configuration mismatch, not a silent success.
  const auto other = run_cli(s.args({"migrate", "--partitions", "8"}));
  CHECK(other.exit_code != 0);
  CHECK(is_one_error_line(other.err));
}

TEST_CASE("a relay process publishes everything to its file and stops on SIGTERM with exit 0",
          "[cli][relay]") {
  TXOUTBOX_CLI_REQUIRE_PG();
  cli_schema s(4);
  temp_dir dir;
  workload w(s, 10, 0);
  for (int round = 0; round < 10; ++round)
    w.round(round, 5);
  const auto cli_id =
      run_cli(s.args({"enqueue", "--aggregate-type", "order", "--aggregate-id", "key-3", "--type",
                      "OrderShipped", "--payload", R"({"via":"cli"})"}));
  REQUIRE(cli_id.exit_code == 0);
  const auto extra = message_id::parse(trim(cli_id.out));
  w.committed.emplace(extra, sent_message{"key-3", 10});

  const auto file = dir.path() / "relay.jsonl";
  child_process relay(
      TXOUTBOX_CLI_PATH,
      relay_args(s, file, "solo", {"--poll-ms", "100", "--stop-timeout-ms", "5000"}), {},
      dir.path(), "relay");
  REQUIRE(wait_started(relay));
  CHECK(relay.err().find("started as solo") != std::string::npos);
  const bool all =
      wait_until([&] { return read_published(file).size() >= w.committed.size(); }, 20s);
  INFO(relay.err());
  REQUIRE(all);

  relay.signal(SIGTERM);
  const auto code = relay.wait_for(7s);  // stop budget 5 s plus process exit
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(relay.err().find("stopped") != std::string::npos);

  const auto report = check_delivery({file}, w);
  INFO(report.first_problem);
  CHECK(report.missing == 0);
  CHECK(report.unknown == 0);
  CHECK(report.order_breaks == 0);
  CHECK(report.lines == w.committed.size());
  CHECK(status_json(s)["backlog"].GetInt64() == 0);
}

TEST_CASE("relay reads its options from --config and flags override the file",
          "[cli][relay][config]") {
  TXOUTBOX_CLI_REQUIRE_PG();
  cli_schema s(2);
  temp_dir dir;
  const auto config = dir.path() / "relay.json";
  std::ofstream(config)
      << R"({"publisher": "file:)" << (dir.path() / "cfg.jsonl").string()
      << R"(", "batch": 7, "owner": "from-config", "lease_ms": 5000, "poll-ms": 100,
                              "publisher-opt": {"fsync": "false"}})";
  child_process relay(TXOUTBOX_CLI_PATH,
                      s.args({"relay", "--config", config.string(), "--owner", "from-flag"}), {},
                      dir.path(), "relay");
  REQUIRE(wait_started(relay));
  const auto err = relay.err();
  INFO(err);
  CHECK(err.find("started as from-flag") != std::string::npos);
  CHECK(err.find("batch 7,") != std::string::npos);
  CHECK(err.find("lease 5000 ms") != std::string::npos);
  relay.signal(SIGINT);
  const auto code = relay.wait_for(12s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);

  std::ofstream(config) << R"({"publisher": "stdout", "batchsize": 7})";
  const auto bad = run_cli(s.args({"relay", "--config", config.string()}));
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("batchsize") != std::string::npos);
}
