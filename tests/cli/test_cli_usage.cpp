// Usage errors and start-up failures of the txoutbox command: exit codes and one clean line.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "cli_test_support.hpp"
#include "txoutbox/testing/servers.hpp"

using namespace txoutbox::testing;
using namespace txoutbox::testing::cli;

namespace {

/// The environment of every run here: no ambient database URL or password.
const std::map<std::string, std::optional<std::string>> clean_env{
    {"TXOUTBOX_DB_URL", std::nullopt},
    {"PGPASSWORD", std::nullopt},
    {"TXOUTBOX_DB_PASSWORD", std::nullopt}};

/// A TCP port on 127.0.0.1 with nothing listening (bound, then released).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

void require_error(const run_result& r, int code, const std::string& needle) {
  INFO("stderr: " << r.err);
  INFO("stdout: " << r.out);
  REQUIRE(r.exit_code == code);
  CHECK(is_one_error_line(r.err));
  CHECK(r.err.find(needle) != std::string::npos);
  CHECK(r.out.empty());
}

}  // namespace

TEST_CASE("an unknown command, a bad flag or a missing --db exits 2 with one line naming it",
          "[cli][usage]") {
  require_error(run_cli({}, clean_env), 2, "missing command");
  require_error(run_cli({"frobnicate"}, clean_env), 2, "'frobnicate'");
  require_error(run_cli({"status", "--bogus"}, clean_env), 2, "bogus");
  require_error(run_cli({"status"}, clean_env), 2, "--db is required");
  require_error(run_cli({"status", "--db", "postgresql://127.0.0.1:1/x", "extra"}, clean_env), 2,
                "extra");
  require_error(run_cli({"relay", "--db", "postgresql://127.0.0.1:1/x", "--publisher", "stdout",
                         "--batch", "abc"},
                        clean_env),
                2, "batch");
  require_error(run_cli({"relay", "--db", "postgresql://127.0.0.1:1/x", "--publisher", "stdout",
                         "--threads", "0"},
                        clean_env),
                2, "--threads");
  require_error(
      run_cli({"migrate", "--db", "postgresql://127.0.0.1:1/x", "--schema", "bad-name"}, clean_env),
      2, "schema");
}

TEST_CASE("a malformed database URL of any backend exits 2 without printing its password",
          "[cli][usage]") {
  require_error(
      run_cli({"status", "--db", "postgresql://u:hunter22@127.0.0.1:notaport/db"}, clean_env), 2,
      "malformed --db URL");
  require_error(
      run_cli({"status", "--db", "postgresql://u:hunter22@127.0.0.1:5432/db?bogus_param=1"},
              clean_env),
      2, "malformed --db URL");
  require_error(run_cli({"status", "--db", "sqlite::memory:"}, clean_env), 2, "malformed --db URL");
  require_error(run_cli({"status", "--db", "sqlite:"}, clean_env), 2, "malformed --db URL");
  require_error(run_cli({"status", "--db", "mysql://u:hunter22@127.0.0.1:notaport/db"}, clean_env),
                2, "malformed --db URL");
  require_error(run_cli({"status", "--db", "mysql://u:hunter22@127.0.0.1:3306"}, clean_env), 2,
                "malformed --db URL");
  require_error(run_cli({"status", "--db", "http://u:hunter22@example/"}, clean_env), 2,
                "expected postgresql://");
  for (const auto& url :
       {"postgresql://u:hunter22@127.0.0.1:notaport/db", "mysql://u:hunter22@127.0.0.1:notaport/db",
        "mysql://u:hunter22@127.0.0.1:3306", "http://u:hunter22@example/"}) {
    const auto r = run_cli({"status", "--db", url}, clean_env);
    INFO(r.err);
    CHECK(r.err.find("hunter22") == std::string::npos);
  }
}

TEST_CASE("an unreachable MariaDB exits 3 and its password, from any source, is never printed",
          "[cli][database][mysql]") {
  const std::string port = std::to_string(free_port());
  const auto check = [](const run_result& r, const std::string& secret) {
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 3);
    CHECK(is_one_error_line(r.err));
    CHECK(r.err.find(secret) == std::string::npos);
    CHECK(r.out.find(secret) == std::string::npos);
  };
  check(
      run_cli({"status", "--db", "mysql://someone:s3cretPW@127.0.0.1:" + port + "/db"}, clean_env),
      "s3cretPW");
  auto env = clean_env;
  env["TXOUTBOX_DB_PASSWORD"] = "envSecret77";
  for (const auto& cmd :
       std::vector<std::vector<std::string>>{{"status"},
                                             {"migrate"},
                                             {"dead", "list"},
                                             {"enqueue", "--aggregate-type", "o", "--aggregate-id",
                                              "1", "--type", "T", "--payload", "{}"},
                                             {"relay", "--publisher", "stdout"}}) {
    auto args = cmd;
    args.insert(args.end(), {"--db", "mysql://someone@127.0.0.1:" + port + "/db"});
    const auto r = run_cli(args, env);
    INFO(cmd.front());
    check(r, "envSecret77");
  }
  temp_dir dir;
  const auto password_file = dir.path() / "pw";
  std::ofstream(password_file) << "fileSecret99\n";
  check(run_cli({"status", "--db", "mysql://someone@127.0.0.1:" + port + "/db",
                 "--db-password-file", password_file.string()},
                clean_env),
        "fileSecret99");
}

TEST_CASE("a missing or unmigrated SQLite file exits 3 for every command but migrate",
          "[cli][database][sqlite]") {
  temp_dir dir;
  const auto commands = std::vector<std::vector<std::string>>{
      {"status"},
      {"dead", "list"},
      {"dead", "purge", "--all"},
      {"enqueue", "--aggregate-type", "o", "--aggregate-id", "1", "--type", "T", "--payload", "{}"},
      {"relay", "--publisher", "stdout"}};
  for (const char* db : {"sqlite:missing.db", "sqlite:empty.db"}) {
    for (const auto& cmd : commands) {
      auto args = cmd;
      args.insert(args.end(), {"--db", db});
      const auto r = run_cli_in(dir.path(), args, clean_env);
      INFO(db << " " << cmd.front() << ": " << r.err);
      CHECK(r.exit_code == 3);
      CHECK(is_one_error_line(r.err));
    }
    // After the missing-file round, an empty (unmigrated) SQLite database.
    std::ofstream(dir.path() / "empty.db");
  }
  CHECK_FALSE(std::filesystem::exists(dir.path() / "missing.db"));
  // migrate cannot create a file in a directory that does not exist.
  const auto r = run_cli_in(dir.path(), {"migrate", "--db", "sqlite:nodir/x.db"}, clean_env);
  require_error(r, 3, "nodir/x.db");
}

TEST_CASE("an unknown publisher scheme exits 2 before the database is touched", "[cli][usage]") {
  // Port 1: nothing listens, so reaching the database would give exit 3, not 2.
  require_error(run_cli({"relay", "--db", "postgresql://127.0.0.1:1/x", "--publisher",
                         "carrier-pigeon://loft"},
                        clean_env),
                2, "unknown publisher scheme 'carrier-pigeon'");
  require_error(run_cli({"relay", "--db", "postgresql://127.0.0.1:1/x"}, clean_env), 2,
                "--publisher is required");
  require_error(run_cli({"relay", "--db", "postgresql://127.0.0.1:1/x", "--publisher", "stdout",
                         "--publisher-opt", "colour=blue"},
                        clean_env),
                2, "colour");
  require_error(
      run_cli({"relay", "--db", "postgresql://127.0.0.1:1/x", "--publisher", "mqtt://broker"},
              clean_env),
      2, "unknown publisher scheme 'mqtt'");
}

TEST_CASE(
    "every broker publisher names an unknown --publisher-opt key with exit 2, before the "
    "database is touched",
    "[cli][usage][publisher]") {
  // Each scheme is either built in (its factory names the key) or refused as not built.
  for (const std::string uri :
       {"kafka://127.0.0.1:9092", "redis://127.0.0.1:6379", "nats://127.0.0.1:4222",
        "http://127.0.0.1:8080/hook", "https://127.0.0.1:8443/hook"}) {
    const auto r = run_cli({"relay", "--db", "postgresql://127.0.0.1:1/x", "--publisher", uri,
                            "--publisher-opt", "colour=blue"},
                           clean_env);
    INFO(uri << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(is_one_error_line(r.err));
    const bool named = r.err.find("colour") != std::string::npos;
    const bool not_built = r.err.find("is not built into this txoutbox") != std::string::npos;
    CHECK((named || not_built));
  }
  // Secrets are refused in the URI itself: they belong in *-env / *-file options.
  for (const std::string uri :
       {"redis://:pw1234@127.0.0.1:6379", "nats://u:pw1234@127.0.0.1:4222"}) {
    const auto r =
        run_cli({"relay", "--db", "postgresql://127.0.0.1:1/x", "--publisher", uri}, clean_env);
    INFO(uri << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("pw1234") == std::string::npos);
  }
  // A bad value of a known key is a usage error too.
  require_error(run_cli({"relay", "--db", "postgresql://127.0.0.1:1/x", "--publisher",
                         "redis://127.0.0.1:6379", "--publisher-opt", "maxlen=lots"},
                        clean_env),
                2, "maxlen");
}

TEST_CASE("dead needs an action and requeue/purge need --id or --all", "[cli][usage][dead]") {
  require_error(run_cli({"dead", "--db", "sqlite:x.db"}, clean_env), 2, "unknown action");
  require_error(run_cli({"dead"}, clean_env), 2, "missing action");
  require_error(run_cli({"dead", "revive", "--db", "sqlite:x.db"}, clean_env), 2, "'revive'");
  require_error(run_cli({"dead", "requeue", "--db", "sqlite:x.db"}, clean_env), 2, "--all");
  require_error(run_cli({"dead", "purge", "--db", "sqlite:x.db"}, clean_env), 2, "--all");
  require_error(run_cli({"dead", "purge", "--db", "sqlite:x.db", "--id", "nope"}, clean_env), 2,
                "--id");
  require_error(run_cli({"dead", "purge", "--db", "sqlite:x.db", "--all", "--id",
                         "0190a8f2-7c3e-7abc-8def-0123456789ab"},
                        clean_env),
                2, "not both");
  require_error(run_cli({"dead", "list", "--db", "sqlite:x.db", "--limit", "0"}, clean_env), 2,
                "--limit");
  require_error(run_cli({"dead", "list", "--db", "sqlite:x.db", "--all"}, clean_env), 2, "all");
}

TEST_CASE("an invalid message exits 2 naming the field, before connecting", "[cli][usage]") {
  const std::vector<std::string> base{"enqueue",
                                      "--db",
                                      "postgresql://127.0.0.1:1/x",
                                      "--aggregate-type",
                                      "order",
                                      "--aggregate-id",
                                      "42",
                                      "--type",
                                      "OrderPlaced"};
  auto with = [&](std::vector<std::string> more) {
    auto args = base;
    args.insert(args.end(), more.begin(), more.end());
    return run_cli(args, clean_env);
  };
  require_error(with({"--payload", "{not json"}), 2, "payload");
  require_error(with({"--payload", "{}", "--id", "not-a-uuid"}), 2, "--id");
  require_error(with({"--payload", "{}", "--header", "bad name=x"}), 2, "header");
  require_error(with({"--payload", "{}", "--header", "novalue"}), 2, "--header");
  require_error(with({}), 2, "--payload is required");
}

TEST_CASE("a routing field with CR LF exits 2 naming the field, before connecting",
          "[cli][usage][injection]") {
  auto enqueue = [](const std::string& field, const std::string& value) {
    std::vector<std::string> args{"enqueue",
                                  "--db",
                                  "postgresql://127.0.0.1:1/x",
                                  "--aggregate-type",
                                  "order",
                                  "--aggregate-id",
                                  "42",
                                  "--type",
                                  "OrderPlaced",
                                  "--payload",
                                  "{}"};
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == field)
        args[i + 1] = value;
    }
    return run_cli(args, clean_env);
  };
  require_error(enqueue("--aggregate-id", "o1\r\nX-Injected: 1"), 2, "aggregate_id");
  require_error(enqueue("--aggregate-type", "order\n"), 2, "aggregate_type");
  require_error(enqueue("--type", "Order\x1bPlaced"), 2, "type");
}

TEST_CASE("an unreachable database exits 3 and no password reaches the output", "[cli][database]") {
  const std::string url =
      "postgresql://someone:s3cretPW@127.0.0.1:" + std::to_string(free_port()) + "/nowhere";
  const auto check = [](const run_result& r) {
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 3);
    CHECK(is_one_error_line(r.err));
    CHECK(r.err.find("s3cretPW") == std::string::npos);
    CHECK(r.out.find("s3cretPW") == std::string::npos);
    CHECK(r.err.find("someone:***@127.0.0.1") != std::string::npos);
  };
  check(run_cli({"status", "--db", url}, clean_env));
  check(run_cli({"migrate", "--db", url}, clean_env));
  check(run_cli({"enqueue", "--db", url, "--aggregate-type", "o", "--aggregate-id", "1", "--type",
                 "T", "--payload", "{}"},
                clean_env));
  check(run_cli({"relay", "--db", url, "--publisher", "stdout"}, clean_env));

  // The URL can also come from the environment, and a password from a file.
  temp_dir dir;
  const auto password_file = dir.path() / "pw";
  std::ofstream(password_file) << "fileSecret99\n";
  auto env = clean_env;
  env["TXOUTBOX_DB_URL"] =
      "postgresql://someone@127.0.0.1:" + std::to_string(free_port()) + "/nowhere";
  const auto r = run_cli({"status", "--db-password-file", password_file.string()}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 3);
  CHECK(r.err.find("fileSecret99") == std::string::npos);
}

TEST_CASE("a schema that was never migrated exits 3 for every command", "[cli][database]") {
  TXOUTBOX_CLI_REQUIRE_PG();
  const std::string url = pg_url();
  const std::string schema = unique_name("cli_none");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"status", "--db", url, "--schema", schema},
           {"enqueue", "--db", url, "--schema", schema, "--aggregate-type", "o", "--aggregate-id",
            "1", "--type", "T", "--payload", "{}"},
           {"relay", "--db", url, "--schema", schema, "--publisher", "stdout"}}) {
    const auto r = run_cli(args, clean_env);
    INFO(args.front() << ": " << r.err);
    CHECK(r.exit_code == 3);
    CHECK(is_one_error_line(r.err));
  }
}

TEST_CASE("a file publisher that cannot open its file exits 4", "[cli][publisher]") {
  TXOUTBOX_CLI_REQUIRE_PG();
  cli_schema s;
  temp_dir dir;
  const auto r = run_cli(
      s.args({"relay", "--publisher", "file:" + (dir.path() / "missing" / "out.jsonl").string()}),
      clean_env);
  require_error(r, 4, "missing");
}

TEST_CASE("every command answers --help on stdout with exit 0", "[cli][usage]") {
  for (const auto& cmd : std::vector<std::vector<std::string>>{{"migrate", "--help"},
                                                               {"enqueue", "--help"},
                                                               {"relay", "--help"},
                                                               {"status", "--help"},
                                                               {"dead", "--help"},
                                                               {"dead", "list", "--help"},
                                                               {"dead", "requeue", "--help"},
                                                               {"dead", "purge", "--help"}}) {
    const auto r = run_cli(cmd, clean_env);
    INFO(cmd.front() << " " << cmd[1] << ": " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("--db") != std::string::npos);
    CHECK(r.err.empty());
  }
  const auto top = run_cli({"--help"}, clean_env);
  CHECK(top.exit_code == 0);
  CHECK(top.out.find("relay") != std::string::npos);
  CHECK(top.out.find("dead") != std::string::npos);
}

TEST_CASE("relay --help and an unknown scheme list the publishers this build registered",
          "[cli][usage][publisher]") {
  const auto help = run_cli({"relay", "--help"}, clean_env);
  const auto unknown = run_cli(
      {"relay", "--db", "postgresql://127.0.0.1:1/x", "--publisher", "mqtt://broker"}, clean_env);
  INFO("help: " << help.out);
  INFO("error: " << unknown.err);
  const auto both_have = [&](const std::string& shape) {
    return help.out.find(shape) != std::string::npos &&
           unknown.err.find(shape) != std::string::npos;
  };
  CHECK(both_have("file:PATH, stdout"));
#ifdef TXOUTBOX_CLI_TEST_KAFKA
  CHECK(both_have("kafka://"));
#endif
#ifdef TXOUTBOX_CLI_TEST_REDIS
  CHECK(both_have("redis://"));
#endif
#ifdef TXOUTBOX_CLI_TEST_NATS
  CHECK(both_have("nats://"));
#endif
#ifdef TXOUTBOX_CLI_HTTP_SQLITE
  CHECK(both_have("http(s)://"));
#endif
  CHECK_FALSE(both_have("mqtt://"));
}
