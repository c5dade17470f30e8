// delivery_checker: verifies what reached a broker against what was committed to the outbox.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace txoutbox::testing {

/// What delivery_checker::check found. `ok()` is the verdict; describe() is for INFO().
struct delivery_report {
  std::size_t committed = 0;         ///< ids registered with committed()
  std::size_t received = 0;          ///< deliveries seen, duplicates included
  std::size_t distinct = 0;          ///< distinct committed ids delivered at least once
  std::size_t missing = 0;           ///< committed ids never delivered
  std::size_t extra = 0;             ///< deliveries of ids that were never committed
  std::size_t duplicates = 0;        ///< deliveries beyond the first of a committed id
  std::size_t max_duplicates = 0;    ///< the bound the check was run with
  std::size_t order_violations = 0;  ///< ids first delivered after a later-written id of their key
  std::string first_violation{};     ///< human-readable; empty when ok()

  bool ok() const noexcept {
    return missing == 0 && extra == 0 && order_violations == 0 && duplicates <= max_duplicates;
  }
  /// One paragraph with the counts and the first violation, e.g. for INFO(report.describe()).
  std::string describe() const;
};

/// Collects the committed events (per key, in write order) and the deliveries (in broker
/// or consumption order) and checks the outbox promises: nothing committed is missing,
/// nothing uncommitted appeared (a rolled-back transaction), per key the FIRST delivery of
/// each event follows write order, and duplicates stay within a bound.
///
/// Deliveries may come from several partitions or streams: per-key order is compared
/// within each stream (a key normally maps to one), and interleaving between streams does
/// not matter. Not thread-safe: fill it on one thread (the test thread), after collecting.
class delivery_checker {
 public:
  /// Registers a committed event. Call in write order for each key (keys may interleave).
  /// Registering one id twice is a test bug and is reported as a violation by check().
  void committed(std::string id, std::string key);

  /// Registers one delivery, in the order it was consumed from `stream` (a topic/partition,
  /// stream name or subject; empty when there is only one).
  void delivered(std::string_view id, std::string_view stream = {});

  /// Checks everything registered so far, allowing at most `max_duplicates` re-deliveries.
  delivery_report check(std::size_t max_duplicates = 0) const;

 private:
  struct event {
    std::string key;
    std::size_t write_index;  ///< position among this key's events
  };
  std::unordered_map<std::string, event> committed_;
  std::map<std::string, std::size_t> key_counts_;                ///< events per key so far
  std::vector<std::string> double_commits_;                      ///< ids registered twice
  std::vector<std::pair<std::string, std::string>> deliveries_;  ///< (id, stream) in order
};

}  // namespace txoutbox::testing
