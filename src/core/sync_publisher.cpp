// sync_publisher: the batch rules of the publisher contract around a one-message send().
#include "txoutbox/sync_publisher.hpp"

#include <exception>

#include "txoutbox/key_gate.hpp"

namespace txoutbox {

namespace {

constexpr const char* shut_down_reason = "publisher shut down";

}  // namespace

std::vector<publish_result> sync_publisher::publish(std::span<const outbox_record> batch) noexcept {
  std::vector<publish_result> results;
  results.reserve(batch.size());
  key_gate gate(*this);
  for (const outbox_record& rec : batch) {
    if (is_shut_down()) {
      results.push_back(publish_result::retry(shut_down_reason));
      continue;
    }
    if (auto held = gate.refusal(rec)) {
      results.push_back(std::move(*held));
      continue;
    }
    publish_result result;
    try {
      if (serialize_) {
        std::lock_guard lock(send_mutex_);
        result = send(rec);
      } else {
        result = send(rec);
      }
    } catch (const destination_down& e) {
      result = publish_result::unavailable(e.what());
      gate.fail_all_routes(result.reason);
    } catch (const std::exception& e) {
      result = publish_result::retry(e.what());
    } catch (...) {
      result = publish_result::retry("unknown exception in publisher");
    }
    results.push_back(gate.record(rec, std::move(result)));
  }
  return results;
}

bool sync_publisher::flush(std::chrono::milliseconds timeout) noexcept {
  try {
    if (serialize_) {
      // A transport that is not thread-safe must not sync while a send() runs.
      std::lock_guard lock(send_mutex_);
      return sync(timeout);
    }
    return sync(timeout);
  } catch (...) {
    return false;
  }
}

void sync_publisher::shutdown(std::chrono::milliseconds /*timeout*/) noexcept {
  // exchange(): interrupt() runs once even when shutdown() is called repeatedly or
  // from several threads.
  if (!shut_down_.exchange(true, std::memory_order_acq_rel))
    interrupt();
}

}  // namespace txoutbox
