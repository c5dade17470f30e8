// Helpers shared by the store conformance case files: keys, claims, outcomes, leases.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "store_conformance.hpp"

namespace txoutbox::conformance::support {

/// A lease that outlives any test: holds that a check relies on never lapse.
inline constexpr std::chrono::milliseconds long_ttl{30'000};
/// A lease meant to lapse, and the wait that is sure to pass it.
inline constexpr std::chrono::milliseconds short_ttl{300};
inline constexpr std::chrono::milliseconds past_short_ttl{400};
/// A delay whose "not yet" side is checked at once, and the wait that passes it.
inline constexpr std::chrono::milliseconds hold{600};
inline constexpr std::chrono::milliseconds past_hold{700};

inline const std::string owner_a = "relay-a";
inline const std::string owner_b = "relay-b";

/// A valid message for `key`: type "Event<n>", payload {"key": key, "n": n}.
message msg(const std::string& key, int n);

std::vector<std::uint32_t> all_partitions(std::uint32_t n);

/// The `index`-th key (from `prefix`-0, -1, ...) that hashes to `partition`.
std::string key_in(std::uint32_t partition, std::uint32_t partitions, const std::string& prefix,
                   int index = 0);

std::uint64_t acquire_or_fail(store& s, const std::string& owner, std::uint32_t partition,
                              std::chrono::milliseconds ttl = long_ttl);

/// Acquires every partition for `owner`; returns the epochs by partition.
std::vector<std::uint64_t> acquire_all(store& s, const std::string& owner, std::uint32_t n);

/// All claimed records, flattened in (partition as returned, seq) order.
std::vector<outbox_record> claim_flat(store& s, const std::string& owner, std::uint32_t n,
                                      std::size_t limit = 100);

std::vector<std::string> ids_of(const std::vector<outbox_record>& records);
std::vector<std::string> ids_of(std::initializer_list<message_id> ids);
std::vector<std::string> ids_of(const std::vector<message_id>& ids);

std::vector<std::string> dead_ids(store& s, std::size_t limit = 100);

const outbox_record& find_record(const std::vector<outbox_record>& records, const message_id& id);

outcome published(const message_id& id);
outcome retry(const message_id& id, std::chrono::milliseconds delay, std::string reason);
outcome dead_letter(const message_id& id, std::string reason);

bool settle(store& s, const fence& f, std::initializer_list<outcome> outcomes);

lease_info lease_of(store& s, std::uint32_t partition);

void require_same_marker(const batch_marker& got, const batch_marker& want);

/// The marker stored on partition 0, read through a claim (the SPI's only window on it).
batch_marker marker_via_claim(store& s, const std::string& owner);

/// REQUIREs that `got` and `want` parse as the same JSON value.
void require_same_json(const std::string& got, const std::string& want);

}  // namespace txoutbox::conformance::support
