// Private helpers for the publishers' key=value options: the error shape, booleans and
// secrets read from an environment variable or a file (never from the command line).
#pragma once

#include <functional>
#include <string>

#include "txoutbox/error.hpp"

namespace txoutbox::detail {

/// The usage_error for a bad option: field `key`, text "option '<key>': <what>" (a
/// library text names the option key, never a command-line flag). Returned, not thrown, so callers
/// can throw it or hand it on.
usage_error publisher_option_error(const std::string& key, const std::string& what);

/// true/1/yes/on or false/0/no/off; anything else throws publisher_option_error(key, ...).
bool parse_bool_option(const std::string& key, const std::string& value);

/// Why a secret could not be read; `source` below is the variable name or the file path.
enum class secret_problem { env_unset, file_unreadable, file_empty };

/// Builds the exception thrown for a secret that could not be read. Each publisher keeps
/// its own error texts through it; it must name the source, never a secret's content.
using secret_error_factory =
    std::function<usage_error(secret_problem problem, const std::string& source)>;

/// The common texts: "environment variable 'V' is not set or empty", "cannot read file
/// 'P'", "file 'P' is empty".
std::string secret_problem_text(secret_problem problem, const std::string& source);

/// A secret_error_factory giving publisher_option_error(key, secret_problem_text(...)).
secret_error_factory secret_option_error(const std::string& key);

/// What to cut from the end of a secret file's content.
enum class secret_trim {
  one_newline,     ///< one trailing \n, \r\n or \r (the file may legitimately end in space)
  trailing_space,  ///< every trailing \n, \r, space and tab
};

/// The non-empty value of environment variable `variable` (an empty name counts as unset);
/// throws error(env_unset, variable) otherwise.
std::string read_secret_env(const std::string& variable, const secret_error_factory& error);

/// The whole content of the file at `path` (binary), trimmed per `trim`; throws
/// error(file_unreadable, path) or error(file_empty, path). Blocking file I/O.
std::string read_secret_file(const std::string& path, secret_trim trim,
                             const secret_error_factory& error);

/// The secret of option `key` = `value`: the environment variable `value` when `key` ends in
/// "-env", else the file at path `value` (one trailing newline cut), with the common texts.
std::string read_secret_option(const std::string& key, const std::string& value);

}  // namespace txoutbox::detail
