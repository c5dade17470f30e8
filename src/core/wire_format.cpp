// Private text formats shared by the stores and publishers (see wire_format.hpp).
#include "core/wire_format.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <utility>

#include "core/text_util.hpp"

namespace txoutbox::detail {

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 0xf]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

std::string headers_to_json(const header_map& headers) {
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : headers) {
    if (!first)
      out.push_back(',');
    first = false;
    append_json_string(out, name);
    out.push_back(':');
    append_json_string(out, value);
  }
  out.push_back('}');
  return out;
}

namespace {

/// `text` unchanged when it is valid UTF-8, else with every bad byte as '?'. RapidJSON 1.1
/// decodes a lone low-surrogate escape (\uDC00) into bytes that are not UTF-8, which would
/// otherwise reach the publishers and make the envelope unreadable.
std::string valid_utf8(std::string text) {
  if (utf8_error_offset(text) == std::string::npos)
    return text;
  return clean_text(text, text.size());
}

}  // namespace

header_map headers_from_json(std::string_view text) {
  header_map out;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(text.data(),
                                                                                    text.size());
  if (doc.HasParseError() || !doc.IsObject())
    return out;
  for (const auto& m : doc.GetObject()) {
    std::string name = valid_utf8(std::string(m.name.GetString(), m.name.GetStringLength()));
    if (m.value.IsString()) {
      out.insert_or_assign(std::move(name),
                           valid_utf8(std::string(m.value.GetString(), m.value.GetStringLength())));
    } else {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      m.value.Accept(w);
      out.insert_or_assign(std::move(name),
                           valid_utf8(std::string(buf.GetString(), buf.GetSize())));
    }
  }
  return out;
}

std::string clean_text(std::string_view in, std::size_t cap) {
  std::string out;
  out.reserve(std::min(in.size(), cap));
  std::size_t i = 0;
  while (i < in.size() && out.size() < cap) {
    const auto c = static_cast<unsigned char>(in[i]);
    const std::size_t len = c < 0x80         ? 1
                            : (c >> 5) == 6  ? 2
                            : (c >> 4) == 14 ? 3
                            : (c >> 3) == 30 ? 4
                                             : 0;
    bool ok = len > 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80;
    }
    if (ok && len == 3) {  // no surrogates, no overlongs
      const auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = !(c == 0xED && c1 >= 0xA0) && !(c == 0xE0 && c1 < 0xA0);
    } else if (ok && len == 2) {
      ok = c >= 0xC2;
    } else if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = c <= 0xF4 && !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (!ok || c == 0) {
      out.push_back('?');
      ++i;
      continue;
    }
    if (out.size() + len > cap)
      break;
    out.append(in.substr(i, len));
    i += len;
  }
  return out;
}

std::string format_rfc3339(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  const auto us = floor<microseconds>(tp);
  const auto day = floor<days>(us);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> hms{us - day};
  std::array<char, 40> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<long long>(hms.subseconds().count()));
  return buf.data();
}

}  // namespace txoutbox::detail
