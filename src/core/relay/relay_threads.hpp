// The relay's threads: a group that joins what ends in time and detaches what hangs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "relay/relay_hooks.hpp"

namespace txoutbox::detail {

/// Runs `io` until it is stopped; a handler that throws is counted and logged (as
/// "`what`: ...") and the loop resumes. The body of every io_context thread.
void run_until_stopped(boost::asio::io_context& io, relay_hooks& hooks, const char* what);

/// The relay's threads, each with a "done" flag. Thread-safe; its own mutex guards the
/// slots and is never held while a thread's body runs. A thread stuck in a hung publish
/// or store call is detached at stop(), never joined, so stop() stays bounded.
class thread_group {
 public:
  using steady = std::chrono::steady_clock;

  /// Starts a thread running `body`, which must not throw. `keepalive` is held until the
  /// thread ends: a detached thread keeps what it uses alive after the relay is gone.
  void spawn(std::shared_ptr<const void> keepalive, std::function<void()> body);
  /// Waits until every thread's body has returned; false at the deadline.
  bool wait_done_until(steady::time_point deadline);
  /// Joins the threads that are done, detaches the others.
  void join_or_detach();

 private:
  struct slot {
    std::thread thread;
    bool done = false;
  };

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<slot> slots_;  ///< a deque: a slot's address is stable while others are added
};

}  // namespace txoutbox::detail
