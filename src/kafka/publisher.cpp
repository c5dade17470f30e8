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
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/wire_format.hpp"
#include "kafka/secrets.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox::kafka {

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr const char* not_sent_reason = "not sent: an earlier message of this key failed";
constexpr const char* after_failure_reason =
    "an earlier message of this key failed in the same batch; re-published after it";
constexpr const char* shut_down_reason = "publisher shut down";
/// librdkafka scans for timed-out messages about once a second: a delivery report can
/// arrive this much after message.timeout.ms.
constexpr auto report_grace = 2000ms;
/// Longest single rd_kafka_poll() while waiting, so a shutdown is seen promptly.
constexpr auto poll_slice = 20ms;

/// Kafka's legal topic names: [A-Za-z0-9._-]{1,249}, and not "." or "..".
bool valid_topic(std::string_view topic) noexcept {
  if (topic.empty() || topic.size() > 249 || topic == "." || topic == "..")
    return false;
  return std::all_of(topic.begin(), topic.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

/// How a librdkafka error code settles a record.
enum class outcome_kind { ok, retry, reject, fatal };

/// Errors a retry cannot fix: the record goes to dead letters. Everything not listed is
/// retried (the relay dead-letters after max_attempts anyway), which errs on the side
/// of never losing a message to a misjudged transient condition.
outcome_kind classify(rd_kafka_resp_err_t err) noexcept {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return outcome_kind::ok;
    case RD_KAFKA_RESP_ERR__FATAL:
      return outcome_kind::fatal;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
      return outcome_kind::reject;
    default:
      return outcome_kind::retry;
  }
}

/// The result of one settled record; ERR__FATAL is a retry (on a new producer).
publish_result to_result(rd_kafka_resp_err_t err, std::string_view context = {}) {
  std::string reason = rd_kafka_err2str(err);
  if (!context.empty()) {
    reason += " (";
    reason += context;
    reason += ")";
  }
  switch (classify(err)) {
    case outcome_kind::ok:
      return publish_result::ok();
    case outcome_kind::reject:
      return publish_result::reject(std::move(reason));
    case outcome_kind::fatal:
      return publish_result::retry("fatal producer error, producer re-created: " + reason);
    case outcome_kind::retry:
      break;
  }
  return publish_result::retry(std::move(reason));
}

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

/// Final configuration: (key, value) pairs applied in order to a fresh rd_kafka_conf_t.
using settings = std::vector<std::pair<std::string, std::string>>;

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
      if (detail::is_secret_property(key)) {
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

  const std::string* topic_for(const message& msg) const {
    if (auto it = options_.topic_map.find(msg.aggregate_type); it != options_.topic_map.end())
      return &it->second;
    if (!options_.topic.empty())
      return &options_.topic;
    return nullptr;
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
    add("ce_time", detail::format_rfc3339(rec.created_at));
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

  std::vector<publish_result> publish_batch(std::span<const outbox_record> batch) {
    const std::size_t n = batch.size();
    std::vector<std::optional<publish_result>> results(n);
    std::shared_ptr<producer_handle> handle;
    if (!shut_down())
      handle = current_handle();
    if (!handle)
      return std::vector<publish_result>(n, publish_result::retry(shut_down_reason));
    rd_kafka_t* rk = handle->rk();

    const auto start = steady::now();
    const auto produce_deadline = start + options_.delivery_timeout;
    const auto report_deadline = produce_deadline + report_grace;
    auto tracker = std::make_shared<batch_tracker>(n);
    // Keys with a synchronous failure: their later records are not produced at all.
    std::unordered_set<std::string_view> refused_keys;
    bool saw_fatal = false;

    for (std::size_t i = 0; i < n; ++i) {
      const outbox_record& rec = batch[i];
      const std::string_view key = rec.msg.aggregate_id;
      if (refused_keys.contains(key)) {
        results[i] = publish_result::retry(not_sent_reason);
        continue;
      }
      if (shut_down()) {
        results[i] = publish_result::retry(shut_down_reason);
        refused_keys.insert(key);
        continue;
      }
      const std::string* mapped = topic_for(rec.msg);
      const std::string topic = mapped ? *mapped : options_.topic_prefix + rec.msg.aggregate_type;
      if (!valid_topic(topic)) {
        results[i] = publish_result::reject("invalid Kafka topic name '" + topic +
                                            "' (from aggregate type; legal: [A-Za-z0-9._-])");
        refused_keys.insert(key);
        continue;
      }
      auto* slot = new delivery_slot{tracker, i};
      tracker->pending.fetch_add(1, std::memory_order_acq_rel);
      const rd_kafka_resp_err_t err = produce(rk, topic, rec, slot, produce_deadline);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        tracker->pending.fetch_sub(1, std::memory_order_acq_rel);
        delete slot;
        if (err == RD_KAFKA_RESP_ERR__FATAL || handle->fatal()) {
          saw_fatal = true;
          handle->mark_fatal();
        }
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          results[i] = publish_result::retry(shut_down() ? shut_down_reason
                                                         : "local producer queue stayed full");
        } else {
          results[i] = to_result(err, "refused by the producer");
        }
        refused_keys.insert(key);
      }
    }

    // Wait for every delivery report; any thread's poll may serve ours, so watch the
    // counter rather than what this thread's poll returned.
    while (tracker->pending.load(std::memory_order_acquire) > 0 && !shut_down()) {
      const auto now = steady::now();
      if (now >= report_deadline)
        break;
      const auto slice = std::min<steady::duration>(poll_slice, report_deadline - now);
      rd_kafka_poll(rk,
                    static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(slice).count()));
    }

    // A fatal error fails the instance, not the records: every failure of this batch is
    // then a retry on the producer that replaces it.
    std::string fatal_reason;
    if (saw_fatal || handle->fatal()) {
      saw_fatal = true;
      fatal_reason = "fatal producer error, producer re-created: " + handle->fatal_reason();
    }
    {
      std::lock_guard lock(tracker->mutex);
      std::string last_error;
      for (std::size_t i = 0; i < n; ++i) {
        if (results[i])
          continue;
        if (!tracker->reported[i]) {
          results[i] = publish_result::retry(
              shut_down() ? "publisher shut down before the broker acknowledged"
                          : "no delivery report within delivery_timeout");
          continue;
        }
        const rd_kafka_resp_err_t err = tracker->errors[i];
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && saw_fatal) {
          results[i] = publish_result::retry(fatal_reason);
          continue;
        }
        std::string context;
        if (err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT) {
          if (last_error.empty())
            last_error = handle->last_error();
          if (!last_error.empty())
            context = "last error: " + last_error;
        }
        results[i] = to_result(err, context);
      }
    }

    // Per-key rule: after a key's first failure its later records are `retry`, even
    // those already acknowledged (see docs/publishers/kafka.md, "Order after a failure").
    std::vector<publish_result> out;
    out.reserve(n);
    std::unordered_set<std::string_view> failed_keys;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string_view key = batch[i].msg.aggregate_id;
      publish_result r = std::move(*results[i]);
      if (failed_keys.contains(key)) {
        if (r.status == publish_status::ok || r.status == publish_status::reject)
          r = publish_result::retry(after_failure_reason);
      } else if (r.status != publish_status::ok) {
        failed_keys.insert(key);
      }
      out.push_back(std::move(r));
    }

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

/// Validates the options and turns them into librdkafka settings.
settings build_settings(const publisher_options& o) {
  for (const auto& [key, value] : o.properties) {
    if (key.empty())
      throw usage_error(errc::invalid_argument, "properties",
                        "kafka publisher: empty property name");
    if (key == "message.timeout.ms" || key == "delivery.timeout.ms") {
      throw usage_error(errc::invalid_argument, "properties[" + key + "]",
                        "kafka publisher: set delivery_timeout instead of property '" + key +
                            "' (publish() waits on it)");
    }
  }
  const bool has_bootstrap =
      o.properties.contains("bootstrap.servers") || o.properties.contains("metadata.broker.list");
  if (o.bootstrap_servers.empty() && !has_bootstrap) {
    throw usage_error(errc::invalid_argument, "bootstrap_servers",
                      "kafka publisher: bootstrap_servers is required (host:port[,host:port])");
  }
  if (o.delivery_timeout <= 0ms || o.delivery_timeout > std::chrono::milliseconds(INT32_MAX)) {
    throw usage_error(errc::invalid_argument, "delivery_timeout",
                      "kafka publisher: delivery_timeout must be between 1 ms and 2^31-1 ms");
  }
  if (!o.topic.empty() && !valid_topic(o.topic)) {
    throw usage_error(errc::invalid_argument, "topic",
                      "kafka publisher: topic '" + o.topic + "' is not a legal Kafka topic name");
  }
  if (!o.topic_prefix.empty() && !valid_topic(o.topic_prefix)) {
    throw usage_error(errc::invalid_argument, "topic_prefix",
                      "kafka publisher: topic_prefix '" + o.topic_prefix +
                          "' has characters Kafka topic names cannot hold");
  }
  for (const auto& [type, topic] : o.topic_map) {
    if (type.empty() || !valid_topic(topic)) {
      throw usage_error(errc::invalid_argument, "topic_map[" + type + "]",
                        "kafka publisher: topic_map entry '" + type + "' -> '" + topic +
                            "' needs an aggregate type and a legal Kafka topic name");
    }
  }
  settings s;
  if (!o.bootstrap_servers.empty())
    s.emplace_back("bootstrap.servers", o.bootstrap_servers);
  s.emplace_back("enable.idempotence", "true");
  s.emplace_back("acks", "all");
  s.emplace_back("message.timeout.ms", std::to_string(o.delivery_timeout.count()));
  if (o.java_compatible_partitioner)
    s.emplace_back("partitioner", "murmur2_random");
  for (const auto& kv : o.properties)
    s.push_back(kv);
  return s;
}

}  // namespace

std::unique_ptr<txoutbox::publisher> make_publisher(publisher_options options) {
  settings config = build_settings(options);
  return std::make_unique<kafka_publisher>(std::move(options), std::move(config));
}

}  // namespace txoutbox::kafka
