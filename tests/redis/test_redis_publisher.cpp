// Redis Streams publisher against the fixture's server: fields, stream naming, MAXLEN, per-key
// rules.
#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "redis_test_support.hpp"
#include "txoutbox/redis/publisher.hpp"

using txoutbox::outbox_record;
using txoutbox::publish_status;
using namespace txoutbox::testing::redis;

TEST_CASE("redis publisher writes every field to the stream named from the aggregate type",
          "[redis]") {
  const auto ep = server();
  TXOUTBOX_REQUIRE_REDIS(ep);
  auto opts = options_for(ep);
  auto pub = txoutbox::redis::make_publisher(opts);

  std::vector<outbox_record> batch{make_record("order", "k1", 1), make_record("invoice", "k2", 2)};
  batch[0].msg.headers = {{"traceparent", "00-abc-def-01"}, {"x-quote", "say \"hi\"\\"}};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 2);
  CHECK(results[0].status == publish_status::ok);
  CHECK(results[1].status == publish_status::ok);

  client c(ep.host, ep.port);
  const auto orders = read_stream(c, opts.stream_prefix + "order");
  const auto invoices = read_stream(c, opts.stream_prefix + "invoice");
  REQUIRE(orders.size() == 1);
  REQUIRE(invoices.size() == 1);
  const auto& e = orders[0];
  CHECK(e.at("id") == batch[0].msg.id.to_string());
  CHECK(e.at("aggregatetype") == "order");
  CHECK(e.at("aggregateid") == "k1");
  CHECK(e.at("type") == "OrderPlaced");
  CHECK(e.at("payload") == batch[0].msg.payload);
  CHECK(e.at("created_at").size() == 27);  // 2026-11-21T10:00:00.123456Z
  CHECK(e.at("created_at").back() == 'Z');
  rapidjson::Document headers;
  headers.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
      e.at("headers").c_str());
  REQUIRE_FALSE(headers.HasParseError());
  REQUIRE(headers.IsObject());
  CHECK(headers.MemberCount() == 2);
  CHECK(std::string(headers["traceparent"].GetString()) == "00-abc-def-01");
  CHECK(std::string(headers["x-quote"].GetString()) == "say \"hi\"\\");
  CHECK(invoices[0].at("id") == batch[1].msg.id.to_string());
  CHECK(invoices[0].at("headers") == "{}");
}

TEST_CASE("redis publisher sends every aggregate type to one fixed stream when configured",
          "[redis]") {
  const auto ep = server();
  TXOUTBOX_REQUIRE_REDIS(ep);
  auto opts = options_for(ep);
  opts.stream = opts.stream_prefix + "all";
  auto pub = txoutbox::redis::make_publisher(opts);
  std::vector<outbox_record> batch{make_record("order", "a", 1), make_record("invoice", "b", 2),
                                   make_record("order", "a", 3)};
  for (const auto& r : pub->publish(batch))
    CHECK(r.status == publish_status::ok);
  client c(ep.host, ep.port);
  const auto all = read_stream(c, opts.stream);
  REQUIRE(all.size() == 3);
  CHECK(all[0].at("aggregatetype") == "order");
  CHECK(all[1].at("aggregatetype") == "invoice");
  CHECK(read_stream(c, opts.stream_prefix + "order").empty());
}

TEST_CASE("redis publisher keeps each key's order and returns results in batch order",
          "[redis][order]") {
  const auto ep = server();
  TXOUTBOX_REQUIRE_REDIS(ep);
  auto opts = options_for(ep);
  auto pub = txoutbox::redis::make_publisher(opts);
  // Keys interleaved and of uneven length: 3 records of a, 1 of b, 5 of c.
  std::vector<outbox_record> batch;
  const std::vector<std::string> keys{"a", "c", "b", "c", "a", "c", "c", "a", "c"};
  for (std::size_t i = 0; i < keys.size(); ++i)
    batch.push_back(make_record("order", keys[i], static_cast<int>(i)));
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == batch.size());
  for (const auto& r : results)
    CHECK(r.status == publish_status::ok);

  client c(ep.host, ep.port);
  const auto entries = read_stream(c, opts.stream_prefix + "order");
  REQUIRE(entries.size() == batch.size());
  std::map<std::string, std::vector<std::string>> seen;
  for (const auto& e : entries)
    seen[e.at("aggregateid")].push_back(e.at("id"));
  std::map<std::string, std::vector<std::string>> written;
  for (const auto& r : batch)
    written[r.msg.aggregate_id].push_back(r.msg.id.to_string());
  CHECK(seen == written);
}

TEST_CASE("redis publisher trims the stream with MAXLEN when maxlen is set", "[redis]") {
  const auto ep = server();
  TXOUTBOX_REQUIRE_REDIS(ep);
  auto opts = options_for(ep);
  opts.maxlen = 10;
  auto pub = txoutbox::redis::make_publisher(opts);
  std::vector<outbox_record> batch;
  for (int i = 0; i < 500; ++i)
    batch.push_back(make_record("order", "k" + std::to_string(i), i));
  for (const auto& r : pub->publish(batch))
    REQUIRE(r.status == publish_status::ok);
  client c(ep.host, ep.port);
  auto len = c.command({"XLEN", opts.stream_prefix + "order"});
  REQUIRE(len->type == REDIS_REPLY_INTEGER);
  // Approximate trimming drops whole radix-tree nodes: between 10 and far fewer than 500.
  CHECK(len->integer >= 10);
  CHECK(len->integer < 500);

  opts.maxlen = 0;
  opts.stream_prefix += "untrimmed:";
  auto untrimmed = txoutbox::redis::make_publisher(opts);
  for (const auto& r : untrimmed->publish(batch))
    REQUIRE(r.status == publish_status::ok);
  len = c.command({"XLEN", opts.stream_prefix + "order"});
  CHECK(len->integer == 500);
}

TEST_CASE("redis WRONGTYPE at the stream name is a reject and holds back only that key",
          "[redis][per-key]") {
  const auto ep = server();
  TXOUTBOX_REQUIRE_REDIS(ep);
  auto opts = options_for(ep);
  client c(ep.host, ep.port);
  // A plain string where the "order" stream would be.
  REQUIRE(c.command({"SET", opts.stream_prefix + "order", "not a stream"})->type ==
          REDIS_REPLY_STATUS);
  auto pub = txoutbox::redis::make_publisher(opts);

  std::vector<outbox_record> batch{
      make_record("invoice", "k", 0),  // ok: k's first record
      make_record("order", "k", 1),    // WRONGTYPE: reject
      make_record("invoice", "k", 2),  // same key, a good stream: must not be sent
      make_record("invoice", "other", 3), make_record("order", "k", 4),  // same key: not sent
  };
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 5);
  CHECK(results[0].status == publish_status::ok);
  CHECK(results[1].status == publish_status::reject);
  CHECK_THAT(results[1].reason, Catch::Contains("WRONGTYPE"));
  CHECK(results[2].status == publish_status::retry);
  CHECK_THAT(results[2].reason, Catch::Contains("not sent"));
  CHECK(results[3].status == publish_status::ok);
  CHECK(results[4].status == publish_status::retry);

  const auto invoices = read_stream(c, opts.stream_prefix + "invoice");
  REQUIRE(invoices.size() == 2);
  CHECK(invoices[0].at("id") == batch[0].msg.id.to_string());
  CHECK(invoices[1].at("id") == batch[3].msg.id.to_string());
}

TEST_CASE("redis publisher reports unavailable for every record when the server is unreachable",
          "[redis][unavailable]") {
  txoutbox::redis::publisher_options opts;
  opts.port = txoutbox::testing::free_port();  // nothing listens there
  opts.connect_timeout = std::chrono::milliseconds(500);
  auto pub = txoutbox::redis::make_publisher(opts);
  std::vector<outbox_record> batch{make_record("order", "a", 1), make_record("order", "b", 2)};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 2);
  for (const auto& r : results) {
    CHECK(r.status == publish_status::unavailable);
    CHECK_THAT(r.reason, Catch::Contains("cannot connect"));
  }
  CHECK_THAT(results[1].reason, Catch::StartsWith("not sent: destination unavailable"));
}

TEST_CASE("redis publisher reports a stream's later records unavailable, unsent, after NOPERM",
          "[redis][unavailable]") {
  const auto ep = server();
  TXOUTBOX_REQUIRE_REDIS(ep);
  auto opts = options_for(ep);
  client c(ep.host, ep.port);
  // An ACL user that may write the invoice stream only.
  const std::string user = "u" + opts.stream_prefix.substr(0, opts.stream_prefix.size() - 1);
  REQUIRE(c.command(
               {"ACL", "SETUSER", user, "on", ">pw", "~" + opts.stream_prefix + "invoice", "+@all"})
              ->type == REDIS_REPLY_STATUS);
  opts.username = user;
  opts.password = "pw";
  auto pub = txoutbox::redis::make_publisher(opts);
  CHECK(pub->route(make_record("order", "k", 0)) == opts.stream_prefix + "order");

  std::vector<outbox_record> batch{
      make_record("invoice", "k", 0),  // round 1: ok
      make_record("order", "j", 1),    // round 1: NOPERM, the order stream is unavailable
      make_record("order", "k", 2),    // round 2: same stream, not sent
      make_record("invoice", "k", 3),  // held behind k's failure
  };
  const auto results = pub->publish(batch);
  (void)c.command({"ACL", "DELUSER", user});
  REQUIRE(results.size() == 4);
  CHECK(results[0].status == publish_status::ok);
  CHECK(results[1].status == publish_status::unavailable);
  CHECK_THAT(results[1].reason, Catch::Contains("NOPERM"));
  CHECK(results[2].status == publish_status::unavailable);
  CHECK(results[2].reason == "not sent: destination unavailable");
  CHECK(results[3].status == publish_status::retry);
  CHECK(read_stream(c, opts.stream_prefix + "invoice").size() == 1);
  CHECK(read_stream(c, opts.stream_prefix + "order").empty());
}

TEST_CASE("redis publisher rejects a control character in a routing field and sends nothing of it",
          "[redis][unsafe]") {
  const auto ep = server();
  TXOUTBOX_REQUIRE_REDIS(ep);
  auto opts = options_for(ep);
  auto pub = txoutbox::redis::make_publisher(opts);
  std::vector<outbox_record> batch{make_record("order", "a\r\nb", 1),
                                   make_record("order", "a\r\nb", 2),
                                   make_record("ord\ner", "c", 3), make_record("order", "d", 4)};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 4);
  CHECK(results[0].status == publish_status::reject);
  CHECK_THAT(
      results[0].reason,
      Catch::StartsWith("unsafe routing field: aggregate_id contains the control character"));
  CHECK(results[1].status == publish_status::retry);  // same key: held back
  CHECK(results[2].status == publish_status::reject);
  CHECK_THAT(
      results[2].reason,
      Catch::StartsWith("unsafe routing field: aggregate_type contains the control character"));
  CHECK(results[3].status == publish_status::ok);
  client c(ep.host, ep.port);
  const auto orders = read_stream(c, opts.stream_prefix + "order");
  REQUIRE(orders.size() == 1);
  CHECK(orders[0].at("aggregateid") == "d");
  CHECK(read_stream(c, opts.stream_prefix + "ord\ner").empty());
}

TEST_CASE("redis publisher refuses every record after shutdown", "[redis][shutdown]") {
  const auto ep = server();
  TXOUTBOX_REQUIRE_REDIS(ep);
  auto opts = options_for(ep);
  auto pub = txoutbox::redis::make_publisher(opts);
  std::vector<outbox_record> batch{make_record("order", "a", 1)};
  REQUIRE(pub->publish(batch)[0].status == publish_status::ok);
  pub->shutdown(std::chrono::milliseconds(100));
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 1);
  CHECK(results[0].status == publish_status::retry);
  client c(ep.host, ep.port);
  CHECK(read_stream(c, opts.stream_prefix + "order").size() == 1);
}
