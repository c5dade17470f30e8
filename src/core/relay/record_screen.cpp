// The relay's record screen: rows that must never reach a publisher, set aside alone.
#include "relay/record_screen.hpp"

#include <string_view>
#include <unordered_set>

#include "core/routing_field.hpp"

namespace txoutbox::detail {

screened_batch screen(std::span<const outbox_record> batch) {
  screened_batch s;
  s.records = batch;
  std::unordered_set<std::string_view> stopped_keys;  // views into `batch`
  bool subset = false;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& rec = batch[i];
    const bool behind = !stopped_keys.empty() && stopped_keys.contains(rec.msg.aggregate_id);
    auto unsafe = behind ? std::nullopt : unsafe_routing_field(rec.msg);
    if (!behind && !unsafe) {
      if (subset)
        s.subset.push_back(rec);
      continue;
    }
    if (!subset) {
      subset = true;
      s.subset.assign(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(i));
    }
    stopped_keys.insert(rec.msg.aggregate_id);
    if (behind) {
      ++s.deferred;
      continue;
    }
    outcome out;
    out.id = rec.msg.id;
    out.what = outcome::action::dead_letter;
    out.reason = std::move(*unsafe);
    s.dead.push_back(std::move(out));
  }
  if (subset)
    s.records = s.subset;
  return s;
}

}  // namespace txoutbox::detail
