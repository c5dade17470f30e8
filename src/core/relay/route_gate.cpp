// The relay's route gate: route_health applied to one batch, before and after publish().
#include "relay/route_gate.hpp"

#include <algorithm>
#include <set>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "core/time_text.hpp"

namespace txoutbox::detail {

namespace {

std::string route_text(const std::string& route) {
  return route.empty() ? std::string() : " (route '" + route + "')";
}

void earliest(std::optional<clock::time_point>& at, std::optional<clock::time_point> t) {
  if (t && (!at || *t < *at))
    at = t;
}

}  // namespace

std::string route_gate::token(std::uint32_t partition, const outbox_record& rec) {
  return std::to_string(partition) + '/' + rec.msg.aggregate_id;
}

route_gate::admitted route_gate::admit(std::uint32_t partition,
                                       std::span<const outbox_record> batch) {
  admitted a;
  a.records = batch;
  if (health_.quiet())
    return a;
  const auto now = config_.clock->now();
  std::unordered_set<std::string_view> held_keys;  // views into `batch`
  std::set<std::string> probing;                   // routes probed by this batch
  bool subset = false;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const outbox_record& rec = batch[i];
    auto route = config_.publisher->route(rec);
    bool hold = held_keys.contains(rec.msg.aggregate_id) || probing.contains(route);
    if (!hold) {
      switch (health_.admit(route, token(partition, rec), now)) {
        case route_health::admission::send:
          break;
        case route_health::admission::probe:
          probing.insert(route);
          a.probes.push_back(route);
          break;
        case route_health::admission::hold:
          hold = true;
          break;
      }
    }
    if (hold) {
      ++a.held;
      held_keys.insert(rec.msg.aggregate_id);
      earliest(a.wake_at, health_.next_probe(route));
      if (!subset) {
        subset = true;
        a.subset.assign(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(i));
      }
      continue;
    }
    if (subset)
      a.subset.push_back(rec);
    a.routes.push_back(std::move(route));
  }
  if (subset)
    a.records = a.subset;
  return a;
}

route_gate::verdicts route_gate::judge(std::uint32_t partition, admitted& a,
                                       std::vector<publish_result>& results) {
  verdicts v;
  if (results.size() != a.records.size()) {
    abandon(a);  // a broken contract: map_results retries everything
    return v;
  }
  const bool any_unavailable = std::any_of(results.begin(), results.end(), [](const auto& r) {
    return r.status == publish_status::unavailable;
  });
  if (!any_unavailable && health_.quiet() && a.probes.empty())
    return v;
  if (a.routes.size() != a.records.size()) {
    a.routes.clear();
    for (const auto& rec : a.records)
      a.routes.push_back(config_.publisher->route(rec));
  }
  const auto now = config_.clock->now();
  std::set<std::string> judged;  // routes whose first `unavailable` was judged
  std::set<std::string> answered;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& route = a.routes[i];
    auto& res = results[i];
    if (res.status == publish_status::ok) {
      answered.insert(route);
      const auto what = health_.succeeded(route, token(partition, a.records[i]), now);
      if (what.came_back) {
        v.came_back = true;
        note_back(route, what.downtime);
      }
    } else if (res.status == publish_status::unavailable && !judged.contains(route)) {
      // Later `unavailable`s of this route in the batch were not sent: they stay held.
      judged.insert(route);
      answered.insert(route);
      route_health::change what;
      const auto verdict =
          health_.failed(route, token(partition, a.records[i]), res.retry_after, now, what);
      if (verdict == route_health::verdict::message_fault) {
        res.status = publish_status::retry;
        hooks_.log(log_level::warn,
                   "partition " + std::to_string(partition) + " seq " +
                       std::to_string(a.records[i].seq) + route_text(route) +
                       ": the destination takes other messages; counting this failure "
                       "against the message: " +
                       res.reason);
        continue;
      }
      if (what.went_down)
        note_down(route, res);
      earliest(v.wake_at, health_.next_probe(route));
    }
  }
  for (const auto& route : a.probes) {
    if (!answered.contains(route))
      health_.probe_unused(route);  // the probe failed as a message: probe another
  }
  return v;
}

void route_gate::abandon(const admitted& a) {
  for (const auto& route : a.probes)
    health_.probe_unused(route);
}

void route_gate::note_down(const std::string& route, const publish_result& first) {
  hooks_.log(log_level::warn, "destination unavailable since " +
                                  rfc3339(std::chrono::system_clock::now()) + route_text(route) +
                                  ": " + first.reason +
                                  "; holding its messages (no attempts used), probing every " +
                                  std::to_string(config_.options.probe_interval.count()) + " ms");
}

void route_gate::note_back(const std::string& route, std::chrono::milliseconds downtime) {
  const auto tenths = downtime.count() / 100;
  hooks_.log(log_level::warn, "destination back after " + std::to_string(tenths / 10) + "." +
                                  std::to_string(tenths % 10) + " s" + route_text(route));
}

}  // namespace txoutbox::detail
