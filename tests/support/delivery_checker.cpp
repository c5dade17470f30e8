// delivery_checker: the missing / extra / first-delivery order / duplicate bound checks.
#include "delivery_checker.hpp"

#include <map>
#include <set>
#include <string>
#include <utility>

namespace txoutbox::testing {

std::string delivery_report::describe() const {
  std::string out = "committed " + std::to_string(committed) + ", received " +
                    std::to_string(received) + " (distinct committed " + std::to_string(distinct) +
                    "), missing " + std::to_string(missing) + ", extra " + std::to_string(extra) +
                    ", duplicates " + std::to_string(duplicates) + " (bound " +
                    std::to_string(max_duplicates) + "), order violations " +
                    std::to_string(order_violations);
  if (!first_violation.empty())
    out += "; first violation: " + first_violation;
  return out;
}

void delivery_checker::committed(std::string id, std::string key) {
  const std::size_t index = key_counts_[key]++;
  auto [it, inserted] = committed_.try_emplace(std::move(id), event{std::move(key), index});
  if (!inserted)
    double_commits_.push_back(it->first);
}

void delivery_checker::delivered(std::string_view id, std::string_view stream) {
  deliveries_.emplace_back(std::string(id), std::string(stream));
}

delivery_report delivery_checker::check(std::size_t max_duplicates) const {
  delivery_report r;
  r.committed = committed_.size();
  r.received = deliveries_.size();
  r.max_duplicates = max_duplicates;
  const auto note = [&r](std::string text) {
    if (r.first_violation.empty())
      r.first_violation = std::move(text);
  };
  for (const auto& id : double_commits_) {
    ++r.order_violations;
    note("id " + id + " was registered as committed twice (test bug)");
  }

  std::set<std::string> seen;
  // Per (key, stream): the id and write index of the latest first delivery so far.
  std::map<std::pair<std::string, std::string>, std::pair<std::string, std::size_t>> last_first;
  std::size_t position = 0;
  for (const auto& [id, stream] : deliveries_) {
    ++position;
    const auto it = committed_.find(id);
    if (it == committed_.end()) {
      ++r.extra;
      note("delivery #" + std::to_string(position) + " is id " + id +
           ", which was never committed" + (stream.empty() ? "" : " (stream " + stream + ")"));
      continue;
    }
    if (!seen.insert(id).second) {
      ++r.duplicates;
      continue;
    }
    const event& ev = it->second;
    auto [slot, fresh] =
        last_first.try_emplace({ev.key, stream}, std::make_pair(id, ev.write_index));
    if (fresh)
      continue;
    if (ev.write_index < slot->second.second) {
      ++r.order_violations;
      note("key " + ev.key + ": id " + id + " (write #" + std::to_string(ev.write_index + 1) +
           ") was first delivered after id " + slot->second.first + " (write #" +
           std::to_string(slot->second.second + 1) + ")" +
           (stream.empty() ? "" : " in stream " + stream));
      continue;  // keep the later-written one as the reference
    }
    slot->second = {id, ev.write_index};
  }
  r.distinct = seen.size();
  r.missing = r.committed - r.distinct;
  if (r.missing > 0) {
    // Name the first missing id in a stable order: by key, then write order.
    std::map<std::pair<std::string, std::size_t>, std::string> absent;
    for (const auto& [id, ev] : committed_) {
      if (!seen.contains(id))
        absent.emplace(std::make_pair(ev.key, ev.write_index), id);
    }
    const auto& [where, id] = *absent.begin();
    note("id " + id + " (key " + where.first + ", write #" + std::to_string(where.second + 1) +
         ") was committed but never delivered");
  }
  if (r.duplicates > max_duplicates) {
    note(std::to_string(r.duplicates) + " duplicate deliveries exceed the bound of " +
         std::to_string(max_duplicates));
  }
  return r;
}

}  // namespace txoutbox::testing
