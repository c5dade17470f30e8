// The relay's pure decisions: crash-loop batch planning, retry backoff, result mapping.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "txoutbox/outbox_record.hpp"
#include "txoutbox/publisher.hpp"
#include "txoutbox/store.hpp"

namespace txoutbox::detail {

/// What to do with one claimed partition, decided from the marker stored on its lease row.
struct batch_plan {
  /// Rows to publish (a prefix of the claimed records): 1 when isolating a suspect.
  std::size_t count = 0;
  bool isolate = false;
  /// The marker to persist with begin_batch() before publishing.
  batch_marker next;
  /// True when the isolated head has been begun more than max_crash_starts times: it is
  /// dead-lettered without being published.
  bool crash_loop = false;
};

/// The crash-loop state machine. A stored marker with starts > 0 means a batch was begun
/// and never settled (the relay crashed or lost its lease while publishing it): every row
/// up to its last seq becomes suspect and is published alone until it settles. A head that
/// keeps being begun without settling is dead-lettered. `records` must not be empty.
batch_plan plan_batch(const batch_marker& stored, std::span<const outbox_record> records,
                      std::uint32_t max_crash_starts);

/// Upper bound of the retry delay after `attempts` earlier failures:
/// min(max, initial * 2^attempts), saturating.
std::chrono::milliseconds backoff_ceiling(std::int32_t attempts, std::chrono::milliseconds initial,
                                          std::chrono::milliseconds max);

/// Full-jitter backoff: `u` (uniform in [0, 1]) scales the ceiling; never less than the
/// transport's retry_after hint, which is itself capped at `max`.
std::chrono::milliseconds retry_delay(std::int32_t attempts, std::chrono::milliseconds initial,
                                      std::chrono::milliseconds max,
                                      std::optional<std::chrono::milliseconds> retry_after,
                                      double u);

/// Backoff for store failures (not publisher retries): doubles per consecutive failure
/// from the poll interval (at least timing::store_backoff_floor), capped at
/// timing::store_backoff_cap, so a lost database is not hammered.
std::chrono::milliseconds store_error_backoff(std::chrono::milliseconds poll, int failures);

struct retry_policy {
  std::uint32_t max_attempts = 10;
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{60'000};
};

/// The outcomes to settle for a published batch, with what they count.
struct settle_plan {
  std::vector<outcome> outcomes;
  std::size_t published = 0;
  std::size_t retried = 0;
  std::size_t dead_lettered = 0;
  /// Rows left untouched: a retry of a row whose earlier row of the same key failed in
  /// this batch (it was not sent; it stays held back by that row without using an attempt).
  std::size_t deferred = 0;
  /// Rows left untouched because their destination is unavailable (results still
  /// `unavailable` after route_gate::judge): no attempt used, no backoff grown.
  std::size_t held = 0;
  /// Set when the publisher broke the one-result-per-record contract.
  std::optional<std::string> contract_error;
};

/// Maps publisher results to store outcomes. A result count that differs from the batch
/// size turns every record into a retry.
settle_plan map_results(std::span<const outbox_record> batch,
                        std::span<const publish_result> results, const retry_policy& policy,
                        std::mt19937_64& rng);

}  // namespace txoutbox::detail
