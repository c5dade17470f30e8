// claim_budget: helpers every store's claim shares to pass claim_limits to its SQL.
#pragma once

#include <cstdint>
#include <limits>
#include <set>
#include <span>
#include <vector>

namespace txoutbox::detail {

/// `parts` without repeats, first occurrences kept in order: the claim spends its budgets
/// in the order given (claim_limits), so the order must survive deduplication.
inline std::vector<std::uint32_t> unique_in_order(std::span<const std::uint32_t> parts) {
  std::vector<std::uint32_t> out;
  std::set<std::uint32_t> seen;
  for (const auto p : parts) {
    if (seen.insert(p).second)
      out.push_back(p);
  }
  return out;
}

/// A size as an SQL bigint: claim_limits::unlimited (and anything past it) becomes the
/// largest bigint, which no count or byte sum reaches.
inline std::int64_t sql_int(std::size_t n) {
  constexpr auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(n > max ? max : n);
}

}  // namespace txoutbox::detail
