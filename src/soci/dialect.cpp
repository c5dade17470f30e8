// Chooses the dialect from SOCI's backend name; shared schema resolution.
#include "dialect.hpp"

#include <soci/session.h>

#include "txoutbox/identifier.hpp"

namespace txoutbox::soci::detail {

const dialect* dialect_for_scheme(std::string_view scheme) {
#ifdef TXOUTBOX_SOCI_HAVE_SQLITE3
  if (scheme == "sqlite" || scheme == "sqlite3")
    return &sqlite_dialect();
#endif
  (void)scheme;
  return nullptr;
}

const dialect& dialect_for(::soci::session& session) {
  if (session.get_backend() == nullptr) {
    throw usage_error(errc::invalid_argument, "session", "session: not connected");
  }
  const auto name = session.get_backend_name();
#ifdef TXOUTBOX_SOCI_HAVE_SQLITE3
  if (name == "sqlite3")
    return sqlite_dialect();
#endif
  throw usage_error(errc::invalid_argument, "session",
                    "session: SOCI backend \"" + name + "\" is not supported by this build");
}

std::string resolve_schema(const dialect& d, const std::string& requested) {
  auto schema = requested.empty() ? d.default_schema() : requested;
  check_identifier(schema, "schema");
  return schema;
}

}  // namespace txoutbox::soci::detail
