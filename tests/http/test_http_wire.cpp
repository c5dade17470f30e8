// Unit tests of the HTTP publisher's Beast-free helpers: URLs, private address ranges,
// base64, signing, dates, header names and the CloudEvents header encoding.
#include <catch2/catch.hpp>
#include <chrono>

#include "http/detail.hpp"
#include "http/request_fields.hpp"
#include "txoutbox/error.hpp"

using namespace std::chrono_literals;
namespace d = txoutbox::http::detail;

TEST_CASE("http url parsing fills host, port, target and Host header", "[http][url]") {
  auto u = d::parse_url("http://Example.COM/hooks/orders?x=1");
  CHECK_FALSE(u.tls);
  CHECK(u.host == "example.com");
  CHECK(u.port == "80");
  CHECK(u.target == "/hooks/orders?x=1");
  CHECK(u.host_header == "example.com");
  CHECK_FALSE(u.host_is_ip);

  u = d::parse_url("https://10.1.2.3:8443");
  CHECK(u.tls);
  CHECK(u.port == "8443");
  CHECK(u.target == "/");
  CHECK(u.host_header == "10.1.2.3:8443");
  CHECK(u.host_is_ip);

  u = d::parse_url("https://[::1]:9000/h");
  CHECK(u.host == "::1");
  CHECK(u.host_is_ip);
  CHECK(u.host_header == "[::1]:9000");

  u = d::parse_url("HTTPS://h.example:443?q");
  CHECK(u.host_header == "h.example");
  CHECK(u.target == "/?q");
}

TEST_CASE("http private ranges cover loopback, RFC 1918, link-local and ULA", "[http][ssrf]") {
  CHECK(d::is_private_v4({127, 0, 0, 1}));
  CHECK(d::is_private_v4({127, 255, 1, 2}));
  CHECK(d::is_private_v4({10, 9, 8, 7}));
  CHECK(d::is_private_v4({172, 16, 0, 1}));
  CHECK(d::is_private_v4({172, 31, 255, 255}));
  CHECK_FALSE(d::is_private_v4({172, 32, 0, 1}));
  CHECK(d::is_private_v4({192, 168, 1, 1}));
  CHECK(d::is_private_v4({169, 254, 169, 254}));
  CHECK(d::is_private_v4({0, 0, 0, 0}));
  CHECK_FALSE(d::is_private_v4({93, 184, 216, 34}));
  CHECK_FALSE(d::is_private_v4({8, 8, 8, 8}));
  std::array<std::uint8_t, 16> v6{};
  CHECK(d::is_private_v6(v6));  // ::
  v6[15] = 1;
  CHECK(d::is_private_v6(v6));  // ::1
  std::array<std::uint8_t, 16> ula{0xfd, 0x12};
  CHECK(d::is_private_v6(ula));
  std::array<std::uint8_t, 16> link{0xfe, 0x80};
  CHECK(d::is_private_v6(link));
  std::array<std::uint8_t, 16> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
  CHECK(d::is_private_v6(mapped));
  mapped[12] = 8;
  mapped[13] = 8;
  mapped[14] = 8;
  mapped[15] = 8;
  CHECK_FALSE(d::is_private_v6(mapped));
  std::array<std::uint8_t, 16> global{0x20, 0x01, 0x0d, 0xb8};
  CHECK_FALSE(d::is_private_v6(global));
}

TEST_CASE("http base64 matches RFC 4648 vectors and decodes strictly", "[http][signing]") {
  CHECK(d::base64_encode("") == "");
  CHECK(d::base64_encode("f") == "Zg==");
  CHECK(d::base64_encode("fo") == "Zm8=");
  CHECK(d::base64_encode("foo") == "Zm9v");
  CHECK(d::base64_encode("foobar") == "Zm9vYmFy");
  CHECK(d::base64_decode("Zm9vYmE=") == std::optional<std::string>("fooba"));
  CHECK(d::base64_decode("Zm9vYmE") == std::optional<std::string>("fooba"));
  CHECK_FALSE(d::base64_decode("Zm9v!mE=").has_value());
  CHECK_FALSE(d::base64_decode("Z").has_value());
}

TEST_CASE("http signing matches the Standard Webhooks reference vector", "[http][signing]") {
  // From the standard-webhooks specification's test suite.
  const std::string key = d::decode_signing_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  CHECK(d::webhook_signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                             R"({"test": 2432232314})") ==
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST_CASE("http rfc3339 formatting is UTC with microseconds", "[http][wire]") {
  using namespace std::chrono;
  CHECK(d::format_rfc3339(sys_days{year{2024} / 2 / 29} + 23h + 59min + 59s + 7us) ==
        "2024-02-29T23:59:59.000007Z");
  CHECK(d::format_rfc3339(system_clock::time_point{}) == "1970-01-01T00:00:00.000000Z");
}

TEST_CASE("http framing headers are recognised in any case", "[http][wire]") {
  CHECK(d::is_framing_header("Host"));
  CHECK(d::is_framing_header("CONTENT-LENGTH"));
  CHECK(d::is_framing_header("transfer-encoding"));
  CHECK(d::is_framing_header("Proxy-Authorization"));
  CHECK_FALSE(d::is_framing_header("traceparent"));
  CHECK_FALSE(d::is_framing_header("Authorization"));
}

TEST_CASE("http CloudEvents header values percent-encode space, quote, percent and non-ASCII",
          "[http][wire]") {
  CHECK(d::percent_encode_attribute("order-42/a.b_c~!") == "order-42/a.b_c~!");
  CHECK(d::percent_encode_attribute("Z\xC3\xBCrich") == "Z%C3%BCrich");
  CHECK(d::percent_encode_attribute("a b\"c%d") == "a%20b%22c%25d");
  // The binding's own example: "Euro \u20AC \U0001F600".
  CHECK(d::percent_encode_attribute("Euro \xE2\x82\xAC \xF0\x9F\x98\x80") ==
        "Euro%20%E2%82%AC%20%F0%9F%98%80");
  CHECK(d::percent_encode_attribute(std::string("\r\n\t\0\x7F", 5)) == "%0D%0A%09%00%7F");
  CHECK(d::percent_encode_attribute("") == "");
}

TEST_CASE("http header text check names the control character or the bad UTF-8",
          "[http][wire][injection]") {
  CHECK_FALSE(d::header_text_problem("Bearer abc.def").has_value());
  CHECK_FALSE(d::header_text_problem("Z\xC3\xBCrich").has_value());
  CHECK(d::header_text_problem("a\r\nX-Injected: 1") ==
        std::optional<std::string>("contains the control character U+000D at offset 1"));
  CHECK(d::header_text_problem("tab\there") ==
        std::optional<std::string>("contains the control character U+0009 at offset 3"));
  CHECK(d::header_text_problem(std::string("nul\0", 4)).has_value());
  CHECK(d::header_text_problem("c1 \xC2\x85").has_value());  // NEL
  CHECK(d::header_text_problem("del\x7F").has_value());
  CHECK(d::header_text_problem("bad \xFF") ==
        std::optional<std::string>("is not valid UTF-8 at offset 4"));
}
