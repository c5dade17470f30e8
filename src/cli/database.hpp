// database: migrate, enqueue and open stores on any --db backend, errors mapped to exit codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "options.hpp"
#include "txoutbox/message_id.hpp"
#include "txoutbox/store.hpp"

namespace txoutbox::cli {

struct migrate_outcome {
  std::vector<std::string> applied;  ///< migrations applied by this run
  int version = 0;                   ///< schema version afterwards
};

/// Applies the shipped migrations of the backend (`partitions` 0 = its default).
/// Connection failures are failure(exit_database); a partition count that disagrees with
/// the database's is exit 1.
migrate_outcome migrate_database(const common_args& common, std::uint32_t partitions);

/// Writes `msg` in its own transaction and returns its id. exit 3 when the database is
/// unreachable or not migrated.
message_id enqueue_message(const common_args& common, const message& msg);

/// The store over `common`, with a connection pool of `pool_size` (0 = the store's
/// default); connection and schema failures become failure(exit_database).
std::shared_ptr<store> open_store(const common_args& common, std::size_t pool_size = 0);

/// The pool a relay with `threads` workers needs so no store call waits for a connection:
/// one per worker, plus the control, claimer and acquirer threads (relay.hpp).
constexpr std::size_t relay_pool_size(std::size_t threads) {
  return threads + 3;
}

/// Rethrows the exception in flight as failure: a txoutbox::error is exit 3 for
/// connection_failed / not_migrated, exit 1 otherwise; usage_error exit 2. `context`
/// prefixes the text.
[[noreturn]] void rethrow_store_error(const std::string& context);

namespace detail {
#ifdef TXOUTBOX_CLI_HAVE_SOCI
/// The SOCI halves of the functions above (database_soci.cpp).
migrate_outcome soci_migrate(const common_args& common, std::uint32_t partitions);
message_id soci_enqueue(const common_args& common, const message& msg);
std::shared_ptr<store> soci_open_store(const common_args& common, std::size_t pool_size);
#endif
}  // namespace detail

}  // namespace txoutbox::cli
