// The HTTP publisher under the relay: a memory store, a flaky local server, per-key order.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "../unit/relay_test_support.hpp"
#include "test_http_server.hpp"
#include "txoutbox/http/publisher.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/testing/memory_store.hpp"
#include "txoutbox/testing/wait.hpp"

using namespace std::chrono_literals;

TEST_CASE("relay delivers every message over http in per-key order despite 503s", "[http][relay]") {
  http_test::test_http_server server;
  // Every fifth request fails; the relay retries it after a short backoff.
  server.set_responder([](const http_test::recorded_request& q) {
    if (q.index % 5 == 4)
      return http_test::scripted_response{.status = 503, .body = "busy"};
    return http_test::scripted_response{.status = 200};
  });

  auto store = std::make_shared<txoutbox::testing::memory_store>();
  std::map<std::string, std::vector<std::string>> written;  // key -> ids in write order
  for (int i = 0; i < 10; ++i) {
    for (int k = 0; k < 20; ++k) {
      txoutbox::message m{.aggregate_type = "order",
                          .aggregate_id = "key-" + std::to_string(k),
                          .type = "OrderChanged",
                          .payload = "{\"n\":" + std::to_string(i) + "}"};
      written[m.aggregate_id].push_back(store->enqueue(m).to_string());
    }
  }
  std::shared_ptr<txoutbox::publisher> pub =
      txoutbox::http::make_publisher({.url = server.url(), .timeout = 10'000ms});
  txoutbox::relay relay(store, pub,
                        txoutbox::relay_options{.threads = 2,
                                                .batch_size = 8,
                                                .poll_interval = 10ms,
                                                .max_attempts = 50,
                                                .backoff_initial = 5ms,
                                                .backoff_max = 50ms});
  relay.start();
  const bool drained = txoutbox::testing::wait_until([&] { return store->size() == 0; }, 60s);
  CHECK(relay.stop(10s));
  REQUIRE(drained);
  CHECK(store->dead_letter_rows().empty());

  // Per key, the ids of the requests answered 200, in arrival order.
  std::map<std::string, std::vector<std::string>> delivered;
  std::set<std::string> distinct;
  std::size_t failed = 0;
  for (const auto& q : server.requests()) {
    if (q.index % 5 == 4) {
      ++failed;
      continue;
    }
    delivered[q.header("ce-subject")].push_back(q.header("ce-id"));
    distinct.insert(q.header("ce-id"));
  }
  CHECK(failed > 0);
  CHECK(distinct.size() == 200);
  CHECK(server.request_count() == 200 + failed);  // each message accepted exactly once
  CHECK(delivered == written);
}

TEST_CASE("401 then 404 then 200 dead-letters nothing while a 400 dead-letters its message alone",
          "[http][relay][outage]") {
  http_test::test_http_server server;
  server.script({{.status = 401}, {.status = 404}});  // an operator fixes the endpoint
  server.set_responder([](const http_test::recorded_request& q) {
    if (q.header("ce-subject") == "bad")
      return http_test::scripted_response{.status = 400, .body = "no such order"};
    return http_test::scripted_response{.status = 200};
  });
  auto store = std::make_shared<txoutbox::testing::memory_store>();
  std::vector<std::string> good;
  for (int k = 0; k < 10; ++k) {
    good.push_back(store
                       ->enqueue(txoutbox::message{.aggregate_type = "order",
                                                   .aggregate_id = "key-" + std::to_string(k),
                                                   .type = "OrderChanged",
                                                   .payload = "{}"})
                       .to_string());
  }
  const auto bad = store->enqueue(txoutbox::message{
      .aggregate_type = "order", .aggregate_id = "bad", .type = "OrderChanged", .payload = "{}"});
  std::shared_ptr<txoutbox::publisher> pub =
      txoutbox::http::make_publisher({.url = server.url(), .timeout = 10'000ms});
  txoutbox::relay relay(store, pub,
                        txoutbox::relay_options{.threads = 2,
                                                .batch_size = 8,
                                                .poll_interval = 10ms,
                                                .max_attempts = 1,  // any attempt used shows
                                                .backoff_initial = 5ms,
                                                .backoff_max = 50ms,
                                                .probe_interval = 20ms});
  relay.start();
  const bool drained = txoutbox::testing::wait_until([&] { return store->size() == 0; }, 30s);
  CHECK(relay.stop(10s));
  REQUIRE(drained);
  const auto dead = store->dead_letter_rows();
  REQUIRE(dead.size() == 1);
  CHECK(dead.front().record.msg.id == bad);
  CHECK(dead.front().reason.find("400") != std::string::npos);
  std::set<std::string> accepted;
  for (const auto& q : server.requests()) {
    if (q.header("ce-subject") != "bad")
      accepted.insert(q.header("ce-id"));
  }
  CHECK(accepted == std::set<std::string>(good.begin(), good.end()));
}

namespace {

/// Hands out rows whose aggregate id was replaced by `value`, as rows written by plain SQL
/// that skipped validation would arrive.
class hostile_rows : public relay_test::forwarding_store {
 public:
  hostile_rows(std::shared_ptr<txoutbox::testing::memory_store> inner, std::set<std::string> ids,
               std::string value)
      : forwarding_store(std::move(inner)), ids_(std::move(ids)), value_(std::move(value)) {}
  std::vector<txoutbox::claimed_partition> claim(const std::string& o,
                                                 std::span<const std::uint32_t> p,
                                                 const txoutbox::claim_limits& limit) override {
    auto claimed = inner_->claim(o, p, limit);
    for (auto& cp : claimed) {
      for (auto& rec : cp.records) {
        if (ids_.contains(rec.msg.id.to_string()))
          rec.msg.aggregate_id = value_;
      }
    }
    return claimed;
  }

 private:
  std::set<std::string> ids_;
  std::string value_;
};

}  // namespace

TEST_CASE(
    "a row whose routing field would inject a header or smuggle a request never reaches "
    "the webhook",
    "[http][relay][injection]") {
  const auto value = GENERATE(as<std::string>{}, "o1\r\nX-Injected: 1",
                              "o1\r\nContent-Length: 0\r\n\r\nPOST /smuggled HTTP/1.1\r\nHost: "
                              "x\r\nContent-Length: 2\r\n\r\n{}",
                              std::string("o1\0x", 4), "o1\nX-Injected: 1");
  http_test::test_http_server server;
  auto inner = std::make_shared<txoutbox::testing::memory_store>();
  std::set<std::string> hostile, good;
  for (int k = 0; k < 6; ++k) {
    const auto id = inner
                        ->enqueue(txoutbox::message{.aggregate_type = "order",
                                                    .aggregate_id = "key-" + std::to_string(k),
                                                    .type = "OrderChanged",
                                                    .payload = "{}"})
                        .to_string();
    (k % 3 == 0 ? hostile : good).insert(id);
  }
  auto store = std::make_shared<hostile_rows>(inner, hostile, value);
  std::shared_ptr<txoutbox::publisher> pub =
      txoutbox::http::make_publisher({.url = server.url(), .timeout = 10'000ms});
  txoutbox::relay relay(store, pub, txoutbox::relay_options{.threads = 2, .poll_interval = 10ms});
  relay.start();
  const bool drained = txoutbox::testing::wait_until([&] { return inner->size() == 0; }, 30s);
  CHECK(relay.stop(10s));
  REQUIRE(drained);
  CHECK(inner->dead_letter_rows().size() == hostile.size());
  for (const auto& d : inner->dead_letter_rows())
    CHECK(d.reason.rfind("unsafe routing field: aggregate_id", 0) == 0);
  // Exactly the good requests arrived: no extra header, no smuggled request.
  std::set<std::string> seen;
  for (const auto& q : server.requests()) {
    CHECK(q.target == "/hook");
    CHECK(q.headers.count("x-injected") == 0);
    seen.insert(q.header("ce-id"));
  }
  CHECK(server.request_count() == good.size());
  CHECK(seen == good);
}
