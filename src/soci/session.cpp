// open_session / describe_failure: the store's session setup and error mapping, for callers.
#include "txoutbox/soci/session.hpp"

#include <soci/session.h>

#include <string>

#include "dialect.hpp"

namespace txoutbox::soci {

std::unique_ptr<::soci::session> open_session(std::string_view url,
                                              std::chrono::milliseconds busy_timeout) {
  const auto colon = url.find(':');
  if (colon == std::string_view::npos) {
    throw usage_error(
        errc::malformed_input, "url",
        "url: expected sqlite:PATH, mysql://... or postgresql://... (the scheme is missing)");
  }
  const std::string scheme(url.substr(0, colon));
  const auto* d = detail::dialect_for_scheme(scheme);
  if (d == nullptr) {
    throw usage_error(
        errc::invalid_argument, "url",
        "url: scheme \"" + scheme +
            "\" is not supported by this build (sqlite:PATH, mysql://..., postgresql://...)");
  }
  if (busy_timeout.count() < 0) {
    throw usage_error(errc::invalid_argument, "busy_timeout", "busy_timeout must not be negative");
  }
  const std::string target = d->make_target(url.substr(colon + 1));
  try {
    return d->open(target, busy_timeout);
  } catch (const std::exception& e) {
    const auto f = d->describe(e);
    throw error(
        errc::connection_failed,
        "cannot open " + d->redact(target) + " (" + std::string(d->backend()) + "): " + f.text,
        true);
  }
}

txoutbox::error describe_failure(::soci::session& session, const std::exception& e) {
  if (const auto* own = dynamic_cast<const txoutbox::error*>(&e))
    return *own;
  const auto& d = detail::dialect_for(session);
  const auto f = d.describe(e);
  return txoutbox::error(f.code, std::string(d.backend()) + ": " + f.text, f.transient);
}

}  // namespace txoutbox::soci
