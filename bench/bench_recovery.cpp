// Recovery after a destination outage: from a webhook's recovery to an empty outbox, against
// the same drain with no outage before it (issue 11: no row keeps a backoff grown during the
// outage, so the backlog drains at full rate once the next probe succeeds).
#include "bench_util.hpp"

#ifdef TXOUTBOX_BENCH_HAVE_HTTP

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_http_server.hpp"
#include "txoutbox/http/publisher.hpp"
#include "txoutbox/postgres/store.hpp"
#include "txoutbox/relay.hpp"

namespace txoutbox::bench {
namespace {

using std::chrono::milliseconds;

/// Seconds from the end of an outage of `outage` (the webhook answering 503) to an empty
/// outbox of `rows` rows; with no outage, from the first message the webhook accepted (so
/// neither figure holds the relay's start-up). Relay settings that would dead-letter the
/// outbox within seconds if the outage used attempts.
double drain_after(const settings& s, const std::string& sch, long rows, milliseconds outage) {
  pqxx::connection conn(s.pg_url);
  fresh_schema(conn, sch);
  preload(conn, sch, rows);
  http_test::test_http_server server;
  std::atomic<bool> down{outage.count() > 0};
  std::atomic<steady::rep> first_ok{0};
  server.set_responder([&](const http_test::recorded_request&) {
    if (down.load())
      return http_test::scripted_response{.status = 503};
    steady::rep none = 0;
    first_ok.compare_exchange_strong(none, steady::now().time_since_epoch().count());
    return http_test::scripted_response{};
  });
  auto pub = std::shared_ptr<publisher>(
      http::make_publisher(http::publisher_options{.url = server.url(), .max_connections = 4}));
  auto store = postgres::make_store({.url = s.pg_url, .schema = sch});
  relay r(store, pub,
          relay_options{.threads = 4,
                        .batch_size = 100,
                        .poll_interval = milliseconds(100),
                        .max_attempts = 3,
                        .backoff_initial = milliseconds(100),
                        .owner = "bench-recovery"});
  r.start();
  if (outage.count() > 0) {
    std::this_thread::sleep_for(outage);
    down = false;
  }
  auto start = steady::now();
  const bool done =
      wait_for([&] { return r.stats().published >= static_cast<std::uint64_t>(rows); },
               std::chrono::minutes(5));
  const auto end = steady::now();
  if (outage.count() == 0)
    start = steady::time_point(steady::duration(first_ok.load()));
  const double elapsed = std::chrono::duration<double>(end - start).count();
  const auto dead = r.stats().dead_lettered;
  (void)r.stop(std::chrono::seconds(10));
  if (!done)
    throw std::runtime_error("recovery drain did not finish in 5 minutes");
  if (dead != 0)
    throw std::runtime_error("the outage dead-lettered " + std::to_string(dead) + " messages");
  return elapsed;
}

}  // namespace

void run_recovery(const settings& s, results& r) {
  const long rows = s.quick ? 2'000 : 10'000;
  const milliseconds outage = s.quick ? milliseconds(3'000) : milliseconds(10'000);
  std::vector<double> plain, recovered;
  for (int rep = 0; rep < s.reps; ++rep) {  // interleaved: both see the same machine load
    plain.push_back(drain_after(s, "bench_recovery", rows, milliseconds(0)));
    recovered.push_back(drain_after(s, "bench_recovery", rows, outage));
    progress("  recovery rep " + std::to_string(rep + 1) + ": no outage " + fmt(plain.back()) +
             " s, after outage " + fmt(recovered.back()) + " s");
  }
  const std::string what = std::to_string(rows / 1000) + "k rows -> webhook";
  const double p = median(plain), a = median(recovered);
  r.compare(
      "recovery",
      "drain after a " + std::to_string(outage.count() / 1000) + " s outage (503), " + what, a, "s",
      "same drain, no outage", p, "<= 1.5", a / p <= 1.5,
      "from the recovery (incl. the wait for the next probe) vs from the first accepted message");
}

}  // namespace txoutbox::bench

#else

namespace txoutbox::bench {
void run_recovery(const settings&, results& r) {
  r.note("recovery: skipped (built without the HTTP publisher)");
}
}  // namespace txoutbox::bench

#endif
