// scripted_publisher: a publisher whose per-message results and blocking a test scripts.
#include "txoutbox/testing/scripted_publisher.hpp"

#include <exception>

#include "txoutbox/key_gate.hpp"

namespace txoutbox::testing {

namespace {

constexpr const char* shut_down_reason = "publisher shut down";

}  // namespace

scripted_publisher::scripted_publisher() = default;

void scripted_publisher::push(publish_result result, std::size_t times) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < times; ++i)
    queue_.push_back(result);
}

void scripted_publisher::set_fallback(script_fn fn) {
  std::lock_guard lock(mutex_);
  fallback_ = std::move(fn);
}

void scripted_publisher::set_route(std::function<std::string(const outbox_record&)> fn) {
  std::lock_guard lock(mutex_);
  route_ = std::move(fn);
}

std::string scripted_publisher::route(const outbox_record& rec) const {
  std::function<std::string(const outbox_record&)> fn;
  {
    std::lock_guard lock(mutex_);
    fn = route_;
  }
  return fn ? fn(rec) : std::string();
}

void scripted_publisher::hold(bool honour_shutdown) {
  std::lock_guard lock(mutex_);
  holding_ = true;
  honour_shutdown_ = honour_shutdown;
}

void scripted_publisher::release() {
  {
    std::lock_guard lock(mutex_);
    holding_ = false;
  }
  cv_.notify_all();
}

bool scripted_publisher::wait_until_blocked(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return blocked_ > 0; });
}

std::vector<publish_result> scripted_publisher::publish(
    std::span<const outbox_record> batch) noexcept {
  std::unique_lock lock(mutex_);
  ++calls_;
  // shut_down_ counts only while shutdown is honoured: hold(false) simulates a
  // transport that ignores shutdown entirely.
  const auto refused = [&] { return shut_down_ && honour_shutdown_; };
  if (!refused() && holding_) {
    ++blocked_;
    cv_.notify_all();  // wakes wait_until_blocked()
    cv_.wait(lock, [&] { return !holding_ || refused(); });
    --blocked_;
  }
  if (refused())
    return std::vector<publish_result>(batch.size(), publish_result::retry(shut_down_reason));

  std::vector<publish_result> results;
  results.reserve(batch.size());
  // route_ directly: route() would take mutex_, which this call holds.
  key_gate gate(route_);
  for (const outbox_record& rec : batch) {
    if (auto held = gate.refusal(rec)) {
      results.push_back(std::move(*held));
      continue;
    }
    sent_.push_back(rec);
    publish_result result;
    if (!queue_.empty()) {
      result = std::move(queue_.front());
      queue_.pop_front();
    } else if (fallback_) {
      try {
        result = fallback_(rec);
      } catch (const std::exception& e) {
        result = publish_result::retry(e.what());
      } catch (...) {
        result = publish_result::retry("unknown exception in script");
      }
    }
    results.push_back(gate.record(rec, std::move(result)));
  }
  return results;
}

bool scripted_publisher::flush(std::chrono::milliseconds /*timeout*/) noexcept {
  return true;
}

void scripted_publisher::shutdown(std::chrono::milliseconds /*timeout*/) noexcept {
  {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
  }
  cv_.notify_all();
}

std::vector<outbox_record> scripted_publisher::sent() const {
  std::lock_guard lock(mutex_);
  return sent_;
}

std::size_t scripted_publisher::calls() const {
  std::lock_guard lock(mutex_);
  return calls_;
}

}  // namespace txoutbox::testing
