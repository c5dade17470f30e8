// Unit tests of the HTTP publisher's Beast-free helpers: URLs, Retry-After, dates,
// private address ranges, base64 and status mapping.
#include <catch2/catch.hpp>
#include <chrono>

#include "http/detail.hpp"
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

TEST_CASE("http Retry-After accepts delay-seconds and the three HTTP date forms",
          "[http][status]") {
  using namespace std::chrono;
  const auto now = sys_days{year{1994} / 11 / 6} + 8h + 49min + 30s;
  CHECK(d::parse_retry_after("3", now) == 3000ms);
  CHECK(d::parse_retry_after(" 0 ", now) == 0ms);
  CHECK(d::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == 7000ms);
  CHECK(d::parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now) == 7000ms);
  CHECK(d::parse_retry_after("Sun Nov  6 08:49:37 1994", now) == 7000ms);
  CHECK(d::parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now) == 0ms);  // past
  CHECK_FALSE(d::parse_retry_after("soon", now).has_value());
  CHECK_FALSE(d::parse_retry_after("-5", now).has_value());
  CHECK_FALSE(d::parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", now).has_value());
}

TEST_CASE("http status mapping keeps the status line as reason", "[http][status]") {
  const auto now = std::chrono::system_clock::now();
  CHECK(d::classify_status(299, "x", "", now).status == txoutbox::publish_status::ok);
  const auto r = d::classify_status(418, "HTTP/1.1 418 I'm a teapot", "5", now);
  CHECK(r.status == txoutbox::publish_status::reject);
  CHECK(r.reason == "HTTP/1.1 418 I'm a teapot");
  CHECK_FALSE(r.retry_after.has_value());
  const auto s = d::classify_status(502, "HTTP/1.1 502 Bad Gateway", "2", now);
  CHECK(s.status == txoutbox::publish_status::retry);
  CHECK(s.retry_after == 2000ms);
  CHECK(d::classify_status(302, "302", "", now).status == txoutbox::publish_status::reject);
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
