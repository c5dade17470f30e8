// The Kafka publisher: options and factories (librdkafka stays out of this header).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "txoutbox/publisher.hpp"

namespace txoutbox::kafka {

/// How the Kafka publisher is configured. Works with designated initializers:
///
///   auto p = txoutbox::kafka::make_publisher({.bootstrap_servers = "broker:9092",
///                                             .topic_prefix = "outbox."});
///
/// The topic of a message is, in order: `topic_map[aggregate_type]` when mapped, else
/// `topic` when set, else `topic_prefix + aggregate_type`.
struct publisher_options {
  /// librdkafka bootstrap.servers, "host:port[,host:port]". Required unless
  /// properties["bootstrap.servers"] is given.
  std::string bootstrap_servers{};
  std::string topic_prefix{};                      ///< prepended to the aggregate type
  std::map<std::string, std::string> topic_map{};  ///< aggregate type -> topic
  std::string topic{};                             ///< one topic for every unmapped message
  /// Use librdkafka's `murmur2_random` partitioner, which places keys on the same
  /// partitions as the Java client's default partitioner (mixed-language producers).
  bool java_compatible_partitioner = false;
  std::string source = "/txoutbox";  ///< CloudEvents `source` attribute (ce_source header)
  /// librdkafka message.timeout.ms: a message not acknowledged in this time is reported
  /// `unavailable`. publish() returns within about this (+2 s) even when the cluster is down.
  /// Keep it below the relay's lease TTL minus a renew margin (e.g. 30 s for a 60 s lease).
  std::chrono::milliseconds delivery_timeout{30000};
  /// Any librdkafka producer property, applied after the publisher's own settings
  /// (enable.idempotence=true, acks=all, message.timeout.ms, partitioner). None may weaken
  /// them: acks other than all/-1, enable.idempotence other than true,
  /// max.in.flight.requests.per.connection above 5 and partitioner=random are refused
  /// (usage_error naming the property), as are message.timeout.ms and delivery.timeout.ms.
  /// Values are never printed in errors for secret-looking keys.
  std::map<std::string, std::string> properties{};
};

/// Creates an idempotent Kafka producer (the broker connection is made in the
/// background: an unreachable cluster shows as `unavailable` results, not here). Throws
/// usage_error naming the option for bad options, including a property librdkafka
/// refuses (the value of a secret such as sasl.password is never in the message).
///
/// The publisher is thread-safe: publish() may run concurrently for different relay
/// partitions. Each record becomes one Kafka message: key = aggregate id, value =
/// payload, CloudEvents Kafka-binding headers (ce_specversion, ce_id, ce_type, ce_source,
/// ce_subject, ce_time, ce_aggregatetype), content-type: application/json, then the
/// message's own headers. See docs/publishers/kafka.md for the delivery semantics.
std::unique_ptr<txoutbox::publisher> make_publisher(publisher_options options);

/// Builds a publisher from a URI `kafka://host:port[,host:port]` and key=value options
/// (what the command line passes). Keys: `topic`, `topic-prefix`,
/// `topic-map.<aggregatetype>` (= topic), `java-partitioner` (true/false), `source`,
/// `delivery-timeout-ms`, `property.<librdkafka key>` (= value), and for secrets
/// `property.<key>-env` (= name of an environment variable holding the value) or
/// `property.<key>-file` (= path of a file holding it; one trailing newline is dropped),
/// so a secret never needs to be on the command line. An unknown key, a bad value or a
/// malformed URI throws usage_error naming it.
std::unique_ptr<txoutbox::publisher> make_publisher_from_uri(
    std::string_view uri, const std::map<std::string, std::string>& opts);

/// Parses the same URI and options into publisher_options without creating a producer
/// (for validation at start-up and for tests). Same errors as make_publisher_from_uri.
publisher_options parse_publisher_uri(std::string_view uri,
                                      const std::map<std::string, std::string>& opts);

}  // namespace txoutbox::kafka
