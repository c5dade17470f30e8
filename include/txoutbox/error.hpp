// Exceptions thrown by txoutbox: environment failures vs. misuse, each with a code.
#pragma once

#include <stdexcept>
#include <string>

namespace txoutbox {

/// What went wrong, independent of the message text. Stable across releases.
enum class errc {
  invalid_message = 1,  ///< a message field failed validation (usage_error)
  payload_too_large,    ///< the payload exceeds the configured cap (usage_error)
  invalid_identifier,   ///< a schema or table name is not a valid SQL identifier (usage_error)
  invalid_argument,     ///< any other bad argument or option (usage_error)
  no_transaction,       ///< the writer was given a session with no open transaction (usage_error)
  malformed_input,      ///< a JSON line, URL or config file could not be parsed (usage_error)
  connection_failed,    ///< the database or broker could not be reached (error, transient)
  not_migrated,         ///< the schema is missing or older than this library (error)
  config_mismatch,      ///< e.g. the partition count differs from the database's (error)
  lease_lost,           ///< a fenced write found its lease taken over (error)
  timeout,              ///< an operation did not finish in time (error, transient)
  io_failure,           ///< a file or socket operation failed (error)
  internal,             ///< a bug or an unexpected state (error)
  owner_in_use,         ///< another live relay process runs with the same owner name (error)
};

/// Human-readable name of a code ("invalid_message", ...).
const char* to_string(errc code) noexcept;

/// The environment failed: a database, broker or file did not do what was asked.
/// `transient()` says whether retrying later may succeed (connection lost, timeout,
/// serialization failure) or not (schema missing, permission denied).
class error : public std::runtime_error {
 public:
  error(errc code, const std::string& what, bool transient = false)
      : std::runtime_error(what), code_(code), transient_(transient) {}
  errc code() const noexcept { return code_; }
  bool transient() const noexcept { return transient_; }

 private:
  errc code_;
  bool transient_;
};

/// A failure that may go away by itself; the relay retries after a pause.
class transient_error : public error {
 public:
  explicit transient_error(const std::string& what, errc code = errc::connection_failed)
      : error(code, what, true) {}
};

/// The caller misused the API or passed bad input. Nothing was written.
/// `field()` names the offending field or option when there is one ("payload",
/// "headers[traceparent]", "schema").
class usage_error : public std::invalid_argument {
 public:
  usage_error(errc code, std::string field, const std::string& what)
      : std::invalid_argument(what), code_(code), field_(std::move(field)) {}
  errc code() const noexcept { return code_; }
  const std::string& field() const noexcept { return field_; }

 private:
  errc code_;
  std::string field_;
};

}  // namespace txoutbox
