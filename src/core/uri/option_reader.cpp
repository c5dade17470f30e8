// Private URI toolkit: the option reader (see option_reader.hpp).
#include "core/uri/option_reader.hpp"

#include <charconv>
#include <limits>
#include <utility>

namespace txoutbox::detail::uri {

namespace {

usage_error option_error(const std::string& key, const std::string& what) {
  return publisher_option_error(key, what);
}

}  // namespace

option_reader::option_reader(std::map<std::string, std::string> opts, std::string publisher)
    : opts_(std::move(opts)), publisher_(std::move(publisher)) {}

std::optional<std::string> option_reader::take(const std::string& key) {
  const auto it = opts_.find(key);
  if (it == opts_.end())
    return std::nullopt;
  taken_.insert(key);
  return it->second;
}

std::optional<std::string> option_reader::take_nonempty(const std::string& key) {
  auto value = take(key);
  if (value && value->empty())
    throw option_error(key, "must not be empty");
  return value;
}

std::optional<bool> option_reader::take_bool(const std::string& key) {
  const auto value = take(key);
  if (!value)
    return std::nullopt;
  return parse_bool_option(key, *value);
}

std::optional<std::int64_t> option_reader::take_int(const std::string& key, std::int64_t lo,
                                                    std::int64_t hi, const std::string& expected) {
  const auto value = take(key);
  if (!value)
    return std::nullopt;
  std::int64_t n = 0;
  const char* end = value->data() + value->size();
  const auto [stop, ec] = std::from_chars(value->data(), end, n);
  if (value->empty() || ec != std::errc() || stop != end || n < lo || n > hi)
    throw option_error(key, "expected " + expected + ", got '" + *value + "'");
  return n;
}

std::optional<std::chrono::milliseconds> option_reader::take_ms(const std::string& key) {
  const auto n = take_int(key, 1, std::numeric_limits<std::int32_t>::max(),
                          "a positive number of milliseconds");
  if (!n)
    return std::nullopt;
  return std::chrono::milliseconds(*n);
}

std::optional<std::string> option_reader::take_secret(const std::string& name, secret_trim trim) {
  if (opts_.contains(name)) {
    throw option_error(name, "secrets are not taken on the command line: use " + name +
                                 "-env=VARIABLE or " + name + "-file=PATH");
  }
  const std::string env_key = name + "-env";
  const std::string file_key = name + "-file";
  const auto env = take(env_key);
  const auto file = take(file_key);
  if (env && file) {
    throw option_error(file_key,
                       "give the " + name + " once, through " + env_key + " or " + file_key);
  }
  if (env)
    return read_secret_env(*env, env_key);
  if (file)
    return read_secret_file(*file, trim, file_key);
  return std::nullopt;
}

std::map<std::string, std::string> option_reader::take_prefixed(const std::string& prefix) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : opts_) {
    if (key.starts_with(prefix) && !taken_.contains(key)) {
      taken_.insert(key);
      out.emplace(key.substr(prefix.size()), value);
    }
  }
  return out;
}

void option_reader::finish(const std::string& known) const {
  for (const auto& [key, value] : opts_) {
    if (!taken_.contains(key))
      throw option_error(key, "unknown option for " + publisher_ + " (known: " + known + ")");
  }
}

}  // namespace txoutbox::detail::uri
