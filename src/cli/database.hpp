// database: opening PostgreSQL connections and stores with the CLI's exit-code mapping.
#pragma once

#include <memory>
#include <pqxx/connection>

#include "options.hpp"
#include "txoutbox/store.hpp"

namespace txoutbox::cli {

/// Connects with libpq; throws failure(exit_database) naming the redacted URL when the
/// server cannot be reached or refuses the login.
std::unique_ptr<pqxx::connection> connect(const database_url& db);

/// Throws failure(exit_database) unless `schema` is at the version this build ships.
void require_migrated(pqxx::connection_base& conn, const std::string& schema);

/// The relay store over `common`; connection and schema failures become
/// failure(exit_database).
std::shared_ptr<store> open_store(const common_args& common);

/// Rethrows a txoutbox::error from the store or relay start as failure: exit 3 for
/// connection_failed / not_migrated, exit 1 otherwise. `context` prefixes the text.
[[noreturn]] void rethrow_store_error(const std::string& context);

}  // namespace txoutbox::cli
