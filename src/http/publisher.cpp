// The HTTP webhook publisher: pooled keep-alive HTTP/1.1 connections (Boost.Beast,
// OpenSSL) behind sync_publisher. The only translation unit of the component with Beast.
#include <utility>  // before Asio: g++ 12 + C++20 + Boost 1.74 trap (PLATFORM.md §10)

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "http/detail.hpp"
#include "http/request_fields.hpp"
#include "http/status.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/http/publisher.hpp"
#include "txoutbox/sync_publisher.hpp"

namespace txoutbox::http {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using steady = std::chrono::steady_clock;
using request_type = bhttp::request<bhttp::string_body>;
using response_parser = bhttp::response_parser<bhttp::string_body>;

/// Beast 1.74 hands out boost::string_view.
std::string_view to_std(boost::beast::string_view v) noexcept {
  return {v.data(), v.size()};
}

constexpr std::uint64_t response_body_limit = 1024 * 1024;
constexpr const char* shut_down_reason = "publisher shut down";

/// Immutable after construction; shared read-only by every connection.
struct config {
  detail::url_parts url{};
  publisher_options options{};
  std::string signing_key{};            ///< decoded HMAC key; empty = unsigned
  std::unique_ptr<ssl::context> tls{};  ///< set for https
  std::string endpoint_text{};          ///< "host:port" for reasons (never the path/query)
};

/// How one request on one connection ended.
struct exchange_outcome {
  publish_result result{};
  bool keep = false;   ///< the connection may serve the next request
  bool stale = false;  ///< a reused connection died before any response byte: resend once
};

/// One keep-alive connection with its own io_context, run by the thread that sends on
/// it (one at a time: the pool hands a connection to one sender). abort_async() may be
/// called from any thread to make a running or next step fail at once.
class connection {
 public:
  connection(const config& cfg, const std::atomic<bool>& stopping)
      : cfg_(cfg), stopping_(stopping), resolver_(ioc_), timer_(ioc_), plain_(ioc_) {}

  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Thread-safe: queues an abort that the sender's io_context runs.
  void abort_async() noexcept {
    try {
      asio::post(ioc_, [this] { abort_io(); });
    } catch (...) {
      // Out of memory: the stopping flag still fails the next step.
    }
  }

  exchange_outcome exchange(const request_type& req, steady::time_point deadline) {
    const bool reused = open_;
    if (!open_) {
      if (auto failed = open(deadline))
        return exchange_outcome{std::move(*failed), false, false};
    }
    bool timed_out = false;
    error_code ec = run_step(
        [&](auto done) {
          if (tls_)
            bhttp::async_write(*tls_, req, [done](error_code e, std::size_t) { done(e); });
          else
            bhttp::async_write(plain_, req, [done](error_code e, std::size_t) { done(e); });
        },
        deadline, timed_out);
    if (ec || timed_out) {
      close();
      if (reused && !timed_out && !stopping_.load())
        return exchange_outcome{failure("sending the request", ec, false), false, true};
      return exchange_outcome{failure("sending the request", ec, timed_out), false, false};
    }
    std::optional<response_parser> parser;
    bool interim_seen = false;
    ec = read_final_response(parser, deadline, timed_out, interim_seen);
    // A response whose body is over the limit still has a status: use it, drop the socket.
    const bool oversized = ec == bhttp::error::body_limit && parser->is_header_done();
    if ((ec && !oversized) || timed_out) {
      close();
      const bool nothing_back =
          !interim_seen && !parser->got_some() &&
          (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == ssl::error::stream_truncated);
      if (reused && nothing_back && !timed_out && !stopping_.load())
        return exchange_outcome{failure("reading the response", ec, false), false, true};
      return exchange_outcome{failure("reading the response", ec, timed_out), false, false};
    }
    const auto& res = parser->get();
    // 101: the server left HTTP/1.1 on a connection we never asked to upgrade.
    const bool keep = res.keep_alive() && !oversized && res.result_int() != 101;
    if (!keep)
      close();
    const unsigned status = res.result_int();
    std::string status_line = "HTTP/" + std::to_string(res.version() / 10) + "." +
                              std::to_string(res.version() % 10) + " " + std::to_string(status);
    if (!res.reason().empty())
      status_line += " " + std::string(to_std(res.reason()));
    publish_result result =
        detail::classify_status(status, status_line, to_std(res[bhttp::field::retry_after]),
                                std::chrono::system_clock::now());
    if (result.status != publish_status::ok && !res.body().empty())
      result.reason += ": " + detail::body_excerpt(res.body());
    return exchange_outcome{std::move(result), keep, false};
  }

 private:
  /// Reads responses into a fresh `parser` each until a final one (2xx..5xx, or 101):
  /// interim 1xx responses (100 Continue, 102 Processing, 103 Early Hints) are read whole
  /// and dropped, so they never settle a message and the next request on this connection
  /// reads its own response. All of it within `deadline`.
  error_code read_final_response(std::optional<response_parser>& parser,
                                 steady::time_point deadline, bool& timed_out, bool& interim_seen) {
    while (true) {
      parser.emplace();
      parser->body_limit(response_body_limit);
      const error_code ec = run_step(
          [&](auto done) {
            if (tls_)
              bhttp::async_read(*tls_, buffer_, *parser,
                                [done](error_code e, std::size_t) { done(e); });
            else
              bhttp::async_read(plain_, buffer_, *parser,
                                [done](error_code e, std::size_t) { done(e); });
          },
          deadline, timed_out);
      if (ec || timed_out)
        return ec;
      const unsigned status = parser->get().result_int();
      if (status < 100 || status >= 200 || status == 101)
        return ec;
      interim_seen = true;
    }
  }

  /// Runs one asynchronous operation to completion on this thread, bounded by
  /// `deadline`. `start(done)` initiates it; `done(ec)` must be called exactly once.
  template <class Start>
  error_code run_step(Start&& start, steady::time_point deadline, bool& timed_out) {
    error_code result = asio::error::would_block;
    bool done = false;
    timed_out = false;
    timer_.expires_at(deadline);
    timer_.async_wait([this, &timed_out, &done](error_code ec) {
      if (!ec && !done) {
        timed_out = true;
        abort_io();
      }
    });
    start([this, &result, &done](error_code ec) {
      result = ec;
      done = true;
      timer_.cancel();
    });
    ioc_.restart();
    if (stopping_.load(std::memory_order_acquire))
      abort_io();
    ioc_.run();
    return result;
  }

  /// Resolves, filters, connects and (https) handshakes. Returns the failure, if any.
  std::optional<publish_result> open(steady::time_point deadline) {
    bool timed_out = false;
    tcp::resolver::results_type resolved;
    error_code ec = run_step(
        [&](auto done) {
          resolver_.async_resolve(cfg_.url.host, cfg_.url.port,
                                  [&resolved, done](error_code e, tcp::resolver::results_type r) {
                                    resolved = std::move(r);
                                    done(e);
                                  });
        },
        deadline, timed_out);
    if (ec || timed_out)
      return failure("resolving the host", ec, timed_out);
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : resolved) {
      const tcp::endpoint ep = entry.endpoint();
      if (cfg_.options.refuse_private && is_private(ep.address()))
        continue;
      endpoints.push_back(ep);
    }
    if (endpoints.empty()) {
      if (cfg_.options.refuse_private)
        return publish_result::unavailable("destination address is private (" + cfg_.endpoint_text +
                                           ")");
      return publish_result::unavailable("no address found for " + cfg_.endpoint_text);
    }
    if (cfg_.tls)
      tls_ = std::make_unique<ssl::stream<tcp::socket>>(ioc_, *cfg_.tls);
    tcp::socket& socket = tls_ ? tls_->next_layer() : plain_;
    ec = run_step(
        [&](auto done) {
          asio::async_connect(socket, endpoints,
                              [done](error_code e, const tcp::endpoint&) { done(e); });
        },
        deadline, timed_out);
    if (ec || timed_out) {
      close();
      return failure("connecting", ec, timed_out);
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (tls_) {
      if (auto failed = prepare_tls())
        return failed;
      ec = run_step(
          [&](auto done) {
            tls_->async_handshake(ssl::stream_base::client, [done](error_code e) { done(e); });
          },
          deadline, timed_out);
      if (ec || timed_out) {
        const long verify = SSL_get_verify_result(tls_->native_handle());
        close();
        if (!timed_out && verify != X509_V_OK) {
          return publish_result::unavailable("TLS certificate verification failed for " +
                                             cfg_.endpoint_text + ": " +
                                             X509_verify_cert_error_string(verify));
        }
        return failure("the TLS handshake", ec, timed_out);
      }
    }
    open_ = true;
    buffer_.clear();
    return std::nullopt;
  }

  /// SNI and host-name (or IP address) verification on the new TLS stream.
  std::optional<publish_result> prepare_tls() {
    SSL* ssl_handle = tls_->native_handle();
    if (!cfg_.url.host_is_ip &&
        SSL_set_tlsext_host_name(ssl_handle, const_cast<char*>(cfg_.url.host.c_str())) != 1)
      return publish_result::unavailable("cannot set TLS server name for " + cfg_.endpoint_text);
    if (cfg_.options.verify_peer) {
      tls_->set_verify_mode(ssl::verify_peer);
      const int rc = cfg_.url.host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle),
                                                                         cfg_.url.host.c_str())
                                         : SSL_set1_host(ssl_handle, cfg_.url.host.c_str());
      if (rc != 1)
        return publish_result::unavailable("cannot set TLS host verification for " +
                                           cfg_.endpoint_text);
    } else {
      tls_->set_verify_mode(ssl::verify_none);
    }
    return std::nullopt;
  }

  static bool is_private(const asio::ip::address& a) {
    if (a.is_v4())
      return detail::is_private_v4(a.to_v4().to_bytes());
    return detail::is_private_v6(a.to_v6().to_bytes());
  }

  /// A transport failure: the destination cannot be reached or did not answer in time,
  /// never the message's fault, so `unavailable` (`retry` once shutting down).
  publish_result failure(const char* what, const error_code& ec, bool timed_out) const {
    if (stopping_.load(std::memory_order_acquire))
      return publish_result::retry(shut_down_reason);
    if (timed_out) {
      return publish_result::unavailable("timed out after " +
                                         std::to_string(cfg_.options.timeout.count()) + " ms " +
                                         what + " (" + cfg_.endpoint_text + ")");
    }
    return publish_result::unavailable(std::string(what) + " failed (" + cfg_.endpoint_text +
                                       "): " + ec.message());
  }

  /// Cancels whatever is pending; runs on the thread that runs ioc_.
  void abort_io() noexcept {
    error_code ignored;
    resolver_.cancel();
    if (tls_)
      tls_->next_layer().close(ignored);
    plain_.close(ignored);
    open_ = false;
  }

  void close() noexcept {
    abort_io();
    tls_.reset();
    buffer_.clear();
  }

  const config& cfg_;
  const std::atomic<bool>& stopping_;
  asio::io_context ioc_{1};
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  tcp::socket plain_;                                ///< http
  std::unique_ptr<ssl::stream<tcp::socket>> tls_{};  ///< https, per connection attempt
  boost::beast::flat_buffer buffer_{};               ///< bytes read past a response (keep-alive)
  bool open_ = false;
};

/// The publisher: a bounded pool of connections, one per concurrent send(). route() keeps
/// the default (empty): the URL is fixed, so the whole publisher is one route, and
/// sync_publisher stops a batch at its first `unavailable` result.
class http_publisher final : public sync_publisher {
 public:
  explicit http_publisher(std::unique_ptr<config> cfg) : cfg_(std::move(cfg)) {}

  ~http_publisher() override {
    std::vector<std::shared_ptr<connection>> doomed;
    {
      std::lock_guard lock(mutex_);
      doomed.swap(live_);
      idle_.clear();
    }
  }

 protected:
  publish_result send(const outbox_record& rec) override {
    for (int attempt = 0;; ++attempt) {
      const auto deadline = steady::now() + cfg_->options.timeout;
      std::shared_ptr<connection> conn = acquire(deadline);
      if (!conn) {
        if (is_shut_down())
          return publish_result::retry(shut_down_reason);
        return publish_result::retry("no free connection to " + cfg_->endpoint_text + " within " +
                                     std::to_string(cfg_->options.timeout.count()) + " ms");
      }
      // Built per attempt: the signature carries a fresh timestamp.
      request_type req;
      if (auto bad = build_request(rec, req)) {
        release(std::move(conn), true);
        return std::move(*bad);
      }
      exchange_outcome outcome = conn->exchange(req, deadline);
      release(std::move(conn), outcome.keep);
      if (outcome.stale && attempt == 0)
        continue;  // the server closed an idle keep-alive connection: resend once
      return std::move(outcome.result);
    }
  }

  void interrupt() noexcept override {
    stopping_.store(true, std::memory_order_release);
    std::lock_guard lock(mutex_);
    for (const auto& c : live_)
      c->abort_async();
    available_.notify_all();
  }

 private:
  /// A connection for one request: an idle one (LIFO, so a steady trickle reuses one
  /// socket), a new one while under max_connections, or null when none frees up before
  /// `deadline` or the publisher shuts down.
  std::shared_ptr<connection> acquire(steady::time_point deadline) {
    std::unique_lock lock(mutex_);
    while (true) {
      if (stopping_.load(std::memory_order_acquire))
        return nullptr;
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
      if (live_.size() < cfg_->options.max_connections) {
        auto c = std::make_shared<connection>(*cfg_, stopping_);
        live_.push_back(c);
        return c;
      }
      if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
          live_.size() >= cfg_->options.max_connections)
        return nullptr;
    }
  }

  void release(std::shared_ptr<connection> c, bool reusable) {
    std::shared_ptr<connection> doomed;
    {
      std::lock_guard lock(mutex_);
      if (reusable && !stopping_.load(std::memory_order_acquire)) {
        idle_.push_back(std::move(c));
      } else {
        live_.erase(std::remove(live_.begin(), live_.end(), c), live_.end());
        doomed = std::move(c);
      }
    }
    available_.notify_one();
    // `doomed` is destroyed here, outside the lock.
  }

  /// Fills `req`; returns a reject for a record that cannot be sent as HTTP.
  std::optional<publish_result> build_request(const outbox_record& rec, request_type& req) const {
    const detail::request_settings settings{.extra_headers = &cfg_->options.extra_headers,
                                            .source = cfg_->options.source,
                                            .signing_key = cfg_->signing_key,
                                            .host_header = cfg_->url.host_header};
    detail::field_list fields;
    if (auto bad =
            detail::build_request_fields(rec, settings, std::chrono::system_clock::now(), fields))
      return bad;
    req.method(bhttp::verb::post);
    req.target(cfg_->url.target);
    req.version(11);
    for (const auto& [name, value] : fields)
      req.set(name, value);  // replaces an earlier field of the name: the precedence
    req.keep_alive(true);
    req.body() = rec.msg.payload;
    req.prepare_payload();
    return std::nullopt;
  }

  std::unique_ptr<config> cfg_;
  /// Set by interrupt(); read by every step so an abort posted before a run still counts.
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::shared_ptr<connection>> live_;  ///< every open or busy connection
  std::vector<std::shared_ptr<connection>> idle_;  ///< subset of live_ ready for reuse
};

}  // namespace

std::unique_ptr<publisher> make_publisher(publisher_options options) {
  auto cfg = std::make_unique<config>();
  cfg->url = detail::parse_url(options.url);
  detail::check_publisher_options(options);
  if (!options.signing_secret.empty())
    cfg->signing_key = detail::decode_signing_secret(options.signing_secret);
  if (cfg->url.tls) {
    cfg->tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX* ctx = cfg->tls->native_handle();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (options.verify_peer) {
      if (SSL_CTX_set_default_verify_paths(ctx) != 1)
        throw error(errc::io_failure, "http publisher: cannot load the system CA store");
      if (!options.ca_file.empty() &&
          SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
        throw usage_error(
            errc::invalid_argument, "ca_file",
            "http publisher ca_file " + options.ca_file + " cannot be read as PEM certificates");
      }
    }
  }
  cfg->endpoint_text = cfg->url.host_header;
  if (cfg->endpoint_text.find(':') == std::string::npos || cfg->endpoint_text.back() == ']')
    cfg->endpoint_text += ":" + cfg->url.port;
  cfg->options = std::move(options);
  return std::make_unique<http_publisher>(std::move(cfg));
}

}  // namespace txoutbox::http
