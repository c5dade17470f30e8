// manual_clock: a clock that moves only when a test says so.
#pragma once

#include <atomic>
#include <chrono>

#include "txoutbox/clock.hpp"

namespace txoutbox::testing {

/// Starts at an arbitrary fixed point; advance() moves it forward. Thread-safe.
class manual_clock final : public clock {
 public:
  time_point now() const noexcept override { return time_point(duration(ns_.load())); }
  void advance(duration d) noexcept { ns_.fetch_add(d.count()); }

 private:
  std::atomic<duration::rep> ns_{
      std::chrono::duration_cast<duration>(std::chrono::hours(1)).count()};
};

}  // namespace txoutbox::testing
