// Test-server discovery: environment variables first, then the URL files the CTest fixtures write.
#include "txoutbox/testing/servers.hpp"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace txoutbox::testing {
namespace {

/// The value of an environment variable, nullopt when unset or empty.
std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0')
    return std::nullopt;
  return std::string(value);
}

/// `text` without leading and trailing whitespace (a URL file ends with a newline).
std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace

std::optional<std::string> server_url(std::string_view name, std::string_view env_var) {
  if (!env_var.empty()) {
    if (auto value = env(std::string(env_var).c_str()))
      return trimmed(*value);
  }
  const auto dir = env("TXOUTBOX_TEST_SERVERS_DIR");
  if (!dir || name.empty())
    return std::nullopt;
  // Appended, not concatenated: g++ 12 at -O3 reports a false -Wrestrict on a + chain.
  std::string path = *dir;
  path += '/';
  path.append(name);
  path += ".url";
  std::ifstream file(path);
  if (!file)
    return std::nullopt;
  std::ostringstream content;
  content << file.rdbuf();
  auto url = trimmed(content.str());
  if (url.empty())
    return std::nullopt;
  return url;
}

bool running_under_ci() noexcept {
  const char* value = std::getenv("CI");
  if (value == nullptr)
    return false;
  std::string lowered;
  for (const char* p = value; *p != '\0'; ++p) {
    lowered += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
  }
  return lowered == "true" || lowered == "1" || lowered == "yes";
}

std::string unique_name(std::string_view prefix) {
  static std::atomic<std::uint64_t> counter{0};
  // Lower-case letters, digits and '_' only, starting with a letter or '_': valid unquoted
  // in PostgreSQL, MariaDB and SQLite, and unchanged by PostgreSQL's case folding.
  std::string name;
  for (const char c : prefix) {
    const auto u = static_cast<unsigned char>(c);
    name += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_';
  }
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front())))
    name = 't' + name;  // not insert(0, "t"): g++ 12 -O3 reports a false -Wrestrict on it
  // Room for the suffix within PostgreSQL's 63-byte identifier limit.
  if (name.size() > 24)
    name.resize(24);

  // Random bits so names from two runs with a recycled pid still differ.
  thread_local std::minstd_rand random{std::random_device{}()};
  std::ostringstream out;
  out << name << '_' << ::getpid() << '_' << counter.fetch_add(1, std::memory_order_relaxed) << '_'
      << std::hex << (random() & 0xffffffu);
  return out.str();
}

}  // namespace txoutbox::testing
