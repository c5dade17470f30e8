// JSON text helpers of the SOCI backend (RapidJSON stays in this file).
#include "json_text.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>

namespace txoutbox::soci::detail {
namespace {

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (const char c : text) {
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
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x",
                        static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buffer;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace

std::string headers_json(const header_map& headers) {
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

header_map parse_headers(std::string_view text) {
  header_map out;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(text.data(),
                                                                                    text.size());
  if (doc.HasParseError() || !doc.IsObject())
    return out;
  for (const auto& m : doc.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (m.value.IsString()) {
      out.insert_or_assign(std::move(name),
                           std::string(m.value.GetString(), m.value.GetStringLength()));
    } else {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      m.value.Accept(w);
      out.insert_or_assign(std::move(name), std::string(buf.GetString(), buf.GetSize()));
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

}  // namespace txoutbox::soci::detail
