// publisher: the transport SPI the relay publishes claimed batches through.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "txoutbox/outbox_record.hpp"

namespace txoutbox {

enum class publish_status {
  ok,      ///< the transport accepted the message durably; the relay acks it
  retry,   ///< this message failed, transiently (or was not sent); retried with backoff
  reject,  ///< this message failed permanently; the relay moves it to dead letters
  /// The destination (this record's route) cannot take any message now: connection
  /// refused or reset, DNS or TLS failure, timeout, all brokers down, HTTP 5xx/408/429,
  /// authorization or not-found errors an operator fixes. Not the message's fault: the
  /// relay burns no attempt, stops publishing to the route and probes it (docs/relay.md).
  unavailable,
};

/// The outcome of one message of a batch.
struct publish_result {
  publish_status status = publish_status::ok;
  std::string reason{};  ///< why, for retry/reject; stored as the row's last error
  std::optional<std::chrono::milliseconds> retry_after{};  ///< transport's hint, for retry

  static publish_result ok() { return {}; }
  static publish_result retry(std::string reason,
                              std::optional<std::chrono::milliseconds> after = std::nullopt) {
    return {publish_status::retry, std::move(reason), after};
  }
  static publish_result reject(std::string reason) {
    return {publish_status::reject, std::move(reason), std::nullopt};
  }
  /// `after`: the destination's own hint (HTTP Retry-After) for the next probe; the relay
  /// caps it at backoff_max.
  static publish_result unavailable(std::string reason,
                                    std::optional<std::chrono::milliseconds> after = std::nullopt) {
    return {publish_status::unavailable, std::move(reason), after};
  }
};

/// Sends batches of outbox records to a transport.
///
/// Contract (the relay relies on it; tests hold every implementation to it):
/// - publish() returns exactly one result per record, in the batch's order.
/// - publish() may be called concurrently for different partitions, never concurrently
///   for the same partition; a batch holds records of one partition, ordered by seq.
/// - Within a batch, one aggregate id's records are sent in order; once record k of a key
///   fails (retry, reject or unavailable), that key's later records in the batch are
///   reported `retry` (not sent: an earlier message of the key failed) and are NOT sent.
/// - Once a record is reported `unavailable`, the batch's later records of the same
///   route() are reported `unavailable` too (not sent: the destination is unavailable) and
///   are NOT sent: a down destination costs one timeout per batch, not one per message.
/// - key_gate (key_gate.hpp) implements both rules and words their reasons; every
///   publisher of the library uses it, and sync_publisher applies it around send().
/// - `ok` means durably accepted (broker ack, 2xx, fsync). Nothing throws: an exception
///   inside a transport becomes `retry` with its text as reason.
/// - shutdown(timeout) makes any publish() in progress return within about `timeout`
///   (unsent records reported `retry`), and every later publish() returns `retry` at once.
/// - flush(timeout) waits until everything publish() returned `ok` for is durable; most
///   transports are durable on return and flush at once.
class publisher {
 public:
  virtual ~publisher() = default;

  virtual std::vector<publish_result> publish(std::span<const outbox_record> batch) noexcept = 0;
  /// The route `rec` is sent on: the unit of availability (a Kafka topic, a NATS
  /// subject, a Redis stream, a URL). Records of one route share its outage; records of
  /// other routes keep flowing. Empty (the default) = one route for the whole publisher.
  /// Pure and cheap: the relay calls it for every claimed record, from any thread.
  virtual std::string route(const outbox_record& rec) const {
    (void)rec;
    return {};
  }
  [[nodiscard]] virtual bool flush(std::chrono::milliseconds timeout) noexcept = 0;
  virtual void shutdown(std::chrono::milliseconds timeout) noexcept = 0;
};

}  // namespace txoutbox
