// The relay's threads: the io_context loop and the group that joins or detaches.
#include "relay/relay_threads.hpp"

#include <algorithm>
#include <exception>
#include <utility>

namespace txoutbox::detail {

void run_until_stopped(boost::asio::io_context& io, relay_hooks& hooks, const char* what) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (...) {
      hooks.fail(what, std::current_exception());
    }
  }
}

void thread_group::spawn(std::shared_ptr<const void> keepalive, std::function<void()> body) {
  std::lock_guard lock(mu_);
  slot& s = slots_.emplace_back();
  s.thread = std::thread([this, &s, keepalive = std::move(keepalive), body = std::move(body)] {
    body();
    std::lock_guard done_lock(mu_);
    s.done = true;
    cv_.notify_all();
  });
}

bool thread_group::wait_done_until(steady::time_point deadline) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, deadline, [&] {
    return std::all_of(slots_.begin(), slots_.end(), [](const slot& s) { return s.done; });
  });
}

void thread_group::join_or_detach() {
  for (auto& s : slots_) {
    bool done = false;
    {
      std::lock_guard lock(mu_);
      done = s.done;
    }
    if (!s.thread.joinable())
      continue;
    if (done) {
      s.thread.join();
    } else {
      s.thread.detach();
    }
  }
}

}  // namespace txoutbox::detail
