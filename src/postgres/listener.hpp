// The store's LISTEN connection: waits for NOTIFY on the schema's channel, self-healing.
#pragma once

#include <pqxx/connection>

#include <chrono>
#include <memory>
#include <string>

namespace txoutbox::postgres::detail {

/// A dedicated connection (not from the pool) listening on one channel.
///
/// Not thread-safe: wait() is called from one thread only (the relay's listener thread);
/// construction and destruction happen on the store's owner thread. A lost connection is
/// never trusted again: libpqxx 6.4 re-opens it silently (a new backend pid, LISTEN
/// possibly gone), so the listener closes it and opens a fresh one, and reports a
/// wake-up, since rows may have been committed while nobody listened.
class listener {
 public:
  /// Connects and LISTENs at once, so notifications after construction are kept.
  /// Throws the mapped error (transient_error) when the database is unreachable.
  listener(std::string conninfo, std::string redacted_url, std::string channel);
  ~listener();

  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;

  /// Blocks up to `max_wait` for a notification. True when one arrived or the connection
  /// had to be rebuilt; false on a quiet timeout, or while the database is unreachable
  /// (it then waits up to `max_wait` before returning, so callers do not spin). Never
  /// throws.
  bool wait(std::chrono::milliseconds max_wait) noexcept;

  /// Backend pid of the current LISTEN connection, 0 when none (for tests and logs).
  int backend_pid() const noexcept { return pid_; }

 private:
  class receiver;

  void connect();  ///< throws
  void drop() noexcept;

  std::string conninfo_;
  std::string redacted_;
  std::string channel_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<receiver> receiver_;  ///< destroyed before conn_
  int pid_ = 0;
  bool notified_ = false;  ///< set by receiver during get_notifs()/await_notification()
};

}  // namespace txoutbox::postgres::detail
