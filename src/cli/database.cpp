// database: connection and store opening for the subcommands, errors mapped to exit codes.
#include "database.hpp"

#include <pqxx/except>

#include "failure.hpp"
#include "output.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/postgres/migrate.hpp"
#include "txoutbox/postgres/store.hpp"

namespace txoutbox::cli {

std::unique_ptr<pqxx::connection> connect(const database_url& db) {
  try {
    return std::make_unique<pqxx::connection>(db.text);
  } catch (const pqxx::broken_connection& e) {
    throw failure(exit_database, "cannot connect to " + db.redacted + ": " + sanitize(e.what()));
  } catch (const pqxx::failure& e) {
    throw failure(exit_database, "cannot connect to " + db.redacted + ": " + sanitize(e.what()));
  }
}

void require_migrated(pqxx::connection_base& conn, const std::string& schema) {
  const int have = postgres::schema_version(conn, schema);
  const int want = postgres::latest_schema_version();
  if (have == 0) {
    throw failure(exit_database, "schema " + schema + " is not migrated: run 'txoutbox migrate'");
  }
  if (have < want) {
    throw failure(exit_database, "schema " + schema + " is at version " + std::to_string(have) +
                                     ", this txoutbox needs " + std::to_string(want) +
                                     ": run 'txoutbox migrate'");
  }
}

void rethrow_store_error(const std::string& context) {
  try {
    throw;
  } catch (const failure&) {
    throw;
  } catch (const usage_error& e) {
    throw failure(exit_usage, context + ": " + e.what());
  } catch (const error& e) {
    const bool database = e.code() == errc::connection_failed || e.code() == errc::not_migrated;
    throw failure(database ? exit_database : exit_other, context + ": " + sanitize(e.what()));
  } catch (const pqxx::broken_connection& e) {
    throw failure(exit_database, context + ": " + sanitize(e.what()));
  }
}

std::shared_ptr<store> open_store(const common_args& common) {
  try {
    return postgres::make_store(
        postgres::store_options{.url = common.db.text, .schema = common.schema});
  } catch (...) {
    rethrow_store_error("schema " + common.schema);
  }
}

}  // namespace txoutbox::cli
