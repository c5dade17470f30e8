// Kafka test support: a standalone librdkafka mock cluster and a read-back consumer.
#pragma once

#include <librdkafka/rdkafka.h>  // must precede rdkafka_mock.h
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "txoutbox/message.hpp"
#include "txoutbox/outbox_record.hpp"

namespace kafka_test {

/// The Kafka protocol ApiKey of ProduceRequest, for rd_kafka_mock_push_request_errors.
inline constexpr std::int16_t produce_api = 0;

/// An in-process Kafka cluster (librdkafka's mock brokers) on loopback ports, created
/// standalone on a throwaway client handle so that publishers and consumers are ordinary
/// clients pointed at bootstraps(). Destroy it after every client using it.
class mock_cluster {
 public:
  explicit mock_cluster(int brokers = 3);
  ~mock_cluster();
  mock_cluster(const mock_cluster&) = delete;
  mock_cluster& operator=(const mock_cluster&) = delete;

  const std::string& bootstraps() const noexcept { return bootstraps_; }
  rd_kafka_mock_cluster_t* get() const noexcept { return cluster_; }
  int brokers() const noexcept { return brokers_; }

  /// Creates a topic with `partitions` partitions, replicated on every broker.
  void create_topic(const std::string& topic, int partitions);
  /// Takes every broker down (connections dropped, new ones refused) or brings them up.
  void set_all_down();
  void set_all_up();

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  int brokers_;
  std::string bootstraps_;
};

/// One message as read back from the cluster.
struct consumed {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;  ///< in wire order

  /// The value of the first header named `name`; nullopt when absent.
  std::optional<std::string> header(const std::string& name) const;
  /// "topic/partition", the stream name for the delivery checker.
  std::string stream() const { return topic + "/" + std::to_string(partition); }
};

/// Reads every message of `topic` (partitions 0..partitions-1) from the beginning up to
/// the end at the time of the call, partition by partition in offset order. Uses
/// assign(), not a group join, so it takes milliseconds. Fails the test on an error.
std::vector<consumed> read_topic(const std::string& bootstraps, const std::string& topic,
                                 int partitions);

/// A record as the relay would hand it to a publisher: fresh UUIDv7 id, seq `seq`.
txoutbox::outbox_record make_record(const std::string& aggregate_type, const std::string& key,
                                    int n, std::int64_t seq);

/// Payloads the tests write, e.g. {"n":7}.
std::string payload_of(int n);

}  // namespace kafka_test
