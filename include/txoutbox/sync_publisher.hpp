// sync_publisher: helper base for transports that send one message at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <span>
#include <stdexcept>
#include <vector>

#include "txoutbox/publisher.hpp"

namespace txoutbox {

/// Implements the batch rules of the publisher contract (per-key and per-route stop after
/// a failure, through key_gate; one result per record, exceptions mapped to `retry`,
/// refusal after shutdown) so a transport writes one function, send().
///
/// send() may run concurrently for different partitions (from different relay
/// threads); a transport that is not thread-safe sets `serialize` in the constructor and
/// the base serialises send() calls with a mutex.
class sync_publisher : public publisher {
 public:
  /// Thrown by send() when the destination as a whole failed (the connection broke, cannot
  /// connect, no ack in time): the record is reported `unavailable` with what(), and so is
  /// every later record of the batch, whatever its route, unsent (key_gate::fail_all_routes).
  class destination_down : public std::runtime_error {
   public:
    using std::runtime_error::runtime_error;
  };

  explicit sync_publisher(bool serialize = false) : serialize_(serialize) {}

  std::vector<publish_result> publish(std::span<const outbox_record> batch) noexcept final;
  bool flush(std::chrono::milliseconds timeout) noexcept override;
  /// Sets the shut-down flag and calls interrupt() so a blocked send() can return.
  void shutdown(std::chrono::milliseconds timeout) noexcept override;

 protected:
  /// Sends one record. May throw; destination_down becomes `unavailable` for the rest of
  /// the batch, any other exception `retry` with its what().
  virtual publish_result send(const outbox_record& rec) = 0;
  /// Called once by shutdown(): unblock a send() in progress (close a socket, ...).
  virtual void interrupt() noexcept {}
  /// Durability barrier for flush(); default: nothing buffered.
  virtual bool sync(std::chrono::milliseconds /*timeout*/) { return true; }

  bool is_shut_down() const noexcept { return shut_down_.load(std::memory_order_acquire); }

 private:
  bool serialize_;
  std::mutex send_mutex_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace txoutbox
