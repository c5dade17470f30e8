// The Redis Streams publisher: options and factories (hiredis stays out of this header).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "txoutbox/publisher.hpp"

namespace txoutbox::redis {

/// How the Redis Streams publisher is configured. Works with designated initializers:
///
///   auto p = txoutbox::redis::make_publisher({.host = "cache", .port = 6379,
///                                             .stream_prefix = "events:"});
///
/// The stream of a message is `stream` when set, else `stream_prefix + aggregate_type`.
struct publisher_options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username = "";  ///< ACL user (Redis 6+); empty = `AUTH <password>` only
  std::string password = "";  ///< empty = no AUTH; never printed
  int db = 0;                 ///< SELECTed after connecting when not 0
  std::string stream_prefix = "txoutbox:";
  std::string stream = "";  ///< one stream for every message; overrides stream_prefix
  /// 0 = unbounded; else every XADD trims with `MAXLEN ~ maxlen` (approximate, cheap).
  std::size_t maxlen = 0;
  std::chrono::milliseconds connect_timeout{2000};
  /// Socket send/receive timeout of every command. A publish() to a hung server returns
  /// within about this per round of the batch (see docs/publishers/redis.md).
  std::chrono::milliseconds command_timeout{5000};
};

/// Creates the publisher. Validates the options (throws usage_error naming the field) but
/// does not connect: connections are made by publish(), and an unreachable server shows
/// as `unavailable` results, so a relay may start before Redis is up.
///
/// Each record becomes `XADD <stream> [MAXLEN ~ N] * id <uuid> aggregatetype <t>
/// aggregateid <k> type <e> payload <json> headers <json object> created_at <rfc3339>`.
/// Within a batch at most one record per aggregate id is in flight at a time (pipelined
/// in rounds across keys), so a failed record never has a later record of its key sent
/// behind it. Connection and AUTH failures and LOADING/BUSY/MASTERDOWN/READONLY/NOPERM
/// (and other server-state) error replies are `unavailable`, the route being the stream
/// key; TRYAGAIN/MOVED/ASK are `retry`; other error replies (WRONGTYPE, ...) and control
/// characters in a routing field are `reject` (docs/publishers/redis.md, "Results").
/// Streams do not deduplicate: consumers use the `id` field with an inbox.
///
/// Thread-safe: publish() may run concurrently for different partitions; each call uses
/// its own connection from a small pool. shutdown() unblocks a publish() in progress by
/// shutting its socket down.
std::unique_ptr<txoutbox::publisher> make_publisher(publisher_options options);

/// Builds a publisher from a URI `redis://[user@]host:port[/db]` and key=value options
/// (what the command line passes). Keys: `stream-prefix`, `stream`, `maxlen`,
/// `connect-timeout-ms`, `command-timeout-ms`, and the password through `password-env`
/// (name of an environment variable) or `password-file` (path of a file; one trailing
/// newline is dropped) — a password in the URI itself is refused, and never printed.
/// An unknown key, a bad value or a malformed URI throws usage_error naming it.
std::unique_ptr<txoutbox::publisher> make_publisher_from_uri(
    std::string_view uri, const std::map<std::string, std::string>& opts);

/// Parses the same URI and options into publisher_options without creating a publisher
/// (for validation at start-up and for tests). Same errors as make_publisher_from_uri.
publisher_options parse_publisher_uri(std::string_view uri,
                                      const std::map<std::string, std::string>& opts);

}  // namespace txoutbox::redis
