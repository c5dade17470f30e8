// Redis publisher under faults, on private redis-servers: transient replies, AUTH, hangs, a crash
// mid-stream.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "delivery_checker.hpp"
#include "redis_test_support.hpp"
#include "txoutbox/redis/publisher.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/testing/memory_store.hpp"
#include "txoutbox/testing/servers.hpp"
#include "txoutbox/testing/wait.hpp"

using txoutbox::outbox_record;
using txoutbox::publish_status;
using txoutbox::testing::private_server;
using txoutbox::testing::wait_until;
using namespace txoutbox::testing::redis;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> with_password(int port, const std::string& dir) {
  auto args = redis_server_args(port, dir);
  args.insert(args.end(), {"--requirepass", "s3cret pass"});
  return args;
}

}  // namespace

TEST_CASE("redis READONLY replies are unavailable and the same records succeed once writable",
          "[redis][unavailable]") {
  const auto bin = txoutbox::testing::required_program("redis-server");
  if (bin.empty())
    return;
  private_server srv(bin, &redis_server_args);
  srv.start();
  client c("127.0.0.1", srv.port());
  txoutbox::redis::publisher_options opts{.port = srv.port()};
  auto pub = txoutbox::redis::make_publisher(opts);

  // A replica of a master that does not exist refuses writes with -READONLY.
  const int nowhere = txoutbox::testing::free_port();
  REQUIRE(c.command({"REPLICAOF", "127.0.0.1", std::to_string(nowhere)})->type ==
          REDIS_REPLY_STATUS);
  std::vector<outbox_record> batch{make_record("order", "a", 1), make_record("order", "a", 2),
                                   make_record("order", "b", 3)};
  auto results = pub->publish(batch);
  REQUIRE(results.size() == 3);
  CHECK(results[0].status == publish_status::unavailable);
  CHECK_THAT(results[0].reason, Catch::Contains("READONLY"));
  CHECK(results[1].status == publish_status::retry);  // same key: held behind it
  CHECK_THAT(results[1].reason, Catch::Contains("not sent"));
  CHECK(results[2].status == publish_status::unavailable);

  REQUIRE(c.command({"REPLICAOF", "NO", "ONE"})->type == REDIS_REPLY_STATUS);
  results = pub->publish(batch);
  for (const auto& r : results)
    CHECK(r.status == publish_status::ok);
  CHECK(read_stream(c, "txoutbox:order").size() == 3);
}

TEST_CASE("redis publisher authenticates with the password and a wrong one is unavailable",
          "[redis][auth]") {
  const auto bin = txoutbox::testing::required_program("redis-server");
  if (bin.empty())
    return;
  private_server srv(bin, &with_password);
  srv.start();
  std::vector<outbox_record> batch{make_record("order", "a", 1)};

  auto wrong = txoutbox::redis::make_publisher({.port = srv.port(), .password = "nope"});
  auto results = wrong->publish(batch);
  REQUIRE(results.size() == 1);
  CHECK(results[0].status == publish_status::unavailable);
  CHECK_THAT(results[0].reason, Catch::Contains("AUTH"));
  CHECK_THAT(results[0].reason, !Catch::Contains("nope"));

  auto right = txoutbox::redis::make_publisher(
      {.port = srv.port(), .password = "s3cret pass", .db = 3, .stream = "events"});
  results = right->publish(batch);
  REQUIRE(results[0].status == publish_status::ok);
  client c("127.0.0.1", srv.port());
  REQUIRE(c.command({"AUTH", "s3cret pass"})->type == REDIS_REPLY_STATUS);
  REQUIRE(c.command({"SELECT", "3"})->type == REDIS_REPLY_STATUS);
  CHECK(read_stream(c, "events").size() == 1);
}

TEST_CASE("redis publisher reports unavailable once its server is stopped",
          "[redis][unavailable]") {
  const auto bin = txoutbox::testing::required_program("redis-server");
  if (bin.empty())
    return;
  private_server srv(bin, &redis_server_args);
  srv.start();
  auto pub = txoutbox::redis::make_publisher(
      {.port = srv.port(), .connect_timeout = std::chrono::milliseconds(500)});
  std::vector<outbox_record> first{make_record("order", "a", 1)};
  REQUIRE(pub->publish(first)[0].status == publish_status::ok);  // a pooled connection now

  srv.kill();
  std::vector<outbox_record> batch{make_record("order", "a", 2), make_record("order", "b", 3)};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 2);
  for (const auto& r : results) {
    INFO(r.reason);
    CHECK(r.status == publish_status::unavailable);
  }
  // With the pooled connection gone, the next publish cannot connect at all.
  const auto again = pub->publish(batch);
  CHECK(again[0].status == publish_status::unavailable);
  CHECK_THAT(again[0].reason, Catch::Contains("cannot connect"));
}

TEST_CASE("redis shutdown unblocks a publish waiting on a server that never answers",
          "[redis][shutdown]") {
  // A listener that accepts and reads but never replies: the XADD waits for its reply.
  const int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(lfd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(lfd, 4) == 0);
  REQUIRE(::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  std::atomic<bool> got_command{false};
  std::atomic<bool> done{false};
  std::thread silent([&] {
    const int fd = ::accept(lfd, nullptr, nullptr);
    char buf[4096];
    if (fd >= 0 && ::read(fd, buf, sizeof buf) > 0)
      got_command = true;
    while (!done)
      std::this_thread::sleep_for(1ms);
    if (fd >= 0)
      ::close(fd);
  });

  auto pub = txoutbox::redis::make_publisher(
      {.port = ntohs(addr.sin_port), .command_timeout = std::chrono::minutes(5)});
  std::vector<outbox_record> batch{make_record("order", "a", 1), make_record("order", "a", 2)};
  auto pending = std::async(std::launch::async, [&] { return pub->publish(batch); });
  const bool sent = wait_until([&] { return got_command.load(); });
  pub->shutdown(100ms);
  const bool returned = pending.wait_for(10s) == std::future_status::ready;
  done = true;
  silent.join();
  ::close(lfd);
  REQUIRE(sent);
  REQUIRE(returned);
  const auto results = pending.get();
  REQUIRE(results.size() == 2);
  CHECK(results[0].status == publish_status::retry);
  CHECK(results[1].status == publish_status::retry);
}

TEST_CASE("relay delivers everything through a redis-server killed and restarted mid-stream",
          "[redis][relay][fault]") {
  const auto bin = txoutbox::testing::required_program("redis-server");
  if (bin.empty())
    return;
  private_server srv(bin, &redis_server_args);
  srv.start();

  constexpr std::size_t batch_size = 20;
  constexpr std::uint32_t partitions = 4;
  auto store = std::make_shared<txoutbox::testing::memory_store>(
      txoutbox::testing::memory_store_options{.partitions = partitions});
  std::shared_ptr<txoutbox::publisher> pub = txoutbox::redis::make_publisher(
      {.port = srv.port(), .connect_timeout = 500ms, .command_timeout = 2000ms});
  txoutbox::relay relay(store, pub,
                        {.threads = 2,
                         .batch_size = batch_size,
                         .poll_interval = 10ms,
                         .max_attempts = 100000,
                         .backoff_initial = 10ms,
                         .backoff_max = 100ms});

  txoutbox::testing::delivery_checker checker;
  const std::vector<std::string> keys{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
  int n = 0;
  const auto enqueue = [&](int count) {
    for (int i = 0; i < count; ++i, ++n) {
      const auto& key = keys[static_cast<std::size_t>(n) % keys.size()];
      const auto id = store->enqueue({.aggregate_type = "order",
                                      .aggregate_id = key,
                                      .type = "OrderPlaced",
                                      .payload = "{\"n\":" + std::to_string(n) + "}"});
      checker.committed(id.to_string(), key);
    }
  };
  client before("127.0.0.1", srv.port());
  const auto stream_len = [](client& c) {
    auto r = c.command({"XLEN", "txoutbox:order"});
    return r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  };

  enqueue(400);
  relay.start();
  // Crash while the relay is busy: after some but not all of the first wave arrived.
  REQUIRE(wait_until([&] { return stream_len(before) >= 50; }));
  srv.kill();
  enqueue(400);  // written while Redis is down
  // The relay saw the outage (the second wave cannot have been published): the publisher
  // reports it `unavailable`, the relay holds the stream back and probes it.
  REQUIRE(wait_until([&] { return relay.stats().destinations_down > 0; }));
  srv.start();  // same port, same appendonly dir
  const bool drained = wait_until([&] { return store->size() == 0; }, 60s);
  (void)relay.stop(5s);  // the assertions below are on what was delivered
  INFO(srv.log());
  REQUIRE(drained);
  CHECK(store->dead_letter_rows().empty());

  client after("127.0.0.1", srv.port());
  for (const auto& e : read_stream(after, "txoutbox:order"))
    checker.delivered(e.at("id"));
  // One failure: at most one batch per partition may be re-published.
  const auto report = checker.check(batch_size * partitions);
  INFO(report.describe());
  CHECK(report.ok());
  CHECK(report.distinct == 800);
}
