// Helpers shared by the store conformance case files.
#include "store_case_support.hpp"

#include <rapidjson/document.h>

#include <algorithm>

#include "txoutbox/partition.hpp"

namespace txoutbox::conformance::support {

message msg(const std::string& key, int n) {
  return message{.id = {},
                 .aggregate_type = "order",
                 .aggregate_id = key,
                 .type = "Event" + std::to_string(n),
                 .payload = R"({"key":")" + key + R"(","n":)" + std::to_string(n) + "}",
                 .headers = {},
                 .deliver_after = std::nullopt};
}

std::vector<std::uint32_t> all_partitions(std::uint32_t n) {
  std::vector<std::uint32_t> out(n);
  for (std::uint32_t p = 0; p < n; ++p)
    out[p] = p;
  return out;
}

/// The `index`-th key (from `prefix`-0, -1, ...) that hashes to `partition`.
std::string key_in(std::uint32_t partition, std::uint32_t partitions, const std::string& prefix,
                   int index) {
  for (int i = 0;; ++i) {
    auto key = prefix + "-" + std::to_string(i);
    if (partition_of(key, partitions) == partition && index-- == 0)
      return key;
  }
}

std::uint64_t acquire_or_fail(store& s, const std::string& owner, std::uint32_t partition,
                              std::chrono::milliseconds ttl) {
  auto epoch = s.acquire(owner, partition, ttl);
  REQUIRE(epoch.has_value());
  return *epoch;
}

/// Acquires every partition for `owner`; returns the epochs by partition.
std::vector<std::uint64_t> acquire_all(store& s, const std::string& owner, std::uint32_t n) {
  std::vector<std::uint64_t> epochs;
  for (std::uint32_t p = 0; p < n; ++p)
    epochs.push_back(acquire_or_fail(s, owner, p));
  return epochs;
}

/// All claimed records, flattened in (partition as returned, seq) order.
std::vector<outbox_record> claim_flat(store& s, const std::string& owner, std::uint32_t n,
                                      std::size_t limit) {
  const auto parts = all_partitions(n);
  std::vector<outbox_record> out;
  for (auto& cp : s.claim(owner, parts, {.rows = limit})) {
    for (auto& r : cp.records)
      out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::string> ids_of(const std::vector<outbox_record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records)
    out.push_back(r.msg.id.to_string());
  return out;
}

std::vector<std::string> ids_of(std::initializer_list<message_id> ids) {
  std::vector<std::string> out;
  for (const auto& id : ids)
    out.push_back(id.to_string());
  return out;
}

std::vector<std::string> ids_of(const std::vector<message_id>& ids) {
  std::vector<std::string> out;
  for (const auto& id : ids)
    out.push_back(id.to_string());
  return out;
}

std::vector<std::string> dead_ids(store& s, std::size_t limit) {
  std::vector<std::string> out;
  for (const auto& d : s.dead_letters(limit))
    out.push_back(d.record.msg.id.to_string());
  return out;
}

const outbox_record& find_record(const std::vector<outbox_record>& records, const message_id& id) {
  const auto it = std::find_if(records.begin(), records.end(),
                               [&](const outbox_record& r) { return r.msg.id == id; });
  REQUIRE(it != records.end());
  return *it;
}

outcome published(const message_id& id) {
  return outcome{.id = id, .what = outcome::action::published, .delay = {}, .reason = {}};
}

outcome retry(const message_id& id, std::chrono::milliseconds delay, std::string reason) {
  return outcome{
      .id = id, .what = outcome::action::retry, .delay = delay, .reason = std::move(reason)};
}

outcome dead_letter(const message_id& id, std::string reason) {
  return outcome{
      .id = id, .what = outcome::action::dead_letter, .delay = {}, .reason = std::move(reason)};
}

bool settle(store& s, const fence& f, std::initializer_list<outcome> outcomes) {
  const std::vector<outcome> list(outcomes);
  return s.settle(f, list);
}

lease_info lease_of(store& s, std::uint32_t partition) {
  for (auto& l : s.leases()) {
    if (l.partition == partition)
      return l;
  }
  FAIL("no lease row for partition " << partition);
  return {};
}

void require_same_marker(const batch_marker& got, const batch_marker& want) {
  REQUIRE(got.head_seq == want.head_seq);
  REQUIRE(got.last_seq == want.last_seq);
  REQUIRE(got.starts == want.starts);
  REQUIRE(got.suspect_through == want.suspect_through);
}

/// The marker stored on partition 0, read through a claim (the SPI's only window on it).
batch_marker marker_via_claim(store& s, const std::string& owner) {
  const std::vector<std::uint32_t> p0{0};
  const auto claimed = s.claim(owner, p0, {.rows = 1});
  REQUIRE(claimed.size() == 1);
  return claimed[0].marker;
}

void require_same_json(const std::string& got, const std::string& want) {
  constexpr unsigned flags = rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
  rapidjson::Document a;
  rapidjson::Document b;
  a.Parse<flags>(got.c_str(), got.size());
  b.Parse<flags>(want.c_str(), want.size());
  INFO("got payload " << got);
  REQUIRE_FALSE(a.HasParseError());
  REQUIRE_FALSE(b.HasParseError());
  REQUIRE(a == b);
}

}  // namespace txoutbox::conformance::support
