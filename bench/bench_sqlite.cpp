// SQLite (SOCI): writer overhead and drain rate vs hand-written SQL on the same file.
#include "bench_util.hpp"

#ifdef TXOUTBOX_BENCH_HAVE_SOCI

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "txoutbox/message.hpp"
#include "txoutbox/message_id.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/soci/migrate.hpp"
#include "txoutbox/soci/store.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/soci/writer.hpp"
#include "txoutbox/testing/memory_publisher.hpp"

namespace txoutbox::bench {
namespace {

std::unique_ptr<::soci::session> open(const std::string& path, const char* synchronous) {
  auto s = std::make_unique<::soci::session>(::soci::sqlite3, "db=" + path + " timeout=10");
  *s << (std::string("PRAGMA synchronous=") + synchronous);
  return s;
}

/// Runs `body` in a write transaction (BEGIN IMMEDIATE) for `seconds`; microseconds per
/// committed transaction.
template <class Body>
double timed(::soci::session& sql, double seconds, Body body) {
  const auto start = steady::now();
  const auto deadline =
      start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
  long n = 0;
  while (steady::now() < deadline) {
    txoutbox::soci::write_transaction tx(sql);
    body(n);
    tx.commit();
    ++n;
  }
  return seconds_since(start) * 1e6 / static_cast<double>(n);
}

void sqlite_preload(::soci::session& sql, long rows) {
  sql << "DELETE FROM outbox";
  // The columns the writer would write (partition 0: N = 1 on SQLite); UUIDv7-shaped ids.
  sql << "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, headers, "
         "partition_no) "
         "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < " +
             std::to_string(rows) +
             ") SELECT printf('%08x-0000-7000-8000-%012x', n, n), 'order', 'order-' || n, "
             "'OrderPlaced', '{\"order_id\":' || n || ',\"customer\":\"c' || (n % 1000) || "
             "'\",\"total\":' || (n % 10000) || '.5,\"currency\":\"EUR\",\"lines\":3}', '{}', 0 "
             "FROM g";
  sql << "PRAGMA wal_checkpoint(TRUNCATE)";
}

/// The hand-written drain on one SOCI session: DELETE … LIMIT n RETURNING * until empty.
double sqlite_ideal(const std::string& path, std::size_t batch, long rows) {
  auto sql = open(path, "NORMAL");  // the store's sessions run with NORMAL too
  const auto stmt = "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT " +
                    std::to_string(batch) + ") RETURNING *";
  long total = 0;
  std::size_t seen = 0;
  const auto start = steady::now();
  for (;;) {
    txoutbox::soci::write_transaction tx(*sql);
    ::soci::rowset<::soci::row> rs = (sql->prepare << stmt);
    long n = 0;
    for (const auto& row : rs) {
      seen += row.get<std::string>(1).size() + row.get<std::string>(3).size() +
              row.get<std::string>(5).size();
      ++n;
    }
    tx.commit();
    if (n == 0)
      break;
    total += n;
  }
  const double elapsed = seconds_since(start);
  if (total != rows)
    throw std::runtime_error("sqlite ideal loop drained " + std::to_string(total));
  return rows / elapsed;
}

double sqlite_relay(const std::string& path, std::size_t batch, long rows) {
  auto pub = std::make_shared<testing::memory_publisher>(
      testing::memory_publisher_options{.record = false});
  auto st = txoutbox::soci::make_store({.url = "sqlite:" + path});
  relay rl(st, pub,
           relay_options{
               .threads = 2, .batch_size = batch, .poll_interval = std::chrono::milliseconds(100)});
  const auto start = steady::now();
  rl.start();
  const bool done = wait_for([&] { return pub->count() >= static_cast<std::uint64_t>(rows); },
                             std::chrono::minutes(5));
  const double elapsed = seconds_since(start);
  (void)rl.stop(std::chrono::seconds(10));  // timing ends at the drain, not at stop
  if (!done)
    throw std::runtime_error("sqlite relay drain did not finish");
  return rows / elapsed;
}

}  // namespace

void run_sqlite(const settings& s, results& r) {
  const auto path = (std::filesystem::path(s.work_dir) / "bench.sqlite").string();
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  auto sql = open(path, "FULL");
  txoutbox::soci::migrate(*sql);
  *sql << "PRAGMA synchronous=FULL";
  *sql << "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, "
          "total REAL NOT NULL)";
  const txoutbox::soci::writer w;
  auto business = [&](long n) {
    const std::string c = "c" + std::to_string(n % 1000);
    const double total = static_cast<double>(n % 10000) + 0.5;
    *sql << "INSERT INTO orders (customer, total) VALUES (:c, :t)", ::soci::use(c),
        ::soci::use(total);
  };
  std::vector<double> alone, enq, hand, relay_rate, ideal_rate;
  for (int rep = 0; rep < s.reps; ++rep) {
    progress("sqlite repetition " + std::to_string(rep + 1));
    alone.push_back(timed(*sql, s.writer_seconds, [&](long n) { business(n); }));
    enq.push_back(timed(*sql, s.writer_seconds, [&](long n) {
      business(n);
      w.enqueue(*sql, message{.aggregate_type = "order",
                              .aggregate_id = "order-" + std::to_string(n),
                              .type = "OrderPlaced",
                              .payload = order_payload(n)});
    }));
    hand.push_back(timed(*sql, s.writer_seconds, [&](long n) {
      business(n);
      const auto id = message_id::generate().to_string();
      const std::string a = "order", k = "order-" + std::to_string(n), t = "OrderPlaced",
                        p = order_payload(n);
      *sql << "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) "
              "VALUES (:id, :a, :k, :t, :p)",
          ::soci::use(id), ::soci::use(a), ::soci::use(k), ::soci::use(t), ::soci::use(p);
    }));
    sqlite_preload(*sql, s.sqlite_rows);
    relay_rate.push_back(sqlite_relay(path, s.drain_batch, s.sqlite_rows));
    sqlite_preload(*sql, s.sqlite_rows);
    ideal_rate.push_back(sqlite_ideal(path, s.drain_batch, s.sqlite_rows));
    progress("  writer " + fmt(enq.back()) + " us vs hand " + fmt(hand.back()) + " us; drain " +
             fmt(relay_rate.back()) + " vs " + fmt(ideal_rate.back()) + " msg/s");
  }
  r.add({.section = "6 sqlite",
         .name = "business txn alone, 1 client",
         .value = median(alone),
         .unit = "us/txn"});
  r.compare("6 sqlite", "+ enqueue, 1 client", median(enq), "us/txn", "+ hand INSERT", median(hand),
            "<= 1.05", median(enq) / median(hand) <= 1.05);
  const std::string size = std::to_string(s.sqlite_rows / 1000) + "k rows";
  r.compare("6 sqlite", "relay x1 -> counting, " + size, median(relay_rate), "msg/s",
            "ideal SQL loop x1", median(ideal_rate), ">= 0.8",
            median(relay_rate) / median(ideal_rate) >= 0.8);
  r.note(
      "SQLite: WAL journal; writer sessions synchronous=FULL; store and hand-written drain "
      "sessions synchronous=NORMAL; file " +
      path + ".");
}

}  // namespace txoutbox::bench

#else

namespace txoutbox::bench {
void run_sqlite(const settings&, results& r) {
  r.note("Section 6 (SQLite): not built (SOCI missing).");
}
}  // namespace txoutbox::bench

#endif
