// claim_reader: turns the SOCI claim statement's rows into claimed partitions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stored_ids.hpp"
#include "txoutbox/store.hpp"

namespace soci {
class session;
}

namespace txoutbox::soci::detail {

/// A claimed row whose id is not a UUID: set aside (dead-lettered) by the claim itself.
struct foreign_row {
  std::uint32_t partition = 0;
  std::uint64_t epoch = 0;
  long long seq = 0;
  std::string stored_id;
};

/// What one claim statement returned.
struct claim_read {
  std::vector<claimed_partition> claimed;  ///< in the order the statement gave
  std::vector<foreign_row> foreign;        ///< rows to set aside (not in `claimed`)
};

/// Runs `sql` (store_sql::claim, one bound parameter: the owner) on `s` and reads its
/// rows: partitions in result order, records in seq order, ids not in canonical form
/// remembered in `ids`, and the last partition marked `cut` when the budgets cut the
/// result. Driver exceptions pass through.
claim_read read_claim(::soci::session& s, const std::string& sql, const std::string& owner,
                      stored_ids& ids);

}  // namespace txoutbox::soci::detail
