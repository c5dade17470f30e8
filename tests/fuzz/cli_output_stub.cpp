// Stand-in for src/cli/output.cpp in the fuzz targets: the command's secret registry lives
// for one process and only grows, which over millions of inputs would make every input
// slower. Here the targets clear it per input (forget_secrets); nothing is printed.
#include "cli_output_stub.hpp"

#include <vector>

#include "output.hpp"

namespace txoutbox::cli {
namespace {

std::vector<std::string>& secrets() {
  static std::vector<std::string> list;
  return list;
}

}  // namespace

void add_secret(std::string secret) {
  if (!secret.empty())
    secrets().push_back(std::move(secret));
}

std::string sanitize(std::string_view text) {
  std::string out(text);
  for (const auto& s : secrets()) {
    for (auto pos = out.find(s); pos != std::string::npos; pos = out.find(s, pos + 3))
      out.replace(pos, s.size(), "***");
  }
  return out;
}

void print_error(std::string_view) {}

void print_line(std::string_view) {}

void forget_secrets() {
  secrets().clear();
}

}  // namespace txoutbox::cli
