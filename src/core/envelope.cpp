// The JSON-lines envelope: serialising an outbox record to one line and parsing it back.
#include "txoutbox/envelope.hpp"

#include <chrono>
#include <optional>
#include <string>

#include "json_util.hpp"
#include "text_util.hpp"
#include "txoutbox/error.hpp"
#include "wire_format.hpp"

namespace txoutbox {

namespace detail {

namespace {

using sys_time = std::chrono::system_clock::time_point;

/// Reads `count` decimal digits at `pos`; false when any is not a digit.
bool read_digits(std::string_view s, std::size_t pos, std::size_t count, int& out) noexcept {
  if (pos + count > s.size())
    return false;
  out = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

/// Parses RFC 3339 date-time (section 5.6): YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM),
/// 'T' and 'Z' in either case, up to nine fractional digits. Leap seconds (:60) are refused:
/// system_clock cannot represent them.
std::optional<sys_time> parse_rfc3339(std::string_view s) noexcept {
  using namespace std::chrono;
  int y, mo, d, h, mi, sec;
  if (!read_digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !read_digits(s, 5, 2, mo) ||
      s[7] != '-' || !read_digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') ||
      !read_digits(s, 11, 2, h) || s[13] != ':' || !read_digits(s, 14, 2, mi) || s[16] != ':' ||
      !read_digits(s, 17, 2, sec)) {
    return std::nullopt;
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59)
    return std::nullopt;
  // system_clock counts int64 nanoseconds (about 1678..2261): refuse what would overflow.
  const sys_days date{ymd};
  if (date <= floor<days>(system_clock::time_point::min()) + days{1} ||
      date >= floor<days>(system_clock::time_point::max()) - days{1}) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  nanoseconds frac{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    long long value = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits == 9)
        return std::nullopt;
      value = value * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0)
      return std::nullopt;
    for (std::size_t i = digits; i < 9; ++i)
      value *= 10;
    frac = nanoseconds{value};
  }
  minutes offset{0};
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!read_digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !read_digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = hours{oh} + minutes{om};
    if (s[pos] == '-')
      offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size())
    return std::nullopt;
  const auto local = date + hours{h} + minutes{mi} + seconds{sec} + frac;
  return time_point_cast<system_clock::duration>(local - offset);
}

[[noreturn]] void fail(std::string field, const std::string& problem) {
  std::string what = field + ": " + problem;
  throw usage_error(errc::malformed_input, std::move(field), what);
}

/// SAX handler that reads the envelope object field by field, copying the payload value
/// straight into a compact writer (numbers keep their text). Iterative like the parser:
/// nesting is tracked with counters, never with recursion. One per parse.
class envelope_handler {
 public:
  explicit envelope_handler(const rapidjson::MemoryStream& stream)
      : stream_(stream), payload_writer_(payload_buffer_) {}

  bool Null() {
    return scalar("null", [&] { return payload_writer_.Null(); });
  }
  bool Bool(bool b) {
    return scalar("a boolean", [&] { return payload_writer_.Bool(b); });
  }
  bool Int(int i) {
    return scalar("a number", [&] { return payload_writer_.Int(i); });
  }
  bool Uint(unsigned u) {
    return scalar("a number", [&] { return payload_writer_.Uint(u); });
  }
  bool Int64(std::int64_t i) {
    return scalar("a number", [&] { return payload_writer_.Int64(i); });
  }
  bool Uint64(std::uint64_t u) {
    return scalar("a number", [&] { return payload_writer_.Uint64(u); });
  }
  bool Double(double d) {
    return scalar("a number", [&] { return payload_writer_.Double(d); });
  }
  bool RawNumber(const char* str, rapidjson::SizeType len, bool) {
    // Writer::RawNumber of RapidJSON 1.1 quotes the number: write it raw instead.
    return scalar("a number",
                  [&] { return payload_writer_.RawValue(str, len, rapidjson::kNumberType); });
  }

  bool String(const char* str, rapidjson::SizeType len, bool) {
    const std::string_view text(str, len);
    if (!check_string(text))
      return false;
    if (mode_ == mode::headers) {
      rec_.msg.headers[header_key_] = std::string(text);
      return true;
    }
    if (mode_ == mode::top && depth_ == 1) {
      if (std::string* target = string_field(key_)) {
        *target = std::string(text);
        return true;
      }
    }
    return scalar("a string", [&] { return payload_writer_.String(str, len, true); });
  }

  bool Key(const char* str, rapidjson::SizeType len, bool) {
    const std::string_view text(str, len);
    if (!check_string(text))
      return false;
    switch (mode_) {
      case mode::payload:
        return payload_writer_.Key(str, len, true);
      case mode::skip:
        return true;
      case mode::headers:
        header_key_ = std::string(text);
        if (rec_.msg.headers.count(header_key_) != 0) {
          return refuse("headers[" + printable(header_key_) + "]", "duplicate header name");
        }
        return true;
      case mode::top:
        key_ = std::string(text);
        if (const int bit = field_bit(key_); bit != 0) {
          if ((seen_ & bit) != 0)
            return refuse(key_, "appears twice");
          seen_ |= bit;
        }
        return true;
    }
    return false;
  }

  bool StartObject() { return start_container(true); }
  bool StartArray() { return start_container(false); }
  bool EndObject(rapidjson::SizeType n) { return end_container(true, n); }
  bool EndArray(rapidjson::SizeType n) { return end_container(false, n); }

  /// Set when a callback refused the line: the field and the problem.
  const std::optional<std::pair<std::string, std::string>>& problem() const noexcept {
    return problem_;
  }
  outbox_record& record() noexcept { return rec_; }
  std::string_view id_text() const noexcept { return id_; }
  std::string_view created_at_text() const noexcept { return created_at_; }
  std::string payload() const {
    return std::string(payload_buffer_.GetString(), payload_buffer_.GetSize());
  }
  /// Which required fields appeared, as a bit set of field_bit() values.
  int seen() const noexcept { return seen_; }

  static int field_bit(std::string_view key) noexcept {
    if (key == "id")
      return 1;
    if (key == "aggregatetype")
      return 2;
    if (key == "aggregateid")
      return 4;
    if (key == "type")
      return 8;
    if (key == "payload")
      return 16;
    if (key == "headers")
      return 32;
    if (key == "created_at")
      return 64;
    return 0;
  }

 private:
  /// top: between fields of the root object; payload: inside the payload value;
  /// headers: inside the headers object; skip: inside an unknown field's value.
  enum class mode { top, payload, headers, skip };

  std::string* string_field(std::string_view key) noexcept {
    if (key == "id")
      return &id_;
    if (key == "aggregatetype")
      return &rec_.msg.aggregate_type;
    if (key == "aggregateid")
      return &rec_.msg.aggregate_id;
    if (key == "type")
      return &rec_.msg.type;
    if (key == "created_at")
      return &created_at_;
    return nullptr;
  }

  bool refuse(std::string field, std::string problem) {
    problem_.emplace(std::move(field), std::move(problem));
    return false;
  }

  std::string current_field() const {
    if (mode_ == mode::headers)
      return "headers[" + printable(header_key_) + "]";
    if (depth_ == 0)
      return "line";
    return mode_ == mode::payload ? "payload" : key_;
  }

  bool check_string(std::string_view text) {
    if (const char* why = string_problem(text)) {
      return refuse(current_field(), std::string("string ending at offset ") +
                                         std::to_string(stream_.Tell()) + " " + why);
    }
    return true;
  }

  /// A non-container value: part of the payload, a header value, a field, or skipped.
  template <class WritePayload>
  bool scalar(const char* kind, WritePayload&& write_payload) {
    switch (mode_) {
      case mode::payload:
        return write_payload();
      case mode::skip:
        return true;
      case mode::headers:
        return refuse(current_field(), std::string("must be a string, not ") + kind);
      case mode::top:
        break;
    }
    if (depth_ == 0)
      return refuse("line", "must be a JSON object");
    if (key_ == "payload")
      return write_payload();
    if (field_bit(key_) != 0) {
      return refuse(key_, key_ == "headers"
                              ? std::string("must be an object of strings, not ") + kind
                              : std::string("must be a string, not ") + kind);
    }
    return true;  // an unknown field: ignored, so newer writers can add fields
  }

  bool start_container(bool object) {
    switch (mode_) {
      case mode::payload:
        ++payload_depth_;
        return object ? payload_writer_.StartObject() : payload_writer_.StartArray();
      case mode::skip:
        ++skip_depth_;
        return true;
      case mode::headers:
        return refuse(current_field(),
                      std::string("must be a string, not an ") + (object ? "object" : "array"));
      case mode::top:
        break;
    }
    if (depth_ == 0) {
      if (!object)
        return refuse("line", "must be a JSON object, not an array");
      depth_ = 1;
      return true;
    }
    if (key_ == "payload") {
      mode_ = mode::payload;
      payload_depth_ = 1;
      return object ? payload_writer_.StartObject() : payload_writer_.StartArray();
    }
    if (key_ == "headers") {
      if (!object)
        return refuse("headers", "must be an object of strings, not an array");
      mode_ = mode::headers;
      return true;
    }
    if (field_bit(key_) != 0) {
      return refuse(key_, std::string("must be a string, not an ") + (object ? "object" : "array"));
    }
    mode_ = mode::skip;
    skip_depth_ = 1;
    return true;
  }

  bool end_container(bool object, rapidjson::SizeType n) {
    switch (mode_) {
      case mode::payload: {
        const bool ok = object ? payload_writer_.EndObject(n) : payload_writer_.EndArray(n);
        if (--payload_depth_ == 0)
          mode_ = mode::top;
        return ok;
      }
      case mode::skip:
        if (--skip_depth_ == 0)
          mode_ = mode::top;
        return true;
      case mode::headers:
        mode_ = mode::top;
        return true;
      case mode::top:
        depth_ = 0;  // the root object closed; kParseStopWhenDoneFlag ends the parse
        return true;
    }
    return false;
  }

  const rapidjson::MemoryStream& stream_;
  rapidjson::StringBuffer payload_buffer_;
  json_writer payload_writer_;
  outbox_record rec_;
  std::string id_;
  std::string created_at_;
  std::string key_;
  std::string header_key_;
  mode mode_ = mode::top;
  int depth_ = 0;  // 1 while inside the root object
  std::size_t payload_depth_ = 0;
  std::size_t skip_depth_ = 0;
  int seen_ = 0;
  std::optional<std::pair<std::string, std::string>> problem_;
};

}  // namespace

}  // namespace detail

std::string to_json_line(const outbox_record& rec) {
  // Trim surrounding whitespace; a payload with line breaks between tokens is compacted,
  // since the envelope must stay on one line (raw CR/LF cannot occur inside JSON strings).
  std::string_view payload = rec.msg.payload;
  while (!payload.empty() && detail::is_json_space(payload.front()))
    payload.remove_prefix(1);
  while (!payload.empty() && detail::is_json_space(payload.back()))
    payload.remove_suffix(1);
  rapidjson::StringBuffer compact;
  if (payload.empty()) {
    throw usage_error(errc::malformed_input, "payload", "payload: empty, not a JSON value");
  }
  if (payload.find('\0') != std::string_view::npos) {  // would corrupt the raw copy below
    throw usage_error(errc::malformed_input, "payload", "payload: contains a NUL byte");
  }
  if (payload.find_first_of("\r\n") != std::string_view::npos) {
    detail::json_writer compact_writer(compact);
    if (auto problem = detail::check_json(payload, &compact_writer)) {
      throw usage_error(errc::malformed_input, "payload", "payload: " + problem->reason);
    }
    payload = std::string_view(compact.GetString(), compact.GetSize());
  }

  rapidjson::StringBuffer buffer;
  detail::json_writer w(buffer);
  const auto put = [&w](std::string_view key, std::string_view value) {
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()), true);
  };
  w.StartObject();
  put("id", rec.msg.id.to_string());
  put("aggregatetype", rec.msg.aggregate_type);
  put("aggregateid", rec.msg.aggregate_id);
  put("type", rec.msg.type);
  w.Key("payload");
  w.RawValue(payload.data(), payload.size(), rapidjson::kObjectType);
  w.Key("headers");
  w.StartObject();
  for (const auto& [name, value] : rec.msg.headers)
    put(name, value);
  w.EndObject();
  put("created_at", detail::format_rfc3339(rec.created_at));
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

outbox_record parse_json_line(std::string_view line) {
  rapidjson::MemoryStream stream(line.data(), line.size());
  detail::envelope_handler handler(stream);
  rapidjson::Reader reader;
  const rapidjson::ParseResult result = reader.Parse<detail::strict_parse_flags>(stream, handler);
  if (result.IsError()) {
    if (const auto& problem = handler.problem())
      detail::fail(problem->first, problem->second);
    detail::fail("line", "not valid JSON at offset " + std::to_string(result.Offset()) + ": " +
                             rapidjson::GetParseError_En(result.Code()));
  }
  for (std::size_t i = stream.Tell(); i < line.size(); ++i) {
    if (!detail::is_json_space(line[i])) {
      detail::fail("line",
                   "unexpected text at offset " + std::to_string(i) + " after the JSON object");
    }
  }

  for (const char* field :
       {"id", "aggregatetype", "aggregateid", "type", "payload", "created_at"}) {
    if ((handler.seen() & detail::envelope_handler::field_bit(field)) == 0) {
      detail::fail(field, "missing");
    }
  }

  outbox_record rec = std::move(handler.record());
  const auto id = message_id::try_parse(handler.id_text());
  if (!id) {
    detail::fail("id", "\"" + detail::printable(handler.id_text()) +
                           "\" is not a UUID (expected 8-4-4-4-12 hex digits)");
  }
  if (id->is_nil())
    detail::fail("id", "must not be the nil UUID");
  rec.msg.id = *id;

  const auto created_at = detail::parse_rfc3339(handler.created_at_text());
  if (!created_at) {
    detail::fail("created_at", "\"" + detail::printable(handler.created_at_text()) +
                                   "\" is not an RFC 3339 timestamp "
                                   "(expected e.g. 2026-11-21T10:00:00.123456Z)");
  }
  rec.created_at = *created_at;
  rec.msg.payload = handler.payload();
  return rec;
}

}  // namespace txoutbox
