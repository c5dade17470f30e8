// The relay's view of each destination route: up, or down and probed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "txoutbox/clock.hpp"

namespace txoutbox::detail {

/// Tracks which routes (publisher::route()) are unavailable, and hands out probes.
///
/// A route goes down when a message sent on it is reported `unavailable`. While it is
/// down the relay sends nothing on it but one probe message at a time, at most one
/// `probe_interval` apart (a transport's Retry-After moves the next probe, capped at
/// `retry_after_cap`). The first success on the route brings it back up. Probes rotate:
/// the token (partition and key) whose failure last kept the route down is probed again
/// only when no other candidate showed up for a whole probe interval. A token that fails
/// `unavailable` again once another token has brought the route back up is judged to fail
/// alone: its failure counts as the message's own, so one bad message can never hold a
/// route closed.
///
/// Pure bookkeeping on the relay's clock: no I/O, no logging (the caller logs the
/// transitions it is told about). Thread-safe: one mutex, held for a few map operations.
class route_health {
 public:
  using time_point = clock::time_point;

  route_health(std::chrono::milliseconds probe_interval, std::chrono::milliseconds retry_after_cap);

  /// Whether a record of `route`, identified for rotation by `token`, may be sent now.
  enum class admission {
    send,   ///< the route is up
    probe,  ///< the route is down and this record is its probe; report with probe_done()
    hold,   ///< the route is down: do not send
  };
  admission admit(const std::string& route, const std::string& token, time_point now);

  /// Lock-free: no route is down or under suspicion, so nothing needs to be checked.
  bool quiet() const noexcept { return tracked_.load(std::memory_order_acquire) == 0; }

  /// A transition the caller logs.
  struct change {
    bool went_down = false;                 ///< the route was up and is now down
    bool came_back = false;                 ///< the route was down and is now up
    std::chrono::milliseconds downtime{0};  ///< came_back: how long it was down
  };

  /// A message on `route` was accepted.
  change succeeded(const std::string& route, const std::string& token, time_point now);

  /// How a failure reported `unavailable` is to be counted.
  enum class verdict {
    outage,         ///< the route is down: the message keeps its attempts
    message_fault,  ///< the route works for others: an ordinary failure of this message
  };
  verdict failed(const std::string& route, const std::string& token,
                 std::optional<std::chrono::milliseconds> retry_after, time_point now,
                 change& what);

  /// A probe handed out by admit() was not sent after all (the batch was abandoned, or
  /// the probe record was held behind its key): the next candidate may probe at once.
  void probe_unused(const std::string& route);

  /// When the next probe of `route` is due; nullopt when the route is up.
  std::optional<time_point> next_probe(const std::string& route) const;

  /// For stats(): how many routes are down, and since when the oldest one is.
  struct summary {
    std::uint32_t down = 0;
    std::optional<time_point> oldest_since{};
  };
  summary summarize() const;

 private:
  struct state {
    bool down = false;
    time_point since{};       ///< down: when it went down
    time_point next_probe{};  ///< down: when a probe may go
    bool probe_out = false;   ///< down: a probe is being sent
    /// The token whose `unavailable` last took or kept the route down; cleared when that
    /// token succeeds.
    std::string suspect{};
    /// Up: the route came back through a token other than `suspect`.
    bool proven_by_other = false;
    /// Down: when a token other than `suspect` last asked to be sent (rotation).
    std::optional<time_point> other_seen{};
  };

  std::chrono::milliseconds probe_interval_;
  std::chrono::milliseconds retry_after_cap_;
  mutable std::mutex mu_;
  std::map<std::string, state, std::less<>> routes_;
  std::atomic<std::size_t> tracked_{0};  ///< routes_.size(), written under mu_
};

}  // namespace txoutbox::detail
