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
  retry,   ///< transient failure (or not sent); the relay retries with backoff
  reject,  ///< permanent failure; the relay moves the message to dead letters
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
};

/// Sends batches of outbox records to a transport.
///
/// Contract (the relay relies on it; tests hold every implementation to it):
/// - publish() returns exactly one result per record, in the batch's order.
/// - publish() may be called concurrently for different partitions, never concurrently
///   for the same partition; a batch holds records of one partition, ordered by seq.
/// - Within a batch, one aggregate id's records are sent in order; once record k of a key
///   fails (retry or reject), that key's later records in the batch are reported
///   `retry` ("not sent: an earlier message of this key failed") and are NOT sent.
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
  [[nodiscard]] virtual bool flush(std::chrono::milliseconds timeout) noexcept = 0;
  virtual void shutdown(std::chrono::milliseconds timeout) noexcept = 0;
};

}  // namespace txoutbox
