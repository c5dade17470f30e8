// Private helpers for the publishers' key=value options: the error shape, booleans and
// secrets read from an environment variable or a file (never from the command line).
#pragma once

#include <string>

#include "txoutbox/error.hpp"

namespace txoutbox::detail {

/// The usage_error for a bad option: field `key`, text "option '<key>': <what>" (a
/// library text names the option key, never a command-line flag). Returned, not thrown,
/// so callers can throw it or hand it on.
usage_error publisher_option_error(const std::string& key, const std::string& what);

/// true/1/yes/on or false/0/no/off; anything else throws publisher_option_error(key, ...).
bool parse_bool_option(const std::string& key, const std::string& value);

/// What to cut from the end of a secret file's content.
enum class secret_trim {
  one_newline,     ///< one trailing \n, \r\n or \r (the file may legitimately end in space)
  trailing_space,  ///< every trailing \n, \r, space and tab
};

/// The non-empty value of environment variable `variable` (an empty name counts as unset);
/// else throws publisher_option_error(key, "environment variable 'V' is not set or empty").
std::string read_secret_env(const std::string& variable, const std::string& key);

/// The whole content of the file at `path` (binary), trimmed per `trim`; else throws
/// publisher_option_error(key, ...) saying "cannot read file 'P'" or "file 'P' is empty".
/// The texts name the source, never a secret's content. Blocking file I/O.
std::string read_secret_file(const std::string& path, secret_trim trim, const std::string& key);

/// The secret of option `key` = `value`: the environment variable `value` when `key` ends in
/// "-env", else the file at path `value` (one trailing newline cut).
std::string read_secret_option(const std::string& key, const std::string& value);

}  // namespace txoutbox::detail
