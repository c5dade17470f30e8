// The relay's claimer: the claim round on the claimer thread, wake-ups on the listener.
#include "relay/claimer.hpp"

#include <exception>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

#include "relay/relay_threads.hpp"
#include "relay/timing.hpp"

namespace txoutbox::detail {

namespace asio = boost::asio;

namespace {

/// Claimed batches that may wait for a worker, per worker thread: enough that a worker
/// finishing a batch finds the next one claimed, few enough that memory stays bounded.
constexpr std::size_t waiting_batches_per_thread = 2;

}  // namespace

claimer::claimer(const relay_config& config, partition_table& table, relay_hooks& hooks,
                 batch_runner& runner)
    : config_(config), table_(table), hooks_(hooks), runner_(runner) {}

void claimer::start() {
  guard_.emplace(io_.get_executor());
  asio::post(io_, [this] { on_poll({}); });
}

void claimer::run_claimer() {
  run_until_stopped(io_, hooks_, "claimer thread");
}

void claimer::run_listener() {
  while (!table_.stopping()) {
    try {
      if (config_.store->wait_for_wakeup(timing::wakeup_wait))
        request_claim();
    } catch (...) {
      hooks_.fail("waiting for a wake-up", std::current_exception());
      table_.wait_closed_for(timing::wakeup_retry_pause);
    }
  }
}

void claimer::request_claim() noexcept {
  if (table_.stopping())
    return;
  if (posted_.exchange(true))
    return;
  try {
    asio::post(io_, [this] {
      posted_.store(false);
      claim_round();
    });
  } catch (...) {
    posted_.store(false);
  }
}

void claimer::cancel() noexcept {
  try {
    asio::post(io_, [this] { timer_.cancel(); });
  } catch (...) {
  }
}

void claimer::halt() noexcept {
  guard_.reset();
  io_.stop();
}

void claimer::on_poll(const boost::system::error_code& ec) {
  if (ec || table_.stopping())
    return;
  claim_round();
  if (table_.stopping())
    return;
  timer_.expires_after(config_.options.poll_interval);
  timer_.async_wait([this](const boost::system::error_code& e) { on_poll(e); });
}

/// One claim round over the idle owned partitions. A claim result is used only if its
/// lease (same epoch) is still held and idle after the store call; a failed claim pauses
/// claiming with a growing backoff. The claim's budgets keep memory bounded: bytes per
/// statement (claim_max_bytes), and rows waiting for a worker (the round's room, out of
/// waiting_batches_per_thread batches per thread); what they leave out is claimed as soon
/// as a worker takes a job (partition_table::start_job), starting where the cut was.
void claimer::claim_round() {
  if (table_.stopping())
    return;
  const auto& o = config_.options;
  const auto round =
      table_.begin_round(*config_.clock, waiting_batches_per_thread * o.threads * o.batch_size);
  if (!round)
    return;
  std::vector<claimed_partition> claimed;
  if (!round->idle.empty() && round->room > 0) {
    try {
      claimed = config_.store->claim(
          config_.owner, round->idle,
          claim_limits{
              .rows = o.batch_size, .max_bytes = o.claim_max_bytes, .max_rows = round->room});
      table_.claim_succeeded();
    } catch (...) {
      hooks_.fail("claiming", std::current_exception());
      table_.claim_failed(config_.options.poll_interval);
      return;
    }
  }
  for (auto& job : table_.accept(std::move(claimed), *round))
    runner_.submit(std::move(job));
}

}  // namespace txoutbox::detail
