// test_http_server: synchronous Beast server, one thread per connection, scripted answers.
#include "test_http_server.hpp"

#include <utility>  // before Asio (PLATFORM.md §10)

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace http_test {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
std::string text(boost::beast::string_view v) {
  return std::string(v.data(), v.size());
}
}  // namespace

struct test_http_server::impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::unique_ptr<ssl::context> tls;
  unsigned short port = 0;

  mutable std::mutex mutex;
  std::condition_variable delay_cv;
  bool stopping = false;
  std::uint64_t release_generation = 0;
  responder respond;
  std::deque<scripted_response> scripted;
  std::vector<recorded_request> requests;
  std::size_t connections = 0;
  std::set<int> open_fds;
  std::vector<std::thread> sessions;
  std::thread accept_thread;
  bool stopped = false;

  void accept_loop() {
    while (true) {
      tcp::socket socket(ioc);
      error_code ec;
      acceptor.accept(socket, ec);
      std::lock_guard lock(mutex);
      if (ec || stopping)
        return;
      const std::size_t number = ++connections;
      open_fds.insert(socket.native_handle());
      sessions.emplace_back(
          [this, s = std::move(socket), number]() mutable { serve(std::move(s), number); });
    }
  }

  void serve(tcp::socket socket, std::size_t number) {
    const int fd = socket.native_handle();
    if (tls) {
      ssl::stream<tcp::socket> stream(std::move(socket), *tls);
      error_code ec;
      stream.handshake(ssl::stream_base::server, ec);
      if (!ec)
        exchange_loop(stream, number);
      forget(fd);
      error_code ignored;
      stream.next_layer().close(ignored);
    } else {
      exchange_loop(socket, number);
      forget(fd);
      error_code ignored;
      socket.close(ignored);
    }
  }

  void forget(int fd) {
    std::lock_guard lock(mutex);
    open_fds.erase(fd);
  }

  template <class Stream>
  void exchange_loop(Stream& stream, std::size_t number) {
    boost::beast::flat_buffer buffer;
    while (true) {
      bhttp::request<bhttp::string_body> req;
      error_code ec;
      bhttp::read(stream, buffer, req, ec);
      if (ec)
        return;
      recorded_request rec;
      rec.method = text(req.method_string());
      rec.target = text(req.target());
      for (const auto& field : req) {
        std::string name = text(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        rec.headers[name] = text(field.value());
      }
      rec.body = req.body();
      rec.connection = number;
      scripted_response answer;
      responder r;
      std::uint64_t generation = 0;
      {
        std::lock_guard lock(mutex);
        generation = release_generation;
        rec.index = requests.size();
        requests.push_back(rec);
        if (!scripted.empty()) {
          answer = std::move(scripted.front());
          scripted.pop_front();
        } else {
          r = respond;
        }
      }
      if (r)
        answer = r(rec);
      if (answer.delay.count() > 0 && !wait_delay(answer.delay, generation))
        return;
      if (answer.drop_instead)
        return;
      for (unsigned code : answer.interim) {
        const std::string line = "HTTP/1.1 " + std::to_string(code) + " " +
                                 text(bhttp::obsolete_reason(bhttp::int_to_status(code))) +
                                 "\r\n\r\n";
        asio::write(stream, asio::buffer(line), ec);
        if (ec)
          return;
      }
      bhttp::response<bhttp::string_body> res;
      res.version(11);
      res.result(answer.status);
      for (const auto& [name, value] : answer.headers)
        res.set(name, value);
      res.body() = answer.body;
      res.keep_alive(req.keep_alive() && !answer.close);
      res.prepare_payload();
      bhttp::write(stream, res, ec);
      if (ec || answer.close || answer.drop_after)
        return;
    }
  }

  /// Waits out a delay unless release_delays() was called since the request arrived
  /// (`generation`). False when the server is stopping.
  bool wait_delay(std::chrono::milliseconds delay, std::uint64_t generation) {
    std::unique_lock lock(mutex);
    auto done = [&] { return stopping || release_generation != generation; };
    if (delay >= std::chrono::hours(1))
      delay_cv.wait(lock, done);
    else
      delay_cv.wait_for(lock, delay, done);
    return !stopping;
  }
};

test_http_server::test_http_server(std::optional<tls_identity> tls, unsigned short port)
    : impl_(std::make_shared<impl>()) {
  if (tls) {
    impl_->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    impl_->tls->use_certificate_chain(asio::buffer(tls->cert_pem));
    impl_->tls->use_private_key(asio::buffer(tls->key_pem), ssl::context::pem);
  }
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::thread([i = impl_.get()] { i->accept_loop(); });
}

test_http_server::~test_http_server() {
  stop();
}

unsigned short test_http_server::port() const {
  return impl_->port;
}

std::string test_http_server::url(const std::string& path) const {
  return std::string(impl_->tls ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(impl_->port) + path;
}

void test_http_server::set_responder(responder r) {
  std::lock_guard lock(impl_->mutex);
  impl_->respond = std::move(r);
}

void test_http_server::script(std::vector<scripted_response> responses) {
  std::lock_guard lock(impl_->mutex);
  for (auto& r : responses)
    impl_->scripted.push_back(std::move(r));
}

std::vector<recorded_request> test_http_server::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}

std::size_t test_http_server::request_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests.size();
}

std::size_t test_http_server::connections_accepted() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->connections;
}

void test_http_server::release_delays() {
  std::lock_guard lock(impl_->mutex);
  ++impl_->release_generation;
  impl_->delay_cv.notify_all();
}

void test_http_server::stop() {
  std::vector<std::thread> sessions;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped)
      return;
    impl_->stopped = true;
    impl_->stopping = true;
    impl_->delay_cv.notify_all();
    // shutdown(2) wakes a thread blocked in accept/read on Linux; the owners close.
    ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
    for (int fd : impl_->open_fds)
      ::shutdown(fd, SHUT_RDWR);
  }
  impl_->accept_thread.join();
  {
    std::lock_guard lock(impl_->mutex);
    sessions.swap(impl_->sessions);
  }
  for (auto& t : sessions)
    t.join();
  error_code ignored;
  impl_->acceptor.close(ignored);
}

unsigned short unused_port() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const unsigned short port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

}  // namespace http_test
