// The relay's route gate: route_health applied to one batch, before and after publish().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "relay/relay_config.hpp"
#include "relay/relay_hooks.hpp"
#include "relay/route_health.hpp"

namespace txoutbox::detail {

/// Before publish(): keeps back the records whose route is down (all but one probe per
/// route), and with them every later record of their key, so per-key order holds.
/// After publish(): judges each `unavailable` result (an outage, which holds the record
/// without an attempt, or a message that fails alone, which becomes an ordinary retry),
/// records successes, and logs each route's transitions once at warn. Worker threads;
/// the state it shares lives in route_health.
class route_gate {
 public:
  using time_point = clock::time_point;

  route_gate(const relay_config& config, route_health& health, relay_hooks& hooks)
      : config_(config), health_(health), hooks_(hooks) {}

  /// The records to publish out of one batch.
  struct admitted {
    /// What to publish: the batch itself, or `subset` when something was held.
    std::span<const outbox_record> records;
    std::vector<outbox_record> subset;
    /// The route of each record of `records`; empty while every route is up.
    std::vector<std::string> routes;
    /// Routes for which this batch carries the probe.
    std::vector<std::string> probes;
    std::size_t held = 0;  ///< records kept back
    /// When the earliest probe of a route that held records is due.
    std::optional<time_point> wake_at;
  };
  admitted admit(std::uint32_t partition, std::span<const outbox_record> batch);

  /// What publishing the admitted records changed.
  struct verdicts {
    bool came_back = false;             ///< a route came back: resume every partition
    std::optional<time_point> wake_at;  ///< the next probe of a route that is down now
  };
  /// Rewrites `results` in place: an `unavailable` judged to be a message's own failure
  /// becomes `retry`; an outage stays `unavailable` (map_results holds the record).
  verdicts judge(std::uint32_t partition, admitted& a, std::vector<publish_result>& results);

  /// The batch was not published after all: its probes go back.
  void abandon(const admitted& a);

 private:
  static std::string token(std::uint32_t partition, const outbox_record& rec);
  void note_down(const std::string& route, const publish_result& first);
  void note_back(const std::string& route, std::chrono::milliseconds downtime);

  const relay_config& config_;
  route_health& health_;
  relay_hooks& hooks_;
};

}  // namespace txoutbox::detail
