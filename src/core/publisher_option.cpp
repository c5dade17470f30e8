// Private helpers for the publishers' key=value options (see publisher_option.hpp).
#include "core/publisher_option.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace txoutbox::detail {

usage_error publisher_option_error(const std::string& key, const std::string& what) {
  return usage_error(errc::invalid_argument, key, "option '" + key + "': " + what);
}

bool parse_bool_option(const std::string& key, const std::string& value) {
  if (value == "true" || value == "1" || value == "yes" || value == "on")
    return true;
  if (value == "false" || value == "0" || value == "no" || value == "off")
    return false;
  throw publisher_option_error(key, "expected true or false, got '" + value + "'");
}

std::string read_secret_env(const std::string& variable, const std::string& key) {
  const char* env = variable.empty() ? nullptr : std::getenv(variable.c_str());
  if (env == nullptr || *env == '\0')
    throw publisher_option_error(key,
                                 "environment variable '" + variable + "' is not set or empty");
  return env;
}

std::string read_secret_file(const std::string& path, secret_trim trim, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw publisher_option_error(key, "cannot read file '" + path + "'");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (trim == secret_trim::one_newline) {
    if (text.ends_with("\n"))
      text.pop_back();
    if (text.ends_with("\r"))
      text.pop_back();
  } else {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                             text.back() == '\t'))
      text.pop_back();
  }
  if (text.empty())
    throw publisher_option_error(key, "file '" + path + "' is empty");
  return text;
}

std::string read_secret_option(const std::string& key, const std::string& value) {
  return key.ends_with("-env") ? read_secret_env(value, key)
                               : read_secret_file(value, secret_trim::one_newline, key);
}

}  // namespace txoutbox::detail
