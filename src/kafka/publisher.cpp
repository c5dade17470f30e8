// The Kafka publisher: an idempotent librdkafka producer behind txoutbox::publisher.
#include "txoutbox/kafka/publisher.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/routing_guard.hpp"
#include "core/wire_format.hpp"
#include "kafka/detail.hpp"
#include "kafka/secrets.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/key_gate.hpp"

namespace txoutbox::kafka {

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

using detail::settings;
using detail::shut_down_reason;
/// librdkafka scans for timed-out messages about once a second: a delivery report can
/// arrive this much after message.timeout.ms.
constexpr auto report_grace = 2000ms;
/// Longest single rd_kafka_poll() while waiting, so a shutdown is seen promptly.
constexpr auto poll_slice = 20ms;

/// The delivery reports of one publish() call. Shared between the publishing thread and
/// librdkafka's callbacks (which run inside rd_kafka_poll on any thread polling the
/// producer), and kept alive by the in-flight messages that point to it, so a report
/// arriving after publish() gave up is harmless.
struct batch_tracker {
  explicit batch_tracker(std::size_t n) : errors(n), reported(n, false) {}

  std::mutex mutex;
  std::vector<rd_kafka_resp_err_t> errors;  ///< guarded by mutex
  std::vector<bool> reported;               ///< guarded by mutex
  std::atomic<std::size_t> pending{0};      ///< produced, not yet reported
};

/// The per-message opaque: which record of which batch. Deleted by the delivery report.
struct delivery_slot {
  std::shared_ptr<batch_tracker> tracker;
  std::size_t index;
};

void on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* /*opaque*/) {
  auto* slot = static_cast<delivery_slot*>(msg->_private);
  if (slot == nullptr)
    return;
  {
    std::lock_guard lock(slot->tracker->mutex);
    slot->tracker->errors[slot->index] = msg->err;
    slot->tracker->reported[slot->index] = true;
  }
  slot->tracker->pending.fetch_sub(1, std::memory_order_acq_rel);
  delete slot;
}

/// One librdkafka producer instance. Replaced as a whole after a fatal error; the old one
/// is destroyed when the last publish() using it lets go (shared_ptr).
class producer_handle {
 public:
  /// Builds the configuration and the producer. Throws usage_error naming a property
  /// librdkafka refuses (without the value of a secret).
  explicit producer_handle(const settings& config) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    std::array<char, 512> errstr{};
    for (const auto& [key, value] : config) {
      const auto res =
          rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr.data(), errstr.size());
      if (res == RD_KAFKA_CONF_OK)
        continue;
      rd_kafka_conf_destroy(conf);
      const std::string field = "properties[" + key + "]";
      if (res == RD_KAFKA_CONF_UNKNOWN) {
        throw usage_error(errc::invalid_argument, field,
                          "kafka publisher: unknown librdkafka property '" + key + "'");
      }
      if (txoutbox::detail::is_secret_property(key)) {
        throw usage_error(errc::invalid_argument, field,
                          "kafka publisher: librdkafka refused the value of property '" + key +
                              "' (value hidden)");
      }
      throw usage_error(errc::invalid_argument, field,
                        "kafka publisher: property '" + key + "': " + errstr.data());
    }
    rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery);
    rd_kafka_conf_set_error_cb(conf, &on_error);
    rd_kafka_conf_set_opaque(conf, this);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr.data(), errstr.size());
    if (rk_ == nullptr) {
      rd_kafka_conf_destroy(conf);
      // Cross-property checks ("enable.idempotence requires ..."): names, not values.
      throw usage_error(
          errc::invalid_argument, "properties",
          std::string("kafka publisher: cannot create the producer: ") + errstr.data());
    }
  }

  /// Fails what is still queued or in flight (their reports free the slots), then
  /// destroys the instance.
  ~producer_handle() {
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk_, 0);
    rd_kafka_destroy(rk_);
  }

  producer_handle(const producer_handle&) = delete;
  producer_handle& operator=(const producer_handle&) = delete;

  rd_kafka_t* rk() const noexcept { return rk_; }

  /// True once librdkafka raised a fatal error: this instance can produce nothing more.
  bool fatal() const noexcept {
    return fatal_.load(std::memory_order_acquire) || rd_kafka_fatal_error(rk_, nullptr, 0) != 0;
  }
  void mark_fatal() noexcept { fatal_.store(true, std::memory_order_release); }

  /// librdkafka's description of the fatal error (the original error, not ERR__FATAL).
  std::string fatal_reason() const {
    std::array<char, 512> text{};
    const rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk_, text.data(), text.size());
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
      return rd_kafka_err2str(RD_KAFKA_RESP_ERR__FATAL);
    return std::string(rd_kafka_err2name(err)) + ": " + text.data();
  }

  /// The last error librdkafka reported for the instance (broker down, ...), for reasons.
  std::string last_error() const {
    std::lock_guard lock(error_mutex_);
    return last_error_;
  }

 private:
  static void on_error(rd_kafka_t* /*rk*/, int err, const char* reason, void* opaque) {
    auto* self = static_cast<producer_handle*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__FATAL)
      self->fatal_.store(true, std::memory_order_release);
    std::lock_guard lock(self->error_mutex_);
    self->last_error_ = reason != nullptr ? reason : rd_kafka_err2str(rd_kafka_resp_err_t(err));
  }

  rd_kafka_t* rk_ = nullptr;
  std::atomic<bool> fatal_{false};
  mutable std::mutex error_mutex_;
  std::string last_error_;  ///< guarded by error_mutex_
};

/// Owns the librdkafka header list until produce() takes it over.
struct headers_guard {
  rd_kafka_headers_t* hdrs;
  ~headers_guard() {
    if (hdrs != nullptr)
      rd_kafka_headers_destroy(hdrs);
  }
};

class kafka_publisher final : public txoutbox::publisher {
 public:
  kafka_publisher(publisher_options options, settings config)
      : options_(std::move(options)),
        config_(std::move(config)),
        handle_(std::make_shared<producer_handle>(config_)) {}

  ~kafka_publisher() override { shutdown(2000ms); }

  std::vector<publish_result> publish(std::span<const outbox_record> batch) noexcept override {
    try {
      return publish_batch(batch);
    } catch (const std::exception& e) {
      // Allocation failure and the like: nothing is known to be delivered.
      return std::vector<publish_result>(batch.size(), publish_result::retry(e.what()));
    } catch (...) {
      return std::vector<publish_result>(batch.size(),
                                         publish_result::retry("unknown error in publisher"));
    }
  }

  /// Every record reported `ok` was acknowledged by the brokers (acks=all) before
  /// publish() returned, so there is nothing to wait for.
  bool flush(std::chrono::milliseconds /*timeout*/) noexcept override { return true; }

  /// The record's topic: a topic's outage (unknown, unauthorized, its brokers down) is
  /// the unit the relay holds back and probes.
  std::string route(const outbox_record& rec) const override { return topic_of(rec.msg); }

  void shutdown(std::chrono::milliseconds timeout) noexcept override {
    const auto deadline = steady::now() + timeout;
    shut_down_.store(true, std::memory_order_release);
    std::shared_ptr<producer_handle> handle;
    {
      std::lock_guard lock(handle_mutex_);
      handle = std::move(handle_);
    }
    if (!handle)
      return;
    // A publish() in progress sees the flag within one poll slice and returns; this
    // gives messages still in flight the rest of the budget, then destroys the producer
    // (or the last publish() holding it does).
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    rd_kafka_flush(handle->rk(), static_cast<int>(std::max<std::int64_t>(0, left.count())));
  }

 private:
  std::shared_ptr<producer_handle> current_handle() {
    std::lock_guard lock(handle_mutex_);
    return handle_;
  }

  bool shut_down() const noexcept { return shut_down_.load(std::memory_order_acquire); }

  /// Swaps in a new producer after a fatal error, once however many publish() calls saw it.
  void recreate(const std::shared_ptr<producer_handle>& failed) noexcept {
    std::lock_guard lock(handle_mutex_);
    if (handle_ != failed || shut_down())
      return;
    try {
      handle_ = std::make_shared<producer_handle>(config_);
    } catch (...) {
      // The configuration was accepted before, so this is resource exhaustion: keep the
      // failed producer (its produce() fails with ERR__FATAL → retry) and try next time.
    }
  }

  /// topic_map[aggregate type], else `topic`, else topic_prefix + aggregate type.
  std::string topic_of(const message& msg) const {
    if (auto it = options_.topic_map.find(msg.aggregate_type); it != options_.topic_map.end())
      return it->second;
    if (!options_.topic.empty())
      return options_.topic;
    return options_.topic_prefix + msg.aggregate_type;
  }

  rd_kafka_headers_t* make_headers(const outbox_record& rec, const std::string& id) const {
    const message& m = rec.msg;
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(8 + m.headers.size());
    const auto add = [hdrs](std::string_view name, std::string_view value) {
      rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                          static_cast<ssize_t>(value.size()));
    };
    add("ce_specversion", "1.0");
    add("ce_id", id);
    add("ce_type", m.type);
    add("ce_source", options_.source);
    add("ce_subject", m.aggregate_id);
    add("ce_time", txoutbox::detail::format_rfc3339(rec.created_at));
    add("ce_aggregatetype", m.aggregate_type);
    add("content-type", "application/json");
    for (const auto& [name, value] : m.headers) {
      // The binding's own headers win: a consumer must be able to trust ce_id.
      if (name.starts_with("ce_") || name == "content-type")
        continue;
      add(name, value);
    }
    return hdrs;
  }

  /// Produces one record, waiting out a full local queue (never dropping). Returns the
  /// synchronous error, NO_ERROR when librdkafka took the message.
  rd_kafka_resp_err_t produce(rd_kafka_t* rk, const std::string& topic, const outbox_record& rec,
                              delivery_slot* slot, steady::time_point deadline) const {
    const message& m = rec.msg;
    const std::string id = m.id.to_string();
    for (;;) {
      headers_guard hdrs{make_headers(rec, id)};
      std::array<rd_kafka_vu_t, 6> vus{};
      vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
      vus[0].u.cstr = topic.c_str();
      vus[1].vtype = RD_KAFKA_VTYPE_KEY;
      vus[1].u.mem.ptr = const_cast<char*>(m.aggregate_id.data());
      vus[1].u.mem.size = m.aggregate_id.size();
      vus[2].vtype = RD_KAFKA_VTYPE_VALUE;
      vus[2].u.mem.ptr = const_cast<char*>(m.payload.data());
      vus[2].u.mem.size = m.payload.size();
      vus[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      vus[3].u.i = RD_KAFKA_MSG_F_COPY;
      vus[4].vtype = RD_KAFKA_VTYPE_OPAQUE;
      vus[4].u.ptr = slot;
      vus[5].vtype = RD_KAFKA_VTYPE_HEADERS;
      vus[5].u.headers = hdrs.hdrs;
      rd_kafka_error_t* error = rd_kafka_produceva(rk, vus.data(), vus.size());
      if (error == nullptr) {
        hdrs.hdrs = nullptr;  // librdkafka owns them now
        return RD_KAFKA_RESP_ERR_NO_ERROR;
      }
      const rd_kafka_resp_err_t err = rd_kafka_error_code(error);
      rd_kafka_error_destroy(error);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || shut_down() || steady::now() >= deadline)
        return err;
      // Back-pressure: serve delivery reports so the queue drains, then try again.
      rd_kafka_poll(rk, 10);
    }
  }

  /// A record's result when it is refused before librdkafka sees it: an illegal topic or
  /// an unsafe routing field or header (CR/LF/NUL never reach a key or a header).
  static std::optional<publish_result> refuse(const outbox_record& rec, const std::string& topic) {
    if (auto unsafe = txoutbox::detail::routing_reject(rec.msg, true))
      return unsafe;
    if (!detail::valid_topic(topic))
      return publish_result::reject("invalid Kafka topic name '" + topic +
                                    "' (from aggregate type; legal: [A-Za-z0-9._-])");
    return std::nullopt;
  }

  /// Produces the batch in order. A key refused synchronously has its later records not
  /// produced, and so has a topic refused as unavailable. Sets `saw_fatal`.
  void produce_all(std::span<const outbox_record> batch, std::vector<detail::settled>& records,
                   producer_handle& handle, const std::shared_ptr<batch_tracker>& tracker,
                   steady::time_point deadline, bool& saw_fatal) const {
    key_gate gate(*this, "topic");
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const outbox_record& rec = batch[i];
      detail::settled& out = records[i];
      if (auto held = gate.refusal(rec)) {
        out.result = std::move(held);
        continue;
      }
      if (shut_down()) {
        out.result = gate.record(rec, publish_result::retry(shut_down_reason));
        continue;
      }
      if (auto refused = refuse(rec, out.route)) {
        out.result = gate.record(rec, std::move(*refused));
        continue;
      }
      auto* slot = new delivery_slot{tracker, i};
      tracker->pending.fetch_add(1, std::memory_order_acq_rel);
      const rd_kafka_resp_err_t err = produce(handle.rk(), out.route, rec, slot, deadline);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        out.produced = true;
        continue;
      }
      tracker->pending.fetch_sub(1, std::memory_order_acq_rel);
      delete slot;
      if (err == RD_KAFKA_RESP_ERR__FATAL || handle.fatal()) {
        saw_fatal = true;
        handle.mark_fatal();
      }
      out.result = gate.record(
          rec, err == RD_KAFKA_RESP_ERR__QUEUE_FULL
                   ? publish_result::retry(shut_down() ? shut_down_reason
                                                       : "local producer queue stayed full")
                   : detail::to_result(err, "refused by the producer"));
    }
  }

  /// Waits for every delivery report; any thread's poll may serve ours, so this watches
  /// the counter rather than what this thread's poll returned.
  void await_reports(rd_kafka_t* rk, const batch_tracker& tracker,
                     steady::time_point deadline) const {
    while (tracker.pending.load(std::memory_order_acquire) > 0 && !shut_down()) {
      const auto now = steady::now();
      if (now >= deadline)
        break;
      const auto slice = std::min<steady::duration>(poll_slice, deadline - now);
      rd_kafka_poll(rk,
                    static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(slice).count()));
    }
  }

  /// Each produced record's own result from its delivery report. A fatal error fails the
  /// instance, not the records: every failure is then a retry on the producer that
  /// replaces it.
  void collect_reports(std::vector<detail::settled>& records, batch_tracker& tracker,
                       const producer_handle& handle, bool saw_fatal) const {
    std::string fatal_reason;
    if (saw_fatal)
      fatal_reason = "fatal producer error, producer re-created: " + handle.fatal_reason();
    std::lock_guard lock(tracker.mutex);
    std::string last_error;
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (records[i].result)
        continue;
      if (!tracker.reported[i]) {
        records[i].result =
            publish_result::retry(shut_down() ? "publisher shut down before the broker acknowledged"
                                              : "no delivery report within delivery_timeout");
        continue;
      }
      const rd_kafka_resp_err_t err = tracker.errors[i];
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && saw_fatal) {
        records[i].result = publish_result::retry(fatal_reason);
        continue;
      }
      std::string context;
      if (err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT) {
        if (last_error.empty())
          last_error = handle.last_error();
        if (!last_error.empty())
          context = "last error: " + last_error;
      }
      records[i].result = detail::to_result(err, context);
    }
  }

  std::vector<publish_result> publish_batch(std::span<const outbox_record> batch) {
    const std::size_t n = batch.size();
    std::shared_ptr<producer_handle> handle;
    if (!shut_down())
      handle = current_handle();
    if (!handle)
      return std::vector<publish_result>(n, publish_result::retry(shut_down_reason));

    std::vector<detail::settled> records(n);
    for (std::size_t i = 0; i < n; ++i)
      records[i].route = topic_of(batch[i].msg);
    const auto produce_deadline = steady::now() + options_.delivery_timeout;
    auto tracker = std::make_shared<batch_tracker>(n);
    bool saw_fatal = false;
    produce_all(batch, records, *handle, tracker, produce_deadline, saw_fatal);
    await_reports(handle->rk(), *tracker, produce_deadline + report_grace);
    saw_fatal = saw_fatal || handle->fatal();
    collect_reports(records, *tracker, *handle, saw_fatal);
    // The contract's per-key and per-route rules, over the records' own outcomes, in
    // batch order (see docs/publishers/kafka.md, "Order after a failure").
    key_gate rules(*this, "topic");
    std::vector<publish_result> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
      out.push_back(rules.settle(batch[i], std::move(*records[i].result), records[i].produced));
    if (saw_fatal || handle->fatal())
      recreate(handle);
    return out;
  }

  const publisher_options options_;
  const settings config_;
  std::mutex handle_mutex_;
  std::shared_ptr<producer_handle> handle_;  ///< guarded by handle_mutex_; null after shutdown
  std::atomic<bool> shut_down_{false};
};

}  // namespace

std::unique_ptr<txoutbox::publisher> make_publisher(publisher_options options) {
  settings config = detail::build_settings(options);
  return std::make_unique<kafka_publisher>(std::move(options), std::move(config));
}

}  // namespace txoutbox::kafka
