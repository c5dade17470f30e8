// scripted_publisher: answers per message as a test scripts it; can block on demand.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "txoutbox/publisher.hpp"

namespace txoutbox::testing {

/// Decides each message's result. Called under the publisher's lock, in batch order,
/// only for messages actually sent (the per-key rule is applied around it).
using script_fn = std::function<publish_result(const outbox_record&)>;

/// Follows the publisher contract like a real transport (key_gate: per-key stop after a failure,
/// a route's later records not sent after it was `unavailable`) with results from a script: a queue
/// of results consumed one per sent message, then the fallback function (default: ok). Records
/// every sent record and every result.
///
/// hold() makes the next publish() calls block until release() — or, when
/// `honour_shutdown` is true (the default), until shutdown(); a publisher that ignores
/// shutdown lets tests prove relay::stop() is bounded anyway. Thread-safe.
class scripted_publisher final : public publisher {
 public:
  scripted_publisher();

  /// Results for the next sent messages, consumed in order.
  void push(publish_result result, std::size_t times = 1);
  /// Used when the queue is empty.
  void set_fallback(script_fn fn);
  /// How route() maps a record (default: one route for everything). Set before use.
  void set_route(std::function<std::string(const outbox_record&)> fn);
  std::string route(const outbox_record& rec) const override;

  void hold(bool honour_shutdown = true);
  void release();
  /// Blocks until a publish() is waiting in hold(), or the timeout passes.
  bool wait_until_blocked(std::chrono::milliseconds timeout);

  std::vector<publish_result> publish(std::span<const outbox_record> batch) noexcept override;
  bool flush(std::chrono::milliseconds timeout) noexcept override;
  void shutdown(std::chrono::milliseconds timeout) noexcept override;

  /// Each record as sent, in send order (duplicates included).
  std::vector<outbox_record> sent() const;
  std::size_t calls() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<publish_result> queue_;
  script_fn fallback_;
  std::function<std::string(const outbox_record&)> route_;
  std::vector<outbox_record> sent_;
  std::size_t calls_ = 0;
  bool holding_ = false, honour_shutdown_ = true, shut_down_ = false;
  std::size_t blocked_ = 0;
};

}  // namespace txoutbox::testing
