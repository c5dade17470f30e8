// Kafka publisher under faults: brokers down, shutdown during a publish, fatal producer errors.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "delivery_checker.hpp"
#include "kafka_test_support.hpp"
#include "txoutbox/kafka/publisher.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/testing/memory_store.hpp"
#include "txoutbox/testing/wait.hpp"

using namespace std::chrono_literals;
using kafka_test::make_record;
using kafka_test::mock_cluster;
using kafka_test::produce_api;
using kafka_test::read_topic;
using txoutbox::outbox_record;
using txoutbox::publish_status;
using txoutbox::kafka::make_publisher;
using txoutbox::kafka::publisher_options;
using txoutbox::testing::wait_until;

namespace {

/// Reconnect quickly once brokers are back, so tests do not wait out the default
/// 10 s reconnect backoff.
std::map<std::string, std::string> fast_reconnect() {
  return {{"reconnect.backoff.ms", "10"}, {"reconnect.backoff.max.ms", "100"}};
}

}  // namespace

TEST_CASE(
    "kafka publisher reports unavailable while the cluster is down and a relay delivers "
    "everything once it is back",
    "[kafka][faults][relay]") {
  mock_cluster mc;
  mc.create_topic("orders", 4);
  std::shared_ptr<txoutbox::publisher> pub =
      make_publisher(publisher_options{.bootstrap_servers = mc.bootstraps(),
                                       .topic = "orders",
                                       .delivery_timeout = 1000ms,
                                       .properties = fast_reconnect()});
  mc.set_all_down();

  // A publish on a dead cluster gives up after delivery_timeout: the destination's
  // failure, `unavailable`; the key's later record is held behind it (`retry`).
  std::vector<outbox_record> probe{make_record("order", "p", 1, 1), make_record("order", "p", 2, 2),
                                   make_record("order", "q", 3, 3)};
  const auto down_results = pub->publish(probe);
  REQUIRE(down_results.size() == 3);
  INFO(down_results[0].reason);
  CHECK(down_results[0].status == publish_status::unavailable);
  CHECK(down_results[0].reason.find("timed out") != std::string::npos);
  CHECK(down_results[1].status == publish_status::retry);
  CHECK(down_results[2].status == publish_status::unavailable);

  // A relay over the in-memory store keeps retrying until the brokers return.
  auto store = std::make_shared<txoutbox::testing::memory_store>(
      txoutbox::testing::memory_store_options{.partitions = 4});
  txoutbox::testing::delivery_checker checker;
  for (int n = 0; n < 10; ++n) {
    for (int k = 0; k < 30; ++k) {
      txoutbox::message m{.aggregate_type = "order",
                          .aggregate_id = "key-" + std::to_string(k),
                          .type = "OrderChanged",
                          .payload = kafka_test::payload_of(n)};
      const auto id = store->enqueue(m);
      checker.committed(id.to_string(), m.aggregate_id);
    }
  }
  constexpr std::size_t batch_size = 20;
  txoutbox::relay relay(store, pub,
                        txoutbox::relay_options{.threads = 2,
                                                .batch_size = batch_size,
                                                .poll_interval = 10ms,
                                                .max_attempts = 1000,
                                                .backoff_initial = 50ms,
                                                .backoff_max = 200ms,
                                                .lease_ttl = 30'000ms});
  relay.start();
  // The outage holds the topic back (no attempt used) instead of retrying each record.
  REQUIRE(wait_until([&] { return relay.stats().destinations_down >= 1; }, 20s));
  CHECK(relay.stats().published == 0);
  mc.set_all_up();
  REQUIRE(wait_until([&] { return store->size() == 0; }, 30s));
  CHECK(relay.stop(5s));
  CHECK(store->dead_letter_rows().empty());

  for (const auto& m : read_topic(mc.bootstraps(), "orders", 4))
    checker.delivered(m.header("ce_id").value_or("<none>"), m.stream());
  const auto report = checker.check(batch_size);
  INFO(report.describe());
  REQUIRE(report.ok());
}

TEST_CASE("kafka publisher shutdown unblocks a publish waiting on a down cluster",
          "[kafka][faults][shutdown]") {
  mock_cluster mc;
  mc.create_topic("stuck", 1);
  // Default delivery timeout (30 s): without shutdown the publish would wait that long.
  auto pub = make_publisher(publisher_options{
      .bootstrap_servers = mc.bootstraps(), .topic = "stuck", .properties = fast_reconnect()});
  mc.set_all_down();
  std::vector<outbox_record> batch;
  for (int i = 0; i < 10; ++i)
    batch.push_back(make_record("order", "k" + std::to_string(i % 3), i, i + 1));
  auto pending = std::async(std::launch::async, [&] { return pub->publish(batch); });
  REQUIRE(pending.wait_for(300ms) == std::future_status::timeout);  // it is waiting

  pub->shutdown(200ms);
  REQUIRE(pending.wait_for(10s) == std::future_status::ready);
  const auto results = pending.get();
  REQUIRE(results.size() == batch.size());
  for (const auto& r : results) {
    INFO(r.reason);
    CHECK(r.status == publish_status::retry);
  }
  CHECK(results[0].reason.find("shut down") != std::string::npos);

  // After shutdown every publish is refused at once, nothing sent.
  const auto later = pub->publish(batch);
  REQUIRE(later.size() == batch.size());
  CHECK(later[0].status == publish_status::retry);
  CHECK(later[0].reason.find("shut down") != std::string::npos);
}

TEST_CASE("kafka publisher re-creates the producer after a fatal idempotence error",
          "[kafka][faults][fatal]") {
  mock_cluster mc;
  mc.create_topic("fatal", 1);
  auto pub =
      make_publisher(publisher_options{.bootstrap_servers = mc.bootstraps(), .topic = "fatal"});
  txoutbox::testing::delivery_checker checker;
  std::vector<outbox_record> warm{make_record("order", "w", 0, 1)};
  checker.committed(warm[0].msg.id.to_string(), "w");
  REQUIRE(pub->publish(warm)[0].status == publish_status::ok);

  // The broker claims a sequence gap: librdkafka raises a fatal error for the instance.
  rd_kafka_mock_push_request_errors(mc.get(), produce_api, 1,
                                    RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
  std::vector<outbox_record> batch{make_record("order", "k", 1, 2), make_record("order", "k", 2, 3),
                                   make_record("order", "j", 3, 4)};
  for (const auto& r : batch)
    checker.committed(r.msg.id.to_string(), r.msg.aggregate_id);
  const auto failed = pub->publish(batch);
  REQUIRE(failed.size() == 3);
  for (const auto& r : failed) {
    INFO(r.reason);
    CHECK(r.status == publish_status::retry);
  }
  CHECK(failed[0].reason.find("fatal") != std::string::npos);

  // The next publish runs on a fresh producer.
  const auto again = pub->publish(batch);
  for (const auto& r : again) {
    INFO(r.reason);
    REQUIRE(r.status == publish_status::ok);
  }
  for (const auto& m : read_topic(mc.bootstraps(), "fatal", 1))
    checker.delivered(m.header("ce_id").value_or("<none>"), m.stream());
  const auto report = checker.check(batch.size());
  INFO(report.describe());
  REQUIRE(report.ok());
}
