// output: the one-line, secret-free text the command writes to stderr.
#pragma once

#include <string>
#include <string_view>

namespace txoutbox::cli {

/// Remembers a secret (a password) so that sanitize() hides it. Called while parsing,
/// before any thread starts; later calls are not synchronised with sanitize().
void add_secret(std::string secret);

/// `text` with every known secret replaced by "***" and line breaks folded into "; ",
/// so that whatever a driver reported fits one stderr line and leaks nothing.
std::string sanitize(std::string_view text);

/// Writes "txoutbox: <sanitized text>\n" to stderr in one write (thread-safe).
void print_error(std::string_view text);

/// Writes `line` (sanitized) plus a newline to stderr in one write (thread-safe).
void print_line(std::string_view line);

}  // namespace txoutbox::cli
