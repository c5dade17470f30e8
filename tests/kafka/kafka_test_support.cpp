// Kafka test support: mock cluster lifetime and assign()-based read-back.
#include "kafka_test_support.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <stdexcept>
#include <string>

namespace kafka_test {

mock_cluster::mock_cluster(int brokers) : brokers_(brokers) {
  std::array<char, 512> errstr{};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only keeps the cluster's books; it never connects anywhere.
  rd_kafka_conf_set(conf, "log_level", "3", errstr.data(), errstr.size());
  handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr.data(), errstr.size());
  if (handle_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("rd_kafka_new: ") + errstr.data());
  }
  cluster_ = rd_kafka_mock_cluster_new(handle_, brokers);
  if (cluster_ == nullptr) {
    rd_kafka_destroy(handle_);
    throw std::runtime_error("rd_kafka_mock_cluster_new failed");
  }
  bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_);
}

mock_cluster::~mock_cluster() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(handle_);
}

void mock_cluster::create_topic(const std::string& topic, int partitions) {
  const auto err = rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, brokers_);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error("mock topic " + topic + ": " + rd_kafka_err2str(err));
}

void mock_cluster::set_all_down() {
  for (int id = 1; id <= brokers_; ++id)
    rd_kafka_mock_broker_set_down(cluster_, id);
}

void mock_cluster::set_all_up() {
  for (int id = 1; id <= brokers_; ++id)
    rd_kafka_mock_broker_set_up(cluster_, id);
}

std::optional<std::string> consumed::header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (n == name)
      return v;
  }
  return std::nullopt;
}

std::vector<consumed> read_topic(const std::string& bootstraps, const std::string& topic,
                                 int partitions) {
  std::array<char, 512> errstr{};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const auto set = [&](const char* k, const char* v) {
    if (rd_kafka_conf_set(conf, k, v, errstr.data(), errstr.size()) != RD_KAFKA_CONF_OK)
      throw std::runtime_error(std::string("consumer config: ") + errstr.data());
  };
  set("bootstrap.servers", bootstraps.c_str());
  set("group.id", "txoutbox-kafka-tests");  // never joined: assign() only
  set("enable.auto.commit", "false");
  set("enable.partition.eof", "true");
  set("log_level", "3");
  set("fetch.wait.max.ms", "10");
  set("fetch.error.backoff.ms", "10");
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr.data(), errstr.size());
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("consumer: ") + errstr.data());
  }
  rd_kafka_poll_set_consumer(rk);
  // Learn the partition leaders first: an assignment made before them waits for the
  // offset-query retry timer (~0.5 s).
  {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
      rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);

  std::vector<consumed> out;
  std::vector<bool> at_end(static_cast<std::size_t>(partitions), false);
  int ends = 0;
  std::string failure;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ends < partitions && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr)
      continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      const auto p = static_cast<std::size_t>(m->partition);
      if (p < at_end.size() && !at_end[p]) {
        at_end[p] = true;
        ++ends;
      }
    } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Transient consumer errors (a broker coming back) are retried by librdkafka.
      if (failure.empty())
        failure = rd_kafka_message_errstr(m);
    } else {
      consumed c;
      c.topic = rd_kafka_topic_name(m->rkt);
      c.partition = m->partition;
      c.offset = m->offset;
      if (m->key != nullptr)
        c.key = std::string(static_cast<const char*>(m->key), m->key_len);
      c.value = std::string(static_cast<const char*>(m->payload), m->len);
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name = nullptr;
        const void* value = nullptr;
        size_t size = 0;
        for (size_t i = 0;
             rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          c.headers.emplace_back(name, std::string(static_cast<const char*>(value), size));
        }
      }
      out.push_back(std::move(c));
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (ends < partitions) {
    throw std::runtime_error("read_topic " + topic + ": did not reach the end of every partition" +
                             (failure.empty() ? "" : " (" + failure + ")"));
  }
  // Partition by partition, each in offset order (the order a per-partition consumer sees).
  std::stable_sort(out.begin(), out.end(), [](const consumed& a, const consumed& b) {
    return a.partition != b.partition ? a.partition < b.partition : a.offset < b.offset;
  });
  return out;
}

std::string payload_of(int n) {
  return "{\"n\":" + std::to_string(n) + "}";
}

txoutbox::outbox_record make_record(const std::string& aggregate_type, const std::string& key,
                                    int n, std::int64_t seq) {
  txoutbox::outbox_record r;
  r.msg.id = txoutbox::message_id::generate();
  r.msg.aggregate_type = aggregate_type;
  r.msg.aggregate_id = key;
  r.msg.type = "OrderChanged";
  r.msg.payload = payload_of(n);
  r.seq = seq;
  r.created_at = std::chrono::system_clock::now();
  return r;
}

}  // namespace kafka_test
