// test_http_server: a scripted HTTP/1.1 (optionally TLS) server on 127.0.0.1 for publisher tests.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace http_test {

/// One request as the server received it. Header names are lower-cased.
struct recorded_request {
  std::string method{};
  std::string target{};
  std::map<std::string, std::string> headers{};
  std::string body{};
  std::size_t connection = 0;  ///< 1-based number of the connection it arrived on
  std::size_t index = 0;       ///< 0-based arrival order over the server's life

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

/// What to answer to one request.
struct scripted_response {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
  /// Wait this long before answering; an "infinite" value hangs until the server stops
  /// or release_delays() is called.
  std::chrono::milliseconds delay{0};
  /// Interim (1xx) responses sent before this one, e.g. {100, 102}: a status line
  /// ("HTTP/1.1 102 Processing") and an empty header block each.
  std::vector<unsigned> interim{};
  bool close = false;  ///< close the connection after answering (`Connection: close`)
  /// Close the connection after answering without announcing it, as a server whose
  /// keep-alive idle timeout fired would.
  bool drop_after = false;
  /// Close the connection without answering at all (a crashing or resetting server).
  bool drop_instead = false;
};

/// PEM certificate and key for a TLS server.
struct tls_identity {
  std::string cert_pem{};
  std::string key_pem{};
};

/// Accepts connections on 127.0.0.1:<ephemeral>, one thread per connection, serving
/// keep-alive HTTP/1.1 (over TLS when given an identity). Answers from the responder
/// (default: 200 with an empty body). Thread-safe; the destructor stops and joins.
class test_http_server {
 public:
  using responder = std::function<scripted_response(const recorded_request&)>;

  /// `port` 0 = an ephemeral one; another value binds that port (a test that refuses
  /// connections first, then starts listening where the client was pointed).
  explicit test_http_server(std::optional<tls_identity> tls = std::nullopt,
                            unsigned short port = 0);
  ~test_http_server();

  test_http_server(const test_http_server&) = delete;
  test_http_server& operator=(const test_http_server&) = delete;

  unsigned short port() const;
  /// "http://127.0.0.1:<port><path>" (https for a TLS server).
  std::string url(const std::string& path = "/hook") const;

  /// Answers requests with `r` (called on connection threads, under no lock of ours).
  void set_responder(responder r);
  /// Answers the next requests with these, in order, then falls back to the responder.
  void script(std::vector<scripted_response> responses);

  std::vector<recorded_request> requests() const;
  std::size_t request_count() const;
  std::size_t connections_accepted() const;
  /// Ends every pending delay now.
  void release_delays();
  /// Stops accepting, closes every connection and joins the threads. Idempotent.
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
unsigned short unused_port();

}  // namespace http_test
