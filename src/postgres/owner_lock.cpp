// The owner's session-level lock on PostgreSQL: an advisory lock on its own connection.
#include "owner_lock.hpp"

#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/nontransaction>

#include <chrono>
#include <thread>

#include "connection.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox::postgres::detail {
namespace {

/// Holds the session; closing it (destruction) releases the advisory lock.
class pg_owner_lock final : public owner_lock {
 public:
  explicit pg_owner_lock(std::unique_ptr<pqxx::connection> conn) : conn_(std::move(conn)) {}
  ~pg_owner_lock() override {
    try {
      conn_.reset();
    } catch (...) {
    }
  }

 private:
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace

std::unique_ptr<owner_lock> lock_owner(const std::string& conninfo, const std::string& redacted,
                                       const std::string& schema, const std::string& owner) {
  bool locked = false;
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(conninfo);
    pqxx::nontransaction tx(*conn);
    // hashtextextended (PostgreSQL 11+) gives a bigint: collisions with another schema's or
    // owner's key are as unlikely as a 64-bit hash collision.
    // A process killed a moment ago may still have a backend that has not yet read the
    // closed socket: retry for a short grace before calling the owner taken.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (;;) {
      locked = tx.exec_params1("SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                               "txoutbox owner " + schema + " " + owner)[0]
                   .as<bool>();
      if (locked || std::chrono::steady_clock::now() >= deadline)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  } catch (const pqxx::broken_connection&) {
    throw transient_error("postgres store: cannot connect to " + redacted + " to lock the owner");
  } catch (...) {
    rethrow_mapped("locking the owner name");
  }
  if (!locked) {
    throw error(errc::owner_in_use, "relay owner \"" + owner + "\" is already running on schema " +
                                        schema +
                                        ": another live process holds its lock (stop it or "
                                        "choose another owner)");
  }
  return std::make_unique<pg_owner_lock>(std::move(conn));
}

}  // namespace txoutbox::postgres::detail
