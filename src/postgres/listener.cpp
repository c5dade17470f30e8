// The store's LISTEN connection: waits for NOTIFY on the schema's channel, self-healing.
#include "listener.hpp"

#include <pqxx/except>
#include <pqxx/notification>

#include <algorithm>
#include <thread>
#include <utility>

#include "connection.hpp"

namespace txoutbox::postgres::detail {

/// Flags the listener when a notification arrives. libpqxx calls it on the waiting
/// thread, from inside get_notifs()/await_notification().
class listener::receiver final : public pqxx::notification_receiver {
 public:
  receiver(pqxx::connection_base& conn, const std::string& channel, bool& flag)
      : pqxx::notification_receiver(conn, channel), flag_(flag) {}
  void operator()(const std::string& /*payload*/, int /*backend_pid*/) override { flag_ = true; }

 private:
  bool& flag_;
};

listener::listener(std::string conninfo, std::string redacted_url, std::string channel)
    : conninfo_(std::move(conninfo)),
      redacted_(std::move(redacted_url)),
      channel_(std::move(channel)) {
  connect();
}

listener::~listener() {
  drop();
}

void listener::connect() {
  drop();
  try {
    conn_ = std::make_unique<pqxx::connection>(conninfo_);
    // The receiver's constructor sends LISTEN on the live connection.
    receiver_ = std::make_unique<receiver>(*conn_, channel_, notified_);
    pid_ = conn_->backendpid();
  } catch (...) {
    drop();
    rethrow_mapped("listening on " + redacted_);
  }
}

void listener::drop() noexcept {
  // The receiver unregisters from the connection (UNLISTEN when still open): it must go
  // first. libpqxx reports errors from that path as notices, not exceptions.
  try {
    receiver_.reset();
  } catch (...) {
  }
  receiver_.reset();
  conn_.reset();
  pid_ = 0;
}

bool listener::wait(std::chrono::milliseconds max_wait) noexcept {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::max(max_wait, std::chrono::milliseconds(0));
  if (!conn_) {
    try {
      connect();
      return true;  // back after an outage: rows may have been committed meanwhile
    } catch (...) {
      std::this_thread::sleep_until(deadline);
      return false;
    }
  }
  try {
    notified_ = false;
    conn_->get_notifs();  // anything that arrived since the last call
    while (!notified_) {
      const auto left =
          std::chrono::duration_cast<std::chrono::microseconds>(deadline - clock::now());
      if (left.count() <= 0)
        break;
      conn_->await_notification(static_cast<long>(left.count() / 1'000'000),
                                static_cast<long>(left.count() % 1'000'000));
      // A terminated backend first makes await_notification return early with nothing;
      // libpqxx may then re-open the connection silently under a new pid.
      if (!conn_->is_open() || conn_->backendpid() != pid_)
        throw pqxx::broken_connection("reopened");
    }
    return notified_;
  } catch (...) {
    try {
      connect();
    } catch (...) {
      // Still down: the next wait() retries. Waking the relay now is the safe answer.
    }
    return true;
  }
}

}  // namespace txoutbox::postgres::detail
