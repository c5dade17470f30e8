// Runs every example command of docs/cli.md against a fresh SQLite file, so the docs cannot rot.
#include <rapidjson/document.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <variant>

#include "cli_test_support.hpp"
#include "txoutbox/testing/wait.hpp"

using namespace txoutbox::testing;
using namespace txoutbox::testing::cli;
using namespace std::chrono_literals;

namespace {

/// One `$ txoutbox ...` line of a ```sh block (continuations joined), and its documented
/// exit code (a trailing `# exit N` comment; 0 without one).
struct example {
  std::string command;
  int exit_code = 0;
  std::size_t line = 0;  ///< in docs/cli.md, for failure messages
};

/// A file the docs show in a block preceded by `<!-- file: NAME -->`, written before the
/// commands that follow it run.
struct doc_file {
  std::string name;
  std::string text;
};

using step = std::variant<example, doc_file>;

std::vector<step> parse_docs(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::vector<step> steps;
  std::string line, fence, pending_file, text;
  std::size_t number = 0;
  std::optional<example> open;
  while (std::getline(in, line)) {
    ++number;
    if (fence.empty()) {
      std::smatch m;
      if (std::regex_match(line, m, std::regex(R"(<!-- file: (\S+) -->)"))) {
        pending_file = m[1];
      } else if (line.starts_with("```")) {
        fence = line.substr(3);
        if (fence.empty())
          fence = "text";
        text.clear();
      } else if (!line.empty()) {
        pending_file.clear();
      }
      continue;
    }
    if (line.starts_with("```")) {
      if (!pending_file.empty())
        steps.emplace_back(doc_file{pending_file, text});
      pending_file.clear();
      fence.clear();
      continue;
    }
    text += line + "\n";
    if (fence != "sh")
      continue;
    if (open) {
      open->command += " " + line;
    } else if (line.starts_with("$ txoutbox ")) {
      open = example{line.substr(2), 0, number};
    } else {
      continue;
    }
    auto& cmd = open->command;
    while (!cmd.empty() && cmd.back() == ' ')
      cmd.pop_back();
    if (!cmd.empty() && cmd.back() == '\\') {
      cmd.pop_back();
      continue;
    }
    std::smatch m;
    if (std::regex_search(cmd, m, std::regex(R"(\s+#\s*exit\s+(\d+)\s*$)"))) {
      open->exit_code = std::stoi(m[1]);
      cmd = m.prefix();
    }
    steps.emplace_back(*open);
    open.reset();
  }
  return steps;
}

/// The --db value of a command ("" when absent).
std::string db_of(const std::string& command) {
  std::smatch m;
  return std::regex_search(command, m, std::regex(R"(--db\s+(\S+))")) ? std::string(m[1]) : "";
}

}  // namespace

TEST_CASE("every example command in docs/cli.md runs and exits with its documented code",
          "[cli][docs]") {
  const auto steps = parse_docs(TXOUTBOX_CLI_DOCS);
  temp_dir work;
  const std::string bin_dir = std::filesystem::path(TXOUTBOX_CLI_PATH).parent_path().string();
  const char* path = std::getenv("PATH");
  const std::map<std::string, std::optional<std::string>> env{
      {"PATH", bin_dir + ":" + (path != nullptr ? path : "/usr/bin:/bin")},
      {"TXOUTBOX_DB_URL", std::nullopt},
      {"TXOUTBOX_DB_PASSWORD", std::nullopt}};
  std::set<std::string> covered;
  std::size_t commands = 0;
  for (const auto& s : steps) {
    if (const auto* f = std::get_if<doc_file>(&s)) {
      std::ofstream(work.path() / f->name) << f->text;
      continue;
    }
    const auto& ex = std::get<example>(s);
    ++commands;
    std::istringstream words(ex.command);
    std::string program, sub, action;
    words >> program >> sub >> action;
    covered.insert(sub == "dead" ? sub + " " + action : sub);
    INFO("docs/cli.md:" << ex.line << ": " << ex.command);
    const bool relay = sub == "relay" && ex.exit_code == 0;
    // A relay runs until a signal: the test lets it drain the outbox, then stops it.
    child_process p("/bin/sh", {"-c", (relay ? "exec " : "") + ex.command}, env, work.path(),
                    "example", work.path());
    if (relay) {
      REQUIRE(wait_started(p));
      const std::string db = db_of(ex.command);
      wait_until(
          [&] {
            const auto r = run_cli_in(work.path(), {"status", "--db", db, "--json"}, env);
            rapidjson::Document doc;
            doc.Parse(r.out.c_str());
            return doc.IsObject() && doc["backlog"].GetInt64() == 0;
          },
          15s);
      p.signal(SIGTERM);
    }
    const auto code = p.wait_for(30s);
    INFO("stdout: " << p.out());
    INFO("stderr: " << p.err());
    REQUIRE(code.has_value());
    CHECK(*code == ex.exit_code);
    if (ex.exit_code != 0)
      CHECK(is_one_error_line(p.err()));
  }
  INFO("commands run: " << commands);
  CHECK(commands >= 12);
  for (const char* sub :
       {"migrate", "enqueue", "relay", "status", "dead list", "dead requeue", "dead purge"}) {
    INFO("no example of " << sub);
    CHECK(covered.contains(sub));
  }
}
