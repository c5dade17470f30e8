// The relay's pure decisions: crash-loop batch planning, retry backoff, result mapping.
#include "relay/relay_policy.hpp"

#include <algorithm>
#include <set>
#include <string_view>

#include "relay/timing.hpp"

namespace txoutbox::detail {

batch_plan plan_batch(const batch_marker& stored, std::span<const outbox_record> records,
                      std::uint32_t max_crash_starts) {
  batch_plan plan;
  batch_marker m = stored;
  if (m.starts > 0)
    m.suspect_through = std::max(m.suspect_through, m.last_seq);
  plan.isolate = !records.empty() && records.front().seq <= m.suspect_through;
  plan.count = plan.isolate ? 1 : records.size();
  if (records.empty())
    return plan;
  const auto head = records.front().seq;
  plan.next.starts = (m.starts > 0 && m.head_seq == head) ? m.starts + 1 : 1;
  plan.next.head_seq = head;
  plan.next.last_seq = records[plan.count - 1].seq;
  plan.next.suspect_through = m.suspect_through;
  plan.crash_loop =
      plan.isolate && static_cast<std::int64_t>(plan.next.starts) > std::int64_t{max_crash_starts};
  return plan;
}

std::chrono::milliseconds store_error_backoff(std::chrono::milliseconds poll, int failures) {
  auto d = std::max(poll, timing::store_backoff_floor);
  for (int i = 1; i < failures && d < timing::store_backoff_cap; ++i)
    d *= 2;
  return std::min(d, timing::store_backoff_cap);
}

std::chrono::milliseconds backoff_ceiling(std::int32_t attempts, std::chrono::milliseconds initial,
                                          std::chrono::milliseconds max) {
  if (initial.count() <= 0)
    return std::chrono::milliseconds(0);
  if (max < initial)
    return max;
  auto value = initial;
  for (std::int32_t i = 0; i < attempts; ++i) {
    if (value >= max / 2)
      return max;
    value *= 2;
  }
  return std::min(value, max);
}

std::chrono::milliseconds retry_delay(std::int32_t attempts, std::chrono::milliseconds initial,
                                      std::chrono::milliseconds max,
                                      std::optional<std::chrono::milliseconds> retry_after,
                                      double u) {
  const auto ceiling = backoff_ceiling(attempts, initial, max);
  u = std::clamp(u, 0.0, 1.0);
  auto delay = std::chrono::milliseconds(
      static_cast<std::chrono::milliseconds::rep>(static_cast<double>(ceiling.count()) * u));
  if (retry_after && *retry_after > delay)
    delay = std::min(*retry_after, max);
  return delay;
}

settle_plan map_results(std::span<const outbox_record> batch,
                        std::span<const publish_result> results, const retry_policy& policy,
                        std::mt19937_64& rng) {
  settle_plan plan;
  std::vector<publish_result> fallback;
  if (results.size() != batch.size()) {
    plan.contract_error = "publisher returned " + std::to_string(results.size()) + " results for " +
                          std::to_string(batch.size()) + " records";
    fallback.assign(batch.size(), publish_result::retry(*plan.contract_error));
    results = fallback;
  }
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  // Keys with a failed row earlier in this batch: their later retries were not sent.
  std::set<std::string_view> failed_keys;
  plan.outcomes.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& rec = batch[i];
    const auto& res = results[i];
    const std::string_view key = rec.msg.aggregate_id;
    outcome out;
    out.id = rec.msg.id;
    switch (res.status) {
      case publish_status::ok:
        out.what = outcome::action::published;
        ++plan.published;
        break;
      case publish_status::unavailable:
        // An outage (route_gate judged it): the row stays as it is, held behind its route.
        failed_keys.insert(key);
        ++plan.held;
        continue;
      case publish_status::retry:
        if (failed_keys.count(key) != 0) {
          ++plan.deferred;
          continue;
        }
        failed_keys.insert(key);
        if (static_cast<std::int64_t>(rec.attempts) + 1 >=
            static_cast<std::int64_t>(policy.max_attempts)) {
          out.what = outcome::action::dead_letter;
          out.reason =
              "max attempts (" + std::to_string(policy.max_attempts) + ") reached: " + res.reason;
          ++plan.dead_lettered;
        } else {
          out.what = outcome::action::retry;
          out.delay = retry_delay(rec.attempts, policy.backoff_initial, policy.backoff_max,
                                  res.retry_after, uniform(rng));
          out.reason = res.reason;
          ++plan.retried;
        }
        break;
      case publish_status::reject:
        failed_keys.insert(key);
        out.what = outcome::action::dead_letter;
        out.reason = res.reason.empty() ? std::string("rejected by the publisher") : res.reason;
        ++plan.dead_lettered;
        break;
    }
    plan.outcomes.push_back(std::move(out));
  }
  return plan;
}

}  // namespace txoutbox::detail
