// Shared helpers of the NATS tests: the fixture's server, a plain client, JetStream read-back.
#pragma once

#include <nats/nats.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "txoutbox/nats/publisher.hpp"
#include "txoutbox/outbox_record.hpp"

namespace txoutbox::testing::nats {

/// The fixture's server URL (TXOUTBOX_TEST_NATS_URL or nats.url). When there is none:
/// FAILs under CI, else WARNs and returns "" (see TXOUTBOX_REQUIRE_NATS).
std::string server();

/// One stored JetStream message as read back.
struct stored_message {
  std::string subject;
  std::string data;
  std::map<std::string, std::string> headers;
};

/// A connection with a JetStream context, for set-up and read-back. Test thread only.
class client {
 public:
  explicit client(const std::string& url);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Creates a file-storage stream `name` over `subject` (throws on failure).
  void add_stream(const std::string& name, const std::string& subject);
  /// Messages stored in the stream (0 when it does not exist).
  std::uint64_t message_count(const std::string& name);
  /// Every message of the stream, by sequence from first to last.
  std::vector<stored_message> read_all(const std::string& name);

  natsConnection* connection() noexcept { return nc_; }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

/// A record ready to publish: fresh UUIDv7 id, type "OrderPlaced", payload {"n": n}.
outbox_record make_record(const std::string& aggregate_type, const std::string& key, int n);

/// Arguments of a private nats-server: JetStream with file storage under `dir`.
std::vector<std::string> nats_server_args(int port, const std::string& dir);

}  // namespace txoutbox::testing::nats

#define TXOUTBOX_REQUIRE_NATS(url) \
  do {                             \
    if ((url).empty())             \
      return;                      \
  } while (false)
