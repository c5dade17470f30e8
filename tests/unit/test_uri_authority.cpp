// Tests of the private URI toolkit: host, port, IPv6 literals, user info, percent-coding and
// redaction, the rules every URL parser of the library shares.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "core/uri/authority.hpp"
#include "core/uri/percent.hpp"
#include "core/uri/redact.hpp"

namespace {

namespace uri = txoutbox::detail::uri;
using uri::authority_problem;

authority_problem check(std::string_view authority, bool port_required = false) {
  uri::host_port hp;
  return uri::check_host_port(authority, hp, port_required);
}

}  // namespace

TEST_CASE("an IPv6 literal in brackets gives its address with or without a port",
          "[uri][authority]") {
  uri::host_port hp;
  REQUIRE(uri::check_host_port("[::1]:9092", hp) == authority_problem::none);
  CHECK(hp.host == "::1");
  CHECK(hp.port == "9092");
  CHECK(hp.bracketed);
  CHECK(hp.has_port);

  REQUIRE(uri::check_host_port("[fe80::1:2]", hp) == authority_problem::none);
  CHECK(hp.host == "fe80::1:2");
  CHECK(hp.port.empty());
  CHECK_FALSE(hp.has_port);
  CHECK(uri::is_ipv6_literal(hp.host));
  CHECK_FALSE(uri::is_ipv6_literal("localhost"));
  CHECK_FALSE(uri::is_ipv6_literal(""));
}

TEST_CASE("a malformed IPv6 literal is refused with its own problem", "[uri][authority]") {
  CHECK(check("[::1") == authority_problem::unclosed_bracket);
  CHECK(check("[::1]x") == authority_problem::text_after_bracket);
  CHECK(check("[::1]9092") == authority_problem::text_after_bracket);
  CHECK(check("[]:1") == authority_problem::missing_host);
  CHECK(check("[::1%eth0]") == authority_problem::bad_host);
  CHECK(check("::1:9092") == authority_problem::missing_host);  // needs brackets
}

TEST_CASE("a host name splits at its first colon and keeps to its characters", "[uri][authority]") {
  uri::host_port hp;
  REQUIRE(uri::check_host_port("broker-1.example_x:9092", hp) == authority_problem::none);
  CHECK(hp.host == "broker-1.example_x");
  CHECK(hp.port == "9092");
  CHECK_FALSE(hp.bracketed);
  CHECK(check("") == authority_problem::missing_host);
  CHECK(check(":80") == authority_problem::missing_host);
  CHECK(check("bad host") == authority_problem::bad_host);
  CHECK(check("a:b:1") == authority_problem::bad_port);
}

TEST_CASE("the last-colon split keeps an unbracketed IPv6 address whole", "[uri][authority]") {
  uri::host_port hp;
  REQUIRE(uri::split_host_port("::1:3306", hp, uri::colon_split::last) == authority_problem::none);
  CHECK(hp.host == "::1");
  CHECK(hp.port == "3306");
}

TEST_CASE("a port must be a number in 1..65535", "[uri][authority]") {
  CHECK(uri::parse_port("1") == 1);
  CHECK(uri::parse_port("65535") == 65535);
  CHECK(uri::parse_port("09092") == 9092);
  for (const char* bad : {"0", "65536", "99999", "123456", "", "80a", "-1", "+80", " 80", "8 0"}) {
    INFO(bad);
    CHECK_FALSE(uri::parse_port(bad));
  }
  CHECK(check("h:0") == authority_problem::bad_port);
  CHECK(check("h:65536") == authority_problem::bad_port);
  CHECK(check("h:http") == authority_problem::bad_port);
  CHECK(check("h:") == authority_problem::empty_port);
  CHECK(check("[::1]:") == authority_problem::empty_port);
  CHECK(check("h", /*port_required=*/true) == authority_problem::missing_port);
  CHECK(check("h") == authority_problem::none);
}

TEST_CASE("authority problems read the same for every parser and name host or port",
          "[uri][authority]") {
  uri::host_port hp;
  REQUIRE(uri::check_host_port("h:70000", hp) == authority_problem::bad_port);
  CHECK(uri::authority_problem_text(authority_problem::bad_port, hp) ==
        "the port '70000' is not in 1..65535");
  REQUIRE(uri::check_host_port("a b", hp) == authority_problem::bad_host);
  CHECK(uri::authority_problem_text(authority_problem::bad_host, hp) ==
        "the host 'a b' has a character that is not allowed");
  CHECK(uri::authority_problem_text(authority_problem::unclosed_bracket, hp) ==
        "unclosed '[' in the host");
}

TEST_CASE("user info splits at the last '@', so a password may hold an '@'", "[uri][userinfo]") {
  const auto split = uri::split_userinfo("relay:p@ss:w@rd@db.example:5432");
  REQUIRE(split.userinfo);
  CHECK(*split.userinfo == "relay:p@ss:w@rd");
  CHECK(split.host_port == "db.example:5432");
  const auto credentials = uri::split_credentials(*split.userinfo);
  CHECK(credentials.user == "relay");
  REQUIRE(credentials.password);
  CHECK(*credentials.password == "p@ss:w@rd");

  CHECK_FALSE(uri::split_userinfo("db.example").userinfo);
  CHECK_FALSE(uri::split_credentials("relay").password);
  const auto empty_password = uri::split_credentials("relay:");
  REQUIRE(empty_password.password);
  CHECK(empty_password.password->empty());
}

TEST_CASE("percent-encoded user info decodes strictly and refuses a bad escape", "[uri][percent]") {
  std::string out;
  CHECK(uri::percent_decode("p%40ss%3Aw%2fd", out) == uri::percent_problem::none);
  CHECK(out == "p@ss:w/d");
  CHECK(uri::percent_decode("ab%4", out) == uri::percent_problem::cut_short);
  CHECK(uri::percent_decode("ab%zz", out) == uri::percent_problem::not_hex);
  CHECK(uri::percent_decode("ab%00cd", out) == uri::percent_problem::nul);
  CHECK(uri::percent_problem_text(uri::percent_problem::nul) == "%00 is not allowed");

  CHECK(uri::percent_decode_lenient("p%40ss%zz%4") == "p@ss%zz%4");
  CHECK(uri::percent_encode("p@ss w~rd") == "p%40ss%20w~rd");
  CHECK(uri::percent_decode_lenient(uri::percent_encode("a:b@c/d%e")) == "a:b@c/d%e");
}

TEST_CASE("redaction hides the user-info password and password= parameters only", "[uri][redact]") {
  CHECK(uri::redact_url("mysql://relay:hunter2@db:3306/app") == "mysql://relay:***@db:3306/app");
  CHECK(uri::redact_url("postgresql://u:p@ss@h/db") == "postgresql://u:***@h/db");
  CHECK(uri::redact_url("postgresql://u:@h/db") == "postgresql://u:***@h/db");
  CHECK(uri::redact_url("postgresql://u@h/db?password=x&sslmode=require#f") ==
        "postgresql://u@h/db?password=***&sslmode=require#f");
  CHECK(uri::redact_url("postgresql://h/db?mypassword=x") == "postgresql://h/db?mypassword=x");
  CHECK(uri::redact_url("postgresql://h:5432/db@x") == "postgresql://h:5432/db@x");
  CHECK(uri::redact_url("not a url") == "not a url");

  const auto password = uri::userinfo_password("redis://u:s3cret@h:1/0");
  REQUIRE(password);
  CHECK(*password == "s3cret");
  CHECK_FALSE(uri::userinfo_password("redis://u@h"));
  CHECK_FALSE(uri::userinfo_password("h:1"));
}
