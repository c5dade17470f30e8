// Shared helpers of the Redis tests: fixture discovery, a plain hiredis client, read-back.
#include "redis_test_support.hpp"

#include <sys/time.h>

#include <catch2/catch.hpp>
#include <stdexcept>

#include "txoutbox/message_id.hpp"
#include "txoutbox/testing/servers.hpp"

namespace txoutbox::testing::redis {

endpoint server() {
  const auto url = server_url("redis", "TXOUTBOX_TEST_REDIS_URL");
  if (!url) {
    if (running_under_ci())
      FAIL("no Redis server: the redis fixture did not start (CI=true)");
    WARN("no Redis server configured (TXOUTBOX_TEST_REDIS_URL or the redis fixture): skipped");
    return {};
  }
  const auto opts = txoutbox::redis::parse_publisher_uri(*url, {});
  return {opts.host, opts.port};
}

txoutbox::redis::publisher_options options_for(const endpoint& ep) {
  txoutbox::redis::publisher_options o;
  o.host = ep.host;
  o.port = ep.port;
  o.stream_prefix = unique_name("rs") + ":";
  return o;
}

client::client(const std::string& host, int port) {
  timeval tv{5, 0};
  ctx_ = redisConnectWithTimeout(host.c_str(), port, tv);
  if (ctx_ == nullptr || ctx_->err != 0) {
    const std::string why = ctx_ != nullptr ? ctx_->errstr : "out of memory";
    if (ctx_ != nullptr)
      redisFree(ctx_);
    throw std::runtime_error("cannot connect to redis: " + why);
  }
  redisSetTimeout(ctx_, tv);
}

client::~client() {
  redisFree(ctx_);
}

reply_ptr client::command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* raw = static_cast<redisReply*>(
      redisCommandArgv(ctx_, static_cast<int>(args.size()), argv.data(), lens.data()));
  if (raw == nullptr)
    throw std::runtime_error(std::string("redis command failed: ") + ctx_->errstr);
  return reply_ptr(raw);
}

std::vector<entry> read_stream(client& c, const std::string& stream) {
  std::vector<entry> out;
  auto reply = c.command({"XRANGE", stream, "-", "+"});
  if (reply->type != REDIS_REPLY_ARRAY)
    return out;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* item = reply->element[i];
    const redisReply* fields = item->element[1];
    entry e;
    for (std::size_t f = 0; f + 1 < fields->elements; f += 2) {
      e[std::string(fields->element[f]->str, fields->element[f]->len)] =
          std::string(fields->element[f + 1]->str, fields->element[f + 1]->len);
    }
    out.push_back(std::move(e));
  }
  return out;
}

outbox_record make_record(const std::string& aggregate_type, const std::string& key, int n) {
  outbox_record r;
  r.msg.id = message_id::generate();
  r.msg.aggregate_type = aggregate_type;
  r.msg.aggregate_id = key;
  r.msg.type = "OrderPlaced";
  r.msg.payload = "{\"key\":\"" + key + "\",\"n\":" + std::to_string(n) + "}";
  r.seq = n;
  r.created_at = std::chrono::system_clock::now();
  return r;
}

std::vector<std::string> redis_server_args(int port, const std::string& dir) {
  return {"--port",       std::to_string(port),
          "--bind",       "127.0.0.1",
          "--save",       "",
          "--appendonly", "yes",
          "--dir",        dir,
          "--daemonize",  "no"};
}

}  // namespace txoutbox::testing::redis
