// Writer overhead, like for like: the library's enqueue vs the equivalent hand-written INSERT.
#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "txoutbox/message.hpp"
#include "txoutbox/message_id.hpp"
#include "txoutbox/postgres/writer.hpp"

namespace txoutbox::bench {
namespace {

const std::string schema = "bench_writer";

enum class variant { alone, enqueue, hand, enqueue_notify, hand_notify };

const char* name_of(variant v) {
  switch (v) {
    case variant::alone:
      return "business txn alone";
    case variant::enqueue:
      return "+ enqueue, no NOTIFY";
    case variant::hand:
      return "+ hand INSERT";
    case variant::enqueue_notify:
      return "+ enqueue with NOTIFY";
    case variant::hand_notify:
      return "+ hand INSERT + pg_notify";
  }
  return "?";
}

/// What every variant shares: the business INSERT, and the hand-written statements,
/// which write the same row as the writer (client-generated UUIDv7 id, the five Debezium
/// columns; headers and available_at take their defaults, which equal what the writer
/// sends for a message without headers or delay). Like the writer they go through
/// exec_params (one unnamed statement), and the NOTIFY variant folds pg_notify into the
/// same statement, as the writer does, so the comparison is statement for statement.
struct sql_text {
  std::string order =
      "INSERT INTO \"" + schema + "\".orders (customer, total) VALUES ($1, $2::numeric)";
  std::string hand = "INSERT INTO " + outbox(schema) +
                     " (id, aggregatetype, aggregateid, type, payload) "
                     "VALUES ($1::uuid, $2, $3, $4, $5::jsonb)";
  std::string hand_notify = "WITH ins AS (" + hand + ") SELECT pg_notify($6, '')";
  std::string channel = "txoutbox_" + schema;
};

message order_message(long n) {
  return message{.aggregate_type = "order",
                 .aggregate_id = "order-" + std::to_string(n),
                 .type = "OrderPlaced",
                 .payload = order_payload(n)};
}

/// Wall time per transaction, and the median time of the outbox statement(s) alone.
struct timing {
  double us_per_txn = 0;  ///< wall time / committed transactions (inverse throughput)
  double stmt_us = 0;     ///< median time inside the outbox part of the transaction
};

/// Runs `clients` threads, each on its own connection, doing `body` in a transaction
/// until `seconds` pass. `body` returns the microseconds its outbox part took: that
/// figure excludes the commit, whose fsync time varies by milliseconds on a shared VM
/// and would otherwise bury a difference of microseconds.
template <class Body>
timing timed_clients(const settings& s, int clients, double seconds, Body body) {
  std::vector<std::unique_ptr<pqxx::connection>> conns;
  for (int i = 0; i < clients; ++i)
    conns.push_back(std::make_unique<pqxx::connection>(s.pg_url));
  std::atomic<long> total{0};
  std::atomic<bool> go{false};
  std::vector<std::vector<double>> stmt(clients);
  std::vector<std::thread> threads;
  const auto duration =
      std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
  steady::time_point start{};
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load())
        std::this_thread::yield();
      const auto deadline = start + duration;
      long n = 0;
      while (steady::now() < deadline) {
        pqxx::work tx(*conns[i]);
        stmt[i].push_back(body(tx, static_cast<long>(i) * 100'000'000L + n));
        tx.commit();
        ++n;
      }
      total.fetch_add(n);
    });
  }
  start = steady::now();
  go.store(true);
  for (auto& t : threads)
    t.join();
  const double elapsed = seconds_since(start);
  if (total.load() == 0)
    throw std::runtime_error("no transaction completed");
  std::vector<double> all;
  for (auto& v : stmt)
    all.insert(all.end(), v.begin(), v.end());
  return {elapsed * 1e6 / static_cast<double>(total.load()), median(all)};
}

double us_since(steady::time_point t) {
  return seconds_since(t) * 1e6;
}

}  // namespace

void run_writer(const settings& s, results& r) {
  {
    pqxx::connection conn(s.pg_url);
    fresh_schema(conn, schema);
    pg_exec(conn, "CREATE TABLE \"" + schema +
                      "\".orders (id bigserial PRIMARY KEY, customer text NOT NULL, "
                      "total numeric(12,2) NOT NULL, created_at timestamptz NOT NULL "
                      "DEFAULT now())");
  }
  const sql_text sql;
  const postgres::writer quiet({.schema = schema, .notify = false});
  const postgres::writer loud({.schema = schema, .notify = true});

  auto business = [&](pqxx::work& tx, long n) {
    tx.exec_params(sql.order, "c" + std::to_string(n % 1000), std::to_string(n % 10000) + ".5");
  };
  auto hand_insert = [&](pqxx::work& tx, long n, bool notify) {
    const auto id = message_id::generate().to_string();
    if (notify)
      tx.exec_params(sql.hand_notify, id, "order", "order-" + std::to_string(n), "OrderPlaced",
                     order_payload(n), sql.channel);
    else
      tx.exec_params(sql.hand, id, "order", "order-" + std::to_string(n), "OrderPlaced",
                     order_payload(n));
  };

  const variant variants[] = {variant::alone, variant::enqueue, variant::hand,
                              variant::enqueue_notify, variant::hand_notify};
  const int client_counts[] = {1, 4};
  // times[clients index][variant] = one value per repetition
  std::vector<double> times[2][5], stmts[2][5];
  std::vector<double> batch_times[3], batch_stmts[3];
  for (int rep = 0; rep < s.reps; ++rep) {
    progress("writer repetition " + std::to_string(rep + 1) + "/" + std::to_string(s.reps));
    for (int ci = 0; ci < 2; ++ci) {
      for (int vi = 0; vi < 5; ++vi) {
        const auto v = variants[vi];
        const auto t =
            timed_clients(s, client_counts[ci], s.writer_seconds, [&](pqxx::work& tx, long n) {
              business(tx, n);
              const auto t0 = steady::now();
              switch (v) {
                case variant::alone:
                  break;
                case variant::enqueue:
                  quiet.enqueue(tx, order_message(n));
                  break;
                case variant::hand:
                  hand_insert(tx, n, false);
                  break;
                case variant::enqueue_notify:
                  loud.enqueue(tx, order_message(n));
                  break;
                case variant::hand_notify:
                  hand_insert(tx, n, true);
                  break;
              }
              return us_since(t0);
            });
        times[ci][vi].push_back(t.us_per_txn);
        stmts[ci][vi].push_back(t.stmt_us);
      }
    }
    // Batches of 100 events in one business transaction (no NOTIFY on either side).
    const double batch_seconds = s.writer_seconds * 2 / 3;
    const timing b0 = timed_clients(s, 1, batch_seconds, [&](pqxx::work& tx, long n) {
      business(tx, n);
      const auto t0 = steady::now();
      std::vector<message> batch;
      batch.reserve(100);
      for (long k = 0; k < 100; ++k)
        batch.push_back(order_message(n * 100 + k));
      quiet.enqueue(tx, std::span<const message>(batch));
      return us_since(t0);
    });
    const timing b1 = timed_clients(s, 1, batch_seconds, [&](pqxx::work& tx, long n) {
      business(tx, n);
      const auto t0 = steady::now();
      for (long k = 0; k < 100; ++k)
        quiet.enqueue(tx, order_message(n * 100 + k));
      return us_since(t0);
    });
    const timing b2 = timed_clients(s, 1, batch_seconds, [&](pqxx::work& tx, long n) {
      business(tx, n);
      const auto t0 = steady::now();
      for (long k = 0; k < 100; ++k)
        hand_insert(tx, n * 100 + k, false);
      return us_since(t0);
    });
    int bi = 0;
    for (const auto& b : {b0, b1, b2}) {
      batch_times[bi].push_back(b.us_per_txn);
      batch_stmts[bi++].push_back(b.stmt_us);
    }
  }

  for (int ci = 0; ci < 2; ++ci) {
    const std::string c = std::to_string(client_counts[ci]) + " client" + (ci ? "s" : "");
    const double alone = median(times[ci][0]);
    const double enq = median(times[ci][1]);
    const double hand = median(times[ci][2]);
    const double enq_n = median(times[ci][3]);
    const double hand_n = median(times[ci][4]);
    r.add({.section = "1 writer",
           .name = std::string(name_of(variant::alone)) + ", " + c,
           .value = alone,
           .unit = "us/txn"});
    r.compare("1 writer", std::string(name_of(variant::enqueue)) + ", " + c, enq, "us/txn",
              name_of(variant::hand), hand, "<= 1.05", enq / hand <= 1.05);
    r.compare("1 writer", std::string(name_of(variant::enqueue_notify)) + ", " + c, enq_n, "us/txn",
              name_of(variant::hand_notify), hand_n, "<= 1.05", enq_n / hand_n <= 1.05);
    r.compare("1 writer", "NOTIFY cost (enqueue+NOTIFY vs enqueue), " + c, enq_n, "us/txn",
              name_of(variant::enqueue), enq);
    const double s_enq = median(stmts[ci][1]), s_hand = median(stmts[ci][2]);
    const double s_enq_n = median(stmts[ci][3]), s_hand_n = median(stmts[ci][4]);
    r.compare("1 writer", "enqueue statement alone, no NOTIFY, " + c, s_enq, "us",
              "hand INSERT statement", s_hand, "(excl. commit)");
    r.compare("1 writer", "enqueue statement alone, with NOTIFY, " + c, s_enq_n, "us",
              "hand INSERT+pg_notify statement", s_hand_n, "(excl. commit)");
  }
  r.compare("1 writer", "batch enqueue of 100, statement alone", median(batch_stmts[0]), "us",
            "100 hand INSERTs, statements", median(batch_stmts[2]), "(excl. commit)");
  r.compare("1 writer", "100 single enqueues, statements alone", median(batch_stmts[1]), "us",
            "100 hand INSERTs, statements", median(batch_stmts[2]), "(excl. commit)");
  const double b = median(batch_times[0]), single = median(batch_times[1]),
               hand = median(batch_times[2]);
  r.compare("1 writer", "batch enqueue of 100, 1 client", b, "us/txn", "100 hand INSERTs", hand);
  r.compare("1 writer", "100 single enqueues, 1 client", single, "us/txn", "100 hand INSERTs", hand,
            "<= 1.05", single / hand <= 1.05);
}

}  // namespace txoutbox::bench
