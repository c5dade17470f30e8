// Private URI toolkit: percent-decoding and -encoding (see percent.hpp).
#include "core/uri/percent.hpp"

#include <cctype>
#include <iterator>

#include "core/text_util.hpp"

namespace txoutbox::detail::uri {

percent_problem percent_decode(std::string_view text, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size())
      return percent_problem::cut_short;
    const int hi = hex_value(text[i + 1]);
    const int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0)
      return percent_problem::not_hex;
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0')
      return percent_problem::nul;
    out.push_back(c);
    i += 2;
  }
  return percent_problem::none;
}

std::string percent_problem_text(percent_problem problem) {
  static constexpr std::string_view texts[] = {"no problem", "a % escape is cut short",
                                               "a % escape is not two hex digits",
                                               "%00 is not allowed"};
  static_assert(std::size(texts) == static_cast<std::size_t>(percent_problem::nul) + 1);
  return std::string(texts[static_cast<std::size_t>(problem)]);
}

std::string percent_decode_lenient(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int hi = i + 2 < text.size() && text[i] == '%' ? hex_value(text[i + 1]) : -1;
    const int lo = hi >= 0 ? hex_value(text[i + 2]) : -1;
    if (lo >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string percent_encode(std::string_view text) {
  static constexpr char hexdigits[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hexdigits[u >> 4];
      out += hexdigits[u & 0xf];
    }
  }
  return out;
}

}  // namespace txoutbox::detail::uri
