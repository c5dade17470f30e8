// The production time source: a shared adapter over std::chrono::steady_clock.
#include "txoutbox/clock.hpp"

namespace txoutbox {

namespace {

/// Stateless, so one instance serves every relay and thread in the process.
class steady_clock_adapter final : public clock {
 public:
  time_point now() const noexcept override {
    return std::chrono::time_point_cast<duration>(std::chrono::steady_clock::now());
  }
};

}  // namespace

std::shared_ptr<clock> steady_clock_source() {
  static const std::shared_ptr<clock> instance = std::make_shared<steady_clock_adapter>();
  return instance;
}

}  // namespace txoutbox
