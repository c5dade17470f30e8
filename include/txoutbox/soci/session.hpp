// Opening a ::soci::session from a store URL, and describing SOCI failures without secrets.
#pragma once

#include <chrono>
#include <exception>
#include <memory>
#include <string_view>

#include "txoutbox/error.hpp"

namespace soci {
class session;
}

namespace txoutbox::soci {

/// Opens a session on the database of `url` (the forms of store_options::url: `sqlite:PATH`,
/// `mysql://...`, `postgresql://...`), set up as the store sets up its own sessions
/// (SQLite: WAL and `busy_timeout`; MariaDB: READ COMMITTED). For applications and tools
/// that migrate or enqueue on their own session (the txoutbox command does).
///
/// Throws usage_error naming "url" when the URL is malformed or its backend is not built,
/// and error(errc::connection_failed, transient) when the database cannot be opened; the
/// message names the backend's error and never the password. The caller owns the session
/// (include <soci/session.h> to use it); it is not thread-safe.
std::unique_ptr<::soci::session> open_session(
    std::string_view url, std::chrono::milliseconds busy_timeout = std::chrono::milliseconds(5000));

/// `e`, thrown by a statement on `session` (by SOCI, the writer or migrate()), as a
/// txoutbox::error: the backend's error code and name, whether retrying may help, and
/// never SOCI's what() (which embeds bound values such as payloads). A txoutbox::error
/// comes back as it is.
txoutbox::error describe_failure(::soci::session& session, const std::exception& e);

}  // namespace txoutbox::soci
