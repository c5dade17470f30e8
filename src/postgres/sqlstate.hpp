// PostgreSQL's SQLSTATE codes, classified once for both drivers (libpqxx and SOCI).
#pragma once

#include <string_view>

#include "txoutbox/error.hpp"

namespace txoutbox::postgres::detail {

/// What a SQLSTATE means to the library.
struct sqlstate_class {
  errc code = errc::internal;
  /// Retrying later may succeed (the relay backs off and tries again).
  bool transient = false;
  /// The session is gone or unusable: a fresh connection may succeed at once.
  bool session_lost = false;
  /// A short reason for the error text ("connection lost or refused").
  std::string_view meaning = "statement failed";
};

/// The one table (https://www.postgresql.org/docs/current/errcodes-appendix.html).
/// Anything not listed is an internal, permanent failure of the statement.
constexpr sqlstate_class classify_sqlstate(std::string_view state) noexcept {
  const auto is = [state](std::string_view code) { return state == code; };
  const auto in_class = [state](std::string_view cls) { return state.substr(0, 2) == cls; };
  // The session is gone: connection exception (08), administrator or crash shutdown,
  // the server still starting (57P01-57P03), idle-in-transaction timeout (25P03: the
  // server closes the session), too many connections (53300, refused at connect).
  if (in_class("08") || is("57P01") || is("57P02") || is("57P03") || is("25P03") || is("53300"))
    return {errc::connection_failed, true, true, "connection lost or refused"};
  if (is("40001") || is("40P01"))
    return {errc::timeout, true, false, "serialization failure or deadlock"};
  if (is("55P03") || is("57014"))
    return {errc::timeout, true, false, "lock or statement timeout"};
  if (in_class("53") || in_class("58"))
    return {errc::io_failure, true, false, "server out of resources (disk, memory)"};
  if (in_class("28"))
    return {errc::connection_failed, false, false, "authentication failed"};
  // Undefined table, schema, column or function: the outbox schema is missing or older
  // than this library.
  if (is("42P01") || is("3F000") || is("42703") || is("42883"))
    return {errc::not_migrated, false, false, "the outbox schema is missing or not migrated"};
  return {};
}

}  // namespace txoutbox::postgres::detail
