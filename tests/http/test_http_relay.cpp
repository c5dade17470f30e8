// The HTTP publisher under the relay: a memory store, a flaky local server, per-key order.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

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
