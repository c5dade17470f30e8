// Private JSON helpers for core: strict, iterative validation and compaction with RapidJSON.
#pragma once

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "text_util.hpp"

namespace txoutbox::detail {

/// The parse flags for every untrusted JSON text: the iterative parser keeps nesting
/// depth off the call stack (1 MiB of '[' cannot overflow it), UTF-8 is validated, parsing
/// stops after one value (the caller checks that only whitespace follows), and numbers
/// stay text so no range error or rounding can occur (PostgreSQL numeric has no such
/// limits) and compaction keeps them byte for byte.
constexpr unsigned strict_parse_flags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag |
    rapidjson::kParseStopWhenDoneFlag | rapidjson::kParseNumbersAsStringsFlag;

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

/// Why a decoded JSON string is unfit for the outbox, or nullptr when it is fine.
/// Catches what RapidJSON 1.1 lets through: \u0000 and a lone low-surrogate escape
/// (\uDC00 decodes to the bytes ED B0 80), both of which PostgreSQL jsonb rejects.
inline const char* string_problem(std::string_view decoded) noexcept {
  if (decoded.find('\0') != std::string_view::npos) {
    return "contains \\u0000 (NUL), which PostgreSQL jsonb rejects";
  }
  if (utf8_error_offset(decoded) != std::string_view::npos) {
    return "contains a lone surrogate escape or invalid UTF-8";
  }
  return nullptr;
}

/// Where and why a JSON text was refused.
struct json_problem {
  std::size_t offset = 0;
  std::string reason;
};

/// SAX handler that refuses unfit strings and, when given a writer, copies every event
/// to it (compact re-serialisation). Holds no recursion: depth lives in RapidJSON's heap
/// stack. Not thread-safe; one per parse.
class checking_handler {
 public:
  checking_handler(const rapidjson::MemoryStream& stream, json_writer* out) noexcept
      : stream_(stream), out_(out) {}

  bool Null() { return !out_ || out_->Null(); }
  bool Bool(bool b) { return !out_ || out_->Bool(b); }
  bool Int(int i) { return !out_ || out_->Int(i); }
  bool Uint(unsigned u) { return !out_ || out_->Uint(u); }
  bool Int64(std::int64_t i) { return !out_ || out_->Int64(i); }
  bool Uint64(std::uint64_t u) { return !out_ || out_->Uint64(u); }
  bool Double(double d) { return !out_ || out_->Double(d); }
  bool RawNumber(const char* str, rapidjson::SizeType len, bool) {
    // Writer::RawNumber of RapidJSON 1.1 quotes the number: write it raw instead.
    return !out_ || out_->RawValue(str, len, rapidjson::kNumberType);
  }
  bool String(const char* str, rapidjson::SizeType len, bool) {
    return check(str, len) && (!out_ || out_->String(str, len, true));
  }
  bool Key(const char* str, rapidjson::SizeType len, bool) {
    return check(str, len) && (!out_ || out_->Key(str, len, true));
  }
  bool StartObject() { return !out_ || out_->StartObject(); }
  bool EndObject(rapidjson::SizeType n) { return !out_ || out_->EndObject(n); }
  bool StartArray() { return !out_ || out_->StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return !out_ || out_->EndArray(n); }

  /// Set when a callback refused the text; the parse then ends with kParseErrorTermination.
  const std::optional<json_problem>& problem() const noexcept { return problem_; }

 private:
  bool check(const char* str, rapidjson::SizeType len) {
    if (const char* why = string_problem(std::string_view(str, len))) {
      problem_ = json_problem{stream_.Tell(), std::string("string ending at offset ") +
                                                  std::to_string(stream_.Tell()) + " " + why};
      return false;
    }
    return true;
  }

  const rapidjson::MemoryStream& stream_;
  json_writer* out_;
  std::optional<json_problem> problem_;
};

constexpr bool is_json_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/// Checks that `text` is exactly one JSON value (surrounding whitespace allowed) whose
/// strings are all fit for the outbox. When `out` is given the value is also written
/// to it in compact form. Returns the first problem, or nullopt. O(n) time, O(depth) heap.
inline std::optional<json_problem> check_json(std::string_view text, json_writer* out = nullptr) {
  rapidjson::MemoryStream stream(text.data(), text.size());
  checking_handler handler(stream, out);
  rapidjson::Reader reader;
  const rapidjson::ParseResult result = reader.Parse<strict_parse_flags>(stream, handler);
  if (result.IsError()) {
    if (handler.problem())
      return handler.problem();
    return json_problem{result.Offset(), std::string("not valid JSON at offset ") +
                                             std::to_string(result.Offset()) + ": " +
                                             rapidjson::GetParseError_En(result.Code())};
  }
  for (std::size_t i = stream.Tell(); i < text.size(); ++i) {
    if (!is_json_space(text[i])) {
      return json_problem{i, "not valid JSON at offset " + std::to_string(i) +
                                 ": unexpected text after the JSON value"};
    }
  }
  return std::nullopt;
}

}  // namespace txoutbox::detail
