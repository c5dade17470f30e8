// Which partitions a relay should own: the deterministic, fair assignment over live owners.
#include "relay/relay_assignment.hpp"

#include <algorithm>

namespace txoutbox::detail {

std::vector<std::uint32_t> assigned_partitions(const std::vector<std::string>& owners,
                                               const std::string& self, std::uint32_t partitions) {
  std::vector<std::string> sorted = owners;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  const auto it = std::lower_bound(sorted.begin(), sorted.end(), self);
  std::vector<std::uint32_t> mine;
  if (it == sorted.end() || *it != self)
    return mine;
  const auto index = static_cast<std::uint32_t>(it - sorted.begin());
  const auto k = static_cast<std::uint32_t>(sorted.size());
  for (std::uint32_t p = index; p < partitions; p += k)
    mine.push_back(p);
  return mine;
}

}  // namespace txoutbox::detail
