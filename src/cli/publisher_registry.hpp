// publisher_registry: the broker publishers this binary has, by URI scheme.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "txoutbox/publisher.hpp"

namespace txoutbox::cli {

using publisher_opts = std::map<std::string, std::string>;

/// One publisher component: its schemes, its option parser and its factory. Both throw
/// usage_error naming the option for a bad URI or option.
struct publisher_entry {
  std::vector<std::string> schemes;  ///< "kafka"; "http", "https"
  std::string shape;                 ///< for lists of what is built: "kafka://", "http(s)://"
  /// Parses the URI and options without connecting; empty when the factory checks them.
  std::function<void(const std::string& uri, const publisher_opts& opts)> check;
  std::function<std::unique_ptr<publisher>(const std::string& uri, const publisher_opts& opts)>
      make;
};

/// The entries in registration order. Not thread-safe to fill; read-only afterwards.
class publisher_registry {
 public:
  void add(publisher_entry entry) { entries_.push_back(std::move(entry)); }
  /// The entry serving `scheme`, or nullptr.
  const publisher_entry* find(const std::string& scheme) const;
  const std::vector<publisher_entry>& entries() const noexcept { return entries_; }

 private:
  std::vector<publisher_entry> entries_;
};

/// Registers every publisher component built into this binary: the one place that knows
/// which are (an explicit list, so static linking cannot drop a registration).
void register_all(publisher_registry& registry);

/// The registry of this binary, filled by register_all() on first use.
const publisher_registry& builtin_publishers();

}  // namespace txoutbox::cli
