// Two live relay processes with one --owner: the second refuses to run, a restart after a
// SIGKILL starts at once (the owner lock dies with the process), on SQLite and PostgreSQL.
#include <signal.h>

#include <catch2/catch.hpp>
#include <map>

#include "cli_test_support.hpp"

using namespace txoutbox::testing;
using namespace txoutbox::testing::cli;
using namespace std::chrono_literals;

namespace {

const std::map<std::string, std::optional<std::string>> clean_env{
    {"TXOUTBOX_DB_URL", std::nullopt}, {"TXOUTBOX_DB_PASSWORD", std::nullopt}};

/// Starts `args` as the first relay, runs the same owner again and checks the refusal,
/// then SIGKILLs the first and checks that a third starts and stops cleanly.
void second_relay_with_the_owner_refuses_and_a_restart_starts(
    const std::vector<std::string>& first_args, const std::vector<std::string>& second_args,
    const std::filesystem::path& cwd, const std::filesystem::path& logs) {
  child_process first(TXOUTBOX_CLI_PATH, first_args, clean_env, logs, "first", cwd);
  INFO(first.err());
  REQUIRE(wait_started(first));

  const auto second = run_cli_in(cwd, second_args, clean_env);
  INFO(second.err);
  CHECK(second.exit_code == 2);
  CHECK(second.err.find("already running") != std::string::npos);
  CHECK(is_one_error_line(second.err));
  REQUIRE(first.running());

  first.signal(SIGKILL);
  REQUIRE(first.wait_for(10s).has_value());
  child_process third(TXOUTBOX_CLI_PATH, second_args, clean_env, logs, "third", cwd);
  INFO(third.err());
  REQUIRE(wait_started(third));
  third.signal(SIGTERM);
  REQUIRE(third.wait_for(20s) == std::optional<int>(0));
}

}  // namespace

TEST_CASE(
    "a second sqlite relay with a live relay's owner exits 2 and a restart after SIGKILL "
    "starts",
    "[cli][relay][owner]") {
  temp_dir dir;
  const auto migrated = run_cli_in(dir.path(), {"migrate", "--db", "sqlite:orders.db"}, clean_env);
  INFO(migrated.err);
  REQUIRE(migrated.exit_code == 0);
  auto relay = [](const std::string& file) {
    return std::vector<std::string>{"relay",       "--db",         "sqlite:orders.db",
                                    "--publisher", "file:" + file, "--owner",
                                    "same",        "--poll-ms",    "50"};
  };
  temp_dir logs;
  second_relay_with_the_owner_refuses_and_a_restart_starts(relay("a.jsonl"), relay("b.jsonl"),
                                                           dir.path(), logs.path());
}

TEST_CASE(
    "a second postgres relay with a live relay's owner exits 2 and a restart after SIGKILL "
    "starts",
    "[cli][relay][owner]") {
  TXOUTBOX_CLI_REQUIRE_PG();
  cli_schema s(2);
  temp_dir dir;
  second_relay_with_the_owner_refuses_and_a_restart_starts(
      relay_args(s, dir.path() / "a.jsonl", "same"), relay_args(s, dir.path() / "b.jsonl", "same"),
      dir.path(), dir.path());
}
