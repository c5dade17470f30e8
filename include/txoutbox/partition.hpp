// The stable, portable partition hash shared by every backend and language.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace txoutbox {

/// The first 8 hex digits of md5(aggregate_id) read as an unsigned 32-bit integer,
/// modulo `partitions`: the same value PostgreSQL computes with
/// ('x'||substr(md5(k),1,8))::bit(32)::bigint % N and MariaDB with
/// CONV(SUBSTR(MD5(k),1,8),16,10) % N. `partitions` must be >= 1.
std::uint32_t partition_of(std::string_view aggregate_id, std::uint32_t partitions) noexcept;

/// md5 of `data` as 32 lower-case hex digits (used by partition_of; exposed for tests).
std::string md5_hex(std::string_view data);

}  // namespace txoutbox
