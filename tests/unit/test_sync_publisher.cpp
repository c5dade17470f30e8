// Tests of sync_publisher: the batch rules of the publisher contract around send().
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "txoutbox/sync_publisher.hpp"
#include "txoutbox/testing/wait.hpp"

namespace {

using txoutbox::outbox_record;
using txoutbox::publish_result;
using txoutbox::publish_status;

const std::string not_sent = "not sent: an earlier message of this key failed";

outbox_record record(const std::string& key, int n, std::uint32_t partition = 0) {
  outbox_record rec;
  txoutbox::message_id::bytes_type bytes{};
  bytes[14] = static_cast<std::uint8_t>(n >> 8);
  bytes[15] = static_cast<std::uint8_t>(n);
  rec.msg.id = txoutbox::message_id(bytes);
  rec.msg.aggregate_type = "order";
  rec.msg.aggregate_id = key;
  rec.msg.type = "OrderPlaced";
  rec.msg.payload = "{\"n\":" + std::to_string(n) + "}";
  rec.seq = n;
  rec.partition = partition;
  return rec;
}

/// A transport whose send() is a test-supplied function; counts interrupt() calls.
class fake_transport final : public txoutbox::sync_publisher {
 public:
  using send_fn = std::function<publish_result(const outbox_record&)>;

  explicit fake_transport(send_fn fn, bool serialize = false)
      : sync_publisher(serialize), fn_(std::move(fn)) {}

  std::function<void()> on_interrupt;
  std::function<bool()> on_sync;
  std::atomic<int> interrupts{0};

  /// seq of every record handed to send(), in call order.
  std::vector<std::int64_t> sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
  }

 protected:
  publish_result send(const outbox_record& rec) override {
    {
      std::lock_guard lock(mutex_);
      sent_.push_back(rec.seq);
    }
    return fn_(rec);
  }
  void interrupt() noexcept override {
    interrupts.fetch_add(1);
    if (on_interrupt)
      on_interrupt();
  }
  bool sync(std::chrono::milliseconds) override { return on_sync ? on_sync() : true; }

 private:
  send_fn fn_;
  mutable std::mutex mutex_;
  std::vector<std::int64_t> sent_;
};

}  // namespace

TEST_CASE("sync publisher returns one result per record in batch order", "[publisher][sync]") {
  fake_transport pub([](const outbox_record& rec) {
    return rec.seq == 2 ? publish_result::reject("bad " + std::to_string(rec.seq))
                        : publish_result::ok();
  });
  const std::vector<outbox_record> batch{record("a", 1), record("b", 2), record("c", 3)};
  const auto results = pub.publish(batch);
  REQUIRE(results.size() == 3);
  CHECK(results[0].status == publish_status::ok);
  CHECK(results[1].status == publish_status::reject);
  CHECK(results[1].reason == "bad 2");
  CHECK(results[2].status == publish_status::ok);
  CHECK(pub.sent() == std::vector<std::int64_t>{1, 2, 3});
  CHECK(pub.publish({}).empty());
}

TEST_CASE("sync publisher reports the rest of a batch unavailable, unsent, after destination_down",
          "[publisher][sync][unavailable]") {
  fake_transport pub([](const outbox_record& rec) -> publish_result {
    if (rec.seq == 2)
      throw txoutbox::sync_publisher::destination_down("connection lost");
    return publish_result::ok();
  });
  const std::vector<outbox_record> batch{record("a", 1), record("b", 2), record("c", 3),
                                         record("a", 4)};
  const auto results = pub.publish(batch);
  REQUIRE(results.size() == 4);
  CHECK(results[0].status == publish_status::ok);
  CHECK(results[1].status == publish_status::unavailable);
  CHECK(results[1].reason == "connection lost");
  CHECK(results[2].status == publish_status::unavailable);
  CHECK(results[3].status == publish_status::unavailable);
  CHECK(pub.sent() == std::vector<std::int64_t>{1, 2});  // c3 and a4 never reached it
}

TEST_CASE("sync publisher stops a key after a retry and still sends other keys",
          "[publisher][sync][order]") {
  fake_transport pub([](const outbox_record& rec) {
    return rec.seq == 1 ? publish_result::retry("broker busy", std::chrono::milliseconds(250))
                        : publish_result::ok();
  });
  const std::vector<outbox_record> batch{record("a", 1), record("b", 2), record("a", 3),
                                         record("b", 4), record("a", 5)};
  const auto results = pub.publish(batch);
  REQUIRE(results.size() == 5);
  CHECK(results[0].status == publish_status::retry);
  CHECK(results[0].reason == "broker busy");
  CHECK(results[0].retry_after == std::chrono::milliseconds(250));
  CHECK(results[1].status == publish_status::ok);
  CHECK(results[2].status == publish_status::retry);
  CHECK(results[2].reason == not_sent);
  CHECK(results[3].status == publish_status::ok);
  CHECK(results[4].status == publish_status::retry);
  CHECK(results[4].reason == not_sent);
  // a3 and a5 never reached the transport
  CHECK(pub.sent() == std::vector<std::int64_t>{1, 2, 4});
}

TEST_CASE("sync publisher stops a key after a reject and still sends other keys",
          "[publisher][sync][order]") {
  fake_transport pub([](const outbox_record& rec) {
    return rec.seq == 3 ? publish_result::reject("schema violation") : publish_result::ok();
  });
  const std::vector<outbox_record> batch{record("a", 1), record("b", 2), record("b", 3),
                                         record("a", 4), record("b", 5), record("b", 6)};
  const auto results = pub.publish(batch);
  REQUIRE(results.size() == 6);
  CHECK(results[0].status == publish_status::ok);
  CHECK(results[1].status == publish_status::ok);
  CHECK(results[2].status == publish_status::reject);
  CHECK(results[2].reason == "schema violation");
  CHECK(results[3].status == publish_status::ok);
  CHECK(results[4].status == publish_status::retry);
  CHECK(results[4].reason == not_sent);
  CHECK(results[5].status == publish_status::retry);
  CHECK(results[5].reason == not_sent);
  CHECK(pub.sent() == std::vector<std::int64_t>{1, 2, 3, 4});

  SECTION("the per-key stop lasts one batch only") {
    const std::vector<outbox_record> next{record("b", 5), record("b", 6)};
    const auto again = pub.publish(next);
    REQUIRE(again.size() == 2);
    CHECK(again[0].status == publish_status::ok);
    CHECK(again[1].status == publish_status::ok);
  }
}

TEST_CASE("sync publisher maps an exception from send to retry with its text",
          "[publisher][sync][error]") {
  fake_transport pub([](const outbox_record& rec) -> publish_result {
    if (rec.seq == 1)
      throw std::runtime_error("socket reset by peer");
    if (rec.seq == 3)
      throw 42;  // not a std::exception
    return publish_result::ok();
  });
  const std::vector<outbox_record> batch{record("a", 1), record("a", 2), record("b", 3),
                                         record("c", 4)};
  const auto results = pub.publish(batch);
  REQUIRE(results.size() == 4);
  CHECK(results[0].status == publish_status::retry);
  CHECK(results[0].reason == "socket reset by peer");
  CHECK(results[1].status == publish_status::retry);
  CHECK(results[1].reason == not_sent);
  CHECK(results[2].status == publish_status::retry);
  CHECK_FALSE(results[2].reason.empty());
  CHECK(results[3].status == publish_status::ok);
  CHECK(pub.sent() == std::vector<std::int64_t>{1, 3, 4});
}

TEST_CASE("sync publisher shutdown unblocks a send waiting in interrupt-aware code",
          "[publisher][sync][shutdown]") {
  std::mutex m;
  std::condition_variable cv;
  bool interrupted = false;
  std::atomic<int> entered{0};
  // send() blocks like a socket read with no answer until interrupt() closes it.
  fake_transport pub([&](const outbox_record&) {
    entered.fetch_add(1);
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return interrupted; });
    return publish_result::retry("connection closed");
  });
  pub.on_interrupt = [&] {
    {
      std::lock_guard lock(m);
      interrupted = true;
    }
    cv.notify_all();
  };

  const std::vector<outbox_record> batch{record("a", 1), record("b", 2), record("c", 3)};
  auto pending = std::async(std::launch::async, [&] { return pub.publish(batch); });
  REQUIRE(txoutbox::testing::wait_until([&] { return entered.load() == 1; }));

  pub.shutdown(std::chrono::milliseconds(100));
  pub.shutdown(std::chrono::milliseconds(100));  // idempotent: interrupt() runs once
  REQUIRE(pending.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  const auto results = pending.get();
  REQUIRE(results.size() == 3);
  CHECK(results[0].status == publish_status::retry);
  CHECK(results[0].reason == "connection closed");
  CHECK(results[1].status == publish_status::retry);
  CHECK(results[1].reason == "publisher shut down");
  CHECK(results[2].status == publish_status::retry);
  CHECK(results[2].reason == "publisher shut down");
  CHECK(pub.interrupts.load() == 1);
  CHECK(pub.sent() == std::vector<std::int64_t>{1});

  SECTION("every later publish is refused without calling send") {
    const auto later = pub.publish(batch);
    REQUIRE(later.size() == 3);
    for (const auto& r : later) {
      CHECK(r.status == publish_status::retry);
      CHECK(r.reason == "publisher shut down");
    }
    CHECK(entered.load() == 1);
  }
}

TEST_CASE("sync publisher with serialize never runs two sends at once",
          "[publisher][sync][threads]") {
  std::atomic<int> in_send{0}, max_in_send{0}, total{0};
  fake_transport pub(
      [&](const outbox_record&) {
        const int now = in_send.fetch_add(1) + 1;
        int seen = max_in_send.load();
        while (now > seen && !max_in_send.compare_exchange_weak(seen, now)) {
        }
        // Widen the window in which a second unserialised send would overlap.
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        in_send.fetch_sub(1);
        total.fetch_add(1);
        return publish_result::ok();
      },
      /*serialize=*/true);

  std::vector<std::thread> threads;
  std::atomic<int> ok_results{0};
  for (std::uint32_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < 10; ++b) {
        std::vector<outbox_record> batch;
        for (int i = 0; i < 5; ++i)
          batch.push_back(record("k" + std::to_string(i), b * 5 + i, t));
        for (const auto& r : pub.publish(batch))
          if (r.status == publish_status::ok)
            ok_results.fetch_add(1);
      }
    });
  }
  for (auto& th : threads)
    th.join();
  CHECK(total.load() == 200);
  CHECK(ok_results.load() == 200);
  CHECK(max_in_send.load() == 1);
}

TEST_CASE("sync publisher flush reports the transport's sync and never throws",
          "[publisher][sync]") {
  fake_transport pub([](const outbox_record&) { return publish_result::ok(); });
  CHECK(pub.flush(std::chrono::milliseconds(10)));
  pub.on_sync = [] { return false; };
  CHECK_FALSE(pub.flush(std::chrono::milliseconds(10)));
  pub.on_sync = []() -> bool { throw std::runtime_error("sync failed"); };
  CHECK_FALSE(pub.flush(std::chrono::milliseconds(10)));
}
