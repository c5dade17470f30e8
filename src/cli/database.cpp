// database: the PostgreSQL (libpqxx) backend of the subcommands, and the per-URL dispatch.
#include "database.hpp"

#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/transaction>

#include "failure.hpp"
#include "output.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/postgres/migrate.hpp"
#include "txoutbox/postgres/store.hpp"
#include "txoutbox/postgres/writer.hpp"

namespace txoutbox::cli {
namespace {

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

#ifndef TXOUTBOX_CLI_HAVE_SOCI
[[noreturn]] void no_soci() {
  throw failure(exit_usage,
                "sqlite: and mysql:// URLs need the SOCI backend, which is not built "
                "into this txoutbox");
}
#endif

}  // namespace

void rethrow_store_error(const std::string& context) {
  try {
    throw;
  } catch (const failure&) {
    throw;
  } catch (const usage_error& e) {
    throw failure(exit_usage, context + ": " + sanitize(e.what()));
  } catch (const error& e) {
    // Two live relays with one --owner: a configuration conflict, as a bad flag is.
    if (e.code() == errc::owner_in_use)
      throw failure(exit_usage, context + ": " + sanitize(e.what()));
    const bool database = e.code() == errc::connection_failed || e.code() == errc::not_migrated;
    throw failure(database ? exit_database : exit_other, context + ": " + sanitize(e.what()));
  } catch (const pqxx::broken_connection& e) {
    throw failure(exit_database, context + ": " + sanitize(e.what()));
  }
}

migrate_outcome migrate_database(const common_args& common, std::uint32_t partitions) {
  if (common.db.scheme != db_scheme::postgresql) {
#ifdef TXOUTBOX_CLI_HAVE_SOCI
    return detail::soci_migrate(common, partitions);
#else
    no_soci();
#endif
  }
  auto conn = connect(common.db);
  try {
    const auto r = postgres::migrate(
        *conn, postgres::migrate_options{.schema = common.schema,
                                         .partitions = partitions == 0 ? 16u : partitions});
    return migrate_outcome{r.applied, r.version};
  } catch (...) {
    rethrow_store_error("migrate " + common.label());
  }
}

message_id enqueue_message(const common_args& common, const message& msg) {
  if (common.db.scheme != db_scheme::postgresql) {
#ifdef TXOUTBOX_CLI_HAVE_SOCI
    return detail::soci_enqueue(common, msg);
#else
    no_soci();
#endif
  }
  auto conn = connect(common.db);
  require_migrated(*conn, common.schema);
  const postgres::writer writer(postgres::writer_options{.schema = common.schema, .notify = true});
  try {
    pqxx::work tx(*conn);
    const auto id = writer.enqueue(tx, msg);
    tx.commit();
    return id;
  } catch (...) {
    rethrow_store_error("enqueue into " + common.label());
  }
}

std::shared_ptr<store> open_store(const common_args& common, std::size_t pool_size) {
  if (common.db.scheme != db_scheme::postgresql) {
#ifdef TXOUTBOX_CLI_HAVE_SOCI
    return detail::soci_open_store(common, pool_size);
#else
    no_soci();
#endif
  }
  try {
    postgres::store_options options{.url = common.db.text, .schema = common.schema};
    if (pool_size > 0)
      options.pool_size = pool_size;
    return postgres::make_store(options);
  } catch (...) {
    rethrow_store_error("schema " + common.schema);
  }
}

}  // namespace txoutbox::cli
