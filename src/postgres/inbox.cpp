// The PostgreSQL inbox: INSERT ... ON CONFLICT DO NOTHING in the consumer's transaction.
#include "txoutbox/postgres/inbox.hpp"

#include <algorithm>
#include <limits>
#include <pqxx/pqxx>
#include <string>

#include "core/inbox_check.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/identifier.hpp"

namespace txoutbox::postgres {
inbox::inbox(inbox_options options) : options_(std::move(options)) {
  check_identifier(options_.schema, "schema");
  const auto table = quote_identifier(options_.schema) + ".outbox_inbox";
  insert_sql_ =
      "INSERT INTO " + table + " (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
  // ctid + LIMIT: bounded deletes, so one purge never holds locks on a huge set.
  purge_sql_ = "DELETE FROM " + table + " WHERE ctid = ANY (ARRAY(SELECT ctid FROM " + table +
               " WHERE processed_at < now() - $1::bigint * interval '1 second' LIMIT $2::bigint))";
}

bool inbox::first_time(pqxx::dbtransaction& tx, std::string_view consumer,
                       std::string_view message_id) const {
  txoutbox::detail::check_inbox_key(consumer, message_id);
  const auto result = tx.exec_params(insert_sql_, std::string(consumer), std::string(message_id));
  return result.affected_rows() == 1;
}

std::size_t inbox::purge_older_than(pqxx::transaction_base& tx, std::chrono::seconds age,
                                    std::size_t limit) const {
  if (age.count() < 0)
    throw usage_error(errc::invalid_argument, "age", "age: must not be negative");
  if (limit == 0)
    return 0;
  const auto capped =
      std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<long long>::max()));
  const auto result = tx.exec_params(purge_sql_, static_cast<long long>(age.count()),
                                     static_cast<long long>(capped));
  return result.affected_rows();
}

}  // namespace txoutbox::postgres
