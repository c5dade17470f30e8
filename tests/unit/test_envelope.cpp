// Tests of the JSON-lines envelope: exact shape, round trip, and every parse error named.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <chrono>
#include <string>
#include <vector>

#include "txoutbox/envelope.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/validation.hpp"
#include "wire_format.hpp"

using namespace std::chrono;
using txoutbox::errc;
using txoutbox::message_id;
using txoutbox::outbox_record;
using txoutbox::parse_json_line;
using txoutbox::to_json_line;
using txoutbox::usage_error;

namespace {

/// 2026-11-21T10:00:00.123456Z
system_clock::time_point sample_time() {
  return sys_days{year{2026} / November / 21} + hours{10} + microseconds{123456};
}

outbox_record sample() {
  outbox_record rec;
  rec.msg.id = message_id::parse("0189a2b3-c4d5-7e6f-8a9b-0c1d2e3f4a5b");
  rec.msg.aggregate_type = "order";
  rec.msg.aggregate_id = "42";
  rec.msg.type = "OrderPlaced";
  rec.msg.payload = R"({"total":10.50,"items":["a","b"],"big":123456789012345678901234567890})";
  rec.msg.headers = {{"traceparent", "00-abc-01"}, {"x-note", "caf\xc3\xa9 \"quoted\""}};
  rec.seq = 77;
  rec.partition = 3;
  rec.attempts = 2;
  rec.created_at = sample_time();
  return rec;
}

/// Payloads compare as parsed JSON values, not as bytes.
bool same_json(const std::string& a, const std::string& b) {
  rapidjson::Document da, db;
  da.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag>(a.c_str());
  db.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag>(b.c_str());
  return !da.HasParseError() && !db.HasParseError() && da == db;
}

usage_error parse_error(const std::string& line) {
  try {
    parse_json_line(line);
  } catch (const usage_error& e) {
    return e;
  }
  FAIL("parse_json_line accepted: " << line);
  throw std::logic_error("unreachable");
}

const std::string id_text = "0189a2b3-c4d5-7e6f-8a9b-0c1d2e3f4a5b";

/// A valid line with one field's raw JSON replaced (or removed when value is empty).
std::string line_with(const std::string& field, const std::string& value) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"id", "\"" + id_text + "\""},
      {"aggregatetype", "\"order\""},
      {"aggregateid", "\"42\""},
      {"type", "\"OrderPlaced\""},
      {"payload", "{\"a\":1}"},
      {"headers", "{\"x\":\"y\"}"},
      {"created_at", "\"2026-11-21T10:00:00.123456Z\""},
  };
  std::string out = "{";
  for (const auto& [name, raw] : fields) {
    const std::string& v = name == field ? value : raw;
    if (v.empty())
      continue;
    if (out.size() > 1)
      out += ",";
    out += "\"" + name + "\":" + v;
  }
  return out + "}";
}

}  // namespace

TEST_CASE("to_json_line writes the documented object on one line", "[envelope]") {
  const std::string line = to_json_line(sample());
  CHECK(line ==
        R"({"id":"0189a2b3-c4d5-7e6f-8a9b-0c1d2e3f4a5b","aggregatetype":"order",)"
        R"("aggregateid":"42","type":"OrderPlaced",)"
        R"("payload":{"total":10.50,"items":["a","b"],"big":123456789012345678901234567890},)"
        R"("headers":{"traceparent":"00-abc-01","x-note":"caf)"
        "\xc3\xa9"
        R"( \"quoted\""},"created_at":"2026-11-21T10:00:00.123456Z"})");
  CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("created_at is RFC 3339 UTC with microseconds, truncated", "[envelope][time]") {
  auto rec = sample();
  rec.created_at = sys_days{year{1970} / January / 1};
  CHECK(to_json_line(rec).find(R"("created_at":"1970-01-01T00:00:00.000000Z")") !=
        std::string::npos);
  rec.created_at = sys_days{year{2024} / February / 29} + hours{23} + minutes{59} + seconds{59} +
                   nanoseconds{999'999'999};
  CHECK(to_json_line(rec).find(R"("created_at":"2024-02-29T23:59:59.999999Z")") !=
        std::string::npos);
  rec.created_at = sys_days{year{1969} / December / 31} + hours{23} + microseconds{5};
  CHECK(to_json_line(rec).find(R"("created_at":"1969-12-31T23:00:00.000005Z")") !=
        std::string::npos);
}

TEST_CASE("to_json_line then parse_json_line gives the same record", "[envelope][roundtrip]") {
  auto rec = sample();
  SECTION("sample") {}
  SECTION("no headers, scalar payload") {
    rec.msg.headers.clear();
    rec.msg.payload = "\"just a string\"";
  }
  SECTION("unicode, escapes and control characters everywhere") {
    rec.msg.aggregate_type = "\xe6\xb3\xa8\xe6\x96\x87";
    rec.msg.aggregate_id = "key \"with\" \\ and \t tab \x01 and \xf0\x9f\x98\x80";
    rec.msg.type = "Type/\xc3\xa9";
    rec.msg.payload = R"({"s":"\u00e9\ud83d\ude00\n\"","n":[-0,1e2,1.0E-5,null,true,false]})";
    rec.msg.headers = {{"x-a", "\xe2\x82\xac"}, {"x-b", ""}};
  }
  SECTION("pretty-printed payload is compacted onto one line") {
    rec.msg.payload = "\n{\n  \"a\": [1,\r\n 2],\n  \"b\": {\"c\": \"line\\nbreak\"}\n}\n";
  }
  SECTION("deeply nested payload") {
    rec.msg.payload = std::string(10'000, '[') + std::string(10'000, ']');
  }
  SECTION("a time before the epoch") {
    rec.created_at = sys_days{year{1901} / March / 4} + microseconds{1};
  }
  const std::string line = to_json_line(rec);
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.find('\r') == std::string::npos);
  const auto back = parse_json_line(line);
  CHECK(back.msg.id == rec.msg.id);
  CHECK(back.msg.aggregate_type == rec.msg.aggregate_type);
  CHECK(back.msg.aggregate_id == rec.msg.aggregate_id);
  CHECK(back.msg.type == rec.msg.type);
  CHECK(back.msg.headers == rec.msg.headers);
  CHECK(back.created_at == rec.created_at);
  CHECK(same_json(back.msg.payload, rec.msg.payload));
  CHECK_FALSE(back.msg.deliver_after.has_value());
  // Not part of the envelope.
  CHECK(back.seq == 0);
  CHECK(back.partition == 0);
  CHECK(back.attempts == 0);
  // After one trip the line is canonical: a second trip is byte-identical.
  const std::string again = to_json_line(back);
  CHECK(to_json_line(parse_json_line(again)) == again);
}

TEST_CASE("parse_json_line keeps numbers byte for byte and compacts the payload",
          "[envelope][roundtrip]") {
  const auto rec = parse_json_line(line_with(
      "payload", R"( { "x" : 1.0 , "y" : [ 1e2 , -0 , 123456789012345678901234567890 ] } )"));
  CHECK(rec.msg.payload == R"({"x":1.0,"y":[1e2,-0,123456789012345678901234567890]})");
}

TEST_CASE("parse_json_line accepts a trailing newline and ignores unknown fields", "[envelope]") {
  const std::string line = to_json_line(sample());
  CHECK(parse_json_line(line + "\n").msg.id == sample().msg.id);
  CHECK(parse_json_line(line + "\r\n").msg.id == sample().msg.id);
  const auto rec = parse_json_line(
      R"({"future":{"a":[1,{"b":2}]},"id":")" + id_text +
      R"(","aggregatetype":"o","aggregateid":"1","type":"T","payload":[],"extra":[[]],)"
      R"("created_at":"2026-11-21T11:00:00.5+01:00","more":7})");
  CHECK(rec.msg.payload == "[]");
  CHECK(rec.msg.headers.empty());  // headers may be absent
  CHECK(rec.created_at == sys_days{year{2026} / November / 21} + hours{10} + milliseconds{500});
}

TEST_CASE("parse_json_line accepts RFC 3339 variants of created_at", "[envelope][time]") {
  const auto base = sys_days{year{2026} / November / 21} + hours{10};
  const std::vector<std::pair<std::string, system_clock::time_point>> ok = {
      {"2026-11-21T10:00:00Z", base},
      {"2026-11-21t10:00:00z", base},
      {"2026-11-21T10:00:00.1Z", base + milliseconds{100}},
      {"2026-11-21T10:00:00.123456789Z", base + nanoseconds{123456789}},
      {"2026-11-21T12:30:00+02:30", base},
      {"2026-11-21T07:00:00-03:00", base},
      {"2026-11-22T00:00:00+14:00", base},
  };
  for (const auto& [text, expected] : ok) {
    INFO(text);
    CHECK(parse_json_line(line_with("created_at", "\"" + text + "\"")).created_at == expected);
  }
}

TEST_CASE("parse_json_line rejects bad created_at values", "[envelope][time]") {
  for (const char* text :
       {"", "2026-11-21", "2026-11-21T10:00:00", "2026-11-21 10:00:00Z", "2026-11-21T10:00Z",
        "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-31T00:00:00Z",
        "2026-11-21T24:00:00Z", "2026-11-21T10:60:00Z", "2026-11-21T10:00:60Z",
        "2026-11-21T10:00:00.Z", "2026-11-21T10:00:00.1234567890Z", "2026-11-21T10:00:00+0100",
        "2026-11-21T10:00:00+01", "2026-11-21T10:00:00Zjunk", "26-11-21T10:00:00Z",
        "2026-1-21T10:00:00Z", "+026-11-21T10:00:00Z", "1700000000",
        // Outside what system_clock (int64 nanoseconds) holds: refused, never overflowed.
        "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1600-01-01T00:00:00Z",
        "2300-01-01T00:00:00Z"}) {
    INFO(text);
    const auto e = parse_error(line_with("created_at", "\"" + std::string(text) + "\""));
    CHECK(e.code() == errc::malformed_input);
    CHECK(e.field() == "created_at");
    CHECK(std::string(e.what()).rfind("created_at: ", 0) == 0);
  }
}

TEST_CASE("parse_json_line names a missing field", "[envelope][errors]") {
  for (const char* field :
       {"id", "aggregatetype", "aggregateid", "type", "payload", "created_at"}) {
    INFO(field);
    const auto e = parse_error(line_with(field, ""));
    CHECK(e.code() == errc::malformed_input);
    CHECK(e.field() == field);
    CHECK(std::string(e.what()) == std::string(field) + ": missing");
  }
}

TEST_CASE("parse_json_line names a field of the wrong type", "[envelope][errors]") {
  for (const char* field : {"id", "aggregatetype", "aggregateid", "type", "created_at"}) {
    for (const char* value : {"1", "null", "true", "[]", "{}"}) {
      INFO(field << " = " << value);
      const auto e = parse_error(line_with(field, value));
      CHECK(e.field() == field);
      CHECK(std::string(e.what()).find("must be a string") != std::string::npos);
    }
  }
  for (const char* value : {"1", "null", "\"x\"", "[]", "[\"a\"]"}) {
    INFO("headers = " << value);
    const auto e = parse_error(line_with("headers", value));
    CHECK(e.field() == "headers");
    CHECK(std::string(e.what()).find("object of strings") != std::string::npos);
  }
  for (const char* value :
       {R"({"x":1})", R"({"x":null})", R"({"x":{}})", R"({"x":["y"]})", R"({"x":false})"}) {
    INFO("headers = " << value);
    const auto e = parse_error(line_with("headers", value));
    CHECK(e.code() == errc::malformed_input);
    CHECK(e.field() == "headers[x]");
    CHECK(std::string(e.what()).rfind("headers[x]: must be a string", 0) == 0);
  }
}

TEST_CASE("parse_json_line rejects a bad or nil id", "[envelope][errors]") {
  for (const char* value : {"\"\"", "\"not-a-uuid\"", "\"0189a2b3c4d57e6f8a9b0c1d2e3f4a5b\"",
                            "\"00000000-0000-0000-0000-000000000000\""}) {
    INFO(value);
    const auto e = parse_error(line_with("id", value));
    CHECK(e.code() == errc::malformed_input);
    CHECK(e.field() == "id");
  }
  CHECK(
      std::string(parse_error(line_with("id", "\"nope\"")).what()).find("\"nope\" is not a UUID") !=
      std::string::npos);
}

TEST_CASE("parse_json_line rejects lines that are not one JSON object", "[envelope][errors]") {
  const std::string good = line_with("", "");
  CHECK_NOTHROW(parse_json_line(good));
  for (const std::string& line :
       {std::string(""), std::string("\n"), std::string("[]"), std::string("\"text\""),
        std::string("42"), std::string("null"), good.substr(0, good.size() - 1), good + good,
        good + "x", good + "\n{}", std::string("{\"id\":")}) {
    INFO(line);
    const auto e = parse_error(line);
    CHECK(e.code() == errc::malformed_input);
    CHECK(e.field() == "line");
  }
  // Duplicate fields are ambiguous: refused rather than guessed.
  const auto e = parse_error(line_with("type", "\"A\",\"type\":\"B\""));
  CHECK(e.field() == "type");
  CHECK(std::string(e.what()) == "type: appears twice");
  const auto h = parse_error(line_with("headers", R"({"x":"1","x":"2"})"));
  CHECK(h.field() == "headers[x]");
}

TEST_CASE("parse_json_line rejects NUL, lone surrogates and invalid UTF-8",
          "[envelope][errors][utf8]") {
  auto e = parse_error(line_with("aggregateid", R"("a\u0000b")"));
  CHECK(e.field() == "aggregateid");
  CHECK(std::string(e.what()).find("\\u0000 (NUL)") != std::string::npos);
  e = parse_error(line_with("type", R"("\udc00")"));
  CHECK(e.field() == "type");
  e = parse_error(line_with("payload", R"({"k":["\u0000"]})"));
  CHECK(e.field() == "payload");
  e = parse_error(line_with("payload", R"({"\udfff":1})"));
  CHECK(e.field() == "payload");
  e = parse_error(line_with("headers", R"({"x":"\u0000"})"));
  CHECK(e.field() == "headers[x]");
  e = parse_error(line_with("headers", R"({"\u0000":"v"})"));
  CHECK(e.field().rfind("headers", 0) == 0);
  // Raw bytes that are not UTF-8 (overlong '/', encoded surrogate): a parse error of the line.
  e = parse_error(line_with("aggregateid", "\"a\xc0\xaf\""));
  CHECK(e.field() == "line");
  e = parse_error(line_with("aggregateid", "\"a\xed\xa0\x80\""));
  CHECK(e.field() == "line");
  // A raw NUL byte inside the line is never taken as its end.
  e = parse_error(std::string("{\"id\":\"x\0", 9));
  CHECK(e.field() == "line");
}

TEST_CASE("headers read from a column with lone surrogate escapes stay valid UTF-8",
          "[envelope][headers][utf8]") {
  // A foreign writer's headers column (SQLite and MariaDB keep any text): RapidJSON 1.1
  // decodes \udc00 into bytes that are not UTF-8. Found by tests/fuzz/fuzz_headers_json.
  const auto headers =
      txoutbox::detail::headers_from_json(R"({"k":"a\udc00b","\udfff":"v","o":["\udc00"]})");
  REQUIRE(headers.size() == 3);
  for (const auto& [name, value] : headers) {
    CHECK(txoutbox::is_clean_utf8(name));
    CHECK(txoutbox::is_clean_utf8(value));
  }
  CHECK(headers.at("k") == "a???b");
  CHECK(headers.at("o") == R"(["???"])");
  // The file and stdout publishers write such a record; the line must read back.
  auto rec = sample();
  rec.msg.headers = headers;
  CHECK(parse_json_line(to_json_line(rec)).msg.headers == headers);
}

TEST_CASE("a 1 MiB line of brackets neither crashes nor recurses", "[envelope][deep]") {
  const auto e = parse_error(std::string(1 << 20, '['));
  CHECK(e.field() == "line");
  const std::string deep = std::string(1 << 19, '[') + std::string(1 << 19, ']');
  const auto rec = parse_json_line(line_with("payload", deep));
  CHECK(rec.msg.payload == deep);
  const auto e2 = parse_error(line_with("payload", std::string(1 << 20, '{')));
  CHECK(e2.code() == errc::malformed_input);
}

TEST_CASE("to_json_line refuses an empty or broken payload", "[envelope][errors]") {
  auto rec = sample();
  rec.msg.payload = "  ";
  try {
    to_json_line(rec);
    FAIL("empty payload serialised");
  } catch (const usage_error& e) {
    CHECK(e.field() == "payload");
  }
  rec.msg.payload = std::string("{\"a\":\"\0\"}", 9);  // a raw NUL would corrupt the line
  try {
    to_json_line(rec);
    FAIL("payload with NUL serialised");
  } catch (const usage_error& e) {
    CHECK(e.field() == "payload");
  }
  rec.msg.payload = "{\n\"a\":";  // needs compaction, and the parse finds it broken
  try {
    to_json_line(rec);
    FAIL("broken payload serialised");
  } catch (const usage_error& e) {
    CHECK(e.field() == "payload");
  }
}
