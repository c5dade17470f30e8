// Dialect-neutral handling of shipped migration files: statement splitting, templating, checksums.
#include "migration_text.hpp"

#include "txoutbox/partition.hpp"

namespace txoutbox::detail {
namespace {

/// `text` without leading and trailing blanks (space, tab, CR, LF).
std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos)
    return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

/// True when the statement has something besides blank lines and `--` comment lines.
bool has_code(std::string_view statement) {
  std::size_t pos = 0;
  while (pos < statement.size()) {
    auto end = statement.find('\n', pos);
    if (end == std::string_view::npos)
      end = statement.size();
    const auto line = trim(statement.substr(pos, end - pos));
    if (!line.empty() && !line.starts_with("--"))
      return true;
    pos = end + 1;
  }
  return false;
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  std::size_t pos = 0;
  while ((pos = text.find(from, pos)) != std::string::npos) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
}

}  // namespace

std::vector<std::string> split_statements(std::string_view sql) {
  std::vector<std::string> statements;
  std::string current;
  auto flush = [&] {
    const auto body = trim(current);
    if (has_code(body))
      statements.emplace_back(body);
    current.clear();
  };
  std::size_t pos = 0;
  while (pos < sql.size()) {
    auto end = sql.find('\n', pos);
    const bool last = end == std::string_view::npos;
    if (last)
      end = sql.size();
    const auto line = sql.substr(pos, end - pos);
    if (trim(line) == statement_marker) {
      flush();
    } else {
      current.append(line);
      current.push_back('\n');
    }
    pos = last ? end : end + 1;
  }
  flush();
  return statements;
}

std::string render(std::string_view sql, std::string_view quoted_schema, std::uint32_t partitions) {
  std::string text(sql);
  replace_all(text, "{{schema}}", quoted_schema);
  replace_all(text, "{{partitions}}", std::to_string(partitions));
  return text;
}

std::string migration_checksum(std::string_view sql) {
  return md5_hex(sql);
}

int migration_version(std::string_view name) noexcept {
  int version = 0;
  for (const char c : name) {
    if (c < '0' || c > '9')
      break;
    if (version > 100'000'000)
      return 0;
    version = version * 10 + (c - '0');
  }
  return version;
}

long long migration_lock_key(std::string_view schema) {
  std::uint64_t hash = 14695981039346656037ull;
  auto mix = [&hash](std::string_view text) {
    for (const char c : text) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 1099511628211ull;
    }
  };
  mix("txoutbox.migrate:");
  mix(schema);
  return static_cast<long long>(hash);
}

}  // namespace txoutbox::detail
