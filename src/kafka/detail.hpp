// Private parts of the Kafka publisher shared by its sources: settings, error classes.
#pragma once

#include <librdkafka/rdkafka.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "txoutbox/kafka/publisher.hpp"
#include "txoutbox/outbox_record.hpp"
#include "txoutbox/publisher.hpp"

namespace txoutbox::kafka::detail {

inline constexpr const char* shut_down_reason = "publisher shut down";

/// Final configuration: (key, value) pairs applied in order to a fresh rd_kafka_conf_t.
using settings = std::vector<std::pair<std::string, std::string>>;

/// Kafka's legal topic names: [A-Za-z0-9._-]{1,249}, and not "." or "..".
bool valid_topic(std::string_view topic) noexcept;

/// Why librdkafka property `key` = `value` would give up a guarantee the publisher makes
/// (acks other than all/-1, enable.idempotence off, more than 5 requests in flight,
/// partitioner=random), or nullopt when it does not. Pure; checked by build_settings() and
/// by parse_publisher_uri().
std::optional<std::string> weakened_guarantee(std::string_view key, std::string_view value);

/// Validates the options (usage_error naming the option or property) and turns them into
/// librdkafka settings: the publisher's own first, the user's properties after them.
settings build_settings(const publisher_options& o);

/// The result of one settled record (ERR__FATAL is a `retry` on a new producer):
/// destination failures are `unavailable`, permanent faults of the record `reject`,
/// everything else `retry`. `context` is appended to librdkafka's text in parentheses.
publish_result to_result(rd_kafka_resp_err_t err, std::string_view context = {});

/// What publish() knows of each record of a batch once the waiting is over.
struct settled {
  std::optional<publish_result> result;  ///< its own outcome (always set by then)
  std::string route;                     ///< its topic (publisher::route())
  bool produced = false;                 ///< handed to librdkafka, so it may have arrived
};

}  // namespace txoutbox::kafka::detail
