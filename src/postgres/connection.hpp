// Connection plumbing for the PostgreSQL store: conninfo, redaction, error mapping, a pool.
#pragma once

#include <pqxx/connection>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace txoutbox::postgres::detail {

/// The settings appended to the user's URL.
struct conninfo_options {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds statement_timeout{30000};  ///< 0 = leave the server default
  bool keepalives = true;
  std::string application_name;  ///< empty = none; skipped when the URL sets one
};

/// `url` (URI or key=value) with the options appended as conninfo parameters.
std::string build_conninfo(const std::string& url, const conninfo_options& options);

/// `url` with any password replaced by "***" (URI userinfo, ?password= and password=
/// pairs). Use it in every message that mentions a connection string.
std::string redact(std::string_view url);

/// Maps the exception being handled (call only inside a catch block) to a txoutbox
/// error and throws it: lost connections, serialization failures, deadlocks, shutdowns,
/// statement timeouts and too many connections become transient_error; missing tables or
/// schema become error(not_migrated); everything else error(internal) with the SQLSTATE.
/// `what` names the operation ("claiming"); the text never holds bound values.
[[noreturn]] void rethrow_mapped(std::string_view what);

/// Prepares the store's statements on a fresh connection.
using connection_setup = std::function<void(pqxx::connection&)>;

/// A small pool of libpqxx connections, each used by one thread for one operation at a
/// time. Connections are opened lazily up to `size` and never trusted after a failure:
/// the caller discards them (libpqxx 6.4 silently re-opens a broken connection, losing
/// session state, so a dropped connection is closed and rebuilt instead). Thread-safe.
class connection_pool {
 public:
  connection_pool(std::string conninfo, std::string redacted_url, std::size_t size,
                  connection_setup setup, std::chrono::milliseconds checkout_timeout);
  ~connection_pool();

  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  /// One checked-out connection; returns it to the pool on destruction unless discarded.
  class handle {
   public:
    handle(connection_pool& pool, std::unique_ptr<pqxx::connection> conn, int pid, bool reused)
        : pool_(&pool), conn_(std::move(conn)), pid_(pid), reused_(reused) {}
    handle(handle&& other) noexcept = default;
    handle& operator=(handle&&) = delete;
    ~handle();

    pqxx::connection& conn() { return *conn_; }
    /// True when the connection served an earlier operation (it may have died since).
    bool reused() const noexcept { return reused_; }
    /// Drop the connection instead of returning it (after any failure).
    void discard() noexcept;

   private:
    connection_pool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
    int pid_ = 0;  ///< backend pid when opened; a different pid later means it re-opened
    bool reused_ = false;
  };

  /// Takes an idle connection or opens a new one (throws the mapped connect error), waiting
  /// for a free slot up to the checkout timeout (then transient_error(timeout)).
  handle checkout();

  /// Opens a connection with the pool's conninfo and setup. Throws the mapped error.
  std::unique_ptr<pqxx::connection> open();

  const std::string& redacted_url() const noexcept { return redacted_; }

 private:
  void give_back(std::unique_ptr<pqxx::connection> conn, int pid) noexcept;
  void forget() noexcept;

  std::string conninfo_;
  std::string redacted_;
  std::size_t size_;
  connection_setup setup_;
  std::chrono::milliseconds checkout_timeout_;

  std::mutex mutex_;
  std::condition_variable cv_;
  struct idle_conn {
    std::unique_ptr<pqxx::connection> conn;
    int pid = 0;
  };
  std::vector<idle_conn> idle_;
  std::size_t open_ = 0;  ///< idle + checked out
};

}  // namespace txoutbox::postgres::detail
