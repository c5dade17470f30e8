// memory_store: the store SPI kept in memory under one mutex, with the database rules applied.
#include "txoutbox/testing/memory_store.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"

namespace txoutbox::testing {

namespace {

using tick = clock::time_point;

std::chrono::milliseconds to_ms(clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

/// One outbox row: what claim() hands out plus the columns the SPI never shows.
struct row {
  outbox_record record;
  tick available_at{};  ///< on the store's clock
  tick created_tick{};  ///< on the store's clock; stats' oldest age
  std::string last_error;
};

/// One dead letter: the public record plus the creation tick, kept for a requeue.
struct dead_row {
  dead_letter_record entry;
  tick created_tick{};
};

struct lease_row {
  std::string owner;  ///< empty when free
  std::uint64_t epoch = 0;
  tick expires_at{};
  batch_marker marker;
};

bool wants(std::span<const message_id> ids, const message_id& id) {
  return ids.empty() || std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

struct memory_store::state {
  mutable std::mutex mutex;
  std::uint32_t partitions = 16;
  std::shared_ptr<txoutbox::clock> clock;
  std::int64_t next_seq = 1;
  /// Rows per partition, keyed and therefore ordered by seq.
  std::vector<std::map<std::int64_t, row>> outbox;
  /// id -> (partition, seq) of every row in `outbox`.
  std::unordered_map<message_id, std::pair<std::uint32_t, std::int64_t>> index;
  /// Oldest first.
  std::vector<dead_row> dead;
  std::vector<lease_row> leases;
  /// owner -> heartbeat expiry.
  std::map<std::string, tick, std::less<>> members;
  int failures_pending = 0;

  /// The injected-failure gate every SPI method passes first. Caller holds `mutex`.
  void gate() {
    if (failures_pending > 0) {
      --failures_pending;
      throw transient_error("injected failure");
    }
  }

  tick now() const { return clock->now(); }

  void check_partition(std::uint32_t partition) const {
    if (partition >= partitions) {
      throw usage_error(errc::invalid_argument, "partition",
                        "partition " + std::to_string(partition) + " is out of range (count " +
                            std::to_string(partitions) + ")");
    }
  }

  /// True when `f` names the current holder of its partition (owner and epoch match).
  bool fenced(const fence& f) const {
    if (f.partition >= partitions)
      return false;
    const lease_row& l = leases[f.partition];
    return !l.owner.empty() && l.owner == f.owner && l.epoch == f.epoch;
  }

  bool id_taken(const message_id& id) const {
    if (index.count(id) != 0)
      return true;
    return std::any_of(dead.begin(), dead.end(),
                       [&](const dead_row& d) { return d.entry.record.msg.id == id; });
  }

  void append(outbox_record record, tick available_at, tick created_tick) {
    record.seq = next_seq++;
    const auto id = record.msg.id;
    const auto partition = record.partition;
    const auto seq = record.seq;
    outbox[partition].emplace(seq, row{std::move(record), available_at, created_tick, {}});
    index.emplace(id, std::make_pair(partition, seq));
  }
};

memory_store::memory_store(memory_store_options options) : state_(std::make_unique<state>()) {
  if (options.partitions == 0) {
    throw usage_error(errc::invalid_argument, "partitions", "partitions must be at least 1");
  }
  state_->partitions = options.partitions;
  state_->clock = options.clock ? std::move(options.clock) : steady_clock_source();
  state_->outbox.resize(options.partitions);
  state_->leases.resize(options.partitions);
  const auto now = state_->now();
  for (auto& l : state_->leases)
    l.expires_at = now;
}

memory_store::~memory_store() = default;

message_id memory_store::enqueue(const message& msg, const validation_options& options) {
  validate(msg, options);
  std::lock_guard lock(state_->mutex);
  outbox_record record;
  record.msg = msg;
  if (record.msg.id.is_nil())
    record.msg.id = message_id::generate();
  if (state_->id_taken(record.msg.id)) {
    throw usage_error(errc::invalid_message, "id",
                      "id: " + record.msg.id.to_string() + " is already in the outbox");
  }
  const auto delay = record.msg.deliver_after.value_or(std::chrono::milliseconds{0});
  record.msg.deliver_after.reset();
  record.partition = partition_of(record.msg.aggregate_id, state_->partitions);
  record.created_at = std::chrono::system_clock::now();
  record.attempts = 0;
  const auto id = record.msg.id;
  const auto now = state_->now();
  state_->append(std::move(record), now + delay, now);
  return id;
}

void memory_store::fail_next_calls(int count) {
  std::lock_guard lock(state_->mutex);
  state_->failures_pending = std::max(count, 0);
}

std::vector<outbox_record> memory_store::rows() const {
  std::lock_guard lock(state_->mutex);
  std::vector<outbox_record> out;
  out.reserve(state_->index.size());
  for (const auto& part : state_->outbox) {
    for (const auto& [seq, r] : part)
      out.push_back(r.record);
  }
  std::sort(out.begin(), out.end(),
            [](const outbox_record& a, const outbox_record& b) { return a.seq < b.seq; });
  return out;
}

std::vector<dead_letter_record> memory_store::dead_letter_rows() const {
  std::lock_guard lock(state_->mutex);
  std::vector<dead_letter_record> out;
  out.reserve(state_->dead.size());
  for (const auto& d : state_->dead)
    out.push_back(d.entry);
  return out;
}

std::size_t memory_store::size() const {
  std::lock_guard lock(state_->mutex);
  return state_->index.size();
}

batch_marker memory_store::marker(std::uint32_t partition) const {
  std::lock_guard lock(state_->mutex);
  state_->check_partition(partition);
  return state_->leases[partition].marker;
}

std::optional<std::string> memory_store::last_error(const message_id& id) const {
  std::lock_guard lock(state_->mutex);
  const auto it = state_->index.find(id);
  if (it == state_->index.end())
    return std::nullopt;
  return state_->outbox[it->second.first].at(it->second.second).last_error;
}

std::uint32_t memory_store::partition_count() {
  std::lock_guard lock(state_->mutex);
  state_->gate();
  return state_->partitions;
}

void memory_store::heartbeat(const std::string& owner, std::chrono::milliseconds ttl) {
  std::lock_guard lock(state_->mutex);
  state_->gate();
  if (owner.empty())
    throw usage_error(errc::invalid_argument, "owner", "owner must not be empty");
  state_->members.insert_or_assign(owner, state_->now() + ttl);
}

std::vector<std::string> memory_store::live_owners() {
  std::lock_guard lock(state_->mutex);
  state_->gate();
  const auto now = state_->now();
  std::vector<std::string> out;
  for (const auto& [owner, expires_at] : state_->members) {  // std::map: already sorted
    if (expires_at > now)
      out.push_back(owner);
  }
  return out;
}

void memory_store::leave(const std::string& owner) {
  std::lock_guard lock(state_->mutex);
  state_->gate();
  state_->members.erase(owner);
}

std::optional<std::uint64_t> memory_store::acquire(const std::string& owner,
                                                   std::uint32_t partition,
                                                   std::chrono::milliseconds ttl) {
  std::lock_guard lock(state_->mutex);
  state_->gate();
  if (owner.empty())
    throw usage_error(errc::invalid_argument, "owner", "owner must not be empty");
  state_->check_partition(partition);
  const auto now = state_->now();
  lease_row& l = state_->leases[partition];
  const bool free = l.owner.empty() || l.expires_at <= now || l.owner == owner;
  if (!free)
    return std::nullopt;
  l.owner = owner;
  ++l.epoch;
  l.expires_at = now + ttl;
  return l.epoch;
}

bool memory_store::renew(const fence& f, std::chrono::milliseconds ttl) {
  std::lock_guard lock(state_->mutex);
  state_->gate();
  if (!state_->fenced(f))
    return false;
  state_->leases[f.partition].expires_at = state_->now() + ttl;
  return true;
}

void memory_store::release(const fence& f) {
  std::lock_guard lock(state_->mutex);
  state_->gate();
  if (!state_->fenced(f))
    return;
  lease_row& l = state_->leases[f.partition];
  l.owner.clear();
  l.expires_at = state_->now();
}

std::vector<lease_info> memory_store::leases() {
  std::lock_guard lock(state_->mutex);
  state_->gate();
  const auto now = state_->now();
  std::vector<lease_info> out;
  out.reserve(state_->partitions);
  for (std::uint32_t p = 0; p < state_->partitions; ++p) {
    const lease_row& l = state_->leases[p];
    out.push_back(lease_info{.partition = p,
                             .owner = l.owner,
                             .epoch = l.epoch,
                             .expires_in = to_ms(l.expires_at - now)});
  }
  return out;
}

namespace {

/// The bytes claim_limits::max_bytes counts for one row here: payload plus header names
/// and values.
std::size_t row_bytes(const outbox_record& r) {
  std::size_t n = r.msg.payload.size();
  for (const auto& [name, value] : r.msg.headers)
    n += name.size() + value.size();
  return n;
}

/// Cuts `out` (partitions in the order asked, rows in seq order) to the claim-wide
/// budgets, whole rows from the end, keeping the first row; marks the last one kept.
void apply_budget(std::vector<claimed_partition>& out, const claim_limits& limits) {
  std::size_t rows = 0, bytes = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto& recs = out[i].records;
    for (std::size_t j = 0; j < recs.size(); ++j) {
      bytes += row_bytes(recs[j]);
      ++rows;
      if (rows == 1 || (rows <= limits.max_rows && bytes <= limits.max_bytes))
        continue;
      recs.erase(recs.begin() + static_cast<std::ptrdiff_t>(j), recs.end());
      out.erase(out.begin() + static_cast<std::ptrdiff_t>(recs.empty() ? i : i + 1), out.end());
      out.back().cut = true;
      return;
    }
  }
}

}  // namespace

std::vector<claimed_partition> memory_store::claim(const std::string& owner,
                                                   std::span<const std::uint32_t> partitions,
                                                   const claim_limits& limits) {
  std::lock_guard lock(state_->mutex);
  state_->gate();
  const auto now = state_->now();
  std::vector<claimed_partition> out;
  std::set<std::uint32_t> seen_partitions;
  for (const auto p : partitions) {
    if (p >= state_->partitions || !seen_partitions.insert(p).second)
      continue;
    const lease_row& l = state_->leases[p];
    if (l.owner.empty() || l.owner != owner || l.expires_at <= now)
      continue;
    claimed_partition claimed{.partition = p, .epoch = l.epoch, .marker = l.marker, .records = {}};
    // Walking in seq order, a key's run goes on while its rows are available; the first
    // row that is not stops the key for the rest of the walk, whatever comes behind it.
    // A key's rows all live in one partition (the partition is a function of the key).
    std::unordered_set<std::string_view> keys_stopped;
    for (const auto& [seq, r] : state_->outbox[p]) {
      if (claimed.records.size() >= limits.rows)
        break;
      const std::string_view key = r.record.msg.aggregate_id;
      if (keys_stopped.count(key) != 0)
        continue;
      if (r.available_at <= now)
        claimed.records.push_back(r.record);
      else
        keys_stopped.insert(key);
    }
    if (!claimed.records.empty())
      out.push_back(std::move(claimed));
  }
  apply_budget(out, limits);
  return out;
}

bool memory_store::begin_batch(const fence& f, const batch_marker& marker) {
  std::lock_guard lock(state_->mutex);
  state_->gate();
  if (!state_->fenced(f) || state_->leases[f.partition].expires_at <= state_->now())
    return false;
  state_->leases[f.partition].marker = marker;
  return true;
}

bool memory_store::settle(const fence& f, std::span<const outcome> outcomes) {
  std::lock_guard lock(state_->mutex);
  state_->gate();
  if (!state_->fenced(f))
    return false;
  const auto now = state_->now();
  auto& part = state_->outbox[f.partition];
  for (const auto& o : outcomes) {
    const auto it = state_->index.find(o.id);
    // Rows already settled, or of another partition, are not this fence's to touch.
    if (it == state_->index.end() || it->second.first != f.partition)
      continue;
    const auto row_it = part.find(it->second.second);
    row& r = row_it->second;
    switch (o.what) {
      case outcome::action::published:
        part.erase(row_it);
        state_->index.erase(it);
        break;
      case outcome::action::retry:
        ++r.record.attempts;
        r.last_error = o.reason;
        r.available_at = now + o.delay;
        break;
      case outcome::action::dead_letter: {
        dead_row d;
        d.entry.record = std::move(r.record);
        ++d.entry.record.attempts;
        d.entry.reason = o.reason;
        d.entry.failed_at = std::chrono::system_clock::now();
        d.created_tick = r.created_tick;
        state_->dead.push_back(std::move(d));
        part.erase(row_it);
        state_->index.erase(it);
        break;
      }
    }
  }
  state_->leases[f.partition].marker.starts = 0;
  return true;
}

store_stats memory_store::stats() {
  std::lock_guard lock(state_->mutex);
  state_->gate();
  const auto now = state_->now();
  store_stats s;
  s.backlog = static_cast<std::int64_t>(state_->index.size());
  std::optional<tick> oldest;
  for (const auto& part : state_->outbox) {
    for (const auto& [seq, r] : part) {
      if (!oldest || r.created_tick < *oldest)
        oldest = r.created_tick;
    }
  }
  if (oldest)
    s.oldest_age = to_ms(now - *oldest);
  s.dead_letters = static_cast<std::int64_t>(state_->dead.size());
  s.live_owners = std::count_if(state_->members.begin(), state_->members.end(),
                                [&](const auto& m) { return m.second > now; });
  s.partitions = state_->partitions;
  return s;
}

std::vector<dead_letter_record> memory_store::dead_letters(std::size_t limit) {
  std::lock_guard lock(state_->mutex);
  state_->gate();
  std::vector<dead_letter_record> out;
  for (const auto& d : state_->dead) {
    if (out.size() >= limit)
      break;
    out.push_back(d.entry);
  }
  return out;
}

std::size_t memory_store::requeue_dead_letters(std::span<const message_id> ids) {
  std::lock_guard lock(state_->mutex);
  state_->gate();
  const auto now = state_->now();
  std::size_t moved = 0;
  auto& dead = state_->dead;
  for (auto it = dead.begin(); it != dead.end();) {
    if (!wants(ids, it->entry.record.msg.id)) {
      ++it;
      continue;
    }
    outbox_record record = std::move(it->entry.record);
    record.attempts = 0;
    state_->append(std::move(record), now, it->created_tick);
    it = dead.erase(it);
    ++moved;
  }
  return moved;
}

std::size_t memory_store::purge_dead_letters(std::span<const message_id> ids) {
  std::lock_guard lock(state_->mutex);
  state_->gate();
  const auto before = state_->dead.size();
  std::erase_if(state_->dead, [&](const dead_row& d) { return wants(ids, d.entry.record.msg.id); });
  return before - state_->dead.size();
}

}  // namespace txoutbox::testing
