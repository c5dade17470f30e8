// Private text formats shared by the stores and publishers: JSON strings, the headers object,
// reason columns and RFC 3339 timestamps.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "txoutbox/message.hpp"

namespace txoutbox::detail {

/// Appends `text` as a JSON string literal: `"` and `\` escaped, \n \r \t short, other
/// control characters as \u00xx; everything else (UTF-8 included) copied as is. `text`
/// is expected to be valid UTF-8 (the writers validate it). O(n).
void append_json_string(std::string& out, std::string_view text);

/// The headers as a JSON object of strings ("{}" when there are none), in map order:
/// the headers column of the stores and the headers field of the Redis publisher.
std::string headers_to_json(const header_map& headers);

/// A headers column back to a header_map. The writers store an object of strings; any
/// other member value (a foreign writer) is kept as its compact JSON text; text that is not
/// a JSON object gives no headers. Names and values are always valid UTF-8: what a lone
/// surrogate escape decodes to becomes '?'. Never throws on bad input.
header_map headers_from_json(std::string_view text);

/// Text fit for a reason column (text or text[] element): valid UTF-8 (bad bytes become
/// '?'), no NUL, at most `cap` bytes and never a cut character. Publisher reasons are
/// arbitrary bytes; one bad byte must not wedge a partition.
std::string clean_text(std::string_view in, std::size_t cap = 2000);

/// RFC 3339 UTC with exactly six fractional digits, e.g. 2026-11-21T10:00:00.123456Z
/// (created_at of the envelope and the Redis field, ce-time / ce_time of the publishers).
std::string format_rfc3339(std::chrono::system_clock::time_point tp);

}  // namespace txoutbox::detail
