// The SOCI inbox: an insert-if-new in the consumer's transaction (SQLite: INSERT OR IGNORE,
// PostgreSQL: ON CONFLICT DO NOTHING, MariaDB: INSERT and duplicate key 1062).
#include "txoutbox/soci/inbox.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <limits>
#include <string>

#include "core/inbox_check.hpp"
#include "dialect.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/identifier.hpp"

namespace txoutbox::soci {
inbox::inbox(inbox_options options) : options_(std::move(options)) {
  if (!options_.schema.empty())
    check_identifier(options_.schema, "schema");
}

bool inbox::first_time(::soci::session& session, std::string_view consumer,
                       std::string_view message_id) const {
  txoutbox::detail::check_inbox_key(consumer, message_id);
  const auto& d = detail::dialect_for(session);
  const auto table = d.table(detail::resolve_schema(d, options_.schema, &session), "outbox_inbox");
  const std::string c(consumer);
  const std::string m(message_id);
  try {
    ::soci::statement st =
        (session.prepare << d.inbox_insert(table), ::soci::use(c), ::soci::use(m));
    st.execute(true);
    return st.get_affected_rows() == 1;
  } catch (const ::soci::soci_error& e) {
    // MariaDB: a plain INSERT whose duplicate (1062) leaves the transaction usable; a
    // concurrent duplicate first waits on the row lock of the first, uncommitted insert.
    if (d.is_duplicate_key(e))
      return false;
    throw;
  }
}

std::size_t inbox::purge_older_than(::soci::session& session, std::chrono::seconds age,
                                    std::size_t limit) const {
  if (age.count() < 0)
    throw usage_error(errc::invalid_argument, "age", "age: must not be negative");
  if (limit == 0)
    return 0;
  const auto& d = detail::dialect_for(session);
  const auto table = d.table(detail::resolve_schema(d, options_.schema, &session), "outbox_inbox");
  const long long age_s = age.count();
  const long long lim = static_cast<long long>(std::min<std::size_t>(
      limit, static_cast<std::size_t>(std::numeric_limits<long long>::max())));
  ::soci::statement st =
      (session.prepare << d.inbox_purge(table), ::soci::use(age_s), ::soci::use(lim));
  st.execute(true);
  return static_cast<std::size_t>(st.get_affected_rows());
}

}  // namespace txoutbox::soci
