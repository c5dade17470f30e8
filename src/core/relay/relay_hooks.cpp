// The relay's hooks: log and batch reports, switched off for good by stop().
#include "relay/relay_hooks.hpp"

#include <mutex>

namespace txoutbox::detail {

namespace {

std::string describe(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace

void relay_hooks::log(log_level level, const std::string& text) noexcept {
  try {
    std::shared_lock lock(mu_);
    if (on_ && options_.on_log)
      options_.on_log(level, text);
  } catch (...) {
  }
}

void relay_hooks::report(const batch_report& r) noexcept {
  try {
    std::shared_lock lock(mu_);
    if (on_ && options_.on_batch)
      options_.on_batch(r);
  } catch (...) {
  }
}

void relay_hooks::fail(const std::string& context, std::exception_ptr ep) noexcept {
  counters_.errors.fetch_add(1);
  try {
    log(log_level::error, context + ": " + describe(ep));
  } catch (...) {
  }
}

void relay_hooks::disable() noexcept {
  try {
    std::unique_lock lock(mu_);
    on_ = false;
  } catch (...) {
  }
}

}  // namespace txoutbox::detail
