// The relay's view of each destination route: up, or down and probed.
#include "relay/route_health.hpp"

#include <algorithm>

namespace txoutbox::detail {

route_health::route_health(std::chrono::milliseconds probe_interval,
                           std::chrono::milliseconds retry_after_cap)
    : probe_interval_(probe_interval),
      retry_after_cap_(std::max(retry_after_cap, probe_interval)) {}

route_health::admission route_health::admit(const std::string& route, const std::string& token,
                                            time_point now) {
  std::lock_guard lock(mu_);
  const auto it = routes_.find(route);
  if (it == routes_.end() || !it->second.down)
    return admission::send;
  auto& st = it->second;
  const bool is_suspect = token == st.suspect;
  if (!is_suspect)
    st.other_seen = now;
  if (st.probe_out || now < st.next_probe)
    return admission::hold;
  // Rotation: the token that last failed waits while another candidate is around, so a
  // message that fails alone cannot keep its route closed.
  if (is_suspect && st.other_seen && now - *st.other_seen < 2 * probe_interval_)
    return admission::hold;
  st.probe_out = true;
  return admission::probe;
}

route_health::change route_health::succeeded(const std::string& route, const std::string& token,
                                             time_point now) {
  change what;
  std::lock_guard lock(mu_);
  const auto it = routes_.find(route);
  if (it == routes_.end())
    return what;
  auto& st = it->second;
  if (st.down) {
    what.came_back = true;
    what.downtime = std::chrono::duration_cast<std::chrono::milliseconds>(now - st.since);
    st.down = false;
    st.probe_out = false;
    st.other_seen.reset();
    st.proven_by_other = token != st.suspect;
  }
  if (token == st.suspect) {
    st.suspect.clear();
    st.proven_by_other = false;
  }
  if (!st.down && st.suspect.empty()) {
    routes_.erase(it);
    tracked_.store(routes_.size(), std::memory_order_release);
  }
  return what;
}

route_health::verdict route_health::failed(const std::string& route, const std::string& token,
                                           std::optional<std::chrono::milliseconds> retry_after,
                                           time_point now, change& what) {
  std::lock_guard lock(mu_);
  auto& st = routes_[route];
  tracked_.store(routes_.size(), std::memory_order_release);
  if (!st.down && st.proven_by_other && token == st.suspect)
    return verdict::message_fault;
  if (!st.down) {
    what.went_down = true;
    st.down = true;
    st.since = now;
    st.other_seen.reset();
  }
  st.probe_out = false;
  st.suspect = token;
  st.proven_by_other = false;
  auto wait = probe_interval_;
  if (retry_after)
    wait = std::clamp(*retry_after, probe_interval_, retry_after_cap_);
  st.next_probe = now + wait;
  return verdict::outage;
}

void route_health::probe_unused(const std::string& route) {
  std::lock_guard lock(mu_);
  const auto it = routes_.find(route);
  if (it != routes_.end())
    it->second.probe_out = false;
}

std::optional<route_health::time_point> route_health::next_probe(const std::string& route) const {
  std::lock_guard lock(mu_);
  const auto it = routes_.find(route);
  if (it == routes_.end() || !it->second.down)
    return std::nullopt;
  return it->second.next_probe;
}

route_health::summary route_health::summarize() const {
  summary s;
  std::lock_guard lock(mu_);
  for (const auto& [name, st] : routes_) {
    if (!st.down)
      continue;
    ++s.down;
    if (!s.oldest_since || st.since < *s.oldest_since)
      s.oldest_since = st.since;
  }
  return s;
}

}  // namespace txoutbox::detail
