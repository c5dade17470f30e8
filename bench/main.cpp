// txoutbox_bench: runs the benchmark families against one PostgreSQL server and prints one table.
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <fstream>
#include <iostream>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <thread>

#include "bench_util.hpp"

namespace {

using txoutbox::bench::settings;

constexpr const char* usage_text =
    "usage: txoutbox_bench --pg URL [--quick] [--reps N] [--only a,b,...] [--work-dir DIR]\n"
    "                      [--markdown FILE]\n"
    "sections: writer drain latency backlog kafka sqlite hotkey recovery (default: all)\n";

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty())
      out.push_back(item);
  return out;
}

settings parse(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << arg << " needs a value\n" << usage_text;
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--pg")
      s.pg_url = next();
    else if (arg == "--quick")
      s.quick = true;
    else if (arg == "--reps")
      s.reps = std::stoi(next());
    else if (arg == "--only")
      s.only = split(next());
    else if (arg == "--work-dir")
      s.work_dir = next();
    else if (arg == "--markdown")
      s.markdown_out = next();
    else {
      std::cerr << "unknown argument " << arg << "\n" << usage_text;
      std::exit(2);
    }
  }
  if (s.pg_url.empty()) {
    std::cerr << usage_text;
    std::exit(2);
  }
  if (s.reps < 3 && !s.quick) {
    std::cerr << "--reps must be at least 3 (each figure is a median)\n";
    std::exit(2);
  }
  if (s.quick) {
    s.writer_seconds = 1.0;
    s.drain_sizes = {20'000, 50'000};
    s.latency_seconds = 4.0;
    s.backlog_sizes = {10'000, 50'000};
    s.kafka_rows = 20'000;
    s.sqlite_rows = 20'000;
  }
  return s;
}

std::string list(const std::vector<long>& v) {
  std::string out;
  for (auto x : v)
    out += (out.empty() ? "" : ", ") + std::to_string(x);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace txoutbox::bench;
  const auto s = parse(argc, argv);
  const auto start = steady::now();
  results r;
  try {
    pqxx::connection conn(s.pg_url);
    std::ostringstream cfg;
    cfg << "Server: PostgreSQL " << pg_value(conn, "SHOW server_version")
        << "; fsync=" << pg_value(conn, "SHOW fsync")
        << ", synchronous_commit=" << pg_value(conn, "SHOW synchronous_commit")
        << ", shared_buffers=" << pg_value(conn, "SHOW shared_buffers")
        << ", max_wal_size=" << pg_value(conn, "SHOW max_wal_size")
        << ", wal_level=" << pg_value(conn, "SHOW wal_level") << ".";
    std::ostringstream sizes;
    sizes << "Sizes: repetitions=" << s.reps << (s.quick ? " (QUICK MODE: reduced sizes)" : "")
          << "; writer " << s.writer_seconds << " s per variant per repetition at 1 and 4 clients"
          << ", batch of 100; drain " << list(s.drain_sizes) << " rows, relay batch_size "
          << s.drain_batch << " per partition (16 partitions), ideal LIMIT " << s.drain_batch
          << "; latency " << s.latency_rate << " msg/s for " << s.latency_seconds << " s; backlog "
          << list(s.backlog_sizes) << " rows; kafka " << s.kafka_rows << " rows; sqlite "
          << s.sqlite_rows << " rows.";
    r.note(cfg.str());
    r.note(sizes.str());
    progress(cfg.str());
    progress(sizes.str());
    if (pg_value(conn, "SHOW fsync") != "on")
      progress("WARNING: fsync is off on this server; figures are not representative");
  } catch (const std::exception& e) {
    std::cerr << "txoutbox_bench: cannot reach the server: " << e.what() << "\n";
    return 3;
  }

  struct section {
    const char* name;
    void (*run)(const settings&, results&);
  };
  const section sections[] = {{"writer", run_writer},   {"drain", run_drain},
                              {"latency", run_latency}, {"backlog", run_backlog},
                              {"kafka", run_kafka},     {"sqlite", run_sqlite},
                              {"hotkey", run_hotkey},   {"recovery", run_recovery}};
  int failures = 0;
  for (const auto& sec : sections) {
    if (!s.wants(sec.name))
      continue;
    const auto t0 = steady::now();
    progress(std::string("== ") + sec.name);
    try {
      sec.run(s, r);
    } catch (const std::exception& e) {
      ++failures;
      progress(std::string("section ") + sec.name + " FAILED: " + e.what());
      r.note(std::string("Section ") + sec.name + " failed: " + e.what());
    }
    progress(std::string("== ") + sec.name + " took " + fmt(seconds_since(t0)) + " s");
  }
  r.note("Total bench time: " + fmt(seconds_since(start)) + " s.");
  std::cout << "\n";
  r.print_text();
  if (!s.markdown_out.empty()) {
    std::ofstream out(s.markdown_out);
    out << r.markdown();
  }
  return failures == 0 ? 0 : 1;
}
