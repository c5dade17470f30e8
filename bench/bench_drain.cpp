// Relay drain: the library's relay to a counting publisher vs the best hand-written DELETE loop.
#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "txoutbox/postgres/store.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/testing/memory_publisher.hpp"

namespace txoutbox::bench {
namespace {

const std::string schema = "bench_drain";

void check_empty(const settings& s, const std::string& what) {
  pqxx::connection conn(s.pg_url);
  const auto left = pg_value(conn, "SELECT count(*) FROM " + outbox(schema));
  if (left != "0")
    throw std::runtime_error(what + " left " + left + " rows in the outbox");
}

}  // namespace

/// Drains the preloaded outbox with `relays` relays (each its own store and connections,
/// like separate processes) publishing to one counting publisher. Returns seconds from
/// the first start() to the last row counted.
double relay_drain(const settings& s, const std::string& sch, int relays, long rows,
                   std::size_t batch, std::shared_ptr<publisher> pub,
                   const std::function<std::uint64_t()>& count) {
  std::vector<std::unique_ptr<relay>> rs;
  for (int i = 0; i < relays; ++i) {
    auto store = postgres::make_store({.url = s.pg_url, .schema = sch});
    rs.push_back(
        std::make_unique<relay>(store, pub,
                                relay_options{.threads = 2,
                                              .batch_size = batch,
                                              .poll_interval = std::chrono::milliseconds(100),
                                              .owner = "bench-relay-" + std::to_string(i)}));
  }
  const auto start = steady::now();
  for (auto& r : rs)
    r->start();
  const bool done = wait_for([&] { return count() >= static_cast<std::uint64_t>(rows); },
                             std::chrono::minutes(10));
  const double elapsed = seconds_since(start);
  for (auto& r : rs)
    (void)r->stop(std::chrono::seconds(10));
  if (!done)
    throw std::runtime_error("relay drain did not finish in 10 minutes");
  return elapsed;
}

/// The baseline: `workers` connections each looping DELETE … RETURNING * of the next
/// `batch` rows (prepared), reading every returned field, until nothing is left. The rows
/// are picked by SELECT id … ORDER BY (partition_no, seq) LIMIT n FOR UPDATE SKIP LOCKED:
/// that order is served by the shipped unique index, so each statement reads the head of
/// one index instead of sorting the table. `id = ANY(ARRAY(subquery))` rather than
/// `id IN (subquery)`: PostgreSQL 15 plans the IN form as a hash semi-join over a
/// sequential scan of the whole outbox (O(backlog) per batch); the ARRAY form probes the
/// primary key, which makes it the best hand-written loop. Returns seconds.
double ideal_drain(const settings& s, const std::string& sch, int workers, std::size_t batch,
                   long rows) {
  const auto sql = "DELETE FROM " + outbox(sch) + " WHERE id = ANY(ARRAY(SELECT id FROM " +
                   outbox(sch) + " ORDER BY partition_no, seq LIMIT " + std::to_string(batch) +
                   " FOR UPDATE SKIP LOCKED)) RETURNING *";
  std::vector<std::unique_ptr<pqxx::connection>> conns;
  for (int i = 0; i < workers; ++i) {
    conns.push_back(std::make_unique<pqxx::connection>(s.pg_url));
    conns.back()->prepare("drain", sql);
  }
  std::atomic<long> total{0};
  std::atomic<std::size_t> bytes{0};
  std::vector<std::thread> threads;
  const auto start = steady::now();
  for (int i = 0; i < workers; ++i) {
    threads.emplace_back([&, i] {
      std::size_t seen = 0;
      for (;;) {
        pqxx::work tx(*conns[i]);
        const auto res = tx.exec_prepared("drain");
        for (const auto& row : res)
          for (const auto& field : row)
            seen += field.size();
        tx.commit();
        if (res.empty())
          break;
        total.fetch_add(static_cast<long>(res.size()));
      }
      bytes.fetch_add(seen);
    });
  }
  for (auto& t : threads)
    t.join();
  const double elapsed = seconds_since(start);
  if (total.load() != rows)
    throw std::runtime_error("ideal loop drained " + std::to_string(total.load()) + " of " +
                             std::to_string(rows));
  return elapsed;
}

void run_drain(const settings& s, results& r) {
  pqxx::connection admin(s.pg_url);
  const std::string tpl = "txoutbox_bench_drain_tpl", run = "txoutbox_bench_drain_run";
  const auto run_url = url_for_db(s.pg_url, run);
  settings rs = s;
  rs.pg_url = run_url;
  for (const long rows : s.drain_sizes) {
    // Preloaded once per size, into a template database; every drain gets a file copy.
    pg_exec(admin, "DROP DATABASE IF EXISTS " + run);
    pg_exec(admin, "DROP DATABASE IF EXISTS " + tpl);
    // A copy of this database brings the staging rows along; they are dropped after use.
    ensure_stage(admin);
    pg_exec(admin, "CREATE DATABASE " + tpl + " TEMPLATE \"" +
                       pg_value(admin, "SELECT current_database()") + "\" STRATEGY FILE_COPY");
    double load = 0;
    {
      pqxx::connection conn(url_for_db(s.pg_url, tpl));
      fresh_schema(conn, schema);
      load = preload(conn, schema, rows);
      pg_exec(conn, "DROP SCHEMA bench_stage CASCADE");
      pg_exec(conn, "CHECKPOINT");
    }
    progress("drain " + std::to_string(rows) + " rows preloaded in " + fmt(load) + " s");
    std::vector<double> relay1, relay2, ideal1, ideal2, copies;
    for (int rep = 0; rep < s.reps; ++rep) {
      progress("drain " + std::to_string(rows) + " rows, repetition " + std::to_string(rep + 1));
      for (int variant = 0; variant < 4; ++variant) {
        const auto t0 = steady::now();
        pg_exec(admin, "DROP DATABASE IF EXISTS " + run);
        pg_exec(admin, "CREATE DATABASE " + run + " TEMPLATE " + tpl + " STRATEGY FILE_COPY");
        copies.push_back(seconds_since(t0));
        const int n = variant % 2 == 0 ? 1 : 2;
        std::vector<double>* into = nullptr;
        if (variant < 2) {
          auto pub = std::make_shared<testing::memory_publisher>(
              testing::memory_publisher_options{.record = false});
          const double t =
              relay_drain(rs, schema, n, rows, s.drain_batch, pub, [&] { return pub->count(); });
          into = n == 1 ? &relay1 : &relay2;
          into->push_back(rows / t);
          check_empty(rs, "relay");
        } else {
          const double t = ideal_drain(rs, schema, n, s.drain_batch, rows);
          into = n == 1 ? &ideal1 : &ideal2;
          into->push_back(rows / t);
          check_empty(rs, "ideal loop");
        }
        progress(std::string("  ") + (variant < 2 ? "relay" : "ideal") + " x" + std::to_string(n) +
                 ": " + fmt(into->back()) + " msg/s (copy " + fmt(copies.back()) + " s)");
      }
    }
    pg_exec(admin, "DROP DATABASE IF EXISTS " + run);
    pg_exec(admin, "DROP DATABASE IF EXISTS " + tpl);
    const std::string size = std::to_string(rows / 1000) + "k rows";
    const double i1 = median(ideal1), i2 = median(ideal2), r1 = median(relay1), r2 = median(relay2);
    r.compare("2 drain", "relay x1 -> counting, " + size, r1, "msg/s", "ideal SQL loop x1", i1,
              ">= 0.8", r1 / i1 >= 0.8);
    r.compare("2 drain", "relay x2 -> counting, " + size, r2, "msg/s", "ideal SQL loop x2", i2,
              ">= 0.8", r2 / i2 >= 0.8);
    r.note("Drain " + size + ": preloaded once (" + fmt(load) +
           " s) into a template database; each drain runs on a FILE_COPY clone (" +
           fmt(median(copies)) + " s median, not counted).");
  }
}

}  // namespace txoutbox::bench
