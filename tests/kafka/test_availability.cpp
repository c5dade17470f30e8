// Kafka publisher results that are the destination's, not the message's: `unavailable` per
// topic, and the batch's later records of a topic once one of them is.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "kafka_test_support.hpp"
#include "txoutbox/kafka/publisher.hpp"

using namespace std::chrono_literals;
using kafka_test::make_record;
using kafka_test::mock_cluster;
using kafka_test::produce_api;
using kafka_test::read_topic;
using txoutbox::outbox_record;
using txoutbox::publish_status;
using txoutbox::kafka::make_publisher;
using txoutbox::kafka::publisher_options;

TEST_CASE("kafka publisher reports unavailable for a topic that does not exist, per topic",
          "[kafka][unavailable]") {
  mock_cluster mc;
  mc.create_topic("t.order", 1);
  // The cluster answers "unknown topic or partition" for t.missing (the mock would
  // otherwise create any topic on first use), and the client gives a topic that may still
  // be propagating no grace.
  rd_kafka_mock_topic_set_error(mc.get(), "t.missing", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  auto pub = make_publisher(
      publisher_options{.bootstrap_servers = mc.bootstraps(),
                        .topic_prefix = "t.",
                        .delivery_timeout = 5000ms,
                        .properties = {{"topic.metadata.propagation.max.ms", "10"}}});
  std::vector<outbox_record> batch{make_record("missing", "a", 1, 1),
                                   make_record("order", "b", 2, 2),
                                   make_record("missing", "c", 3, 3)};
  CHECK(pub->route(batch[0]) == "t.missing");
  CHECK(pub->route(batch[1]) == "t.order");
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 3);
  INFO(results[0].reason);
  CHECK(results[0].status == publish_status::unavailable);
  CHECK(results[1].status == publish_status::ok);  // another topic keeps flowing
  CHECK(results[2].status == publish_status::unavailable);

  // Once librdkafka knows the topic is missing it refuses at produce time: the topic's
  // later records are then not produced at all.
  const auto again = pub->publish(batch);
  REQUIRE(again.size() == 3);
  INFO(again[0].reason);
  CHECK(again[0].status == publish_status::unavailable);
  CHECK(again[1].status == publish_status::ok);
  CHECK(again[2].status == publish_status::unavailable);
  CHECK(read_topic(mc.bootstraps(), "t.order", 1).size() == 2);
}

TEST_CASE("kafka publisher reports unavailable when the broker refuses the topic's authorization",
          "[kafka][unavailable]") {
  mock_cluster mc;
  mc.create_topic("guarded", 1);
  auto pub = make_publisher(publisher_options{.bootstrap_servers = mc.bootstraps(),
                                              .topic = "guarded",
                                              .properties = {{"linger.ms", "0"}}});
  const std::vector<outbox_record> warm{make_record("order", "w", 0, 1)};
  REQUIRE(pub->publish(warm)[0].status == publish_status::ok);
  rd_kafka_mock_push_request_errors(mc.get(), produce_api, 1,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  const std::vector<outbox_record> batch{make_record("order", "k", 1, 2)};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 1);
  INFO(results[0].reason);
  CHECK(results[0].status == publish_status::unavailable);
  CHECK(results[0].reason.find("uthorization") != std::string::npos);
}

TEST_CASE("kafka publisher reports a topic's later records unavailable once one of them is",
          "[kafka][unavailable]") {
  mock_cluster mc;
  mc.create_topic("split", 2);
  rd_kafka_mock_partition_set_leader(mc.get(), "split", 0, 1);
  rd_kafka_mock_partition_set_leader(mc.get(), "split", 1, 2);
  auto pub = make_publisher(publisher_options{.bootstrap_servers = mc.bootstraps(),
                                              .topic = "split",
                                              .delivery_timeout = 1500ms,
                                              .properties = {{"linger.ms", "0"}}});
  // Learn which key lands on which partition (the partitioner hashes the key).
  std::vector<outbox_record> warm;
  for (int k = 0; k < 8; ++k)
    warm.push_back(make_record("order", "key-" + std::to_string(k), k, k + 1));
  for (const auto& r : pub->publish(warm))
    REQUIRE(r.status == publish_status::ok);
  std::map<int, std::string> key_on;
  for (const auto& m : read_topic(mc.bootstraps(), "split", 2))
    key_on.emplace(m.partition, m.key.value_or(""));
  REQUIRE(key_on.size() == 2);

  // Partition 0's leader goes away; partition 1 still takes messages.
  rd_kafka_mock_broker_set_down(mc.get(), 1);
  std::vector<outbox_record> batch{make_record("order", key_on[0], 10, 10),
                                   make_record("order", key_on[1], 11, 11)};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 2);
  INFO(results[0].reason);
  CHECK(results[0].status == publish_status::unavailable);
  // Its own report may say delivered; the topic is down for the rest of the batch.
  INFO(results[1].reason);
  CHECK(results[1].status == publish_status::unavailable);
  CHECK(results[1].reason.find("destination unavailable") != std::string::npos);
  rd_kafka_mock_broker_set_up(mc.get(), 1);
}

TEST_CASE("kafka publisher rejects CR, LF or NUL in a header or key and sends nothing of it",
          "[kafka][unsafe]") {
  mock_cluster mc;
  mc.create_topic("clean", 1);
  auto pub =
      make_publisher(publisher_options{.bootstrap_servers = mc.bootstraps(), .topic = "clean"});
  std::vector<outbox_record> batch{
      make_record("order", "a", 1, 1), make_record("order", "b\r\nX-Injected: 1", 2, 2),
      make_record("order", "c", 3, 3), make_record("order", "d", 4, 4)};
  batch[0].msg.headers["traceparent"] = "00-abc\r\nce_id: forged";
  batch[2].msg.headers["note"] = std::string("nul\0here", 8);
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 4);
  CHECK(results[0].status == publish_status::reject);
  CHECK_THAT(
      results[0].reason,
      Catch::StartsWith(
          "unsafe routing field: headers[traceparent] value contains the control character"));
  CHECK(results[1].status == publish_status::reject);
  CHECK_THAT(
      results[1].reason,
      Catch::StartsWith("unsafe routing field: aggregate_id contains the control character"));
  CHECK(results[2].status == publish_status::reject);
  CHECK(results[3].status == publish_status::ok);
  const auto got = read_topic(mc.bootstraps(), "clean", 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].key == std::optional<std::string>("d"));
}
