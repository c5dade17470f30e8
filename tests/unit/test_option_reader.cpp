// Tests of the option reader: every publisher's rules for key=value options, once.
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "core/uri/option_reader.hpp"
#include "txoutbox/error.hpp"

using txoutbox::usage_error;
using txoutbox::detail::uri::option_reader;
using options = std::map<std::string, std::string>;

namespace {

/// The usage_error `f()` throws; fails the test when it throws nothing.
template <class F>
usage_error error_of(F&& f) {
  try {
    f();
  } catch (const usage_error& e) {
    return e;
  }
  FAIL("expected usage_error");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("option reader gives nothing for a missing key and the value of a given one",
          "[uri][options]") {
  const options opts{{"stream", "orders"}, {"fsync", "off"}, {"timeout-ms", "250"}};
  option_reader in(opts, "the test publisher");
  CHECK_FALSE(in.take("absent").has_value());
  CHECK_FALSE(in.take_ms("absent-ms").has_value());
  CHECK_FALSE(in.take_secret("password").has_value());
  CHECK(in.take("stream") == std::optional<std::string>("orders"));
  CHECK(in.take_bool("fsync") == std::optional<bool>(false));
  CHECK(in.take_ms("timeout-ms") == std::optional(std::chrono::milliseconds(250)));
  in.finish("stream, fsync, timeout-ms");  // everything taken: no throw
}

TEST_CASE("option reader refuses a malformed value naming its key", "[uri][options]") {
  const options opts{
      {"timeout-ms", "soon"}, {"zero-ms", "0"}, {"flag", "maybe"}, {"count", "-1"}, {"name", ""}};
  option_reader in(opts, "the test publisher");
  auto e = error_of([&] { (void)in.take_ms("timeout-ms"); });
  CHECK(e.field() == "timeout-ms");
  CHECK_THAT(e.what(), Catch::Contains("option 'timeout-ms'") && Catch::Contains("soon"));
  CHECK(error_of([&] { (void)in.take_ms("zero-ms"); }).field() == "zero-ms");
  CHECK(error_of([&] { (void)in.take_bool("flag"); }).field() == "flag");
  CHECK(error_of([&] { (void)in.take_int("count", 0, 10, "a count"); }).field() == "count");
  e = error_of([&] { (void)in.take_nonempty("name"); });
  CHECK(e.field() == "name");
  CHECK_THAT(e.what(), Catch::Contains("must not be empty"));
}

TEST_CASE("option reader names the first unknown key and lists the known ones", "[uri][options]") {
  const options opts{{"colour", "red"}, {"stream", "s"}};
  option_reader in(opts, "the test publisher");
  (void)in.take("stream");
  const auto e = error_of([&] { in.finish("stream, maxlen"); });
  CHECK(e.field() == "colour");
  const std::string text = e.what();
  CHECK_THAT(text, Catch::Contains("option 'colour'") && Catch::Contains("the test publisher") &&
                       Catch::Contains("stream, maxlen"));
  CHECK_THAT(text, !Catch::Contains("--publisher"));
}

TEST_CASE("option reader takes a secret from an environment variable or a file",
          "[uri][options][secrets]") {
  ::setenv("TXOUTBOX_TEST_OPTION_SECRET", "from-env", 1);
  option_reader env_in(options{{"password-env", "TXOUTBOX_TEST_OPTION_SECRET"}}, "p");
  CHECK(env_in.take_secret("password") == std::optional<std::string>("from-env"));
  env_in.finish("password-env");

  const std::string path = "/tmp/txoutbox-option-secret-" + std::to_string(::getpid());
  { std::ofstream(path) << "from-file\n"; }
  option_reader file_in(options{{"token-file", path}}, "p");
  const auto token = file_in.take_secret("token");
  std::remove(path.c_str());
  CHECK(token == std::optional<std::string>("from-file"));

  const auto unset = error_of([] {
    option_reader in(options{{"password-env", "TXOUTBOX_TEST_NO_SUCH_VAR"}}, "p");
    (void)in.take_secret("password");
  });
  CHECK(unset.field() == "password-env");
  CHECK_THAT(unset.what(), Catch::Contains("TXOUTBOX_TEST_NO_SUCH_VAR"));
  const auto unreadable = error_of([] {
    option_reader in(options{{"password-file", "/nonexistent/secret"}}, "p");
    (void)in.take_secret("password");
  });
  CHECK(unreadable.field() == "password-file");
  const auto twice = error_of([] {
    option_reader in(options{{"password-env", "A"}, {"password-file", "/b"}}, "p");
    (void)in.take_secret("password");
  });
  CHECK(twice.field() == "password-file");
}

TEST_CASE("option reader never takes a secret as a value", "[uri][options][secrets]") {
  const auto e = error_of([] {
    option_reader in(options{{"password", "hunter2"}}, "p");
    (void)in.take_secret("password");
  });
  CHECK(e.field() == "password");
  const std::string text = e.what();
  CHECK_THAT(text, !Catch::Contains("hunter2"));
  CHECK_THAT(text, Catch::Contains("password-env") && Catch::Contains("password-file"));
}
