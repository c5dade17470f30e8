// The relay through destination outages: nothing dead-lettered, no attempt used, probes
// spaced, prompt recovery, and a message that fails alone cannot hold its route closed.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "relay_test_support.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/testing/manual_clock.hpp"
#include "txoutbox/testing/memory_store.hpp"
#include "txoutbox/testing/scripted_publisher.hpp"
#include "txoutbox/testing/wait.hpp"

using namespace std::chrono_literals;
using relay_test::fast_options;
using relay_test::make_message;
using txoutbox::publish_result;
using txoutbox::relay;
using txoutbox::testing::manual_clock;
using txoutbox::testing::memory_store;
using txoutbox::testing::memory_store_options;
using txoutbox::testing::scripted_publisher;
using txoutbox::testing::wait_until;

namespace {

struct outage_fixture {
  std::shared_ptr<manual_clock> clk = std::make_shared<manual_clock>();
  std::shared_ptr<memory_store> store =
      std::make_shared<memory_store>(memory_store_options{.partitions = 16, .clock = clk});
  std::shared_ptr<scripted_publisher> pub = std::make_shared<scripted_publisher>();
  relay_test::log_sink log;
  std::atomic<bool> down{true};

  /// Options that dead-letter within seconds if an outage used attempts.
  txoutbox::relay_options options() {
    auto o = fast_options(clk, "r1");
    o.max_attempts = 3;
    o.backoff_initial = 100ms;
    o.backoff_max = 5000ms;
    o.probe_interval = 1000ms;
    o.on_log = log.hook();
    return o;
  }

  void refuse_while_down() {
    pub->set_fallback([this](const txoutbox::outbox_record&) {
      return down.load() ? publish_result::unavailable("connection refused") : publish_result::ok();
    });
  }

  std::size_t max_attempts_seen() const {
    std::size_t m = 0;
    for (const auto& r : store->rows())
      m = std::max(m, static_cast<std::size_t>(r.attempts));
    return m;
  }

  /// Moves the relay clock by `step`, `times` times, giving the relay a few poll
  /// intervals of real time after each step to claim, probe and park again.
  void run_clock(std::chrono::milliseconds step, int times) {
    for (int i = 0; i < times; ++i) {
      clk->advance(step);
      std::this_thread::sleep_for(30ms);
    }
  }
};

}  // namespace

TEST_CASE("an outage of a simulated hour dead-letters nothing and uses no attempt",
          "[relay][outage]") {
  outage_fixture f;
  f.refuse_while_down();
  for (int i = 0; i < 5; ++i) {
    for (int k = 0; k < 20; ++k)
      f.store->enqueue(make_message("key-" + std::to_string(k), i));
  }
  relay r(f.store, f.pub, f.options());
  r.start();
  REQUIRE(wait_until([&] { return r.stats().destinations_down == 1; }, 5s));

  // An hour of relay time in one-minute steps: far past max_attempts x backoff_max.
  f.run_clock(60s, 60);
  CHECK(f.store->dead_letter_rows().empty());
  CHECK(f.store->size() == 100);
  CHECK(f.max_attempts_seen() == 0);
  const auto during = r.stats();
  CHECK(during.destinations_down == 1);
  CHECK(during.unavailable_for >= 3600s);
  CHECK(during.dead_lettered == 0);
  CHECK(during.retried == 0);
  CHECK(during.held > 0);
  // One probe per probe interval for the whole route, not one per partition or message:
  // the first failed send, then at most one probe per clock step (60).
  CHECK(f.pub->sent().size() <= 62);
  CHECK(f.log.contains("destination unavailable since"));

  // Recovery: the next probe succeeds and the backlog drains with no further clock move,
  // so no row kept an available_at grown during the outage.
  f.down = false;
  f.clk->advance(1000ms);
  REQUIRE(r.flush(10s));
  CHECK(f.store->size() == 0);
  CHECK(f.store->dead_letter_rows().empty());
  CHECK(relay_test::keys_in_order(f.pub->sent()));
  CHECK(relay_test::distinct(f.pub->sent()) == 100);
  CHECK(r.stats().destinations_down == 0);
  CHECK(r.stats().unavailable_for == 0ms);
  CHECK(f.log.contains("destination back after"));
  REQUIRE(r.stop(5s));
}

TEST_CASE("an outage is logged once when it starts and once when it ends", "[relay][outage]") {
  outage_fixture f;
  f.refuse_while_down();
  for (int k = 0; k < 8; ++k)
    f.store->enqueue(make_message("key-" + std::to_string(k), 0));
  relay r(f.store, f.pub, f.options());
  r.start();
  REQUIRE(wait_until([&] { return r.stats().destinations_down == 1; }, 5s));
  f.run_clock(1000ms, 10);
  f.down = false;
  f.clk->advance(1000ms);
  REQUIRE(r.flush(10s));
  REQUIRE(r.stop(5s));
  std::size_t down_lines = 0, back_lines = 0;
  for (const auto& line : f.log.lines) {
    down_lines += line.find("destination unavailable since") != std::string::npos ? 1 : 0;
    back_lines += line.find("destination back after") != std::string::npos ? 1 : 0;
  }
  CHECK(down_lines == 1);
  CHECK(back_lines == 1);
}

TEST_CASE("a message that fails alone cannot hold its route closed", "[relay][outage]") {
  outage_fixture f;
  // One key's messages are refused (a URL that 404s for it only); every other key goes.
  f.pub->set_fallback([](const txoutbox::outbox_record& rec) {
    return rec.msg.aggregate_id == "bad" ? publish_result::unavailable("404 for this one")
                                         : publish_result::ok();
  });
  f.store->enqueue(make_message("bad", 0));
  relay r(f.store, f.pub, f.options());
  r.start();
  // The bad message takes the route down first; the good ones arrive while it is down,
  // so they are the other keys whose success proves the route up.
  REQUIRE(wait_until([&] { return r.stats().destinations_down == 1; }, 5s));
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 10; ++k)
      f.store->enqueue(make_message("good-" + std::to_string(k), i));
  }
  // The bad message uses its attempts once others prove the route up, then is
  // dead-lettered; every good message is published meanwhile.
  // The clock moves 1 s per 20 ms of real time: fast enough for probes and backoff, slow
  // enough that the relay's leases (60 s, renewed every 100 ms) never lapse meanwhile.
  REQUIRE(wait_until(
      [&] {
        std::this_thread::sleep_for(20ms);
        f.clk->advance(1000ms);
        return f.store->dead_letter_rows().size() == 1 && f.store->size() == 0;
      },
      60s));
  const auto dead = f.store->dead_letter_rows();
  CHECK(dead.front().record.msg.aggregate_id == "bad");
  CHECK(dead.front().reason.find("404 for this one") != std::string::npos);
  CHECK(relay_test::distinct(f.pub->sent()) == 31);
  CHECK(relay_test::keys_in_order(f.pub->sent()));
  REQUIRE(r.stop(5s));
}

TEST_CASE("a message refused alone with nothing else on its route is held, never dead-lettered",
          "[relay][outage]") {
  // With no other key to prove the route up, "this message fails" and "the destination is
  // down" cannot be told apart: the relay keeps the message and its attempts.
  outage_fixture f;
  f.pub->set_fallback([](const txoutbox::outbox_record& rec) {
    return rec.msg.aggregate_id == "bad" ? publish_result::unavailable("404 for this one")
                                         : publish_result::ok();
  });
  f.store->enqueue(make_message("bad", 0));
  relay r(f.store, f.pub, f.options());
  r.start();
  REQUIRE(wait_until([&] { return r.stats().destinations_down == 1; }, 5s));
  f.run_clock(60s, 30);
  CHECK(f.store->dead_letter_rows().empty());
  CHECK(f.store->size() == 1);
  CHECK(f.max_attempts_seen() == 0);
  CHECK(r.stats().destinations_down == 1);
  // A good message on the same route proves it up; from then on the bad one fails alone.
  f.store->enqueue(make_message("good", 0));
  REQUIRE(wait_until(
      [&] {
        std::this_thread::sleep_for(20ms);
        f.clk->advance(1000ms);
        return f.store->dead_letter_rows().size() == 1 && f.store->size() == 0;
      },
      60s));
  CHECK(f.store->dead_letter_rows().front().record.msg.aggregate_id == "bad");
  REQUIRE(r.stop(5s));
}

TEST_CASE("one unavailable route does not stop the others", "[relay][outage]") {
  outage_fixture f;
  f.pub->set_route([](const txoutbox::outbox_record& rec) { return rec.msg.type; });
  f.pub->set_fallback([](const txoutbox::outbox_record& rec) {
    return rec.msg.type == "Broken" ? publish_result::unavailable("unknown topic")
                                    : publish_result::ok();
  });
  for (int k = 0; k < 10; ++k) {
    auto broken = make_message("b-" + std::to_string(k), 0);
    broken.type = "Broken";
    f.store->enqueue(broken);
    f.store->enqueue(make_message("w-" + std::to_string(k), 0));
  }
  relay r(f.store, f.pub, f.options());
  r.start();
  REQUIRE(wait_until([&] { return r.stats().published == 10; }, 10s));
  f.run_clock(60s, 10);
  CHECK(f.store->size() == 10);  // the broken route's messages wait, all of them
  CHECK(f.store->dead_letter_rows().empty());
  CHECK(f.max_attempts_seen() == 0);
  CHECK(r.stats().destinations_down == 1);
  REQUIRE(r.stop(5s));
}

TEST_CASE("a Retry-After on an outage moves the next probe, capped at backoff_max",
          "[relay][outage]") {
  outage_fixture f;
  f.pub->push(publish_result::unavailable("503 Service Unavailable", std::chrono::hours(24)));
  f.store->enqueue(make_message("k", 0));
  relay r(f.store, f.pub, f.options());  // backoff_max 5 s
  r.start();
  REQUIRE(wait_until([&] { return r.stats().destinations_down == 1; }, 5s));
  f.run_clock(1000ms, 3);  // 3 s: before the capped hint, no probe
  CHECK(f.pub->sent().size() == 1);
  f.run_clock(1000ms, 3);  // 6 s: past the 5 s cap, not a day
  REQUIRE(r.flush(10s));
  CHECK(f.pub->sent().size() == 2);
  CHECK(f.store->size() == 0);
  REQUIRE(r.stop(5s));
}
