// An immediate PostgreSQL restart mid-stream, on a private server: the relay recovers by itself.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "delivery_checker.hpp"
#include "pg_test_support.hpp"
#include "txoutbox/postgres/migrate.hpp"
#include "txoutbox/postgres/store.hpp"
#include "txoutbox/postgres/writer.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/testing/memory_publisher.hpp"
#include "txoutbox/testing/servers.hpp"
#include "txoutbox/testing/wait.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using txoutbox::relay;
using txoutbox::relay_options;
using txoutbox::testing::memory_publisher;
using txoutbox::testing::wait_until;
using txoutbox::testing::pg::make_message;
namespace pg = txoutbox::postgres;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string last_chars(std::string text, std::size_t n = 3000) {
  return text.size() > n ? "..." + text.substr(text.size() - n) : text;
}

/// Runs `args` (no shell; args[0] looked up on PATH) in `cwd` with stdout and stderr
/// appended to `log`, and waits for it. Returns the exit code, -1 when it did not run.
int run_command(const std::vector<std::string>& args, const std::string& cwd,
                const std::string& log) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  if (!cwd.empty())
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// The directory of initdb/pg_ctl: pg_config's bindir, else the newest Debian install.
std::string postgres_bindir() {
  if (FILE* p = ::popen("pg_config --bindir 2>/dev/null", "r")) {
    char buf[512] = {};
    std::string out = std::fgets(buf, sizeof buf, p) ? buf : "";
    ::pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
      out.pop_back();
    if (!out.empty() && std::filesystem::exists(out + "/pg_ctl"))
      return out;
  }
  std::string best;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const auto bin = e.path() / "bin";
    if (std::filesystem::exists(bin / "pg_ctl") && bin.string() > best)
      best = bin.string();
  }
  return best;
}

/// A PostgreSQL server owned by one test, started by tests/servers/postgres.sh in a
/// directory of its own (never the shared fixture's server, which other tests use at the
/// same time). synchronous_commit is turned back on: a commit that returned must survive
/// an immediate restart. Stopped and removed on destruction. Test thread only.
class private_postgres {
 public:
  private_postgres() {
    std::string tmpl = "/tmp/txoutbox-pgrestart.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    // Without these unset the script would hand back the shared server instead.
    exit_code_ = run_command({"env", "-u", "TXOUTBOX_TEST_PG_URL", "-u", "TXOUTBOX_TEST_PG_PORT",
                              "bash", TXOUTBOX_PG_SERVER_SCRIPT, "start", dir_},
                             dir_, dir_ + "/script.log");
    auto url = read_file(dir_ + "/pg.url");
    while (!url.empty() && (url.back() == '\n' || url.back() == '\r'))
      url.pop_back();
    url_ = url;
    base_ = read_file(dir_ + "/pg.base");
    while (!base_.empty() && (base_.back() == '\n' || base_.back() == '\r'))
      base_.pop_back();
  }

  ~private_postgres() {
    run_command({"bash", TXOUTBOX_PG_SERVER_SCRIPT, "stop", dir_}, dir_, dir_ + "/script.log");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  private_postgres(const private_postgres&) = delete;
  private_postgres& operator=(const private_postgres&) = delete;

  /// Exit code of the start script (0 also when PostgreSQL is not installed: then url()
  /// is empty).
  int start_exit_code() const noexcept { return exit_code_; }
  const std::string& url() const noexcept { return url_; }

  /// `pg_ctl restart -m immediate`: every backend is killed without a checkpoint, the
  /// server runs crash recovery and accepts connections again when this returns 0.
  int restart_immediate() {
    const auto bindir = postgres_bindir();
    std::vector<std::string> args;
    if (::geteuid() == 0)
      args = {"runuser", "-u", "postgres", "--"};
    for (const auto* a : {"/pg_ctl", "-D", "/data", "-l", "/server.log", "-w", "-t", "60", "-m",
                          "immediate", "restart"}) {
      std::string arg = a;
      if (arg == "/pg_ctl")
        arg = bindir + arg;
      else if (arg == "/data" || arg == "/server.log")
        arg = base_ + arg;
      args.push_back(arg);
    }
    // pg_ctl runs as `postgres` in the server's own directory: the test's cwd may be
    // unreadable to that user.
    return run_command(args, base_, dir_ + "/restart.log");
  }

  /// The script's, restarts' and server's output, for INFO() when something fails.
  std::string log() const {
    return "script: " + last_chars(read_file(dir_ + "/script.log")) +
           "\nrestart: " + last_chars(read_file(dir_ + "/restart.log")) +
           "\nserver: " + last_chars(read_file(base_ + "/server.log"));
  }

 private:
  std::string dir_;
  std::string base_;
  std::string url_;
  int exit_code_ = -1;
};

/// What the writers did, per key in write order. A commit that returned is `committed`;
/// one that threw is `maybe` (its outcome is unknown: the server may have committed
/// before the connection died). Ids whose transaction failed before COMMIT was sent are
/// never committed and must never be published.
struct write_log {
  enum class outcome { committed, maybe };
  std::mutex mutex;
  std::map<std::string, std::vector<std::pair<std::string, outcome>>> by_key;
  std::set<std::string> aborted;
  std::size_t committed = 0, maybe = 0, reconnects = 0;
};

/// `threads` writer threads over their own keys (so each key has one writer: writes are
/// serialised per key), 1 to 3 messages per transaction, until `stop`. On any failure a
/// writer drops its connection, reconnects and retries the same messages (new ids).
class writers {
 public:
  writers(std::string url, std::string schema, write_log& log, int threads, int keys_per_thread)
      : url_(std::move(url)), schema_(std::move(schema)), log_(log) {
    for (int t = 0; t < threads; ++t)
      threads_.emplace_back([this, t, keys_per_thread] { run(t, keys_per_thread); });
  }
  ~writers() { stop(); }
  writers(const writers&) = delete;
  writers& operator=(const writers&) = delete;

  void stop() {
    stop_ = true;
    for (auto& th : threads_) {
      if (th.joinable())
        th.join();
    }
  }
  std::uint64_t transactions() const noexcept { return transactions_.load(); }

 private:
  void run(int t, int keys) {
    const pg::writer w(pg::writer_options{.schema = schema_});
    std::unique_ptr<pqxx::connection> conn;
    std::vector<int> next_n(static_cast<std::size_t>(keys), 0);
    int next_key = 0;
    int size = 1;
    while (!stop_) {
      // This transaction's messages: `size` consecutive keys, the next position of each.
      std::vector<std::pair<std::string, int>> todo;
      for (int i = 0; i < size; ++i) {
        const int k = (next_key + i) % keys;
        todo.emplace_back("key-" + std::to_string(t) + "-" + std::to_string(k),
                          next_n[static_cast<std::size_t>(k)]);
      }
      std::vector<std::string> ids;
      bool committing = false;
      try {
        if (!conn)
          conn = std::make_unique<pqxx::connection>(url_);
        pqxx::work tx(*conn);
        for (const auto& [key, n] : todo)
          ids.push_back(w.enqueue(tx, make_message(key, n)).to_string());
        committing = true;
        tx.commit();
        {
          std::lock_guard lock(log_.mutex);
          for (std::size_t i = 0; i < todo.size(); ++i)
            log_.by_key[todo[i].first].emplace_back(ids[i], write_log::outcome::committed);
          log_.committed += todo.size();
        }
        for (int i = 0; i < size; ++i)
          ++next_n[static_cast<std::size_t>((next_key + i) % keys)];
        next_key = (next_key + size) % keys;
        size = size % 3 + 1;
        ++transactions_;
        std::this_thread::sleep_for(2ms);  // pacing: the stream lasts the whole test
      } catch (const std::exception&) {
        {
          std::lock_guard lock(log_.mutex);
          for (std::size_t i = 0; i < ids.size(); ++i) {
            if (committing) {
              log_.by_key[todo[i].first].emplace_back(ids[i], write_log::outcome::maybe);
              ++log_.maybe;
            } else {
              log_.aborted.insert(ids[i]);
            }
          }
          ++log_.reconnects;
        }
        conn.reset();  // a broken (or silently re-activated) connection is not reused
        std::this_thread::sleep_for(20ms);  // the server is restarting: retry gently
      }
    }
  }

  std::string url_;
  std::string schema_;
  write_log& log_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> transactions_{0};
  std::vector<std::thread> threads_;
};

/// The server's start time: changes with every restart.
std::string postmaster_start(const std::string& url) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  return tx.exec("SELECT pg_postmaster_start_time()::text")[0][0].as<std::string>();
}

/// Connects until the server accepts connections again (it may still be recovering).
std::unique_ptr<pqxx::connection> connect_when_up(const std::string& url) {
  std::unique_ptr<pqxx::connection> conn;
  wait_until(
      [&] {
        try {
          conn = std::make_unique<pqxx::connection>(url);
          return true;
        } catch (const std::exception&) {
          return false;
        }
      },
      30s);
  return conn;
}

}  // namespace

TEST_CASE(
    "the relay recovers by itself from immediate postgres restarts mid-stream and loses no "
    "committed message",
    "[pg][relay][recovery][restart]") {
  private_postgres server;
  if (server.url().empty()) {
    INFO(server.log());
    if (txoutbox::testing::running_under_ci() || server.start_exit_code() != 0)
      FAIL("could not start a private PostgreSQL server");
    WARN("skipped: PostgreSQL server binaries not installed");
    return;
  }
  constexpr std::uint32_t partitions = 8;
  constexpr std::size_t batch = 50;
  constexpr int restarts = 2;
  const std::string schema = "txo_restart";
  {
    pqxx::connection conn(server.url());
    pg::migrate(conn, {.schema = schema, .partitions = partitions});
    pqxx::nontransaction tx(conn);
    // The shared test servers run with synchronous_commit off; an immediate restart would
    // then lose commits that already returned, which no library can prevent.
    tx.exec("ALTER SYSTEM SET synchronous_commit = on");
    tx.exec("SELECT pg_reload_conf()");
  }
  REQUIRE(wait_until(
      [&] {
        pqxx::connection conn(server.url());
        pqxx::nontransaction tx(conn);
        return tx.exec("SHOW synchronous_commit")[0][0].as<std::string>() == "on";
      },
      10s));

  std::mutex log_mutex;
  std::vector<std::string> relay_log;
  relay_options options;
  options.threads = 2;
  options.batch_size = batch;
  options.poll_interval = 100ms;
  options.backoff_initial = 20ms;
  options.backoff_max = 200ms;
  options.lease_ttl = 2000ms;
  options.max_attempts = 1000;  // store outages must not dead-letter anything
  options.owner = "relay-restart";
  options.on_log = [&](txoutbox::log_level level, std::string_view text) {
    if (level < txoutbox::log_level::warn)
      return;
    std::lock_guard lock(log_mutex);
    if (relay_log.size() < 50)
      relay_log.emplace_back(text);
  };
  auto pub = std::make_shared<memory_publisher>(
      txoutbox::testing::memory_publisher_options{.record = true});
  relay r(pg::make_store({.url = server.url(),
                          .schema = schema,
                          .connect_timeout = 1000ms,
                          .statement_timeout = 10'000ms,
                          .listen = true,
                          .application_name = "txo_restart"}),
          pub, options);
  r.start();

  write_log log;
  writers w(server.url(), schema, log, 2, 8);

  std::vector<std::string> start_times{postmaster_start(server.url())};
  std::vector<std::uint64_t> published_at_restart;
  bool recovered = true;
  for (int i = 0; i < restarts && recovered; ++i) {
    // Mid-stream: the relay is publishing what the writers keep committing.
    const auto before = pub->count();
    recovered = wait_until([&] { return pub->count() >= before + 300; }, 20s);
    if (!recovered)
      break;
    published_at_restart.push_back(pub->count());
    const int rc = server.restart_immediate();
    if (rc != 0) {
      INFO(server.log());
      REQUIRE(rc == 0);
    }
    auto conn = connect_when_up(server.url());
    REQUIRE(conn != nullptr);
    start_times.push_back(postmaster_start(server.url()));
  }
  // Recovered by itself: it publishes again after the last restart, nobody poked it.
  const auto after_last = pub->count();
  const bool publishing_again = wait_until([&] { return pub->count() >= after_last + 300; }, 20s);
  w.stop();

  auto conn = connect_when_up(server.url());
  REQUIRE(conn != nullptr);
  const auto backlog = [&] {
    pqxx::nontransaction tx(*conn);
    return tx.exec("SELECT count(*) FROM \"" + schema + "\".outbox")[0][0].as<long long>();
  };
  const bool drained = wait_until([&] { return backlog() == 0; }, 30s);
  const bool flushed = r.flush(20s);
  const auto stats = r.stats();
  const bool stopped = r.stop(10s);

  // Per key in write order: every commit that returned, and every maybe-commit that was
  // published (it did commit); an unpublished maybe-commit after the drain never committed.
  const auto records = pub->records();
  std::set<std::string> published;
  for (const auto& rec : records)
    published.insert(rec.msg.id.to_string());
  txoutbox::testing::delivery_checker checker;
  std::size_t maybe_published = 0;
  std::size_t aborted_published = 0;
  {
    std::lock_guard lock(log.mutex);
    for (const auto& [key, entries] : log.by_key) {
      for (const auto& [id, outcome] : entries) {
        if (outcome == write_log::outcome::committed) {
          checker.committed(id, key);
        } else if (published.contains(id)) {
          checker.committed(id, key);
          ++maybe_published;
        }
      }
    }
    for (const auto& id : log.aborted)
      aborted_published += published.contains(id) ? 1 : 0;
  }
  for (const auto& rec : records)
    checker.delivered(rec.msg.id.to_string());
  const auto report = checker.check(batch * partitions * restarts);

  std::string relay_warnings;
  {
    std::lock_guard lock(log_mutex);
    for (const auto& line : relay_log)
      relay_warnings += line + "\n";
  }
  INFO(report.describe());
  INFO("writers: " << log.committed << " committed, " << log.maybe << " maybe (" << maybe_published
                   << " published), " << log.aborted.size() << " aborted, " << log.reconnects
                   << " reconnects; published at restarts: " << published_at_restart.size()
                   << "; relay errors " << stats.errors << ", dead-lettered "
                   << stats.dead_lettered);
  INFO("relay warnings:\n" << relay_warnings);
  INFO(server.log());
  REQUIRE(recovered);
  REQUIRE(published_at_restart.size() == static_cast<std::size_t>(restarts));
  REQUIRE(publishing_again);
  // Each restart really happened: the postmaster started anew.
  REQUIRE(start_times.size() == static_cast<std::size_t>(restarts + 1));
  CHECK(std::set<std::string>(start_times.begin(), start_times.end()).size() == start_times.size());
  REQUIRE(drained);
  CHECK(flushed);
  CHECK(stopped);
  CHECK(stats.errors > 0);  // it did see the outages
  CHECK(stats.dead_lettered == 0);
  CHECK(aborted_published == 0);
  CHECK(pub->overlaps() == 0);
  CHECK(report.missing == 0);
  CHECK(report.extra == 0);
  CHECK(report.order_violations == 0);
  CHECK(report.duplicates <= report.max_duplicates);
  CHECK(report.ok());
}
