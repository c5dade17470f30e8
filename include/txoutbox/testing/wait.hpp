// wait_until: polls a condition with a deadline, for tests that wait on counters.
#pragma once

#include <chrono>
#include <thread>

namespace txoutbox::testing {

/// Returns true as soon as `pred()` holds, false after `timeout`. Polls every millisecond.
template <class Pred>
bool wait_until(Pred&& pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace txoutbox::testing
