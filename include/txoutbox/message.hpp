// message: what a service asks the outbox to publish.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "txoutbox/message_id.hpp"

namespace txoutbox {

/// Header name -> value. Names are HTTP tokens; they travel as transport headers
/// (HTTP headers, Kafka headers, NATS headers, a stream field).
using header_map = std::map<std::string, std::string, std::less<>>;

/// One event to publish. Plain data: build it with designated initializers.
///
///   txoutbox::message m{.aggregate_type = "order", .aggregate_id = "42",
///                       .type = "OrderPlaced", .payload = R"({"total":10})"};
///
/// Field names follow Debezium's outbox columns (aggregatetype, aggregateid, type,
/// payload). Events of one aggregate id are published in the order they were written.
struct message {
  message_id id{};               ///< nil: the writer generates a UUIDv7
  std::string aggregate_type{};  ///< routing: topic / stream / subject family
  std::string aggregate_id{};    ///< ordering key and broker message key
  std::string type{};            ///< event type, e.g. "OrderPlaced"
  std::string payload{};         ///< JSON text (validated)
  header_map headers{};          ///< e.g. traceparent; names must be HTTP tokens
  std::optional<std::chrono::milliseconds> deliver_after{};  ///< delay on the database clock
};

}  // namespace txoutbox
