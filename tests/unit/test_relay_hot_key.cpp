// Unit tests of the relay draining one hot key on the in-memory store: runs, not heads.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "relay_test_support.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/testing/manual_clock.hpp"
#include "txoutbox/testing/memory_publisher.hpp"
#include "txoutbox/testing/memory_store.hpp"
#include "txoutbox/testing/wait.hpp"

using namespace std::chrono_literals;
using relay_test::fast_options;
using relay_test::make_message;
using txoutbox::relay;
using txoutbox::testing::manual_clock;
using txoutbox::testing::memory_publisher;
using txoutbox::testing::memory_store;
using txoutbox::testing::memory_store_options;
using txoutbox::testing::wait_until;

TEST_CASE("a hot key of 10,000 messages drains in order in 100 full batches",
          "[relay][order][hotkey]") {
  auto clk = std::make_shared<manual_clock>();
  auto store = std::make_shared<memory_store>(memory_store_options{.partitions = 16, .clock = clk});
  constexpr int total = 10'000;
  std::vector<txoutbox::message_id> written;
  written.reserve(total);
  for (int n = 0; n < total; ++n)
    written.push_back(store->enqueue(make_message("hot", n)));

  auto pub = std::make_shared<memory_publisher>();
  auto opts = fast_options(clk, "r1");
  opts.batch_size = 100;
  // The poll alone would take an hour: only claiming again at once after a full batch
  // drains the key within the test.
  opts.poll_interval = 3'600'000ms;
  std::mutex sizes_mutex;
  std::vector<std::size_t> sizes;
  opts.on_batch = [&](const txoutbox::batch_report& b) {
    std::lock_guard lock(sizes_mutex);
    sizes.push_back(b.claimed);
  };
  relay r(store, pub, opts);
  r.start();
  REQUIRE(wait_until([&] { return pub->count() >= total; }, 60s));
  REQUIRE(r.stop(5s));

  CHECK(pub->batches() == 100);
  CHECK(pub->count() == total);
  CHECK(pub->overlaps() == 0);
  const auto recs = pub->records();
  REQUIRE(recs.size() == written.size());
  for (std::size_t i = 0; i < recs.size(); ++i) {
    INFO("publish position " << i);
    REQUIRE(recs[i].msg.id == written[i]);
  }
  std::lock_guard lock(sizes_mutex);
  CHECK(sizes == std::vector<std::size_t>(100, 100));
  CHECK(store->size() == 0);
}
