// Commit -> publish latency at a steady rate: relay with LISTEN, relay polling, raw NOTIFY round
// trip.
#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "txoutbox/postgres/store.hpp"
#include "txoutbox/postgres/writer.hpp"
#include "txoutbox/publisher.hpp"
#include "txoutbox/relay.hpp"

namespace txoutbox::bench {
namespace {

const std::string schema = "bench_latency";
/// Enough connections that commits waiting on fsync (several ms on a shared VM) never
/// hold the schedule back: the offered rate must be the configured one.
constexpr int writer_threads = 16;
const auto poll_interval = std::chrono::milliseconds(100);

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
      .count();
}

/// Per-message time stamps, indexed by message number (the aggregate id's suffix).
struct stamps {
  explicit stamps(std::size_t n) : committed(n), delivered(n) {}
  std::vector<std::atomic<std::int64_t>> committed;  ///< just before commit() was called
  std::vector<std::atomic<std::int64_t>> delivered;  ///< first publish / notification
  std::atomic<std::uint64_t> count{0};

  void deliver(std::size_t i, std::int64_t t) {
    if (i >= delivered.size())
      return;
    std::int64_t zero = 0;
    if (delivered[i].compare_exchange_strong(zero, t))
      count.fetch_add(1);
  }
};

/// Accepts everything and stamps the first publish time of each message. Thread-safe.
class stamping_publisher final : public publisher {
 public:
  explicit stamping_publisher(stamps& st) : st_(st) {}
  std::vector<publish_result> publish(std::span<const outbox_record> batch) noexcept override {
    const auto t = now_ns();
    for (const auto& rec : batch) {
      const auto& key = rec.msg.aggregate_id;  // "order-<n>"
      st_.deliver(std::strtoull(key.c_str() + 6, nullptr, 10), t);
    }
    return std::vector<publish_result>(batch.size());
  }
  bool flush(std::chrono::milliseconds) noexcept override { return true; }
  void shutdown(std::chrono::milliseconds) noexcept override {}

 private:
  stamps& st_;
};

/// Writes `total` transactions at `rate` per second from writer_threads connections
/// (each slot has a fixed due time, so a slow commit does not slow the schedule down).
template <class Body>
double paced_writes(const settings& s, std::size_t total, stamps& st, Body body) {
  std::vector<std::unique_ptr<pqxx::connection>> conns;
  for (int i = 0; i < writer_threads; ++i)
    conns.push_back(std::make_unique<pqxx::connection>(s.pg_url));
  std::atomic<std::size_t> next{0};
  const auto start = steady::now() + std::chrono::milliseconds(50);
  const auto step = std::chrono::nanoseconds(1'000'000'000LL / s.latency_rate);
  std::vector<std::thread> threads;
  for (int w = 0; w < writer_threads; ++w) {
    threads.emplace_back([&, w] {
      for (;;) {
        const auto i = next.fetch_add(1);
        if (i >= total)
          return;
        std::this_thread::sleep_until(start + step * static_cast<long>(i));
        pqxx::work tx(*conns[w]);
        body(tx, static_cast<long>(i));
        st.committed[i].store(now_ns());
        tx.commit();
      }
    });
  }
  for (auto& t : threads)
    t.join();
  return static_cast<double>(total) / std::chrono::duration<double>(steady::now() - start).count();
}

struct latency_figures {
  double p50 = 0, p99 = 0, max = 0;
  double rate = 0;  ///< achieved writes per second
};

latency_figures figures_of(const stamps& st) {
  std::vector<double> ms;
  ms.reserve(st.committed.size());
  for (std::size_t i = 0; i < st.committed.size(); ++i)
    ms.push_back(static_cast<double>(st.delivered[i].load() - st.committed[i].load()) / 1e6);
  double mx = 0;
  for (auto v : ms)
    mx = std::max(mx, v);
  return {percentile(ms, 0.50), percentile(ms, 0.99), mx};
}

latency_figures relay_run(const settings& s, bool listen, std::size_t total) {
  stamps st(total);
  auto pub = std::make_shared<stamping_publisher>(st);
  auto store = postgres::make_store({.url = s.pg_url, .schema = schema, .listen = listen});
  relay rl(store, pub, relay_options{.threads = 2, .poll_interval = poll_interval});
  rl.start();
  if (!wait_for([&] { return rl.stats().owned_partitions == 16; }, std::chrono::seconds(30)))
    throw std::runtime_error("relay did not take its 16 partitions");
  const postgres::writer w({.schema = schema, .notify = listen});
  const auto order_sql =
      "INSERT INTO \"" + schema + "\".orders (customer, total) VALUES ($1, $2::numeric)";
  const double rate = paced_writes(s, total, st, [&](pqxx::work& tx, long i) {
    tx.exec_params(order_sql, "c" + std::to_string(i % 1000), std::to_string(i % 10000) + ".5");
    w.enqueue(tx, message{.aggregate_type = "order",
                          .aggregate_id = "order-" + std::to_string(i),
                          .type = "OrderPlaced",
                          .payload = order_payload(i)});
  });
  const bool done = wait_for([&] { return st.count.load() >= total; }, std::chrono::seconds(60));
  (void)rl.stop(std::chrono::seconds(10));  // timing ends at the drain, not at stop
  if (!done)
    throw std::runtime_error("relay published " + std::to_string(st.count.load()) + " of " +
                             std::to_string(total));
  auto f = figures_of(st);
  f.rate = rate;
  return f;
}

/// Receives the raw notifications and stamps them. Runs on the listener thread only.
class raw_receiver final : public pqxx::notification_receiver {
 public:
  raw_receiver(pqxx::connection_base& c, stamps& st)
      : pqxx::notification_receiver(c, "bench_raw"), st_(st) {}
  void operator()(const std::string& payload, int) override {
    st_.deliver(std::strtoull(payload.c_str(), nullptr, 10), now_ns());
  }

 private:
  stamps& st_;
};

/// The baseline: the same business INSERT plus a row and a pg_notify in one statement,
/// received by a plain LISTEN connection; latency = the notification's arrival.
latency_figures raw_notify_run(const settings& s, std::size_t total) {
  stamps st(total);
  pqxx::connection listen_conn(s.pg_url);
  raw_receiver receiver(listen_conn, st);
  std::atomic<bool> stop{false};
  std::thread listener([&] {
    while (!stop.load())
      listen_conn.await_notification(0, 50'000);
  });
  const auto order_sql =
      "INSERT INTO \"" + schema + "\".orders (customer, total) VALUES ($1, $2::numeric)";
  const auto ping_sql = "WITH ins AS (INSERT INTO \"" + schema +
                        "\".pings (n, payload) VALUES ($1, $2::jsonb)) "
                        "SELECT pg_notify('bench_raw', $1::text)";
  const double rate = paced_writes(s, total, st, [&](pqxx::work& tx, long i) {
    tx.exec_params(order_sql, "c" + std::to_string(i % 1000), std::to_string(i % 10000) + ".5");
    tx.exec_params(ping_sql, i, order_payload(i));
  });
  const bool done = wait_for([&] { return st.count.load() >= total; }, std::chrono::seconds(60));
  stop.store(true);
  listener.join();
  if (!done)
    throw std::runtime_error("raw NOTIFY: received " + std::to_string(st.count.load()) + " of " +
                             std::to_string(total));
  auto f = figures_of(st);
  f.rate = rate;
  return f;
}

}  // namespace

void run_latency(const settings& s, results& r) {
  {
    pqxx::connection conn(s.pg_url);
    fresh_schema(conn, schema);
    pg_exec(conn, "CREATE TABLE \"" + schema +
                      "\".orders (id bigserial PRIMARY KEY, customer text NOT NULL, "
                      "total numeric(12,2) NOT NULL, created_at timestamptz NOT NULL "
                      "DEFAULT now())");
    pg_exec(conn,
            "CREATE TABLE \"" + schema + "\".pings (n bigint PRIMARY KEY, payload jsonb NOT NULL)");
  }
  const auto total = static_cast<std::size_t>(s.latency_seconds * s.latency_rate);
  std::vector<double> p50[3], p99[3], mx[3], rates[3];
  const char* names[3] = {"relay with LISTEN", "relay polling only", "raw NOTIFY round trip"};
  for (int rep = 0; rep < s.reps; ++rep) {
    for (int mode = 0; mode < 3; ++mode) {
      progress("latency repetition " + std::to_string(rep + 1) + ": " + names[mode]);
      const auto f = mode == 2 ? raw_notify_run(s, total) : relay_run(s, mode == 0, total);
      p50[mode].push_back(f.p50);
      p99[mode].push_back(f.p99);
      mx[mode].push_back(f.max);
      rates[mode].push_back(f.rate);
      progress("  p50 " + fmt(f.p50) + " ms, p99 " + fmt(f.p99) + " ms, max " + fmt(f.max) +
               " ms; writes achieved " + fmt(f.rate) + " msg/s");
    }
    pqxx::connection conn(s.pg_url);
    pg_exec(conn, "TRUNCATE \"" + schema + "\".orders, \"" + schema + "\".pings");
  }
  const std::string sec = "3 latency";
  for (int mode = 0; mode < 3; ++mode)
    r.add({.section = sec,
           .name = std::string("achieved write rate, ") + names[mode],
           .value = median(rates[mode]),
           .unit = "msg/s",
           .target = std::to_string(s.latency_rate) + " offered"});
  const double b50 = median(p50[2]), b99 = median(p99[2]), bmx = median(mx[2]);
  r.compare(sec, "p50, relay with LISTEN", median(p50[0]), "ms", "raw NOTIFY p50", b50, "<= 2 ms",
            median(p50[0]) <= 2.0);
  r.compare(sec, "p99, relay with LISTEN", median(p99[0]), "ms", "raw NOTIFY p99", b99, "<= 10 ms",
            median(p99[0]) <= 10.0);
  r.compare(sec, "max, relay with LISTEN", median(mx[0]), "ms", "raw NOTIFY max", bmx);
  const std::string poll = " (poll " + std::to_string(poll_interval.count()) + " ms)";
  r.compare(sec, "p50, relay polling only" + poll, median(p50[1]), "ms", "raw NOTIFY p50", b50);
  r.compare(sec, "p99, relay polling only" + poll, median(p99[1]), "ms", "raw NOTIFY p99", b99);
  r.compare(sec, "max, relay polling only" + poll, median(mx[1]), "ms", "raw NOTIFY max", bmx);
}

}  // namespace txoutbox::bench
