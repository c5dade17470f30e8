// Tests of message validation: every rule accepted and rejected, with the field named.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "txoutbox/error.hpp"
#include "txoutbox/identifier.hpp"
#include "txoutbox/validation.hpp"

using txoutbox::errc;
using txoutbox::is_clean_utf8;
using txoutbox::is_valid_json;
using txoutbox::message;
using txoutbox::usage_error;
using txoutbox::validate;
using txoutbox::validation_options;

namespace {

message good() {
  // Assigned member by member: g++ 12 -Wextra warns on designated initializers that
  // leave members out (-Wmissing-field-initializers), and the build uses -Werror.
  message m;
  m.aggregate_type = "order";
  m.aggregate_id = "42";
  m.type = "OrderPlaced";
  m.payload = R"({"total":10,"items":["a","b"]})";
  m.headers = {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  return m;
}

/// The usage_error validate() throws, or a failed test when it throws nothing.
usage_error rejection(const message& m, const validation_options& options = {}) {
  try {
    validate(m, options);
  } catch (const usage_error& e) {
    return e;
  }
  FAIL("validate accepted the message");
  throw std::logic_error("unreachable");
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// Bytes that break strict UTF-8, each with a label for the failure report.
const std::vector<std::pair<const char*, std::string>>& bad_utf8() {
  static const std::vector<std::pair<const char*, std::string>> cases = {
      {"overlong 2-byte '/'", "a\xc0\xaf"},
      {"overlong 2-byte NUL", "a\xc0\x80"},
      {"C1 lead", "a\xc1\xbf"},
      {"overlong 3-byte", "a\xe0\x80\xaf"},
      {"overlong 3-byte high", "a\xe0\x9f\xbf"},
      {"overlong 4-byte", "a\xf0\x80\x80\xaf"},
      {"overlong 4-byte high", "a\xf0\x8f\xbf\xbf"},
      {"UTF-8 encoded high surrogate D800", "a\xed\xa0\x80"},
      {"UTF-8 encoded low surrogate DFFF", "a\xed\xbf\xbf"},
      {"encoded surrogate pair", "a\xed\xa0\xbd\xed\xb8\x80"},
      {"above U+10FFFF", "a\xf4\x90\x80\x80"},
      {"F5 lead", "a\xf5\x80\x80\x80"},
      {"FF byte", "a\xff"},
      {"FE byte", "a\xfe"},
      {"lone continuation", "a\x80"},
      {"truncated 2-byte at end", "a\xc3"},
      {"truncated 3-byte at end", "a\xe2\x82"},
      {"truncated 4-byte at end", "a\xf0\x9f\x98"},
      {"truncated 3-byte before ASCII", "a\xe2\x82z"},
      {"truncated 4-byte before ASCII", "\xf0\x9f\x98z"},
  };
  return cases;
}

}  // namespace

TEST_CASE("a well-formed message passes validation", "[validation]") {
  CHECK_NOTHROW(validate(good()));
  auto m = good();
  m.headers.clear();
  m.deliver_after = std::chrono::milliseconds(0);
  CHECK_NOTHROW(validate(m));
  m.deliver_after = std::chrono::milliseconds(5000);
  CHECK_NOTHROW(validate(m));
  m.id = txoutbox::message_id::generate();
  CHECK_NOTHROW(validate(m));
  // Multi-byte UTF-8 in every text field, 2-, 3- and 4-byte sequences at the limits.
  m.aggregate_type = "\xc3\xa6rende";
  m.aggregate_id = "\xe6\xb3\xa8\xe6\x96\x87-7 \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf";
  // U+00A0, the first 2-byte code point that is not a C1 control (U+0080..U+009F are
  // refused in routing fields since they are control characters; see the test below).
  m.type = "Bestellung\xc2\xa0";
  m.payload =
      "\"\xf0\x9f\x98\x80 \xed\x9f\xbf \xee\x80\x80\"";  // U+D7FF and U+E000 bracket surrogates
  m.headers = {{"x-note", "caf\xc3\xa9 \t tabs and spaces are fine"}};
  CHECK_NOTHROW(validate(m));
}

TEST_CASE("empty routing fields are rejected naming the field", "[validation][routing]") {
  for (const char* field : {"aggregate_type", "aggregate_id", "type"}) {
    auto m = good();
    if (std::string(field) == "aggregate_type")
      m.aggregate_type.clear();
    if (std::string(field) == "aggregate_id")
      m.aggregate_id.clear();
    if (std::string(field) == "type")
      m.type.clear();
    const auto e = rejection(m);
    CHECK(e.code() == errc::invalid_message);
    CHECK(e.field() == field);
    CHECK(std::string(e.what()) == std::string(field) + ": must not be empty");
  }
}

TEST_CASE("routing fields over max_field_bytes are rejected, at the limit accepted",
          "[validation][routing]") {
  const validation_options options{.max_field_bytes = 12};
  auto m = good();
  m.aggregate_id = std::string(12, 'k');
  CHECK_NOTHROW(validate(m, options));
  m.aggregate_id = std::string(13, 'k');
  auto e = rejection(m, options);
  CHECK(e.field() == "aggregate_id");
  CHECK(std::string(e.what()) == "aggregate_id: 13 bytes exceeds the limit of 12");

  // The limit counts bytes, not characters: 4 x 3-byte characters fit, 5 characters do not.
  m = good();
  m.type = "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac";
  CHECK_NOTHROW(validate(m, options));
  m.type += "x";
  e = rejection(m, options);
  CHECK(e.field() == "type");

  m = good();
  m.aggregate_type = std::string(256, 't');  // default limit 255
  CHECK(rejection(m).field() == "aggregate_type");
  m.aggregate_type = std::string(255, 't');
  CHECK_NOTHROW(validate(m));
}

TEST_CASE("NUL inside a routing field is rejected with its offset", "[validation][routing][utf8]") {
  auto m = good();
  m.aggregate_id = std::string("ord\0er", 6);
  auto e = rejection(m);
  CHECK(e.code() == errc::invalid_message);
  CHECK(e.field() == "aggregate_id");
  CHECK(std::string(e.what()) == "aggregate_id: contains a NUL byte at offset 3");

  m = good();
  m.type = std::string("\0", 1);
  CHECK(rejection(m).field() == "type");
  m = good();
  m.aggregate_type = std::string("order\0", 6);
  CHECK(rejection(m).field() == "aggregate_type");
}

TEST_CASE("control characters in a routing field are rejected naming the field and code point",
          "[validation][routing][injection]") {
  struct sample {
    std::string value;
    std::string expected;
  };
  const std::vector<sample> samples = {
      {"o1\r\nX-Injected: 1", "contains the control character U+000D at offset 2"},
      {"o1\nX", "contains the control character U+000A at offset 2"},
      {"a\tb", "contains the control character U+0009 at offset 1"},
      {"del\x7f", "contains the control character U+007F at offset 3"},
      {"c1\xc2\x85next", "contains the control character U+0085 at offset 2"},
      {"\xc2\x9f", "contains the control character U+009F at offset 0"},
      {"x\x1b[31m", "contains the control character U+001B at offset 1"},
  };
  for (const auto& [value, expected] : samples) {
    for (const std::string field : {"aggregate_type", "aggregate_id", "type"}) {
      INFO(field << " = " << expected);
      auto m = good();
      (field == "aggregate_type" ? m.aggregate_type
       : field == "aggregate_id" ? m.aggregate_id
                                 : m.type) = value;
      const auto e = rejection(m);
      CHECK(e.code() == errc::invalid_message);
      CHECK(e.field() == field);
      CHECK(std::string(e.what()) == field + ": " + expected);
    }
  }
}

TEST_CASE("non-ASCII routing fields without control characters stay valid",
          "[validation][routing][utf8]") {
  // U+00A0 (0xC2 0xA0) sits right after the C1 range; U+0100 starts with 0xC4.
  for (const std::string value : {"caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "nb\xc2\xa0sp",
                                  "\xc4\x80", "emoji\xf0\x9f\x98\x80", "printable ~!@#$%^&*()"}) {
    auto m = good();
    m.aggregate_id = value;
    m.aggregate_type = value;
    m.type = value;
    CHECK_NOTHROW(validate(m));
  }
}

TEST_CASE("invalid UTF-8 in a routing field is rejected", "[validation][routing][utf8]") {
  for (const auto& [label, bytes] : bad_utf8()) {
    INFO(label);
    for (const char* field : {"aggregate_type", "aggregate_id", "type"}) {
      auto m = good();
      if (std::string(field) == "aggregate_type")
        m.aggregate_type = bytes;
      if (std::string(field) == "aggregate_id")
        m.aggregate_id = bytes;
      if (std::string(field) == "type")
        m.type = bytes;
      const auto e = rejection(m);
      CHECK(e.field() == field);
      CHECK(contains(e.what(), "not valid UTF-8 at offset"));
    }
  }
  auto m = good();
  m.aggregate_id = "ok\xe2\x82";
  CHECK(std::string(rejection(m).what()) == "aggregate_id: not valid UTF-8 at offset 2");
}

TEST_CASE("is_clean_utf8 accepts valid text and refuses NUL and malformed bytes", "[utf8]") {
  CHECK(is_clean_utf8(""));
  CHECK(is_clean_utf8("plain ascii ~"));
  CHECK(is_clean_utf8("\x7f"));
  CHECK(is_clean_utf8("\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf"));
  CHECK(is_clean_utf8("\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf"));
  CHECK_FALSE(is_clean_utf8(std::string("a\0b", 3)));
  for (const auto& [label, bytes] : bad_utf8()) {
    INFO(label);
    CHECK_FALSE(is_clean_utf8(bytes));
  }
}

TEST_CASE("payloads that are valid JSON values are accepted", "[validation][payload]") {
  for (const char* payload : {"{}", "[]", "null", "true", "false", "0", "-0", "1.5e-3", "-12E+2",
                              "\"text\"", " \t\r\n{\"a\" : [1, {\"b\": null}]} \n",
                              R"({"a":1,"a":2})", R"({"esc":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"})",
                              "123456789012345678901234567890", "[1e308]"}) {
    INFO(payload);
    auto m = good();
    m.payload = payload;
    CHECK_NOTHROW(validate(m));
    CHECK(is_valid_json(payload));
  }
}

TEST_CASE("payloads that are not valid JSON are rejected with the offset",
          "[validation][payload]") {
  const std::vector<std::string> bad = {
      "",
      "   ",
      "{",
      "{\"a\":1,}",
      "[1,2",
      "{'a':1}",
      "{a:1}",
      "undefined",
      "NaN",
      "01",
      "1.",
      ".5",
      "+1",
      "0x10",
      "\"unterminated",
      "\"raw\ttab\"",
      "\"raw\nnewline\"",
      "{} {}",
      "{}x",
      "[1] ]",
      "[\"\\x41\"]",
      "[\"\\ud83d\"]",         // lone high surrogate escape
      "[\"\\ud83dabc\"]",      // high surrogate followed by text
      "[\"\\ud83d\\u0041\"]",  // high surrogate followed by a non-surrogate escape
      std::string("{}\0", 3),
      std::string("[1,\0 2]", 7),
      std::string("\"a\0b\"", 5),
      "\xef\xbb\xbf{}",  // a byte-order mark is not JSON
  };
  for (const auto& payload : bad) {
    INFO("payload: " << payload);
    auto m = good();
    m.payload = payload;
    const auto e = rejection(m);
    CHECK(e.code() == errc::invalid_message);
    CHECK(e.field() == "payload");
    CHECK(std::string(e.what()).rfind("payload: ", 0) == 0);
    CHECK_FALSE(is_valid_json(payload));
  }
  auto m = good();
  m.payload = R"({"total": 10, "items": [1 2]})";
  const std::string what = rejection(m).what();
  CHECK(what.rfind("payload: not valid JSON at offset 26: ", 0) == 0);
}

TEST_CASE("numbers beyond the range of a double are refused, big integers kept",
          "[validation][payload]") {
  // A documented limit of RapidJSON 1.1 even with numbers kept as text: an exponent past
  // double range is "too big" (PostgreSQL numeric would take it). Underflow is fine.
  CHECK_FALSE(is_valid_json("1e400"));
  CHECK_FALSE(is_valid_json("[-1e400]"));
  CHECK(is_valid_json("1e-400"));
  CHECK(is_valid_json("123456789012345678901234567890123456789012345678901234567890"));
  auto m = good();
  m.payload = R"({"n":1e400})";
  const auto e = rejection(m);
  CHECK(e.field() == "payload");
  CHECK(contains(e.what(), "not valid JSON at offset"));
}

TEST_CASE("payload strings with an escaped NUL (u0000) or a lone low surrogate are rejected",
          "[validation][payload][utf8]") {
  const std::vector<std::string> bad = {
      R"(["\u0000"])",
      R"({"a\u0000b":1})",
      R"("x\u0000")",
      R"(["\udc00"])",
      R"(["\uDFFF"])",
      R"({"\udc80":true})",
      R"(["ok", {"deep": ["\udead"]}])",
  };
  for (const auto& payload : bad) {
    INFO("payload: " << payload);
    auto m = good();
    m.payload = payload;
    const auto e = rejection(m);
    CHECK(e.field() == "payload");
    CHECK_FALSE(is_valid_json(payload));
  }
  auto m = good();
  m.payload = R"(["\u0000"])";
  CHECK(contains(rejection(m).what(), "\\u0000 (NUL)"));
  m.payload = R"(["\udc00"])";
  CHECK(contains(rejection(m).what(), "lone surrogate"));
}

TEST_CASE("raw invalid UTF-8 inside payload strings is rejected", "[validation][payload][utf8]") {
  for (const auto& [label, bytes] : bad_utf8()) {
    INFO(label);
    auto m = good();
    m.payload = "[\"" + bytes + "\"]";
    CHECK(rejection(m).field() == "payload");
    m.payload = "{\"" + bytes + "\":1}";
    CHECK(rejection(m).field() == "payload");
  }
}

TEST_CASE("payload over max_payload_bytes is payload_too_large, at the limit accepted",
          "[validation][payload]") {
  const validation_options options{.max_payload_bytes = 12};
  auto m = good();
  m.payload = R"({"a":"1234"})";  // 12 bytes
  CHECK_NOTHROW(validate(m, options));
  m.payload = R"({"a":"12345"})";
  const auto e = rejection(m, options);
  CHECK(e.code() == errc::payload_too_large);
  CHECK(e.field() == "payload");
  CHECK(std::string(e.what()) == "payload: 13 bytes exceeds the limit of 12");

  // The default cap (900,000) holds a 1 MiB payload back before any parsing.
  m.payload = "\"" + std::string(1 << 20, 'x') + "\"";
  CHECK(rejection(m).code() == errc::payload_too_large);
}

TEST_CASE("1 MiB of nested brackets neither crashes nor recurses", "[validation][payload][deep]") {
  const std::size_t n = 1 << 20;
  auto m = good();
  m.payload = std::string(n, '[');
  // Under the default cap it is too large.
  CHECK(rejection(m).code() == errc::payload_too_large);
  // With the cap raised the iterative parser reaches the end and reports bad JSON.
  const validation_options big{.max_payload_bytes = 4 * n};
  const auto e = rejection(m, big);
  CHECK(e.code() == errc::invalid_message);
  CHECK(e.field() == "payload");
  CHECK_FALSE(is_valid_json(m.payload));
  // Same depth, well-formed: accepted, so depth itself is no limit.
  m.payload = std::string(n / 2, '[') + std::string(n / 2, ']');
  CHECK_NOTHROW(validate(m, big));
  CHECK(is_valid_json(m.payload));
  m.payload = std::string(n / 2, '{');
  CHECK_FALSE(is_valid_json(m.payload));
  std::string objects;
  for (std::size_t i = 0; i < n / 8; ++i)
    objects += "{\"a\":";
  objects += "1";
  objects += std::string(n / 8, '}');
  CHECK(is_valid_json(objects));
}

TEST_CASE("header names must be HTTP tokens", "[validation][headers]") {
  for (const char* name : {"x", "X-Trace-Id", "traceparent", "a!#$%&'*+-.^_`|~9"}) {
    INFO(name);
    auto m = good();
    m.headers = {{name, "v"}};
    CHECK_NOTHROW(validate(m));
  }
  const std::vector<std::string> bad = {
      "",
      "Bad Name",
      "a:b",
      "a/b",
      "(x)",
      "a,b",
      "a;b",
      "a=b",
      "\"q\"",
      "a@b",
      "[x]",
      "{x}",
      "a\\b",
      "a?b",
      "a\tb",
      "caf\xc3\xa9",
      std::string("a\0b", 3),
      "a\r\nb",
      "\x7f",
  };
  for (const auto& name : bad) {
    INFO("name: " << name);
    auto m = good();
    m.headers = {{name, "v"}};
    const auto e = rejection(m);
    CHECK(e.code() == errc::invalid_message);
    CHECK(e.field().rfind("headers[", 0) == 0);
    CHECK(contains(e.what(), "not an HTTP token"));
  }
  auto m = good();
  m.headers = {{"Bad Name", "v"}};
  const auto e = rejection(m);
  CHECK(e.field() == "headers[Bad Name]");
  CHECK(std::string(e.what()) == "headers[Bad Name]: not an HTTP token");
  // A control character in the name is shown escaped, never raw.
  m.headers = {{"a\nb", "v"}};
  CHECK(rejection(m).field() == "headers[a\\x0ab]");
}

TEST_CASE("reserved header names are rejected in any case", "[validation][headers]") {
  for (const char* name :
       {"content-type", "Content-Type", "CONTENT-LENGTH", "ce-id", "CE-Type", "ce-",
        "ce_specversion", "Ce_Id", "webhook-signature", "Webhook-Id", "WEBHOOK-"}) {
    INFO(name);
    auto m = good();
    m.headers = {{name, "v"}};
    const auto e = rejection(m);
    CHECK(e.field() == std::string("headers[") + name + "]");
    CHECK(contains(e.what(), "reserved"));
  }
  // Near misses are ordinary names.
  for (const char* name : {"content-typex", "xcontent-type", "content", "ce", "cex-id", "ceid",
                           "webhook", "webhooks-id", "x-ce-id"}) {
    INFO(name);
    auto m = good();
    m.headers = {{name, "v"}};
    CHECK_NOTHROW(validate(m));
  }
}

TEST_CASE("header names that differ only in case are duplicates", "[validation][headers]") {
  auto m = good();
  m.headers = {{"X-Trace", "1"}, {"x-trace", "2"}};
  const auto e = rejection(m);
  CHECK(e.code() == errc::invalid_message);
  // std::map orders "X-Trace" before "x-trace": the second one is named.
  CHECK(e.field() == "headers[x-trace]");
  CHECK(contains(e.what(), "duplicate of header \"X-Trace\""));
  m.headers = {{"X-Trace", "1"}, {"x-trace2", "2"}};
  CHECK_NOTHROW(validate(m));
}

TEST_CASE("header values may not hold CR, LF, NUL or invalid UTF-8", "[validation][headers]") {
  const std::vector<std::pair<std::string, std::string>> bad = {{"a\rb", "CR"},
                                                                {"a\nb", "LF"},
                                                                {"a\r\nInjected: yes", "CR"},
                                                                {std::string("a\0b", 3), "NUL"}};
  for (const auto& [value, what] : bad) {
    auto m = good();
    m.headers = {{"x-v", value}};
    const auto e = rejection(m);
    CHECK(e.field() == "headers[x-v]");
    CHECK(std::string(e.what()) == "headers[x-v]: value contains " + what + " at offset 1");
  }
  for (const auto& [label, bytes] : bad_utf8()) {
    INFO(label);
    auto m = good();
    m.headers = {{"x-v", bytes}};
    const auto e = rejection(m);
    CHECK(e.field() == "headers[x-v]");
    CHECK(contains(e.what(), "not valid UTF-8"));
  }
  auto m = good();
  m.headers = {{"x-v", ""}};  // an empty value is allowed
  CHECK_NOTHROW(validate(m));
}

TEST_CASE("a negative deliver_after is rejected", "[validation]") {
  auto m = good();
  m.deliver_after = std::chrono::milliseconds(-1);
  const auto e = rejection(m);
  CHECK(e.code() == errc::invalid_message);
  CHECK(e.field() == "deliver_after");
  CHECK(contains(e.what(), "deliver_after: must not be negative"));
}

TEST_CASE("SQL identifiers follow [A-Za-z_][A-Za-z0-9_]{0,62}", "[identifier]") {
  using txoutbox::check_identifier;
  using txoutbox::is_valid_identifier;
  for (const std::string& name :
       std::vector<std::string>{"a", "_", "outbox", "Outbox_2", "_x9", std::string(63, 'n')}) {
    INFO(name);
    CHECK(is_valid_identifier(name));
    CHECK_NOTHROW(check_identifier(name, "schema"));
  }
  for (const std::string& name :
       std::vector<std::string>{"", "9lives", "a-b", "a b", "a.b", "\"q\"", "a;drop", "caf\xc3\xa9",
                                std::string(64, 'n'), std::string("a\0", 2)}) {
    INFO(name);
    CHECK_FALSE(is_valid_identifier(name));
    try {
      check_identifier(name, "schema");
      FAIL("check_identifier accepted " << name);
    } catch (const usage_error& e) {
      CHECK(e.code() == errc::invalid_identifier);
      CHECK(e.field() == "schema");
      CHECK(std::string(e.what()).rfind("schema: ", 0) == 0);
    }
  }
}

TEST_CASE("error codes have stable names", "[error]") {
  CHECK(std::string(txoutbox::to_string(errc::invalid_message)) == "invalid_message");
  CHECK(std::string(txoutbox::to_string(errc::payload_too_large)) == "payload_too_large");
  CHECK(std::string(txoutbox::to_string(errc::malformed_input)) == "malformed_input");
  CHECK(std::string(txoutbox::to_string(errc::internal)) == "internal");
  CHECK(std::string(txoutbox::to_string(static_cast<errc>(999))) == "unknown");
}
