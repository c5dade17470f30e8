// clock: the time source of the relay and the memory store, injectable for tests.
#pragma once

#include <chrono>
#include <memory>

namespace txoutbox {

/// A monotonic time source. Production code uses system_clock_source(); tests inject
/// testing::manual_clock so lease expiry and backoff need no sleeping. Thread-safe.
class clock {
 public:
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<std::chrono::steady_clock, duration>;

  virtual ~clock() = default;
  virtual time_point now() const noexcept = 0;
};

/// The process's steady clock. Shared, never null.
std::shared_ptr<clock> steady_clock_source();

}  // namespace txoutbox
