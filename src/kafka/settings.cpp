// Kafka publisher settings: option checks, and the durability that properties cannot take away.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "kafka/detail.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox::kafka::detail {

namespace {

using namespace std::chrono_literals;

bool is_one_of(std::string_view key, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), key) != names.end();
}

}  // namespace

bool valid_topic(std::string_view topic) noexcept {
  if (topic.empty() || topic.size() > 249 || topic == "." || topic == "..")
    return false;
  return std::all_of(topic.begin(), topic.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::optional<std::string> weakened_guarantee(std::string_view key, std::string_view value) {
  const std::string name(key);
  // librdkafka's aliases name the same properties: request.required.acks = acks,
  // max.in.flight = max.in.flight.requests.per.connection.
  if (is_one_of(key, {"acks", "request.required.acks"}) && value != "all" && value != "-1") {
    return "property '" + name + "' must stay 'all' (or -1): with fewer acknowledgements an " +
           "`ok` message can be lost when a broker fails";
  }
  if (key == "enable.idempotence" && value != "true") {
    return "property 'enable.idempotence' must stay true: without it the producer's retries " +
           std::string("can duplicate and reorder a key's messages");
  }
  if (is_one_of(key, {"max.in.flight.requests.per.connection", "max.in.flight"})) {
    long long n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec == std::errc() && end == value.data() + value.size() && n > 5) {
      return "property '" + name + "' must be at most 5: the idempotent producer keeps a " +
             "key's order only with up to 5 requests in flight";
    }
  }
  if (is_one_of(key, {"partitioner", "default_topic_conf.partitioner"}) && value == "random") {
    return "property '" + name + "' must not be 'random': it spreads a key over partitions " +
           "and loses its order (murmur2_random or consistent_random keep it)";
  }
  return std::nullopt;
}

settings build_settings(const publisher_options& o) {
  for (const auto& [key, value] : o.properties) {
    const std::string field = "properties[" + key + "]";
    if (key.empty())
      throw usage_error(errc::invalid_argument, "properties",
                        "kafka publisher: empty property name");
    if (key == "message.timeout.ms" || key == "delivery.timeout.ms") {
      throw usage_error(errc::invalid_argument, field,
                        "kafka publisher: set delivery_timeout instead of property '" + key +
                            "' (publish() waits on it)");
    }
    if (auto problem = weakened_guarantee(key, value))
      throw usage_error(errc::invalid_argument, field, "kafka publisher: " + *problem);
  }
  const bool has_bootstrap =
      o.properties.contains("bootstrap.servers") || o.properties.contains("metadata.broker.list");
  if (o.bootstrap_servers.empty() && !has_bootstrap) {
    throw usage_error(errc::invalid_argument, "bootstrap_servers",
                      "kafka publisher: bootstrap_servers is required (host:port[,host:port])");
  }
  if (o.delivery_timeout <= 0ms || o.delivery_timeout > std::chrono::milliseconds(INT32_MAX)) {
    throw usage_error(errc::invalid_argument, "delivery_timeout",
                      "kafka publisher: delivery_timeout must be between 1 ms and 2^31-1 ms");
  }
  if (!o.topic.empty() && !valid_topic(o.topic)) {
    throw usage_error(errc::invalid_argument, "topic",
                      "kafka publisher: topic '" + o.topic + "' is not a legal Kafka topic name");
  }
  if (!o.topic_prefix.empty() && !valid_topic(o.topic_prefix)) {
    throw usage_error(errc::invalid_argument, "topic_prefix",
                      "kafka publisher: topic_prefix '" + o.topic_prefix +
                          "' has characters Kafka topic names cannot hold");
  }
  for (const auto& [type, topic] : o.topic_map) {
    if (type.empty() || !valid_topic(topic)) {
      throw usage_error(errc::invalid_argument, "topic_map[" + type + "]",
                        "kafka publisher: topic_map entry '" + type + "' -> '" + topic +
                            "' needs an aggregate type and a legal Kafka topic name");
    }
  }
  settings s;
  if (!o.bootstrap_servers.empty())
    s.emplace_back("bootstrap.servers", o.bootstrap_servers);
  s.emplace_back("enable.idempotence", "true");
  s.emplace_back("acks", "all");
  s.emplace_back("message.timeout.ms", std::to_string(o.delivery_timeout.count()));
  if (o.java_compatible_partitioner)
    s.emplace_back("partitioner", "murmur2_random");
  for (const auto& kv : o.properties)
    s.push_back(kv);
  return s;
}

}  // namespace txoutbox::kafka::detail
