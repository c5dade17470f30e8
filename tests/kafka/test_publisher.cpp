// Kafka publisher on the librdkafka mock cluster: wire format, routing, order, broker errors.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "delivery_checker.hpp"
#include "kafka_test_support.hpp"
#include "txoutbox/kafka/publisher.hpp"

using namespace std::chrono_literals;
using kafka_test::consumed;
using kafka_test::make_record;
using kafka_test::mock_cluster;
using kafka_test::produce_api;
using kafka_test::read_topic;
using txoutbox::outbox_record;
using txoutbox::publish_status;
using txoutbox::kafka::make_publisher;
using txoutbox::kafka::publisher_options;

namespace {

/// `count` records over `keys` keys, round-robin, numbered so each key's n grows.
std::vector<outbox_record> records(const std::string& type, int count, int keys) {
  std::vector<outbox_record> batch;
  for (int i = 0; i < count; ++i)
    batch.push_back(make_record(type, "key-" + std::to_string(i % keys), i, i + 1));
  return batch;
}

std::size_t count_status(const std::vector<txoutbox::publish_result>& results,
                         publish_status status) {
  std::size_t n = 0;
  for (const auto& r : results)
    n += r.status == status ? 1 : 0;
  return n;
}

/// Registers `batch` as committed (it is in write order) with the checker.
void commit_all(txoutbox::testing::delivery_checker& checker,
                const std::vector<outbox_record>& batch) {
  for (const auto& r : batch)
    checker.committed(r.msg.id.to_string(), r.msg.aggregate_id);
}

void deliver_all(txoutbox::testing::delivery_checker& checker,
                 const std::vector<consumed>& messages) {
  for (const auto& m : messages)
    checker.delivered(m.header("ce_id").value_or("<no ce_id>"), m.stream());
}

}  // namespace

TEST_CASE("kafka publisher delivers key, payload, CloudEvents headers and the message's headers",
          "[kafka]") {
  mock_cluster mc;
  mc.create_topic("outbox.order", 3);
  auto pub = make_publisher(publisher_options{
      .bootstrap_servers = mc.bootstraps(), .topic_prefix = "outbox.", .source = "/shop/orders"});
  std::vector<outbox_record> batch;
  batch.push_back(make_record("order", "o-1", 1, 1));
  batch.back().msg.type = "OrderPlaced";
  batch.back().msg.headers = {
      {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
      {"tenant", "acme"},
      {"ce_id", "forged"}};
  batch.back().created_at =
      std::chrono::sys_days{std::chrono::year{2026} / 11 / 21} + 10h + 123456us;
  batch.push_back(make_record("order", "o-2", 2, 2));
  batch.push_back(make_record("order", "o-1", 3, 3));

  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 3);
  for (const auto& r : results) {
    INFO(r.reason);
    REQUIRE(r.status == publish_status::ok);
  }

  const auto got = read_topic(mc.bootstraps(), "outbox.order", 3);
  REQUIRE(got.size() == 3);
  std::map<std::string, consumed> by_id;
  for (const auto& m : got)
    by_id[m.header("ce_id").value_or("")] = m;
  const auto& first = by_id.at(batch[0].msg.id.to_string());
  CHECK(first.key == std::optional<std::string>("o-1"));
  CHECK(first.value == batch[0].msg.payload);
  CHECK(first.header("ce_specversion") == std::optional<std::string>("1.0"));
  CHECK(first.header("ce_type") == std::optional<std::string>("OrderPlaced"));
  CHECK(first.header("ce_source") == std::optional<std::string>("/shop/orders"));
  CHECK(first.header("ce_subject") == std::optional<std::string>("o-1"));
  CHECK(first.header("ce_time") == std::optional<std::string>("2026-11-21T10:00:00.123456Z"));
  CHECK(first.header("ce_aggregatetype") == std::optional<std::string>("order"));
  CHECK(first.header("content-type") == std::optional<std::string>("application/json"));
  CHECK(first.header("traceparent") ==
        std::optional<std::string>("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
  CHECK(first.header("tenant") == std::optional<std::string>("acme"));
  // A message header cannot override the binding's own: ce_id appears once, the real id.
  std::size_t ce_ids = 0;
  for (const auto& [name, value] : first.headers)
    ce_ids += name == "ce_id" ? 1 : 0;
  CHECK(ce_ids == 1);

  // Same key, same partition, write order.
  const auto& third = by_id.at(batch[2].msg.id.to_string());
  CHECK(third.partition == first.partition);
  CHECK(third.offset > first.offset);
  CHECK(by_id.at(batch[1].msg.id.to_string()).key == std::optional<std::string>("o-2"));
}

TEST_CASE("kafka publisher routes by topic_map first, then the fixed topic", "[kafka][routing]") {
  mock_cluster mc;
  mc.create_topic("orders-v2", 1);
  mc.create_topic("everything", 1);
  auto pub = make_publisher(publisher_options{.bootstrap_servers = mc.bootstraps(),
                                              .topic_prefix = "ignored.",
                                              .topic_map = {{"order", "orders-v2"}},
                                              .topic = "everything"});
  std::vector<outbox_record> batch{make_record("order", "a", 1, 1),
                                   make_record("invoice", "b", 2, 2),
                                   make_record("order", "c", 3, 3)};
  const auto results = pub->publish(batch);
  REQUIRE(count_status(results, publish_status::ok) == 3);

  const auto mapped = read_topic(mc.bootstraps(), "orders-v2", 1);
  const auto fixed = read_topic(mc.bootstraps(), "everything", 1);
  REQUIRE(mapped.size() == 2);
  REQUIRE(fixed.size() == 1);
  CHECK(mapped[0].header("ce_id") == std::optional<std::string>(batch[0].msg.id.to_string()));
  CHECK(mapped[1].header("ce_id") == std::optional<std::string>(batch[2].msg.id.to_string()));
  CHECK(fixed[0].header("ce_aggregatetype") == std::optional<std::string>("invoice"));
}

TEST_CASE("kafka publisher rejects an aggregate type that cannot name a topic, key by key",
          "[kafka][routing]") {
  mock_cluster mc;
  mc.create_topic("t.order", 1);
  auto pub =
      make_publisher(publisher_options{.bootstrap_servers = mc.bootstraps(), .topic_prefix = "t."});
  std::vector<outbox_record> batch{make_record("bad type!", "a", 1, 1),
                                   make_record("order", "a", 2, 2),
                                   make_record("order", "b", 3, 3)};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 3);
  CHECK(results[0].status == publish_status::reject);
  CHECK(results[0].reason.find("topic") != std::string::npos);
  CHECK(results[1].status == publish_status::retry);  // same key: held back, unsent
  CHECK(results[2].status == publish_status::ok);
  const auto got = read_topic(mc.bootstraps(), "t.order", 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].key == std::optional<std::string>("b"));
}

TEST_CASE("kafka publisher delivers 1000 records over 50 keys in per-key order", "[kafka][order]") {
  mock_cluster mc;
  mc.create_topic("bulk", 6);
  auto pub =
      make_publisher(publisher_options{.bootstrap_servers = mc.bootstraps(), .topic = "bulk"});
  txoutbox::testing::delivery_checker checker;
  const auto batch = records("order", 1000, 50);
  commit_all(checker, batch);
  const auto results = pub->publish(batch);
  REQUIRE(count_status(results, publish_status::ok) == 1000);
  deliver_all(checker, read_topic(mc.bootstraps(), "bulk", 6));
  const auto report = checker.check(0);
  INFO(report.describe());
  REQUIRE(report.ok());
}

TEST_CASE("kafka publisher rides out injected retriable produce errors without losing order",
          "[kafka][errors]") {
  mock_cluster mc;
  mc.create_topic("flaky", 4);
  auto pub =
      make_publisher(publisher_options{.bootstrap_servers = mc.bootstraps(), .topic = "flaky"});
  txoutbox::testing::delivery_checker checker;
  // Warm up so the first real batch meets the injected errors, not metadata fetches.
  const auto warm = records("order", 1, 1);
  commit_all(checker, warm);
  REQUIRE(pub->publish(warm)[0].status == publish_status::ok);

  for (int round = 0; round < 3; ++round) {
    rd_kafka_mock_push_request_errors(
        mc.get(), produce_api, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    auto batch = records("order", 200, 20);
    commit_all(checker, batch);
    auto results = pub->publish(batch);
    // The idempotent producer retries these internally; whatever it could not place in
    // time is reported retry (or unavailable: not enough replicas, a request timeout) and
    // published again, as a relay would.
    for (int again = 0; again < 5 && count_status(results, publish_status::ok) < batch.size();
         ++again) {
      std::vector<outbox_record> rest;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        REQUIRE(results[i].status != publish_status::reject);
        if (results[i].status != publish_status::ok)
          rest.push_back(batch[i]);
      }
      batch = rest;
      results = pub->publish(batch);
    }
    REQUIRE(count_status(results, publish_status::ok) == batch.size());
  }
  const auto got = read_topic(mc.bootstraps(), "flaky", 4);
  deliver_all(checker, got);
  const auto report = checker.check(600);
  INFO(report.describe());
  REQUIRE(report.ok());
}

TEST_CASE("kafka publisher rejects a message larger than the producer allows", "[kafka][errors]") {
  mock_cluster mc;
  mc.create_topic("sized", 1);
  auto pub = make_publisher(publisher_options{.bootstrap_servers = mc.bootstraps(),
                                              .topic = "sized",
                                              .properties = {{"message.max.bytes", "2000"}}});
  std::vector<outbox_record> batch{make_record("order", "big", 1, 1),
                                   make_record("order", "big", 2, 2),
                                   make_record("order", "small", 3, 3)};
  batch[0].msg.payload = "{\"blob\":\"" + std::string(5000, 'x') + "\"}";
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 3);
  CHECK(results[0].status == publish_status::reject);
  INFO(results[0].reason);
  CHECK(results[0].reason.find("too large") != std::string::npos);
  CHECK(results[1].status == publish_status::retry);
  CHECK(results[1].reason.find("not sent") != std::string::npos);
  CHECK(results[2].status == publish_status::ok);
  const auto got = read_topic(mc.bootstraps(), "sized", 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].key == std::optional<std::string>("small"));
}

TEST_CASE("kafka publisher rejects a message the broker refuses as too large", "[kafka][errors]") {
  mock_cluster mc;
  mc.create_topic("strict", 1);
  auto pub = make_publisher(publisher_options{
      .bootstrap_servers = mc.bootstraps(), .topic = "strict", .properties = {{"linger.ms", "0"}}});
  REQUIRE(pub->publish(records("order", 1, 1))[0].status == publish_status::ok);
  rd_kafka_mock_push_request_errors(mc.get(), produce_api, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  std::vector<outbox_record> batch{make_record("order", "k", 1, 1)};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 1);
  INFO(results[0].reason);
  CHECK(results[0].status == publish_status::reject);
  // The producer carries on after the permanent error.
  const auto after = pub->publish(records("order", 3, 1));
  CHECK(count_status(after, publish_status::ok) == 3);
}

TEST_CASE("kafka publisher delivers everything across partition leader changes",
          "[kafka][leader]") {
  mock_cluster mc;
  mc.create_topic("moving", 3);
  auto pub =
      make_publisher(publisher_options{.bootstrap_servers = mc.bootstraps(), .topic = "moving"});
  txoutbox::testing::delivery_checker checker;
  for (int round = 0; round < 9; ++round) {
    if (round % 3 == 1) {
      // Move every partition's leadership to the next broker, mid-stream.
      for (int p = 0; p < 3; ++p) {
        const int leader = (p + round) % mc.brokers() + 1;
        REQUIRE(rd_kafka_mock_partition_set_leader(mc.get(), "moving", p, leader) ==
                RD_KAFKA_RESP_ERR_NO_ERROR);
      }
    }
    auto batch = records("order", 100, 10);
    commit_all(checker, batch);
    auto results = pub->publish(batch);
    for (int again = 0; again < 5 && count_status(results, publish_status::ok) < batch.size();
         ++again) {
      std::vector<outbox_record> rest;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (results[i].status != publish_status::ok)
          rest.push_back(batch[i]);
      }
      batch = rest;
      results = pub->publish(batch);
    }
    REQUIRE(count_status(results, publish_status::ok) == batch.size());
  }
  deliver_all(checker, read_topic(mc.bootstraps(), "moving", 3));
  const auto report = checker.check(100);
  INFO(report.describe());
  REQUIRE(report.ok());
}
