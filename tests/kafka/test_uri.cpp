// Kafka publisher options from the command line (kafka:// URI + --publisher-opt) and validation.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "txoutbox/error.hpp"
#include "txoutbox/kafka/publisher.hpp"

using namespace std::chrono_literals;
using txoutbox::usage_error;
using txoutbox::kafka::make_publisher;
using txoutbox::kafka::make_publisher_from_uri;
using txoutbox::kafka::parse_publisher_uri;
using txoutbox::kafka::publisher_options;

namespace {

/// The usage_error thrown by `f`; fails the test when nothing is thrown.
template <class F>
usage_error usage_error_of(F&& f) {
  try {
    f();
  } catch (const usage_error& e) {
    return e;
  }
  FAIL("expected usage_error");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("kafka URI and options parse into publisher options", "[kafka][uri]") {
  const auto o = parse_publisher_uri("kafka://b1:9092,b2:9093,[::1]:9094",
                                     {{"topic-prefix", "outbox."},
                                      {"topic-map.order", "orders"},
                                      {"topic-map.invoice", "billing"},
                                      {"java-partitioner", "true"},
                                      {"delivery-timeout-ms", "15000"},
                                      {"source", "/svc/orders"},
                                      {"property.linger.ms", "20"},
                                      {"property.compression.type", "zstd"}});
  CHECK(o.bootstrap_servers == "b1:9092,b2:9093,[::1]:9094");
  CHECK(o.topic_prefix == "outbox.");
  CHECK(o.topic.empty());
  CHECK(o.topic_map.at("order") == "orders");
  CHECK(o.topic_map.at("invoice") == "billing");
  CHECK(o.java_compatible_partitioner);
  CHECK(o.delivery_timeout == 15000ms);
  CHECK(o.source == "/svc/orders");
  CHECK(o.properties.at("linger.ms") == "20");
  CHECK(o.properties.at("compression.type") == "zstd");

  const auto fixed = parse_publisher_uri("kafka://localhost:9092/", {{"topic", "events"}});
  CHECK(fixed.bootstrap_servers == "localhost:9092");
  CHECK(fixed.topic == "events");
  CHECK_FALSE(fixed.java_compatible_partitioner);
}

TEST_CASE("kafka URI parsing refuses malformed URIs and names unknown options", "[kafka][uri]") {
  for (const char* bad :
       {"kafka://", "kafka:/b:1", "http://b:9092", "kafka://b", "kafka://b:0", "kafka://b:99999",
        "kafka://b:9092,,c:1", "kafka://user@b:9092", "kafka://::1:9092", "kafka://b:9092?x=1"}) {
    INFO(bad);
    const auto e = usage_error_of([&] { (void)parse_publisher_uri(bad, {}); });
    CHECK(e.field() == "publisher");
  }
  const auto unknown = usage_error_of([] {
    (void)parse_publisher_uri("kafka://b:9092", {{"topik", "x"}});
  });
  CHECK(unknown.field() == "topik");
  CHECK(std::string(unknown.what()).find("topik") != std::string::npos);

  const auto timeout = usage_error_of([] {
    (void)parse_publisher_uri("kafka://b:9092", {{"delivery-timeout-ms", "soon"}});
  });
  CHECK(timeout.field() == "delivery-timeout-ms");
  const auto flag = usage_error_of([] {
    (void)parse_publisher_uri("kafka://b:9092", {{"java-partitioner", "maybe"}});
  });
  CHECK(flag.field() == "java-partitioner");
}

TEST_CASE("kafka URI options take secrets from the environment or a file, never argv",
          "[kafka][uri][secrets]") {
  const auto direct = usage_error_of([] {
    (void)parse_publisher_uri("kafka://b:9092", {{"property.sasl.password", "hunter2"}});
  });
  CHECK(direct.field() == "property.sasl.password");
  CHECK(std::string(direct.what()).find("hunter2") == std::string::npos);
  CHECK(std::string(direct.what()).find("-env") != std::string::npos);

  ::setenv("TXOUTBOX_TEST_KAFKA_SECRET", "s3cret", 1);
  const auto from_env = parse_publisher_uri(
      "kafka://b:9092", {{"property.sasl.password-env", "TXOUTBOX_TEST_KAFKA_SECRET"}});
  CHECK(from_env.properties.at("sasl.password") == "s3cret");

  const std::string path = "/tmp/txoutbox_kafka_secret_" + std::to_string(::getpid());
  { std::ofstream(path) << "from-file\n"; }
  const auto from_file =
      parse_publisher_uri("kafka://b:9092", {{"property.ssl.key.password-file", path}});
  std::remove(path.c_str());
  CHECK(from_file.properties.at("ssl.key.password") == "from-file");

  const auto missing = usage_error_of([] {
    (void)parse_publisher_uri("kafka://b:9092",
                              {{"property.sasl.password-env", "TXOUTBOX_TEST_NO_SUCH_VAR"}});
  });
  CHECK(std::string(missing.what()).find("TXOUTBOX_TEST_NO_SUCH_VAR") != std::string::npos);
  const auto no_file = usage_error_of([] {
    (void)parse_publisher_uri("kafka://b:9092",
                              {{"property.sasl.password-file", "/nonexistent/secret"}});
  });
  CHECK(std::string(no_file.what()).find("/nonexistent/secret") != std::string::npos);
}

TEST_CASE("kafka publisher options are validated before a producer is made", "[kafka][options]") {
  const auto no_servers = usage_error_of([] { (void)make_publisher(publisher_options{}); });
  CHECK(no_servers.field() == "bootstrap_servers");

  const auto bad_topic = usage_error_of([] {
    (void)make_publisher(publisher_options{.bootstrap_servers = "b:9092", .topic = "no spaces"});
  });
  CHECK(bad_topic.field() == "topic");

  const auto bad_map = usage_error_of([] {
    (void)make_publisher(
        publisher_options{.bootstrap_servers = "b:9092", .topic_map = {{"order", "a/b"}}});
  });
  CHECK(bad_map.field() == "topic_map[order]");

  const auto zero = usage_error_of([] {
    (void)make_publisher(publisher_options{.bootstrap_servers = "b:9092", .delivery_timeout = 0ms});
  });
  CHECK(zero.field() == "delivery_timeout");

  const auto own_timeout = usage_error_of([] {
    (void)make_publisher(publisher_options{.bootstrap_servers = "b:9092",
                                           .properties = {{"message.timeout.ms", "5"}}});
  });
  CHECK(own_timeout.field() == "properties[message.timeout.ms]");

  const auto unknown = usage_error_of([] {
    (void)make_publisher(publisher_options{.bootstrap_servers = "b:9092",
                                           .properties = {{"no.such.property", "1"}}});
  });
  CHECK(unknown.field() == "properties[no.such.property]");
  CHECK(std::string(unknown.what()).find("no.such.property") != std::string::npos);

  const auto bad_value = usage_error_of([] {
    (void)make_publisher(
        publisher_options{.bootstrap_servers = "b:9092", .properties = {{"linger.ms", "lots"}}});
  });
  CHECK(bad_value.field() == "properties[linger.ms]");

  // A refused value of a secret-looking property is named, its value never printed
  // (librdkafka's own message would quote it).
  const auto secret = usage_error_of([] {
    (void)make_publisher(
        publisher_options{.bootstrap_servers = "b:9092",
                          .properties = {{"sasl.oauthbearer.method", "TOP-SECRET-KEY-MATERIAL"}}});
  });
  CHECK(secret.field() == "properties[sasl.oauthbearer.method]");
  const std::string text = secret.what();
  INFO(text);
  CHECK(text.find("TOP-SECRET-KEY-MATERIAL") == std::string::npos);
}

TEST_CASE("kafka publisher from a URI is created without contacting the brokers", "[kafka][uri]") {
  // Nothing listens on port 1: creation still succeeds, failures show up as retries.
  auto pub = make_publisher_from_uri("kafka://127.0.0.1:1", {{"topic", "t"}});
  REQUIRE(pub != nullptr);
  pub->shutdown(0ms);
}

TEST_CASE("kafka publisher refuses properties that would weaken durability or per-key order",
          "[kafka][options][durability]") {
  const std::vector<std::pair<std::string, std::string>> weakening{
      {"acks", "0"},
      {"acks", "1"},
      {"request.required.acks", "1"},
      {"enable.idempotence", "false"},
      {"max.in.flight.requests.per.connection", "6"},
      {"max.in.flight", "100"},
      {"partitioner", "random"}};
  for (const auto& [key, value] : weakening) {
    INFO(key << "=" << value);
    const auto direct = usage_error_of([&] {
      (void)make_publisher(
          publisher_options{.bootstrap_servers = "b:9092", .properties = {{key, value}}});
    });
    CHECK(direct.field() == "properties[" + key + "]");
    CHECK(std::string(direct.what()).find("'" + key + "'") != std::string::npos);

    const auto from_cli = usage_error_of([&] {
      (void)parse_publisher_uri("kafka://b:9092", {{"property." + key, value}});
    });
    CHECK(from_cli.field() == "property." + key);
    CHECK(std::string(from_cli.what()).find("'" + key + "'") != std::string::npos);
  }

  // What keeps the guarantees stays allowed.
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"acks", "all"},
                                                        {"acks", "-1"},
                                                        {"enable.idempotence", "true"},
                                                        {"max.in.flight", "5"},
                                                        {"partitioner", "murmur2_random"}}) {
    INFO(key << "=" << value);
    auto pub = make_publisher(
        publisher_options{.bootstrap_servers = "127.0.0.1:1", .properties = {{key, value}}});
    REQUIRE(pub != nullptr);
    pub->shutdown(0ms);
  }
}
