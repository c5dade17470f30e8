// database_soci: the SOCI backends (sqlite:PATH, mysql://) of migrate, enqueue and the store.
#include <soci/session.h>
#include <soci/soci-backend.h>

#include <filesystem>
#include <system_error>

#include "database.hpp"
#include "failure.hpp"
#include "output.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/soci/migrate.hpp"
#include "txoutbox/soci/session.hpp"
#include "txoutbox/soci/store.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/soci/writer.hpp"

namespace txoutbox::cli::detail {
namespace {

/// A SQLite file must exist for everything but migrate: opening a missing one would
/// create an empty database (and leave the file behind) just to report "not migrated".
void require_sqlite_file(const common_args& common) {
  if (common.db.scheme != db_scheme::sqlite)
    return;
  std::error_code ec;
  if (!std::filesystem::exists(common.db.sqlite_path, ec)) {
    throw failure(exit_database, "database file " + common.db.sqlite_path +
                                     " does not exist: run 'txoutbox migrate --db " +
                                     common.db.redacted + "' first");
  }
}

std::unique_ptr<::soci::session> connect(const common_args& common) {
  try {
    return txoutbox::soci::open_session(common.db.text);
  } catch (...) {
    rethrow_store_error("cannot connect to " + common.db.redacted);
  }
}

/// Rethrows the exception in flight (from SOCI, the writer or migrate() on `session`)
/// as failure, without SOCI's text, which embeds bound values.
[[noreturn]] void rethrow_soci(::soci::session& session, const std::string& context) {
  try {
    throw;
  } catch (const failure&) {
    throw;
  } catch (const usage_error&) {
    rethrow_store_error(context);
  } catch (const std::exception& e) {
    const auto mapped = txoutbox::soci::describe_failure(session, e);
    try {
      throw mapped;
    } catch (...) {
      rethrow_store_error(context);
    }
  }
}

}  // namespace

migrate_outcome soci_migrate(const common_args& common, std::uint32_t partitions) {
  auto session = connect(common);
  try {
    const auto r = txoutbox::soci::migrate(
        *session,
        txoutbox::soci::migrate_options{.schema = common.schema, .partitions = partitions});
    return migrate_outcome{r.applied, r.version};
  } catch (...) {
    rethrow_soci(*session, "migrate " + common.label());
  }
}

message_id soci_enqueue(const common_args& common, const message& msg) {
  require_sqlite_file(common);
  auto session = connect(common);
  try {
    const int have = txoutbox::soci::schema_version(*session, common.schema);
    const int want = txoutbox::soci::latest_schema_version(*session);
    if (have == 0) {
      throw failure(exit_database,
                    "schema " + common.label() + " is not migrated: run 'txoutbox migrate'");
    }
    if (have < want) {
      throw failure(exit_database, "schema " + common.label() + " is at version " +
                                       std::to_string(have) + ", this txoutbox needs " +
                                       std::to_string(want) + ": run 'txoutbox migrate'");
    }
    const txoutbox::soci::writer writer(txoutbox::soci::writer_options{.schema = common.schema});
    txoutbox::soci::write_transaction tx(*session);
    const auto id = writer.enqueue(*session, msg);
    tx.commit();
    return id;
  } catch (...) {
    rethrow_soci(*session, "enqueue into " + common.label());
  }
}

std::shared_ptr<store> soci_open_store(const common_args& common, std::size_t pool_size) {
  require_sqlite_file(common);
  try {
    txoutbox::soci::store_options options{.url = common.db.text, .schema = common.schema};
    if (pool_size > 0)
      options.pool_size = pool_size;
    return txoutbox::soci::make_store(options);
  } catch (...) {
    rethrow_store_error("schema " + common.label() + " on " + common.db.redacted);
  }
}

}  // namespace txoutbox::cli::detail
