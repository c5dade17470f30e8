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

std::string secret_problem_text(secret_problem problem, const std::string& source) {
  switch (problem) {
    case secret_problem::env_unset:
      return "environment variable '" + source + "' is not set or empty";
    case secret_problem::file_unreadable:
      return "cannot read file '" + source + "'";
    case secret_problem::file_empty:
      return "file '" + source + "' is empty";
  }
  return "cannot read secret from '" + source + "'";
}

secret_error_factory secret_option_error(const std::string& key) {
  return [key](secret_problem problem, const std::string& source) {
    return publisher_option_error(key, secret_problem_text(problem, source));
  };
}

std::string read_secret_env(const std::string& variable, const secret_error_factory& error) {
  const char* env = variable.empty() ? nullptr : std::getenv(variable.c_str());
  if (env == nullptr || *env == '\0')
    throw error(secret_problem::env_unset, variable);
  return env;
}

std::string read_secret_file(const std::string& path, secret_trim trim,
                             const secret_error_factory& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw error(secret_problem::file_unreadable, path);
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
    throw error(secret_problem::file_empty, path);
  return text;
}

std::string read_secret_option(const std::string& key, const std::string& value) {
  const secret_error_factory error = secret_option_error(key);
  return key.ends_with("-env") ? read_secret_env(value, error)
                               : read_secret_file(value, secret_trim::one_newline, error);
}

}  // namespace txoutbox::detail
