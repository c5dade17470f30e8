// What the HTTP publisher reports against a local server: the status table, Retry-After,
// transport failures, interim 1xx responses, and batches at an unavailable destination.
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "publisher_test_support.hpp"
#include "test_certs.hpp"
#include "test_http_server.hpp"
#include "txoutbox/http/publisher.hpp"

using namespace std::chrono_literals;
using http_test::make_record;
using http_test::options_for;
using http_test::publish_one;
using http_test::scripted_response;
using http_test::test_http_server;
using txoutbox::outbox_record;
using txoutbox::publish_status;

namespace {

constexpr const char* route_down = "not sent: destination unavailable";
constexpr const char* key_failed = "not sent: an earlier message of this key failed";

std::string refusing_url(unsigned short port = http_test::unused_port()) {
  return "http://127.0.0.1:" + std::to_string(port) + "/hook";
}

/// Five records of five different keys: only the route rule can stop the later ones.
std::vector<outbox_record> five_keys() {
  std::vector<outbox_record> batch;
  for (int i = 0; i < 5; ++i)
    batch.push_back(make_record("key-" + std::to_string(i), i));
  return batch;
}

}  // namespace

TEST_CASE("http publisher takes the status of a response with an oversized body",
          "[http][status]") {
  test_http_server server;
  server.script({{.status = 200, .body = std::string(3 * 1024 * 1024, 'x')},
                 {.status = 422, .body = std::string(3 * 1024 * 1024, 'y')}});
  auto pub = txoutbox::http::make_publisher(options_for(server));
  CHECK(publish_one(*pub, make_record("k", 1)).status == publish_status::ok);
  const auto result = publish_one(*pub, make_record("k", 2));
  CAPTURE(result.reason.substr(0, 60));
  CHECK(result.status == publish_status::reject);
  CHECK(result.reason.rfind("HTTP/1.1 422 Unprocessable Entity", 0) == 0);
  CHECK(publish_one(*pub, make_record("k", 3)).status == publish_status::ok);
  CHECK(server.request_count() == 3);
}

TEST_CASE("http publisher maps response statuses to ok, unavailable, retry and reject",
          "[http][status]") {
  struct expectation {
    unsigned status;
    publish_status outcome;
    const char* reason;  // expected prefix of the reason for failures
  };
  const std::vector<expectation> table{
      {200, publish_status::ok, ""},
      {201, publish_status::ok, ""},
      {204, publish_status::ok, ""},
      {301, publish_status::unavailable, "HTTP/1.1 301 Moved Permanently"},
      {400, publish_status::reject, "HTTP/1.1 400 Bad Request"},
      {401, publish_status::unavailable, "HTTP/1.1 401 Unauthorized"},
      {403, publish_status::unavailable, "HTTP/1.1 403 Forbidden"},
      {404, publish_status::unavailable, "HTTP/1.1 404 Not Found"},
      {405, publish_status::unavailable, "HTTP/1.1 405 Method Not Allowed"},
      {408, publish_status::unavailable, "HTTP/1.1 408 Request Timeout"},
      {409, publish_status::retry, "HTTP/1.1 409 Conflict"},
      {410, publish_status::unavailable, "HTTP/1.1 410 Gone"},
      {413, publish_status::reject, "HTTP/1.1 413 Payload Too Large"},
      {422, publish_status::reject, "HTTP/1.1 422 Unprocessable Entity"},
      {429, publish_status::unavailable, "HTTP/1.1 429 Too Many Requests"},
      {500, publish_status::unavailable, "HTTP/1.1 500 Internal Server Error"},
      {503, publish_status::unavailable, "HTTP/1.1 503 Service Unavailable"},
  };
  test_http_server server;
  auto pub = txoutbox::http::make_publisher(options_for(server));
  std::size_t sent = 0;
  for (const auto& e : table) {
    INFO("status " << e.status);
    scripted_response r{.status = e.status};
    if (e.status == 301)
      r.headers = {{"Location", server.url("/elsewhere")}};
    if (e.status == 400)
      r.body = "{\"error\":\"bad\"}";
    server.script({r});
    const auto result = publish_one(*pub, make_record("k" + std::to_string(e.status), 1));
    CAPTURE(result.reason);
    ++sent;
    CHECK(result.status == e.outcome);
    CHECK(result.reason.rfind(e.reason, 0) == 0);
    if (e.status == 400)
      CHECK(result.reason.find("{\"error\":\"bad\"}") != std::string::npos);
    CHECK_FALSE(result.retry_after.has_value());
    // No redirect is followed: every record costs exactly one request.
    CHECK(server.request_count() == sent);
  }
  CHECK(server.requests().back().target == "/hook");
  CHECK(server.connections_accepted() == 1);  // none of these broke the connection
}

TEST_CASE("http publisher reads Retry-After as seconds or an HTTP date", "[http][status]") {
  test_http_server server;
  auto pub = txoutbox::http::make_publisher(options_for(server));

  server.script({{.status = 503, .headers = {{"Retry-After", "7"}}}});
  auto result = publish_one(*pub, make_record("a", 1));
  CHECK(result.status == publish_status::unavailable);
  REQUIRE(result.retry_after.has_value());
  CHECK(*result.retry_after == 7000ms);

  server.script({{.status = 429, .headers = {{"Retry-After", "3"}}}});
  result = publish_one(*pub, make_record("b", 1));
  CHECK(result.status == publish_status::unavailable);
  CHECK(result.retry_after == std::optional<std::chrono::milliseconds>(3000ms));

  // An HTTP date two minutes ahead; the hint is the distance to it.
  const std::time_t later = std::time(nullptr) + 120;
  std::tm tm{};
  gmtime_r(&later, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  server.script({{.status = 503, .headers = {{"Retry-After", date}}}});
  result = publish_one(*pub, make_record("c", 1));
  CHECK(result.status == publish_status::unavailable);
  REQUIRE(result.retry_after.has_value());
  CHECK(*result.retry_after > 60s);
  CHECK(*result.retry_after <= 120s);

  // A message-level retry carries the hint too.
  server.script({{.status = 409, .headers = {{"Retry-After", "2"}}}});
  result = publish_one(*pub, make_record("d", 1));
  CHECK(result.status == publish_status::retry);
  CHECK(result.retry_after == std::optional<std::chrono::milliseconds>(2000ms));

  for (const char* garbage : {"soon", "-5", "99999999999999999999"}) {
    INFO(garbage);
    server.script({{.status = 429, .headers = {{"Retry-After", garbage}}}});
    result = publish_one(*pub, make_record("e", 1));
    CHECK(result.status == publish_status::unavailable);
    CHECK_FALSE(result.retry_after.has_value());
  }
}

TEST_CASE("http publisher stops a key after a failure and still sends the other keys",
          "[http][batch]") {
  test_http_server server;
  server.set_responder([](const http_test::recorded_request& q) {
    // Refuse the second message of key a as malformed.
    if (q.header("ce-subject") == "a" && q.body.find("\"n\":2") != std::string::npos)
      return scripted_response{.status = 422};
    return scripted_response{};
  });
  auto pub = txoutbox::http::make_publisher(options_for(server));
  const std::vector<outbox_record> batch{make_record("a", 1), make_record("b", 1),
                                         make_record("a", 2), make_record("b", 2),
                                         make_record("a", 3)};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 5);
  CHECK(results[0].status == publish_status::ok);
  CHECK(results[1].status == publish_status::ok);
  CHECK(results[2].status == publish_status::reject);
  CHECK(results[3].status == publish_status::ok);
  CHECK(results[4].status == publish_status::retry);
  CHECK(results[4].reason == key_failed);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 4);
  for (const auto& q : reqs)
    CHECK(q.header("ce-id") != batch[4].msg.id.to_string());
}

TEST_CASE("http publisher sends nothing more of a batch once the destination is unavailable",
          "[http][batch]") {
  test_http_server server;
  server.script({{}, {.status = 503}});
  auto pub = txoutbox::http::make_publisher(options_for(server));
  const auto batch = five_keys();
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 5);
  CHECK(results[0].status == publish_status::ok);
  CHECK(results[1].status == publish_status::unavailable);
  CHECK(results[1].reason.rfind("HTTP/1.1 503", 0) == 0);
  for (std::size_t i = 2; i < 5; ++i) {
    INFO("record " << i);
    CHECK(results[i].status == publish_status::unavailable);
    CHECK(results[i].reason == route_down);
  }
  CHECK(server.request_count() == 2);
}

TEST_CASE("http publisher reports a refused connection as unavailable", "[http][connect]") {
  const auto port = http_test::unused_port();
  auto pub = txoutbox::http::make_publisher({.url = refusing_url(port)});
  const auto result = publish_one(*pub, make_record("k", 1));
  CAPTURE(result.reason);
  CHECK(result.status == publish_status::unavailable);
  CHECK(result.reason.find("connect") != std::string::npos);
  CHECK(result.reason.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE("http publisher tries a refusing destination once per batch, not once per record",
          "[http][connect][batch]") {
  auto pub = txoutbox::http::make_publisher({.url = refusing_url()});
  const auto batch = five_keys();
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 5);
  CAPTURE(results[0].reason);
  CHECK(results[0].status == publish_status::unavailable);
  CHECK(results[0].reason.find("connect") != std::string::npos);
  for (std::size_t i = 1; i < 5; ++i) {
    INFO("record " << i);
    CHECK(results[i].status == publish_status::unavailable);
    CHECK(results[i].reason == route_down);  // never tried: no connection attempt
  }
}

TEST_CASE("http publisher opens one connection per batch to a server that drops them",
          "[http][connect][batch]") {
  test_http_server server;
  server.set_responder(
      [](const http_test::recorded_request&) { return scripted_response{.drop_instead = true}; });
  auto pub = txoutbox::http::make_publisher(options_for(server));
  const auto batch = five_keys();
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 5);
  CAPTURE(results[0].reason);
  CHECK(results[0].status == publish_status::unavailable);
  CHECK(results[0].reason.find("reading the response") != std::string::npos);
  for (std::size_t i = 1; i < 5; ++i)
    CHECK(results[i].reason == route_down);
  CHECK(server.connections_accepted() == 1);
  CHECK(server.request_count() == 1);
}

TEST_CASE("http publisher reports a slow server as an unavailable timeout", "[http][timeout]") {
  test_http_server server;
  server.script({{.delay = 24h}});
  auto pub = txoutbox::http::make_publisher({.url = server.url(), .timeout = 300ms});
  const auto result = publish_one(*pub, make_record("k", 1));
  CAPTURE(result.reason);
  CHECK(result.status == publish_status::unavailable);
  CHECK(result.reason.find("timed out") != std::string::npos);
  server.release_delays();
  // The timed-out connection was dropped; the next message goes through on a new one.
  CHECK(publish_one(*pub, make_record("k", 2)).status == publish_status::ok);
  CHECK(server.connections_accepted() == 2);
}

TEST_CASE("http publisher reads past 102 Processing to the final response", "[http][interim]") {
  test_http_server server;
  server.script({{.status = 500, .interim = {102}}, {.status = 200}});
  auto pub = txoutbox::http::make_publisher(options_for(server));
  const auto first = publish_one(*pub, make_record("k", 1));
  CAPTURE(first.reason);
  CHECK(first.status == publish_status::unavailable);
  CHECK(first.reason.rfind("HTTP/1.1 500", 0) == 0);
  // The next message on the same connection reads its own response, not the first's 500.
  const auto second = publish_one(*pub, make_record("k", 2));
  CAPTURE(second.reason);
  CHECK(second.status == publish_status::ok);
  CHECK(server.request_count() == 2);
  CHECK(server.connections_accepted() == 1);
}

TEST_CASE("http publisher skips several interim responses before a 2xx", "[http][interim]") {
  const bool tls = GENERATE(false, true);
  INFO((tls ? "https" : "http"));
  std::optional<http_test::tls_identity> identity;
  if (tls)
    identity = http_test::make_self_signed({}, {"127.0.0.1"});
  test_http_server server(identity);
  server.script({{.status = 201, .interim = {100, 102, 103}}, {.status = 422, .interim = {102}}});
  auto pub = txoutbox::http::make_publisher({.url = server.url(), .verify_peer = false});
  CHECK(publish_one(*pub, make_record("k", 1)).status == publish_status::ok);
  CHECK(publish_one(*pub, make_record("k", 2)).status == publish_status::reject);
  CHECK(publish_one(*pub, make_record("k", 3)).status == publish_status::ok);
  CHECK(server.request_count() == 3);
  CHECK(server.connections_accepted() == 1);
}
