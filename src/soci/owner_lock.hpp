// The owner's session-level lock for the SOCI store: a held session (PostgreSQL advisory
// lock, MariaDB GET_LOCK) or a lock file beside an SQLite database (flock).
#pragma once

#include <memory>
#include <string>

#include "txoutbox/store.hpp"

namespace soci {
class session;
}

namespace txoutbox::soci::detail {

/// The text every backend hashes into its lock name: the same on the libpqxx store, so
/// relays of both kinds on one PostgreSQL schema exclude each other.
std::string owner_key(const std::string& schema, const std::string& owner);

/// Keeps `session` open, and so its session-level lock held, until destruction.
std::unique_ptr<owner_lock> hold_session(std::unique_ptr<::soci::session> session);

/// flock(LOCK_EX | LOCK_NB) on "<database>.owner-<hash of key>.lock", created if missing
/// and removed on release. The OS drops the lock with the process. nullptr when another
/// process (or another relay of this one) holds it; error(io_failure) when the file cannot
/// be opened.
std::unique_ptr<owner_lock> lock_file(const std::string& database, const std::string& key);

}  // namespace txoutbox::soci::detail
