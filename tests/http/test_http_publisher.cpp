// Tests of the HTTP publisher against a local server: headers, status mapping, batches,
// timeouts, shutdown, keep-alive, signing, private destinations, TLS, CLI options.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "publisher_test_support.hpp"
#include "test_certs.hpp"
#include "test_http_server.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/http/publisher.hpp"
#include "txoutbox/outbox_record.hpp"
#include "txoutbox/testing/wait.hpp"

using namespace std::chrono_literals;
using http_test::make_record;
using http_test::options_for;
using http_test::publish_one;
using http_test::scripted_response;
using http_test::test_http_server;
using txoutbox::outbox_record;
using txoutbox::publish_result;
using txoutbox::publish_status;

namespace {

std::string openssl_base64(const unsigned char* data, int len) {
  std::string out(static_cast<std::size_t>(4 * ((len + 2) / 3)) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, len);
  out.resize(static_cast<std::size_t>(n));
  return out;
}

/// The signature a Standard Webhooks consumer computes, with OpenSSL directly.
std::string expected_signature(const std::string& key, const std::string& id, const std::string& ts,
                               const std::string& body) {
  const std::string content = id + "." + ts + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &len);
  return "v1," + openssl_base64(mac, static_cast<int>(len));
}

/// One round of percent-decoding, as a CloudEvents HTTP consumer does (independent of the
/// publisher's encoder).
std::string percent_decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("http publisher posts the payload with CloudEvents binary-mode headers", "[http][wire]") {
  test_http_server server;
  auto pub = txoutbox::http::make_publisher(options_for(server));
  const auto rec = make_record(
      "k1", 1, {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}});
  const auto result = publish_one(*pub, rec);
  CAPTURE(result.reason);
  CHECK(result.status == publish_status::ok);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  const auto& q = reqs[0];
  CHECK(q.method == "POST");
  CHECK(q.target == "/hook");
  CHECK(q.body == rec.msg.payload);
  CHECK(q.header("content-type") == "application/json");
  CHECK(q.header("ce-specversion") == "1.0");
  CHECK(q.header("ce-id") == rec.msg.id.to_string());
  CHECK(q.header("ce-type") == "OrderPlaced");
  CHECK(q.header("ce-source") == "/txoutbox");
  CHECK(q.header("ce-subject") == "k1");
  CHECK(q.header("ce-time") == "2024-05-01T12:34:56.123456Z");
  CHECK(q.header("ce-aggregatetype") == "order");
  CHECK(q.header("traceparent") == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  CHECK(q.header("host") == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(q.headers.count("webhook-signature") == 0);
}

TEST_CASE("http publisher sends the configured source and extra headers", "[http][wire]") {
  test_http_server server;
  auto pub = txoutbox::http::make_publisher(
      {.url = server.url("/in?tenant=7"),
       .source = "https://shop.example/orders",
       .extra_headers = {{"Authorization", "Bearer abc"}, {"traceparent", "overridden"}}});
  const auto rec = make_record("k", 1, {{"traceparent", "from-message"}});
  CHECK(publish_one(*pub, rec).status == publish_status::ok);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].target == "/in?tenant=7");
  CHECK(reqs[0].header("ce-source") == "https://shop.example/orders");
  CHECK(reqs[0].header("authorization") == "Bearer abc");
  CHECK(reqs[0].header("traceparent") == "from-message");
}

TEST_CASE("http publisher percent-encodes ce-* values so non-ASCII ids arrive intact",
          "[http][wire]") {
  test_http_server server;
  auto pub = txoutbox::http::make_publisher(
      {.url = server.url(), .source = "/shops/Gen\xC3\xA8ve \"main\" 100%"});
  auto rec = make_record("Z\xC3\xBCrich", 1);
  rec.msg.aggregate_type = "filiale \xE6\x9D\xB1\xE4\xBA\xAC";
  rec.msg.type = "Order Placed \xF0\x9F\x98\x80";
  CHECK(publish_one(*pub, rec).status == publish_status::ok);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  const auto& q = reqs[0];
  // On the wire: printable ASCII only, as the CloudEvents HTTP binding asks.
  CHECK(q.header("ce-subject") == "Z%C3%BCrich");
  CHECK(q.header("ce-source") == "/shops/Gen%C3%A8ve%20%22main%22%20100%25");
  for (const char* name : {"ce-subject", "ce-source", "ce-type", "ce-aggregatetype"}) {
    INFO(name);
    for (char c : q.header(name))
      CHECK((c > 0x20 && c < 0x7f && c != '"'));
  }
  // What a CloudEvents consumer decodes is what was written.
  CHECK(percent_decode(q.header("ce-subject")) == rec.msg.aggregate_id);
  CHECK(percent_decode(q.header("ce-type")) == rec.msg.type);
  CHECK(percent_decode(q.header("ce-aggregatetype")) == rec.msg.aggregate_type);
  CHECK(percent_decode(q.header("ce-source")) == "/shops/Gen\xC3\xA8ve \"main\" 100%");
  CHECK(percent_decode(q.header("ce-id")) == rec.msg.id.to_string());
}

TEST_CASE("http publisher keeps request framing headers out of the message's hands",
          "[http][wire]") {
  test_http_server server;
  auto pub = txoutbox::http::make_publisher(options_for(server));
  const auto rec = make_record(
      "k", 1, {{"Host", "evil.example"}, {"Transfer-Encoding", "chunked"}, {"x-tenant", "7"}});
  CHECK(publish_one(*pub, rec).status == publish_status::ok);
  CHECK(publish_one(*pub, make_record("k", 2)).status == publish_status::ok);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].header("host") == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(reqs[0].headers.count("transfer-encoding") == 0);
  CHECK(reqs[0].header("x-tenant") == "7");
  CHECK(reqs[0].body == rec.msg.payload);
  CHECK(server.connections_accepted() == 1);  // framing intact: the connection stayed usable
}

TEST_CASE("http publisher rejects a routing field with CR LF and sends no injected header",
          "[http][wire][injection]") {
  test_http_server server;
  auto pub = txoutbox::http::make_publisher(options_for(server));
  // As a row written by plain SQL could hold them: validate() never saw these.
  auto smuggled = make_record("o1\r\nX-Injected: 1", 1);
  auto request = make_record("k", 2);
  request.msg.type = "T\r\n\r\nPOST /other HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
  auto tab = make_record("k", 3);
  tab.msg.aggregate_type = "order\t";
  for (const auto* rec : {&smuggled, &request, &tab}) {
    const auto result = publish_one(*pub, *rec);
    CHECK(result.status == publish_status::reject);
    CHECK_THAT(result.reason, Catch::StartsWith("unsafe routing field: "));
  }
  const auto fine = make_record("k", 4);
  CHECK(publish_one(*pub, fine).status == publish_status::ok);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].headers.count("x-injected") == 0);
  CHECK(reqs[0].body == fine.msg.payload);
  CHECK(server.connections_accepted() == 1);
}

TEST_CASE("http publisher shutdown unblocks a publish stuck on a hanging server",
          "[http][shutdown]") {
  test_http_server server;
  server.script({{.delay = 24h}});
  auto pub = txoutbox::http::make_publisher({.url = server.url(), .timeout = 600'000ms});
  const std::vector<outbox_record> batch{make_record("k", 1), make_record("k", 2)};
  auto pending = std::async(std::launch::async, [&] { return pub->publish(batch); });
  REQUIRE(txoutbox::testing::wait_until([&] { return server.request_count() == 1; }));
  pub->shutdown(1s);
  // Without the abort this would wait for the 10-minute timeout.
  REQUIRE(pending.wait_for(30s) == std::future_status::ready);
  const auto results = pending.get();
  REQUIRE(results.size() == 2);
  CAPTURE(results[0].reason);
  CHECK(results[0].status == publish_status::retry);
  CHECK(results[0].reason.find("shut down") != std::string::npos);
  CHECK(results[1].status == publish_status::retry);

  const auto later = publish_one(*pub, make_record("j", 1));
  CAPTURE(later.reason);
  CHECK(later.status == publish_status::retry);
  CHECK(server.request_count() == 1);
  server.release_delays();
}

TEST_CASE("http publisher keeps one connection alive across sequential messages", "[http][pool]") {
  test_http_server server;
  auto pub = txoutbox::http::make_publisher(options_for(server));
  for (int i = 0; i < 10; ++i)
    CHECK(publish_one(*pub, make_record("k", i)).status == publish_status::ok);
  std::vector<outbox_record> batch;
  for (int i = 10; i < 20; ++i)
    batch.push_back(make_record("k" + std::to_string(i % 3), i));
  for (const auto& r : pub->publish(batch))
    CHECK(r.status == publish_status::ok);
  CHECK(server.request_count() == 20);
  CHECK(server.connections_accepted() == 1);
}

TEST_CASE("http publisher opens a new connection after the server closes one", "[http][pool]") {
  test_http_server server;
  server.script({{.close = true}});
  auto pub = txoutbox::http::make_publisher(options_for(server));
  CHECK(publish_one(*pub, make_record("k", 1)).status == publish_status::ok);
  CHECK(publish_one(*pub, make_record("k", 2)).status == publish_status::ok);
  CHECK(publish_one(*pub, make_record("k", 3)).status == publish_status::ok);
  CHECK(server.connections_accepted() == 2);
}

TEST_CASE("http publisher resends once when a kept-alive connection was closed while idle",
          "[http][pool]") {
  const bool tls = GENERATE(false, true);
  INFO((tls ? "https" : "http"));
  std::optional<http_test::tls_identity> identity;
  if (tls)
    identity = http_test::make_self_signed({}, {"127.0.0.1"});
  test_http_server server(identity);
  server.script({{.drop_after = true}});
  auto pub = txoutbox::http::make_publisher({.url = server.url(), .verify_peer = false});
  CHECK(publish_one(*pub, make_record("k", 1)).status == publish_status::ok);
  // The pooled connection is dead; the request is resent on a fresh one, not failed.
  const auto result = publish_one(*pub, make_record("k", 2));
  CAPTURE(result.reason);
  CHECK(result.status == publish_status::ok);
  CHECK(server.request_count() == 2);
  CHECK(server.connections_accepted() == 2);
}

TEST_CASE("http publisher runs different partitions concurrently on separate connections",
          "[http][pool]") {
  test_http_server server;
  // The first two requests wait until both have arrived: only concurrent sends pass.
  server.script({{.delay = 24h}, {.delay = 24h}});
  auto pub = txoutbox::http::make_publisher({.url = server.url(), .max_connections = 2});
  const std::vector<outbox_record> p1{make_record("a", 1)};
  const std::vector<outbox_record> p2{make_record("b", 1)};
  auto f1 = std::async(std::launch::async, [&] { return pub->publish(p1); });
  auto f2 = std::async(std::launch::async, [&] { return pub->publish(p2); });
  const bool both_arrived =
      txoutbox::testing::wait_until([&] { return server.request_count() == 2; });
  server.release_delays();
  CHECK(both_arrived);
  CHECK(f1.get()[0].status == publish_status::ok);
  CHECK(f2.get()[0].status == publish_status::ok);
  CHECK(server.connections_accepted() == 2);
}

TEST_CASE("http publisher signs each attempt the Standard Webhooks way", "[http][signing]") {
  const std::string key = "txoutbox test key \x01\x02\x03 with binary bytes";
  const std::string secret =
      "whsec_" + openssl_base64(reinterpret_cast<const unsigned char*>(key.data()),
                                static_cast<int>(key.size()));
  test_http_server server;
  auto pub = txoutbox::http::make_publisher({.url = server.url(), .signing_secret = secret});
  const auto rec = make_record("k", 1);
  CHECK(publish_one(*pub, rec).status == publish_status::ok);
  CHECK(publish_one(*pub, rec).status == publish_status::ok);  // a second attempt
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 2);
  const auto now = std::time(nullptr);
  for (const auto& q : reqs) {
    const std::string ts = q.header("webhook-timestamp");
    REQUIRE(!ts.empty());
    CHECK(std::labs(std::stol(ts) - static_cast<long>(now)) < 300);  // the spec's tolerance
    CHECK(q.header("webhook-id") == rec.msg.id.to_string());
    CHECK(q.header("webhook-signature") ==
          expected_signature(key, rec.msg.id.to_string(), ts, q.body));
  }
}

TEST_CASE("http publisher refuses private destinations only when asked", "[http][ssrf]") {
  test_http_server server;
  auto guarded = txoutbox::http::make_publisher({.url = server.url(), .refuse_private = true});
  const auto result = publish_one(*guarded, make_record("k", 1));
  CAPTURE(result.reason);
  CHECK(result.status == publish_status::unavailable);  // the operator's to fix, not the message's
  CHECK(result.reason.find("destination address is private") != std::string::npos);
  CHECK(server.request_count() == 0);

  auto open = txoutbox::http::make_publisher(options_for(server));
  CHECK(publish_one(*open, make_record("k", 1)).status == publish_status::ok);
}

TEST_CASE("https publisher refuses an untrusted self-signed server", "[http][tls]") {
  test_http_server server(http_test::make_self_signed({"localhost"}, {"127.0.0.1"}));
  auto pub = txoutbox::http::make_publisher({.url = server.url()});
  const auto result = publish_one(*pub, make_record("k", 1));
  CAPTURE(result.reason);
  CHECK(result.status == publish_status::unavailable);
  CHECK(result.reason.find("certificate") != std::string::npos);
  CHECK(server.request_count() == 0);
}

TEST_CASE("https publisher delivers to a server trusted through ca_file", "[http][tls]") {
  const auto identity = http_test::make_self_signed({"localhost"}, {"127.0.0.1"});
  const auto ca = http_test::write_temp_file("ca.pem", identity.cert_pem);
  test_http_server server(identity);
  auto pub = txoutbox::http::make_publisher({.url = server.url(), .ca_file = ca});
  const auto rec = make_record("k", 1);
  CHECK(publish_one(*pub, rec).status == publish_status::ok);
  CHECK(publish_one(*pub, make_record("k", 2)).status == publish_status::ok);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].body == rec.msg.payload);
  CHECK(server.connections_accepted() == 1);

  // By host name: SNI and name verification against the DNS entry.
  auto by_name = txoutbox::http::make_publisher(
      {.url = "https://localhost:" + std::to_string(server.port()) + "/hook", .ca_file = ca});
  CHECK(publish_one(*by_name, make_record("k", 3)).status == publish_status::ok);
  std::remove(ca.c_str());
}

TEST_CASE("https publisher rejects a trusted certificate issued for another host", "[http][tls]") {
  const auto identity = http_test::make_self_signed({"other.example"}, {});
  const auto ca = http_test::write_temp_file("ca.pem", identity.cert_pem);
  test_http_server server(identity);
  auto pub = txoutbox::http::make_publisher({.url = server.url(), .ca_file = ca});
  const auto result = publish_one(*pub, make_record("k", 1));
  CAPTURE(result.reason);
  CHECK(result.status == publish_status::unavailable);
  CHECK(result.reason.find("certificate") != std::string::npos);
  CHECK(result.reason.find("mismatch") != std::string::npos);
  CHECK(server.request_count() == 0);
  std::remove(ca.c_str());
}

TEST_CASE("https publisher with verify_peer off accepts a self-signed server", "[http][tls]") {
  test_http_server server(http_test::make_self_signed({"other.example"}, {}));
  auto pub = txoutbox::http::make_publisher({.url = server.url(), .verify_peer = false});
  CHECK(publish_one(*pub, make_record("k", 1)).status == publish_status::ok);
}

TEST_CASE("make_publisher rejects malformed urls, secrets and ca files", "[http][options]") {
  auto field_of = [](txoutbox::http::publisher_options o) {
    try {
      txoutbox::http::make_publisher(std::move(o));
    } catch (const txoutbox::usage_error& e) {
      return e.field();
    }
    return std::string("<no error>");
  };
  for (const char* url : {"", "ftp://host/x", "http://", "http://user:pw@host/", "http://host:0/",
                          "http://host:99999/", "http://host/a b", "http://[::1/x",
                          "http://host/#frag", "host/path"}) {
    INFO(url);
    CHECK(field_of({.url = url}) == "url");
  }
  CHECK(field_of({.url = "http://h/", .signing_secret = "not-a-secret"}) == "signing_secret");
  CHECK(field_of({.url = "http://h/", .signing_secret = "whsec_!!!"}) == "signing_secret");
  CHECK(field_of({.url = "https://h/", .ca_file = "/nonexistent/ca.pem"}) == "ca_file");
  CHECK(field_of({.url = "http://h/", .timeout = 0ms}) == "timeout");
  CHECK(field_of({.url = "http://h/", .max_connections = 0}) == "max_connections");
  CHECK(field_of({.url = "http://h/", .extra_headers = {{"Host", "x"}}}) == "extra_headers[Host]");
  const std::vector<std::string> bad_values{
      "a\r\nX-Injected: 1", "a\nb",          std::string("a\0b", 3), "a\tb", "a\x01", "a\x7f",
      "a\xc2\x85",          "bad utf-8 \xff"};
  for (std::size_t i = 0; i < bad_values.size(); ++i) {
    INFO("bad value #" << i);
    const std::string& bad = bad_values[i];
    CHECK(field_of({.url = "http://h/", .extra_headers = {{"X-A", bad}}}) == "extra_headers[X-A]");
    CHECK(field_of({.url = "http://h/", .source = bad}) == "source");
  }
  CHECK(field_of({.url = "http://h/", .source = ""}) == "source");
  try {
    txoutbox::http::make_publisher({.url = "http://h/", .source = "/shop\r\nX-Injected: 1"});
    FAIL("no error");
  } catch (const txoutbox::usage_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("source") && Catch::Contains("U+000D"));
  }
  try {
    txoutbox::http::make_publisher({.url = "http://h/", .signing_secret = "whsec_s3cr3t!"});
    FAIL("no error");
  } catch (const txoutbox::usage_error& e) {
    CHECK(std::string(e.what()).find("s3cr3t") == std::string::npos);
  }
}

TEST_CASE("make_publisher_from_uri parses the command-line options", "[http][options]") {
  test_http_server server;
  const std::string key = "cli signing key";
  const std::string secret =
      "whsec_" + openssl_base64(reinterpret_cast<const unsigned char*>(key.data()),
                                static_cast<int>(key.size()));
  ::setenv("TXOUTBOX_HTTP_TEST_SECRET", secret.c_str(), 1);
  auto pub = txoutbox::http::make_publisher_from_uri(server.url(),
                                                     {{"timeout-ms", "5000"},
                                                      {"source", "/cli"},
                                                      {"max-connections", "2"},
                                                      {"verify-peer", "false"},
                                                      {"refuse-private", "false"},
                                                      {"header.X-Api-Key", "k123"},
                                                      {"secret-env", "TXOUTBOX_HTTP_TEST_SECRET"}});
  const auto rec = make_record("k", 1);
  CHECK(publish_one(*pub, rec).status == publish_status::ok);
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].header("ce-source") == "/cli");
  CHECK(reqs[0].header("x-api-key") == "k123");
  CHECK(reqs[0].header("webhook-signature") ==
        expected_signature(key, rec.msg.id.to_string(), reqs[0].header("webhook-timestamp"),
                           rec.msg.payload));

  const auto secret_file = http_test::write_temp_file("secret", secret + "\n");
  auto from_file =
      txoutbox::http::make_publisher_from_uri(server.url(), {{"secret-file", secret_file}});
  CHECK(publish_one(*from_file, rec).status == publish_status::ok);
  reqs = server.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[1].header("webhook-signature") ==
        expected_signature(key, rec.msg.id.to_string(), reqs[1].header("webhook-timestamp"),
                           rec.msg.payload));
  std::remove(secret_file.c_str());

  auto guarded = txoutbox::http::make_publisher_from_uri(server.url(), {{"refuse-private", "yes"}});
  CHECK(publish_one(*guarded, rec).status == publish_status::unavailable);
}

TEST_CASE("make_publisher_from_uri names the bad option", "[http][options]") {
  ::unsetenv("TXOUTBOX_HTTP_TEST_UNSET");
  const std::vector<std::pair<std::string, std::string>> bad{
      {"colour", "blue"},
      {"timeout-ms", "abc"},
      {"timeout-ms", "0"},
      {"max-connections", "-1"},
      {"verify-peer", "maybe"},
      {"refuse-private", "2"},
      {"header.bad name", "x"},
      {"header.Content-Length", "5"},
      {"header.X-A", "a\r\nX-Injected: 1"},
      {"header.X-A", "tab\there"},
      {"source", "/shop\nX-Injected: 1"},
      {"secret-env", "TXOUTBOX_HTTP_TEST_UNSET"},
      {"secret-file", "/nonexistent/secret"},
      {"secret", "whsec_abcd"},
      {"source", ""}};
  for (const auto& [key, value] : bad) {
    INFO(key << "=" << value);
    try {
      txoutbox::http::make_publisher_from_uri("http://127.0.0.1:9/hook", {{key, value}});
      FAIL("no error");
    } catch (const txoutbox::usage_error& e) {
      CHECK(e.field() == key);
      CHECK(std::string(e.what()).find(key) != std::string::npos);
    }
  }
  CHECK_THROWS_AS(txoutbox::http::make_publisher_from_uri("mailto:x", {}), txoutbox::usage_error);
}
