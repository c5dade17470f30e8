// Private URI toolkit: one reader for a publisher's key=value options, with one set of rules
// and error texts (missing, malformed, unknown key, secrets from the environment or a file).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "core/publisher_option.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox::detail::uri {

/// Takes a publisher's options by key, each at most once, then refuses what is left.
/// Errors are usage_error(invalid_argument) whose field is the key and whose text names it
/// as "option 'KEY': ..." (never a command-line flag: the caller adds its own context).
/// A secret is read from an environment variable (`KEY-env`) or a file (`KEY-file`),
/// never taken as a value: `KEY` itself is refused. Not thread-safe; one per parse.
class option_reader {
 public:
  /// `publisher` names the transport in the unknown-key text ("the redis publisher").
  option_reader(std::map<std::string, std::string> opts, std::string publisher);

  /// The value of `key` when given.
  std::optional<std::string> take(const std::string& key);
  /// Like take(), but an empty value is refused ("must not be empty").
  std::optional<std::string> take_nonempty(const std::string& key);
  /// true/1/yes/on or false/0/no/off.
  std::optional<bool> take_bool(const std::string& key);
  /// A decimal in [lo, hi]; `expected` words the error ("a number of entries").
  std::optional<std::int64_t> take_int(const std::string& key, std::int64_t lo, std::int64_t hi,
                                       const std::string& expected);
  /// A positive number of milliseconds that fits in 32 bits.
  std::optional<std::chrono::milliseconds> take_ms(const std::string& key);
  /// The secret `name` from `name-env` (a variable's name) or `name-file` (a path; one
  /// trailing newline cut), at most one of the two; `name` itself is refused.
  std::optional<std::string> take_secret(const std::string& name,
                                         secret_trim trim = secret_trim::one_newline);
  /// Every key not taken yet that starts with `prefix`, with the prefix cut off.
  std::map<std::string, std::string> take_prefixed(const std::string& prefix);

  /// Throws for the first key not taken, listing `known` ("topic, topic-prefix, ...").
  void finish(const std::string& known) const;

 private:
  std::map<std::string, std::string> opts_;  ///< a copy: a temporary map may be passed
  std::string publisher_;
  std::set<std::string> taken_;
};

}  // namespace txoutbox::detail::uri
