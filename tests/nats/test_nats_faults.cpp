// NATS publisher under faults, on a private nats-server: a crash and restart mid-stream,
// unreachable server.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "delivery_checker.hpp"
#include "nats_test_support.hpp"
#include "private_server.hpp"
#include "txoutbox/nats/publisher.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/testing/memory_store.hpp"
#include "txoutbox/testing/servers.hpp"
#include "txoutbox/testing/wait.hpp"

using txoutbox::outbox_record;
using txoutbox::publish_status;
using txoutbox::testing::private_server;
using txoutbox::testing::wait_until;
using namespace txoutbox::testing::nats;
using namespace std::chrono_literals;

TEST_CASE("nats publisher reports unavailable for every record when the server is unreachable",
          "[nats][unavailable]") {
  txoutbox::nats::publisher_options opts;
  opts.url = "nats://127.0.0.1:" + std::to_string(txoutbox::testing::free_port());
  opts.ack_timeout = 500ms;
  auto pub = txoutbox::nats::make_publisher(opts);
  std::vector<outbox_record> batch{make_record("order", "a", 1), make_record("order", "b", 2)};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 2);
  for (const auto& r : results) {
    CHECK(r.status == publish_status::unavailable);
    CHECK_THAT(r.reason, Catch::Contains("cannot connect"));
  }
  CHECK_THAT(results[1].reason, Catch::StartsWith("not sent: destination unavailable"));
}

TEST_CASE("nats publisher reports unavailable once its server is stopped", "[nats][unavailable]") {
  const auto bin = txoutbox::testing::required_program("nats-server");
  if (bin.empty())
    return;
  private_server srv(bin, &nats_server_args);
  srv.start();
  const std::string url = "nats://127.0.0.1:" + std::to_string(srv.port());
  auto pub =
      txoutbox::nats::make_publisher({.url = url, .create_stream = true, .ack_timeout = 1000ms});
  std::vector<outbox_record> first{make_record("order", "a", 1)};
  REQUIRE(pub->publish(first)[0].status == publish_status::ok);

  srv.kill();
  std::vector<outbox_record> batch{make_record("order", "a", 2), make_record("order", "b", 3)};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 2);
  INFO(results[0].reason);
  CHECK(results[0].status == publish_status::unavailable);
  CHECK(results[1].status == publish_status::unavailable);
  CHECK_THAT(results[1].reason, Catch::StartsWith("not sent: destination unavailable"));
}

TEST_CASE("relay delivers everything once through a nats-server killed and restarted mid-stream",
          "[nats][relay][fault]") {
  const auto bin = txoutbox::testing::required_program("nats-server");
  if (bin.empty())
    return;
  private_server srv(bin, &nats_server_args);
  srv.start();
  const std::string url = "nats://127.0.0.1:" + std::to_string(srv.port());

  auto store = std::make_shared<txoutbox::testing::memory_store>(
      txoutbox::testing::memory_store_options{.partitions = 4});
  std::shared_ptr<txoutbox::publisher> pub =
      txoutbox::nats::make_publisher({.url = url, .create_stream = true, .ack_timeout = 1000ms});
  txoutbox::relay relay(store, pub,
                        {.threads = 2,
                         .batch_size = 20,
                         .poll_interval = 10ms,
                         .max_attempts = 100000,
                         .backoff_initial = 10ms,
                         .backoff_max = 100ms});

  txoutbox::testing::delivery_checker checker;
  const std::vector<std::string> keys{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
  int n = 0;
  const auto enqueue = [&](int count) {
    for (int i = 0; i < count; ++i, ++n) {
      const auto& key = keys[static_cast<std::size_t>(n) % keys.size()];
      const auto id = store->enqueue({.aggregate_type = "order",
                                      .aggregate_id = key,
                                      .type = "OrderPlaced",
                                      .payload = "{\"n\":" + std::to_string(n) + "}"});
      checker.committed(id.to_string(), key);
    }
  };

  enqueue(300);
  relay.start();
  {
    client before(url);
    REQUIRE(wait_until([&] { return before.message_count("TXOUTBOX") >= 50; }));
  }
  srv.kill();
  enqueue(300);  // written while NATS is down
  // The publisher reports the outage; the relay holds the stream back and probes it.
  REQUIRE(wait_until([&] { return relay.stats().destinations_down > 0; }));
  srv.start();  // same port, same -sd directory
  const bool drained = wait_until([&] { return store->size() == 0; }, 60s);
  (void)relay.stop(5s);  // the assertions below are on what was delivered
  INFO(srv.log());
  REQUIRE(drained);
  CHECK(store->dead_letter_rows().empty());

  client after(url);
  for (const auto& m : after.read_all("TXOUTBOX"))
    checker.delivered(m.headers.at("Nats-Msg-Id"));
  // JetStream drops re-published ids (Nats-Msg-Id): not a single duplicate is stored.
  const auto report = checker.check(0);
  INFO(report.describe());
  CHECK(report.ok());
  CHECK(report.distinct == 600);
}
