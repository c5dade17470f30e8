// Shared helpers of the relay unit tests: options, messages and per-key order checks.
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "txoutbox/message.hpp"
#include "txoutbox/outbox_record.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/testing/manual_clock.hpp"
#include "txoutbox/testing/memory_store.hpp"

namespace relay_test {

using namespace std::chrono_literals;

inline txoutbox::message make_message(const std::string& key, int n) {
  txoutbox::message m;
  m.aggregate_type = "order";
  m.aggregate_id = key;
  m.type = "OrderChanged";
  m.payload = "{\"n\":" + std::to_string(n) + "}";
  return m;
}

/// Options for tests: a manual clock that moves only when told, so leases never expire
/// by themselves (60 s of manual time) while the control tick still runs every 100 ms of
/// real time (lease_ttl / renew_divisor), and polls every 10 ms.
inline txoutbox::relay_options fast_options(std::shared_ptr<txoutbox::clock> clk,
                                            std::string owner) {
  return txoutbox::relay_options{.threads = 2,
                                 .batch_size = 10,
                                 .poll_interval = 10ms,
                                 .max_attempts = 10,
                                 .backoff_initial = 100ms,
                                 .backoff_max = 1000ms,
                                 .lease_ttl = 60'000ms,
                                 .renew_divisor = 600,
                                 .max_crash_starts = 3,
                                 .partitions = 0,
                                 .owner = std::move(owner),
                                 .on_log = {},
                                 .on_batch = {},
                                 .clock = std::move(clk)};
}

/// Collects log lines from relay threads; read on the test thread.
struct log_sink {
  std::mutex mutex;
  std::vector<std::string> lines;
  txoutbox::log_hook hook() {
    return [this](txoutbox::log_level, std::string_view text) {
      std::lock_guard lock(mutex);
      lines.emplace_back(text);
    };
  }
  bool contains(const std::string& needle) {
    std::lock_guard lock(mutex);
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  }
};

/// Per key, the seqs in the order they were first published (duplicates dropped).
inline std::map<std::string, std::vector<std::int64_t>> first_publish_order(
    const std::vector<txoutbox::outbox_record>& records) {
  std::map<std::string, std::vector<std::int64_t>> order;
  std::set<std::int64_t> seen;
  for (const auto& r : records) {
    if (!seen.insert(r.seq).second)
      continue;
    order[r.msg.aggregate_id].push_back(r.seq);
  }
  return order;
}

/// True when every key's messages were first published in seq (write) order.
inline bool keys_in_order(const std::vector<txoutbox::outbox_record>& records) {
  for (const auto& [key, seqs] : first_publish_order(records)) {
    if (!std::is_sorted(seqs.begin(), seqs.end()))
      return false;
  }
  return true;
}

/// A store that forwards every call to a memory_store; tests derive from it to observe,
/// delay or fail single calls without re-implementing the SPI.
class forwarding_store : public txoutbox::store {
 public:
  explicit forwarding_store(std::shared_ptr<txoutbox::testing::memory_store> inner)
      : inner_(std::move(inner)) {}

  std::uint32_t partition_count() override { return inner_->partition_count(); }
  void heartbeat(const std::string& o, std::chrono::milliseconds t) override {
    inner_->heartbeat(o, t);
  }
  std::vector<std::string> live_owners() override { return inner_->live_owners(); }
  void leave(const std::string& o) override { inner_->leave(o); }
  std::optional<std::uint64_t> acquire(const std::string& o, std::uint32_t p,
                                       std::chrono::milliseconds t) override {
    return inner_->acquire(o, p, t);
  }
  bool renew(const txoutbox::fence& f, std::chrono::milliseconds t) override {
    return inner_->renew(f, t);
  }
  void release(const txoutbox::fence& f) override { inner_->release(f); }
  std::vector<txoutbox::lease_info> leases() override { return inner_->leases(); }
  std::vector<txoutbox::claimed_partition> claim(const std::string& o,
                                                 std::span<const std::uint32_t> p,
                                                 const txoutbox::claim_limits& limit) override {
    return inner_->claim(o, p, limit);
  }
  bool begin_batch(const txoutbox::fence& f, const txoutbox::batch_marker& m) override {
    return inner_->begin_batch(f, m);
  }
  bool settle(const txoutbox::fence& f, std::span<const txoutbox::outcome> o) override {
    return inner_->settle(f, o);
  }
  txoutbox::store_stats stats() override { return inner_->stats(); }
  std::vector<txoutbox::dead_letter_record> dead_letters(std::size_t limit) override {
    return inner_->dead_letters(limit);
  }
  std::size_t requeue_dead_letters(std::span<const txoutbox::message_id> ids) override {
    return inner_->requeue_dead_letters(ids);
  }
  std::size_t purge_dead_letters(std::span<const txoutbox::message_id> ids) override {
    return inner_->purge_dead_letters(ids);
  }

 protected:
  std::shared_ptr<txoutbox::testing::memory_store> inner_;
};

/// Distinct seqs among the records.
inline std::size_t distinct(const std::vector<txoutbox::outbox_record>& records) {
  std::set<std::int64_t> seen;
  for (const auto& r : records)
    seen.insert(r.seq);
  return seen.size();
}

/// Hands out the rows in `ids` (message id text) with the routing field `field`
/// ("aggregate_type", "type" or "aggregate_id") replaced by `value`, as rows written by plain
/// SQL that skipped validation would arrive.
class hostile_row_store : public forwarding_store {
 public:
  hostile_row_store(std::shared_ptr<txoutbox::testing::memory_store> inner,
                    std::set<std::string> ids, std::string field, std::string value)
      : forwarding_store(std::move(inner)),
        ids_(std::move(ids)),
        field_(std::move(field)),
        value_(std::move(value)) {}

  std::vector<txoutbox::claimed_partition> claim(const std::string& o,
                                                 std::span<const std::uint32_t> p,
                                                 const txoutbox::claim_limits& limit) override {
    auto claimed = inner_->claim(o, p, limit);
    for (auto& cp : claimed) {
      for (auto& rec : cp.records) {
        if (!ids_.contains(rec.msg.id.to_string()))
          continue;
        auto& m = rec.msg;
        (field_ == "aggregate_type" ? m.aggregate_type
         : field_ == "type"         ? m.type
                                    : m.aggregate_id) = value_;
      }
    }
    return claimed;
  }

 private:
  std::set<std::string> ids_;
  std::string field_, value_;
};

}  // namespace relay_test
