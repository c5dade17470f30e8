// Which partitions a relay should own, given the live owners: a pure function.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace txoutbox::detail {

/// Fair, deterministic assignment: owners sorted ascending, partition p goes to owner
/// number (p mod owners.size()). Every relay computes the same answer from the same
/// membership view, so they converge without talking to each other. Returns the
/// partitions assigned to `self` (empty when self is not among `owners`).
std::vector<std::uint32_t> assigned_partitions(const std::vector<std::string>& owners,
                                               const std::string& self, std::uint32_t partitions);

}  // namespace txoutbox::detail
