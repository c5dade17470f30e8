// NATS JetStream publisher against the fixture's server: subjects, headers, dedup, error mapping.
#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <vector>

#include "nats_test_support.hpp"
#include "txoutbox/nats/publisher.hpp"
#include "txoutbox/testing/servers.hpp"
#include "txoutbox/testing/wait.hpp"

using txoutbox::outbox_record;
using txoutbox::publish_status;
using txoutbox::testing::unique_name;
using namespace txoutbox::testing::nats;
using namespace std::chrono_literals;

namespace {

/// Options whose subjects and stream are this test's own: "<root>.{aggregatetype}.{type}"
/// into stream <ROOT>, created by the publisher.
txoutbox::nats::publisher_options own_stream(const std::string& url, std::string& root) {
  root = unique_name("n");
  txoutbox::nats::publisher_options o;
  o.url = url;
  o.subject_template = root + ".{aggregatetype}.{type}";
  o.stream_name = "S" + root;
  o.create_stream = true;
  o.ack_timeout = 5000ms;
  return o;
}

}  // namespace

TEST_CASE("nats publisher maps aggregate type and type to the subject with CloudEvents headers",
          "[nats]") {
  const auto url = server();
  TXOUTBOX_REQUIRE_NATS(url);
  std::string root;
  const auto opts = own_stream(url, root);
  auto pub = txoutbox::nats::make_publisher(opts);

  std::vector<outbox_record> batch{make_record("order", "k1", 1), make_record("invoice", "k2", 2)};
  batch[0].msg.headers = {{"traceparent", "00-abc-def-01"}};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 2);
  INFO(results[0].reason);
  REQUIRE(results[0].status == publish_status::ok);
  REQUIRE(results[1].status == publish_status::ok);

  client c(url);
  const auto stored = c.read_all(opts.stream_name);
  REQUIRE(stored.size() == 2);
  const auto& m = stored[0];
  CHECK(m.subject == root + ".order.OrderPlaced");
  CHECK(stored[1].subject == root + ".invoice.OrderPlaced");
  CHECK(m.data == batch[0].msg.payload);
  const auto id = batch[0].msg.id.to_string();
  CHECK(m.headers.at("Nats-Msg-Id") == id);
  CHECK(m.headers.at("ce-specversion") == "1.0");
  CHECK(m.headers.at("ce-id") == id);
  CHECK(m.headers.at("ce-type") == "OrderPlaced");
  CHECK(m.headers.at("ce-source") == "/txoutbox");
  CHECK(m.headers.at("ce-subject") == "k1");
  CHECK(m.headers.at("ce-aggregatetype") == "order");
  CHECK(m.headers.at("ce-time").size() == 27);
  CHECK(m.headers.at("content-type") == "application/json");
  CHECK(m.headers.at("traceparent") == "00-abc-def-01");
  CHECK(stored[1].headers.count("traceparent") == 0);
}

TEST_CASE("nats rejects a type that is not a subject token and holds back only that key",
          "[nats][per-key]") {
  const auto url = server();
  TXOUTBOX_REQUIRE_NATS(url);
  std::string root;
  const auto opts = own_stream(url, root);
  auto pub = txoutbox::nats::make_publisher(opts);

  std::vector<outbox_record> batch{make_record("order", "k", 0), make_record("or.der", "k", 1),
                                   make_record("order", "k", 2), make_record("order", "x", 3),
                                   make_record("order", "y", 4), make_record("order", "z", 5),
                                   make_record("order", "w", 6)};
  batch[4].msg.type = "Order*";
  batch[5].msg.type = "Order Placed";
  batch[6].msg.headers = {{"Nats-Expected-Stream", "OTHER"}};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 7);
  CHECK(results[0].status == publish_status::ok);
  CHECK(results[1].status == publish_status::reject);
  CHECK_THAT(results[1].reason, Catch::Contains("aggregate type"));
  CHECK(results[2].status == publish_status::retry);
  CHECK_THAT(results[2].reason, Catch::Contains("not sent"));
  CHECK(results[3].status == publish_status::ok);
  CHECK(results[4].status == publish_status::reject);
  CHECK(results[5].status == publish_status::reject);
  CHECK(results[6].status == publish_status::reject);
  CHECK_THAT(results[6].reason, Catch::Contains("reserved"));
  client c(url);
  CHECK(c.message_count(opts.stream_name) == 2);
}

TEST_CASE("nats deduplicates a re-published id and reports it ok", "[nats][dedup]") {
  const auto url = server();
  TXOUTBOX_REQUIRE_NATS(url);
  std::string root;
  const auto opts = own_stream(url, root);
  auto pub = txoutbox::nats::make_publisher(opts);
  std::vector<outbox_record> batch{make_record("order", "k", 1), make_record("order", "k", 2)};
  for (const auto& r : pub->publish(batch))
    REQUIRE(r.status == publish_status::ok);
  client c(url);
  REQUIRE(c.message_count(opts.stream_name) == 2);

  // A relay that lost its acks publishes the same records again, through a new publisher.
  auto again = txoutbox::nats::make_publisher(opts);
  for (const auto& r : again->publish(batch))
    CHECK(r.status == publish_status::ok);
  CHECK(c.message_count(opts.stream_name) == 2);
}

TEST_CASE("nats reports unavailable when no stream captures the subject, for that subject only",
          "[nats][unavailable]") {
  const auto url = server();
  TXOUTBOX_REQUIRE_NATS(url);
  const std::string root = unique_name("nostream");
  client c(url);
  c.add_stream("S" + root, root + ".invoice");  // captures invoices, not orders
  txoutbox::nats::publisher_options opts;
  opts.url = url;
  opts.subject_template = root + ".{aggregatetype}";
  opts.stream_name = "";  // no expected stream: each subject is its own route
  auto pub = txoutbox::nats::make_publisher(opts);
  std::vector<outbox_record> batch{make_record("order", "k", 1), make_record("order", "k", 2),
                                   make_record("order", "j", 3), make_record("invoice", "i", 4)};
  CHECK(pub->route(batch[0]) == root + ".order");
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 4);
  CHECK(results[0].status == publish_status::unavailable);
  CHECK_THAT(results[0].reason, Catch::Contains("no responders"));
  CHECK(results[1].status == publish_status::retry);  // same key: held behind it
  CHECK_THAT(results[1].reason, Catch::Contains("not sent"));
  CHECK(results[2].status == publish_status::unavailable);  // same subject: not sent
  CHECK(results[2].reason == "not sent: destination unavailable");
  CHECK(results[3].status == publish_status::ok);  // another subject keeps flowing
  CHECK(c.message_count("S" + root) == 1);
}

TEST_CASE("nats rejects CR, LF or NUL in a header or the subject and sends nothing of it",
          "[nats][unsafe]") {
  const auto url = server();
  TXOUTBOX_REQUIRE_NATS(url);
  std::string root;
  const auto opts = own_stream(url, root);
  auto pub = txoutbox::nats::make_publisher(opts);
  std::vector<outbox_record> batch{make_record("order", "a", 1), make_record("order", "b\nX: 1", 2),
                                   make_record("order", "c", 3), make_record("order", "d", 4),
                                   make_record("order", "e", 5)};
  batch[0].msg.headers = {{"traceparent", "00-abc\r\nNats-Msg-Id: forged"}};
  batch[2].msg.type = "Order\rPlaced";  // would end up in the subject
  batch[3].msg.headers = {{"note", std::string("nul\0here", 8)}};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 5);
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
  CHECK_THAT(results[2].reason,
             Catch::StartsWith("unsafe routing field: type contains the control character"));
  CHECK(results[3].status == publish_status::reject);
  CHECK(results[4].status == publish_status::ok);
  client c(url);
  const auto stored = c.read_all(opts.stream_name);
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].headers.at("ce-subject") == "e");
}

TEST_CASE("nats rejects a message larger than the server's max_payload", "[nats][reject]") {
  const auto url = server();
  TXOUTBOX_REQUIRE_NATS(url);
  std::string root;
  const auto opts = own_stream(url, root);
  auto pub = txoutbox::nats::make_publisher(opts);
  std::vector<outbox_record> batch{make_record("order", "big", 1),
                                   make_record("order", "small", 2)};
  batch[0].msg.payload = "{\"blob\":\"" + std::string(2 * 1024 * 1024, 'x') + "\"}";
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 2);
  INFO(results[0].reason);
  CHECK(results[0].status == publish_status::reject);
  CHECK(results[1].status == publish_status::ok);  // the connection is fine
  client c(url);
  CHECK(c.message_count(opts.stream_name) == 1);
}

TEST_CASE("nats rejects a message stored by another stream than the expected one",
          "[nats][reject]") {
  const auto url = server();
  TXOUTBOX_REQUIRE_NATS(url);
  const std::string root = unique_name("n");
  client c(url);
  c.add_stream("A" + root, root + ".>");
  txoutbox::nats::publisher_options opts;
  opts.url = url;
  opts.subject_template = root + ".{aggregatetype}";
  opts.stream_name = "B" + root;  // not the stream that captures the subject
  auto pub = txoutbox::nats::make_publisher(opts);
  std::vector<outbox_record> batch{make_record("order", "k", 1)};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 1);
  CHECK(results[0].status == publish_status::reject);
  CHECK_THAT(results[0].reason, Catch::Contains("10060"));
  CHECK(c.message_count("A" + root) == 0);
}

TEST_CASE("nats shutdown unblocks a publish waiting for its ack", "[nats][shutdown]") {
  const auto url = server();
  TXOUTBOX_REQUIRE_NATS(url);
  const std::string root = unique_name("n");
  // A plain subscriber that never replies stands in for a JetStream that never acks.
  client c(url);
  natsSubscription* sub = nullptr;
  REQUIRE(natsConnection_SubscribeSync(&sub, c.connection(), (root + ".>").c_str()) == NATS_OK);
  REQUIRE(natsConnection_Flush(c.connection()) == NATS_OK);

  txoutbox::nats::publisher_options opts;
  opts.url = url;
  opts.subject_template = root + ".{aggregatetype}";
  opts.stream_name = "";
  opts.ack_timeout = std::chrono::minutes(5);
  auto pub = txoutbox::nats::make_publisher(opts);
  std::vector<outbox_record> batch{make_record("order", "k", 1), make_record("order", "j", 2)};
  auto pending = std::async(std::launch::async, [&] { return pub->publish(batch); });
  natsMsg* seen = nullptr;
  const natsStatus got = natsSubscription_NextMsg(&seen, sub, 10000);
  natsMsg_Destroy(seen);
  pub->shutdown(100ms);
  const bool returned = pending.wait_for(10s) == std::future_status::ready;
  natsSubscription_Destroy(sub);
  REQUIRE(got == NATS_OK);
  REQUIRE(returned);
  const auto results = pending.get();
  REQUIRE(results.size() == 2);
  CHECK(results[0].status == publish_status::retry);
  CHECK(results[1].status == publish_status::retry);
  CHECK(pub->publish(batch)[0].status == publish_status::retry);
}

TEST_CASE("nats reports the rest of the batch unavailable, unsent, after an ack timeout",
          "[nats][unavailable]") {
  const auto url = server();
  TXOUTBOX_REQUIRE_NATS(url);
  const std::string root = unique_name("n");
  // A plain subscriber that never replies: the first message waits out its ack timeout.
  client c(url);
  natsSubscription* sub = nullptr;
  REQUIRE(natsConnection_SubscribeSync(&sub, c.connection(), (root + ".>").c_str()) == NATS_OK);
  REQUIRE(natsConnection_Flush(c.connection()) == NATS_OK);

  txoutbox::nats::publisher_options opts;
  opts.url = url;
  opts.subject_template = root + ".{aggregatetype}";
  opts.stream_name = "";
  opts.ack_timeout = 200ms;
  auto pub = txoutbox::nats::make_publisher(opts);
  std::vector<outbox_record> batch{make_record("order", "a", 1), make_record("order", "b", 2),
                                   make_record("order", "c", 3)};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 3);
  CHECK(results[0].status == publish_status::unavailable);
  CHECK_THAT(results[0].reason, Catch::Contains("no JetStream ack"));
  CHECK(results[1].status == publish_status::unavailable);
  CHECK_THAT(results[1].reason, Catch::StartsWith("not sent: destination unavailable"));
  CHECK(results[2].status == publish_status::unavailable);
  // Only the first message went out.
  int received = 0;
  natsMsg* m = nullptr;
  while (natsSubscription_NextMsg(&m, sub, 100) == NATS_OK) {
    natsMsg_Destroy(m);
    ++received;
  }
  natsSubscription_Destroy(sub);
  CHECK(received == 1);
}
