// Kafka end to end: relay -> Kafka publisher -> librdkafka mock cluster, vs librdkafka's own
// producer.
#include "bench_util.hpp"

#ifdef TXOUTBOX_BENCH_HAVE_KAFKA

#include <librdkafka/rdkafka.h>
// rdkafka.h must come first.
#include <librdkafka/rdkafka_mock.h>

#include <array>
#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

#include "txoutbox/kafka/publisher.hpp"
#include "txoutbox/message_id.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/testing/memory_publisher.hpp"

namespace txoutbox::bench {
namespace {

const std::string schema = "bench_kafka";
const std::string topic = "outbox.order";

/// An in-process mock cluster of three brokers with the benchmark topic.
class mock_cluster {
 public:
  mock_cluster() {
    std::array<char, 512> err{};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err.data(), err.size());
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size());
    if (handle_ == nullptr)
      throw std::runtime_error(std::string("rd_kafka_new: ") + err.data());
    cluster_ = rd_kafka_mock_cluster_new(handle_, 3);
    if (cluster_ == nullptr)
      throw std::runtime_error("rd_kafka_mock_cluster_new failed");
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    if (rd_kafka_mock_topic_create(cluster_, topic.c_str(), 6, 3) != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error("mock topic create failed");
  }
  ~mock_cluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
  }
  mock_cluster(const mock_cluster&) = delete;
  mock_cluster& operator=(const mock_cluster&) = delete;
  const std::string& bootstraps() const { return bootstraps_; }

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstraps_;
};

/// Forwards to the Kafka publisher and counts the `ok` results (it keeps no counter).
class counting_publisher final : public publisher {
 public:
  explicit counting_publisher(std::unique_ptr<publisher> inner) : inner_(std::move(inner)) {}
  std::vector<publish_result> publish(std::span<const outbox_record> batch) noexcept override {
    auto res = inner_->publish(batch);
    std::uint64_t ok = 0;
    for (const auto& x : res)
      ok += x.status == publish_status::ok ? 1 : 0;
    count_.fetch_add(ok);
    return res;
  }
  bool flush(std::chrono::milliseconds t) noexcept override { return inner_->flush(t); }
  void shutdown(std::chrono::milliseconds t) noexcept override { inner_->shutdown(t); }
  std::uint64_t count() const noexcept { return count_.load(); }

 private:
  std::unique_ptr<publisher> inner_;
  std::atomic<std::uint64_t> count_{0};
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* counts = static_cast<std::array<long, 2>*>(opaque);
  ++(*counts)[msg->err == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : 1];
}

/// librdkafka's own producer, configured like the publisher (idempotent, acks=all), sending
/// the same keys, payloads and number of headers, then flushing. Returns messages/s.
double raw_producer(const std::string& bootstraps, long rows) {
  std::vector<std::string> keys, payloads, ids;
  keys.reserve(rows);
  payloads.reserve(rows);
  for (long i = 1; i <= rows; ++i) {
    keys.push_back("order-" + std::to_string(i));
    payloads.push_back(order_payload(i));
    ids.push_back(message_id::generate().to_string());
  }
  std::array<char, 512> err{};
  std::array<long, 2> counts{0, 0};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"bootstrap.servers", bootstraps},
                                                        {"enable.idempotence", "true"},
                                                        {"acks", "all"},
                                                        {"log_level", "3"}}) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err.data(), err.size()) != RD_KAFKA_CONF_OK)
      throw std::runtime_error("raw producer conf " + k + ": " + err.data());
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery);
  rd_kafka_conf_set_opaque(conf, &counts);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size());
  if (rk == nullptr)
    throw std::runtime_error(std::string("raw producer: ") + err.data());
  const auto start = steady::now();
  for (long i = 0; i < rows; ++i) {
    rd_kafka_headers_t* h = rd_kafka_headers_new(8);
    rd_kafka_header_add(h, "ce_specversion", -1, "1.0", -1);
    rd_kafka_header_add(h, "ce_id", -1, ids[i].data(), -1);
    rd_kafka_header_add(h, "ce_type", -1, "OrderPlaced", -1);
    rd_kafka_header_add(h, "ce_source", -1, "/txoutbox", -1);
    rd_kafka_header_add(h, "ce_subject", -1, keys[i].data(), -1);
    rd_kafka_header_add(h, "ce_time", -1, "2026-01-01T00:00:00.000000Z", -1);
    rd_kafka_header_add(h, "ce_aggregatetype", -1, "order", -1);
    rd_kafka_header_add(h, "content-type", -1, "application/json", -1);
    for (;;) {
      const auto e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_KEY(keys[i].data(), keys[i].size()),
                                       RD_KAFKA_V_VALUE(payloads[i].data(), payloads[i].size()),
                                       RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        break;
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_headers_destroy(h);
        rd_kafka_destroy(rk);
        throw std::runtime_error(std::string("produce: ") + rd_kafka_err2str(e));
      }
      rd_kafka_poll(rk, 10);
    }
    rd_kafka_poll(rk, 0);
  }
  const auto fe = rd_kafka_flush(rk, 120'000);
  const double elapsed = seconds_since(start);
  rd_kafka_destroy(rk);
  if (fe != RD_KAFKA_RESP_ERR_NO_ERROR || counts[0] != rows)
    throw std::runtime_error("raw producer delivered " + std::to_string(counts[0]) + " of " +
                             std::to_string(rows));
  return rows / elapsed;
}

}  // namespace

void run_kafka(const settings& s, results& r) {
  pqxx::connection conn(s.pg_url);
  fresh_schema(conn, schema);
  mock_cluster cluster;
  std::vector<double> relay_kafka, relay_count, raw;
  const long rows = s.kafka_rows;
  for (int rep = 0; rep < s.reps; ++rep) {
    progress("kafka repetition " + std::to_string(rep + 1));
    preload(conn, schema, rows);
    {
      auto pub = std::make_shared<counting_publisher>(kafka::make_publisher(
          {.bootstrap_servers = cluster.bootstraps(), .topic_prefix = "outbox."}));
      const double t =
          relay_drain(s, schema, 1, rows, s.drain_batch, pub, [&] { return pub->count(); });
      relay_kafka.push_back(rows / t);
      pub->shutdown(std::chrono::seconds(5));
    }
    raw.push_back(raw_producer(cluster.bootstraps(), rows));
    preload(conn, schema, rows);
    {
      auto pub = std::make_shared<testing::memory_publisher>(
          testing::memory_publisher_options{.record = false});
      const double t =
          relay_drain(s, schema, 1, rows, s.drain_batch, pub, [&] { return pub->count(); });
      relay_count.push_back(rows / t);
    }
    progress("  relay->kafka " + fmt(relay_kafka.back()) + " msg/s, raw producer " +
             fmt(raw.back()) + " msg/s, relay->counting " + fmt(relay_count.back()) + " msg/s");
  }
  const std::string size = std::to_string(rows / 1000) + "k msgs";
  r.compare("5 kafka", "relay x1 -> Kafka publisher -> mock, " + size, median(relay_kafka), "msg/s",
            "librdkafka producer alone", median(raw));
  r.compare("5 kafka", "relay x1 -> Kafka publisher -> mock, " + size, median(relay_kafka), "msg/s",
            "relay x1 -> counting", median(relay_count));
}

}  // namespace txoutbox::bench

#else

namespace txoutbox::bench {
void run_kafka(const settings&, results& r) {
  r.note("Section 5 (Kafka): not built (librdkafka or the txoutbox kafka component missing).");
}
}  // namespace txoutbox::bench

#endif
