// Shared helpers of the Redis tests: the fixture's server, a plain client, stream read-back.
#pragma once

#include <hiredis/hiredis.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "private_server.hpp"
#include "txoutbox/outbox_record.hpp"
#include "txoutbox/redis/publisher.hpp"

namespace txoutbox::testing::redis {

/// host and port of the fixture's server (TXOUTBOX_TEST_REDIS_URL or redis.url). When there
/// is none: FAILs under CI, else WARNs and returns port 0 (see TXOUTBOX_REQUIRE_REDIS).
struct endpoint {
  std::string host;
  int port = 0;
};
endpoint server();

/// Publisher options for the fixture's server with a stream prefix unique to the test.
txoutbox::redis::publisher_options options_for(const endpoint& ep);

struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

/// A blocking hiredis connection for test set-up and read-back. Test thread only.
class client {
 public:
  client(const std::string& host, int port);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Runs a command; throws std::runtime_error on a connection failure (not on an error
  /// reply, which is returned).
  reply_ptr command(const std::vector<std::string>& args);

 private:
  redisContext* ctx_ = nullptr;
};

/// One stream entry: its field/value pairs.
using entry = std::map<std::string, std::string>;
/// XRANGE <stream> - + in stream order.
std::vector<entry> read_stream(client& c, const std::string& stream);

/// A record ready to publish: fresh UUIDv7 id, given key, type "OrderPlaced",
/// payload {"key": key, "n": n}, seq n.
outbox_record make_record(const std::string& aggregate_type, const std::string& key, int n);

/// Arguments of a private redis-server: appendonly on (a restart keeps the streams).
std::vector<std::string> redis_server_args(int port, const std::string& dir);

}  // namespace txoutbox::testing::redis

/// Returns from the current test (after a WARN) when no Redis server is configured;
/// under CI server() has already FAILed.
#define TXOUTBOX_REQUIRE_REDIS(ep) \
  do {                             \
    if ((ep).port == 0)            \
      return;                      \
  } while (false)
