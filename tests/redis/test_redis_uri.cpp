// redis:// publisher URIs and --publisher-opt keys, as the command line passes them (no server).
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "txoutbox/error.hpp"
#include "txoutbox/redis/publisher.hpp"

using txoutbox::usage_error;
using txoutbox::redis::parse_publisher_uri;

namespace {

/// The field named by the usage_error `f()` throws ("" when it throws nothing).
template <class F>
std::string error_field(F&& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const usage_error& e) {
    if (message != nullptr)
      *message = e.what();
    return e.field();
  }
  return "";
}

}  // namespace

TEST_CASE("redis URI gives host, port, user and database", "[redis][uri]") {
  auto o = parse_publisher_uri("redis://cache.internal:6380/2", {});
  CHECK(o.host == "cache.internal");
  CHECK(o.port == 6380);
  CHECK(o.db == 2);
  CHECK(o.username.empty());

  o = parse_publisher_uri("redis://127.0.0.1", {});
  CHECK(o.port == 6379);
  CHECK(o.db == 0);

  ::setenv("TXOUTBOX_TEST_REDIS_PW", "pw-from-env", 1);
  o = parse_publisher_uri("redis://relay@[::1]:7000", {{"password-env", "TXOUTBOX_TEST_REDIS_PW"}});
  CHECK(o.host == "::1");
  CHECK(o.port == 7000);
  CHECK(o.username == "relay");
  CHECK(o.password == "pw-from-env");
}

TEST_CASE("redis publisher options come from --publisher-opt keys", "[redis][uri]") {
  const std::string path = "/tmp/txoutbox-redis-pw-" + std::to_string(::getpid());
  {
    std::ofstream f(path);
    f << "pw-from-file\n";
  }
  const auto o = parse_publisher_uri("redis://h:1", {{"stream-prefix", "ev:"},
                                                     {"maxlen", "1000"},
                                                     {"connect-timeout-ms", "250"},
                                                     {"command-timeout-ms", "750"},
                                                     {"password-file", path}});
  std::remove(path.c_str());
  CHECK(o.stream_prefix == "ev:");
  CHECK(o.maxlen == 1000);
  CHECK(o.connect_timeout == std::chrono::milliseconds(250));
  CHECK(o.command_timeout == std::chrono::milliseconds(750));
  CHECK(o.password == "pw-from-file");
  CHECK(parse_publisher_uri("redis://h", {{"stream", "one"}}).stream == "one");
}

TEST_CASE("redis URI errors name the field and never print a password", "[redis][uri]") {
  std::string message;
  CHECK(error_field([] { parse_publisher_uri("redis://h", {{"colour", "red"}}); }) == "colour");
  CHECK(error_field([] { parse_publisher_uri("redis://h", {{"maxlen", "-1"}}); }) == "maxlen");
  CHECK(error_field([] { parse_publisher_uri("redis://h", {{"password", "x"}}); }) == "password");
  CHECK(error_field([] { parse_publisher_uri("redis://h:0", {}); }) == "publisher");
  CHECK(error_field([] { parse_publisher_uri("redis://h/x", {}); }) == "publisher");
  CHECK(error_field([] { parse_publisher_uri("http://h", {}); }) == "publisher");
  CHECK(error_field([] {
          parse_publisher_uri("redis://h", {{"password-env", "NO_SUCH_VAR_X"}});
        }) == "password-env");
  CHECK(error_field([] { parse_publisher_uri("redis://u:hunter2@h:6379", {}); }, &message) ==
        "publisher");
  CHECK_THAT(message, !Catch::Contains("hunter2"));
  CHECK(error_field([] { txoutbox::redis::make_publisher({.port = 70000}); }) == "port");
  CHECK(error_field([] { txoutbox::redis::make_publisher({.host = ""}); }) == "host");
}
