// Relay processes from a SQLite file to the Redis and NATS fixtures, end to end.
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "cli_test_support.hpp"
#include "txoutbox/testing/servers.hpp"
#include "txoutbox/testing/wait.hpp"
#ifdef TXOUTBOX_CLI_TEST_REDIS
#include <hiredis/hiredis.h>
#endif
#ifdef TXOUTBOX_CLI_TEST_NATS
#include <nats/nats.h>
#endif

using namespace txoutbox::testing;
using namespace txoutbox::testing::cli;
using namespace std::chrono_literals;

namespace {

constexpr int messages = 50;

const std::map<std::string, std::optional<std::string>> clean_env{
    {"TXOUTBOX_DB_URL", std::nullopt}, {"TXOUTBOX_DB_PASSWORD", std::nullopt}};

/// The URL of a fixture's server; "" (after a WARN) when none, a FAIL under CI.
[[maybe_unused]] std::string fixture_url(const char* name, const char* env) {
  const auto url = server_url(name, env);
  if (url)
    return *url;
  if (running_under_ci())
    FAIL("no " << name << " server: the fixture did not start (CI=true)");
  WARN("no " << name << " server configured (" << env << "): test skipped");
  return {};
}

/// A migrated SQLite file holding `messages` messages over 5 keys, in `dir`.
[[maybe_unused]] void prepare(const temp_dir& dir) {
  auto r = run_cli_in(dir.path(), {"migrate", "--db", "sqlite:orders.db"}, clean_env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  for (int i = 0; i < messages; ++i) {
    r = run_cli_in(dir.path(),
                   {"enqueue", "--db", "sqlite:orders.db", "--aggregate-type", "order",
                    "--aggregate-id", "key-" + std::to_string(i % 5), "--type", "OrderPlaced",
                    "--payload", "{\"n\":" + std::to_string(i) + "}"},
                   clean_env);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
}

/// Runs a relay on dir/orders.db publishing to `uri` until `arrived` holds (REQUIREd),
/// then SIGTERMs it and REQUIREs exit 0 and an empty outbox.
template <class F>
void relay_until(const temp_dir& dir, const std::string& uri, std::vector<std::string> opts,
                 F&& arrived) {
  std::vector<std::string> args{"relay",     "--db", "sqlite:orders.db", "--publisher", uri,
                                "--poll-ms", "50"};
  args.insert(args.end(), opts.begin(), opts.end());
  child_process relay(TXOUTBOX_CLI_PATH, args, clean_env, dir.path(), "relay", dir.path());
  REQUIRE(wait_started(relay));
  const bool ok = wait_until(arrived, 30s);
  INFO(relay.err());
  REQUIRE(ok);
  relay.signal(SIGTERM);
  REQUIRE(relay.wait_for(15s) == std::optional<int>(0));
  CHECK(relay.err().find("published " + std::to_string(messages)) != std::string::npos);
  const auto status = run_cli_in(dir.path(), {"status", "--db", "sqlite:orders.db"}, clean_env);
  CHECK(status.out.find("backlog:       0") != std::string::npos);
}

}  // namespace

TEST_CASE("a relay process publishes a SQLite outbox to a Redis stream", "[cli][redis]") {
#ifndef TXOUTBOX_CLI_TEST_REDIS
  WARN("redis publisher not built: test skipped");
#else
  const auto url = fixture_url("redis", "TXOUTBOX_TEST_REDIS_URL");
  if (url.empty())
    return;
  temp_dir dir;
  prepare(dir);
  const std::string prefix = unique_name("cli") + ":";
  // host:port of the fixture for the read-back client.
  const auto hostport = url.substr(
      8, url.find('/', 8) == std::string::npos ? std::string::npos : url.find('/', 8) - 8);
  const auto colon = hostport.rfind(':');
  const std::string host = hostport.substr(0, colon);
  const int port = std::atoi(hostport.substr(colon + 1).c_str());
  redisContext* ctx = redisConnect(host.c_str(), port);
  REQUIRE(ctx != nullptr);
  REQUIRE(ctx->err == 0);
  auto xlen = [&] {
    auto* reply =
        static_cast<redisReply*>(redisCommand(ctx, "XLEN %s", (prefix + "order").c_str()));
    long long n = reply != nullptr && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    if (reply != nullptr)
      freeReplyObject(reply);
    return n;
  };
  relay_until(dir, url, {"--publisher-opt", "stream-prefix=" + prefix},
              [&] { return xlen() >= messages; });
  CHECK(xlen() == messages);
  redisFree(ctx);
#endif
}

TEST_CASE("a relay process publishes a SQLite outbox to a NATS JetStream stream", "[cli][nats]") {
#ifndef TXOUTBOX_CLI_TEST_NATS
  WARN("nats publisher not built: test skipped");
#else
  const auto url = fixture_url("nats", "TXOUTBOX_TEST_NATS_URL");
  if (url.empty())
    return;
  temp_dir dir;
  prepare(dir);
  const std::string name = unique_name("cli");
  std::string stream = "S" + name;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  REQUIRE(natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK);
  REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
  auto count = [&]() -> std::uint64_t {
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    if (js_GetStreamInfo(&si, js, stream.c_str(), nullptr, &jerr) != NATS_OK)
      return 0;
    const std::uint64_t n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
  };
  relay_until(dir, url,
              {"--publisher-opt", "stream=" + stream, "--publisher-opt",
               "subject-template=" + name + ".{aggregatetype}.{type}", "--publisher-opt",
               "create-stream=true"},
              [&] { return count() >= messages; });
  CHECK(count() == static_cast<std::uint64_t>(messages));
  jsErrCode jerr = static_cast<jsErrCode>(0);
  js_DeleteStream(js, stream.c_str(), nullptr, &jerr);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
#endif
}
