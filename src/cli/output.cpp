// output: secret scrubbing and single-write stderr lines for the command line.
#include "output.hpp"

#include <unistd.h>

#include <mutex>
#include <vector>

namespace txoutbox::cli {
namespace {

std::vector<std::string>& secrets() {
  static std::vector<std::string> list;
  return list;
}

std::mutex& stderr_mutex() {
  static std::mutex m;
  return m;
}

void replace_all(std::string& text, std::string_view what, std::string_view with) {
  if (what.empty())
    return;
  std::size_t pos = 0;
  while ((pos = text.find(what, pos)) != std::string::npos) {
    text.replace(pos, what.size(), with);
    pos += with.size();
  }
}

void write_all(const std::string& text) {
  std::lock_guard lock(stderr_mutex());
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0)
      return;  // stderr is gone: nothing better to do
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

void add_secret(std::string secret) {
  if (secret.empty())
    return;
  secrets().push_back(std::move(secret));
}

std::string sanitize(std::string_view text) {
  std::string out(text);
  for (const auto& s : secrets())
    replace_all(out, s, "***");
  // Fold line breaks: drivers (libpq) end messages with "\n" and may span lines.
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) {
    out.pop_back();
  }
  replace_all(out, "\r\n", "; ");
  replace_all(out, "\n", "; ");
  replace_all(out, "\r", "; ");
  return out;
}

void print_error(std::string_view text) {
  write_all("txoutbox: " + sanitize(text) + "\n");
}

void print_line(std::string_view line) {
  write_all(sanitize(line) + "\n");
}

}  // namespace txoutbox::cli
