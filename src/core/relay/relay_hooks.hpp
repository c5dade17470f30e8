// The relay's calls out to the caller: the log and batch-report hooks, and error counting.
#pragma once

#include <exception>
#include <shared_mutex>
#include <string>

#include "relay/relay_counters.hpp"
#include "txoutbox/relay.hpp"

namespace txoutbox::detail {

/// Calls options.on_log and options.on_batch. Thread-safe: any relay thread calls it, at
/// once with others; its own lock is a shared_mutex held (shared) only around a hook
/// call, never together with another part's lock. disable() takes it exclusively, so once
/// it returns no hook call is running or will start: a thread abandoned in a hung publish
/// never calls into a caller that may be gone. A hook that throws is ignored.
class relay_hooks {
 public:
  /// Keeps references: both must outlive this object (members of the same relay).
  relay_hooks(const relay_options& options, relay_counters& counters)
      : options_(options), counters_(counters) {}

  void log(log_level level, const std::string& text) noexcept;
  void report(const batch_report& r) noexcept;
  /// Counts one error in stats().errors and logs "context: what()".
  void fail(const std::string& context, std::exception_ptr ep) noexcept;
  /// Switches every hook off for good; waits for running hook calls. stop() only.
  void disable() noexcept;

 private:
  const relay_options& options_;
  relay_counters& counters_;
  std::shared_mutex mu_;
  bool on_ = true;  ///< guarded by mu_
};

}  // namespace txoutbox::detail
