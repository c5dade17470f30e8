// The owner's session-level lock on PostgreSQL: an advisory lock on its own connection.
#pragma once

#include <memory>
#include <string>

#include "txoutbox/store.hpp"

namespace txoutbox::postgres::detail {

/// Opens a dedicated connection on `conninfo` and takes pg_try_advisory_lock on a 64-bit
/// hash of "txoutbox owner <schema> <owner>"; the lock lives as long as that session, so
/// the server drops it when the process dies. Throws error(errc::owner_in_use) when another
/// session holds it, the mapped connection error otherwise.
std::unique_ptr<owner_lock> lock_owner(const std::string& conninfo, const std::string& redacted,
                                       const std::string& schema, const std::string& owner);

}  // namespace txoutbox::postgres::detail
