// nats:// publisher URIs, --publisher-opt keys and option checks, as the command line passes them
// (no server).
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "txoutbox/error.hpp"
#include "txoutbox/nats/publisher.hpp"

using txoutbox::usage_error;
using txoutbox::nats::parse_publisher_uri;

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

TEST_CASE("nats URI and --publisher-opt keys give the publisher options", "[nats][uri]") {
  ::setenv("TXOUTBOX_TEST_NATS_TOKEN", "tok-from-env", 1);
  auto o = parse_publisher_uri("nats://a:4222,nats://b:4223",
                               {{"subject-template", "ev.{type}"},
                                {"stream", "EVENTS"},
                                {"create-stream", "true"},
                                {"ack-timeout-ms", "1500"},
                                {"source", "/orders"},
                                {"token-env", "TXOUTBOX_TEST_NATS_TOKEN"}});
  CHECK(o.url == "nats://a:4222,nats://b:4223");
  CHECK(o.subject_template == "ev.{type}");
  CHECK(o.stream_name == "EVENTS");
  CHECK(o.create_stream);
  CHECK(o.ack_timeout == std::chrono::milliseconds(1500));
  CHECK(o.source == "/orders");
  CHECK(o.token == "tok-from-env");

  const std::string path = "/tmp/txoutbox-nats-pw-" + std::to_string(::getpid());
  {
    std::ofstream f(path);
    f << "pw-from-file\n";
  }
  o = parse_publisher_uri("nats://h", {{"user", "relay"}, {"password-file", path}});
  std::remove(path.c_str());
  CHECK(o.user == "relay");
  CHECK(o.password == "pw-from-file");
}

TEST_CASE("nats URI errors name the field and never print credentials", "[nats][uri]") {
  std::string message;
  CHECK(error_field([] { parse_publisher_uri("nats://h", {{"colour", "red"}}); }) == "colour");
  CHECK(error_field([] { parse_publisher_uri("nats://h", {{"token", "x"}}); }) == "token");
  CHECK(error_field([] {
          parse_publisher_uri("nats://h", {{"create-stream", "maybe"}});
        }) == "create-stream");
  CHECK(error_field([] {
          parse_publisher_uri("nats://h", {{"ack-timeout-ms", "0"}});
        }) == "ack-timeout-ms");
  CHECK(error_field([] { parse_publisher_uri("nats://h:99999", {}); }) == "publisher");
  CHECK(error_field([] { parse_publisher_uri("redis://h", {}); }) == "publisher");
  CHECK(error_field([] { parse_publisher_uri("nats://u:hunter2@h:4222", {}); }, &message) ==
        "publisher");
  CHECK_THAT(message, !Catch::Contains("hunter2"));
}

TEST_CASE("nats subject templates are checked when the publisher is made", "[nats][uri]") {
  const auto make = [](std::string tmpl) {
    return [tmpl] { txoutbox::nats::make_publisher({.subject_template = tmpl}); };
  };
  CHECK(error_field(make("txoutbox.{aggregatetype}.{type}")).empty());
  CHECK(error_field(make("events.{aggregatetype}-{type}")).empty());
  CHECK(error_field(make("txoutbox.{colour}")) == "subject_template");
  CHECK(error_field(make("txoutbox.{type")) == "subject_template");
  CHECK(error_field(make("txoutbox.*.{type}")) == "subject_template");
  CHECK(error_field(make("txoutbox.>")) == "subject_template");
  CHECK(error_field(make("txoutbox..{type}")) == "subject_template");
  CHECK(error_field(make("txoutbox.{type}.")) == "subject_template");
  CHECK(error_field(make("tx outbox.{type}")) == "subject_template");
  CHECK(error_field([] {
          txoutbox::nats::make_publisher({.stream_name = "", .create_stream = true});
        }) == "stream_name");
  CHECK(error_field([] { txoutbox::nats::make_publisher({.stream_name = "A.B"}); }) ==
        "stream_name");
}
