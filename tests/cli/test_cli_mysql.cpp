// The txoutbox command on MariaDB (the `mysql` fixture): migrate, enqueue, status, relay, dead.
#include <rapidjson/document.h>
#include <signal.h>
#include <soci/session.h>

#include <catch2/catch.hpp>

#include "cli_test_support.hpp"
#include "txoutbox/soci/session.hpp"
#include "txoutbox/testing/servers.hpp"
#include "txoutbox/testing/wait.hpp"

using namespace txoutbox;
using namespace txoutbox::testing;
using namespace txoutbox::testing::cli;
using namespace std::chrono_literals;

TEST_CASE("on MariaDB migrate creates the schema, enqueue and status work and a relay publishes",
          "[cli][mysql]") {
  const auto server = server_url("mysql", "TXOUTBOX_TEST_MYSQL_URL");
  if (!server) {
    if (running_under_ci())
      FAIL("no MariaDB server: the mysql fixture did not start (CI=true)");
    WARN("no MariaDB server configured (TXOUTBOX_TEST_MYSQL_URL): test skipped");
    return;
  }
  const std::string url = *server;
  const std::string schema = unique_name("cli");
  const std::map<std::string, std::optional<std::string>> env{{"TXOUTBOX_DB_URL", url}};
  struct drop_database {
    std::string url, schema;
    ~drop_database() {
      try {
        auto s = txoutbox::soci::open_session(url);
        *s << "DROP DATABASE IF EXISTS `" + schema + "`";
      } catch (...) {
        // Best effort: the name is unique and harms no other test.
      }
    }
  } cleanup{url, schema};

  auto r = run_cli({"migrate", "--schema", schema, "--partitions", "4"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("schema " + schema + " migrated") != std::string::npos);
  r = run_cli({"migrate", "--schema", schema, "--partitions", "4"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("up to date") != std::string::npos);

  for (int i = 0; i < 10; ++i) {
    r = run_cli({"enqueue", "--schema", schema, "--aggregate-type", "order", "--aggregate-id",
                 "k" + std::to_string(i % 3), "--type", "OrderPlaced", "--payload",
                 "{\"n\":" + std::to_string(i) + "}"},
                env);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  r = run_cli({"status", "--schema", schema, "--json"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  REQUIRE(doc.IsObject());
  CHECK(std::string(doc["backend"].GetString()) == "mysql");
  CHECK(doc["partitions"].GetUint() == 4u);
  CHECK(doc["backlog"].GetInt64() == 10);

  temp_dir dir;
  const auto file = dir.path() / "out.jsonl";
  child_process relay(
      TXOUTBOX_CLI_PATH,
      {"relay", "--schema", schema, "--publisher", "file:" + file.string(), "--poll-ms", "50"}, env,
      dir.path(), "relay");
  REQUIRE(wait_started(relay));
  const bool all = wait_until([&] { return read_published(file).size() >= 10; }, 30s);
  INFO(relay.err());
  REQUIRE(all);
  relay.signal(SIGTERM);
  REQUIRE(relay.wait_for(15s) == std::optional<int>(0));

  r = run_cli({"dead", "list", "--schema", schema}, env);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("0 dead letters") != std::string::npos);
  r = run_cli({"status", "--schema", schema}, env);
  CHECK(r.out.find("backlog:       0") != std::string::npos);

  // A database that was never migrated is exit 3.
  r = run_cli({"status", "--schema", unique_name("cli_none")}, env);
  CHECK(r.exit_code == 3);
  CHECK(is_one_error_line(r.err));
}
