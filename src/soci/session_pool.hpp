// The SOCI store's session pool: a bounded set of sessions opened on demand.
#pragma once

#include <soci/soci.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dialect.hpp"

namespace txoutbox::soci::detail {

/// A bounded set of sessions opened on demand. Thread-safe.
class session_pool {
 public:
  session_pool(const detail::dialect& d, std::string target, std::size_t max,
               std::chrono::milliseconds busy_timeout)
      : dialect_(d), target_(std::move(target)), max_(max), busy_timeout_(busy_timeout) {}

  /// A checked-out session: returned to the pool on destruction unless discarded.
  class handle {
   public:
    handle(session_pool& pool, std::unique_ptr<::soci::session> s)
        : pool_(pool), session_(std::move(s)) {}
    handle(const handle&) = delete;
    handle& operator=(const handle&) = delete;
    ~handle() { pool_.give_back(std::move(session_)); }
    ::soci::session& session() { return *session_; }
    void discard() { session_.reset(); }

   private:
    session_pool& pool_;
    std::unique_ptr<::soci::session> session_;
  };

  /// Blocks while every session is in use; opens a new one when below the cap (may throw
  /// what the driver throws).
  std::unique_ptr<::soci::session> take() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !idle_.empty() || open_ < max_; });
    if (!idle_.empty()) {
      auto s = std::move(idle_.back());
      idle_.pop_back();
      return s;
    }
    ++open_;
    lock.unlock();
    try {
      return dialect_.open(target_, busy_timeout_);
    } catch (...) {
      lock.lock();
      --open_;
      available_.notify_one();
      throw;
    }
  }

 private:
  void give_back(std::unique_ptr<::soci::session> s) {
    {
      std::lock_guard lock(mutex_);
      if (s)
        idle_.push_back(std::move(s));
      else
        --open_;
    }
    available_.notify_one();
  }

  const detail::dialect& dialect_;
  std::string target_;
  std::size_t max_;
  std::chrono::milliseconds busy_timeout_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<::soci::session>> idle_;
  std::size_t open_ = 0;
};

}  // namespace txoutbox::soci::detail
