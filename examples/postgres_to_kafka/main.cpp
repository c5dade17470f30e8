// postgres_to_kafka: an order service writes orders and OrderPlaced events in one PostgreSQL
// transaction; a relay publishes the events to Kafka with the idempotent producer.
//
//   postgres_to_kafka --db postgresql://postgres@127.0.0.1:55432/postgres
//                     [--bootstrap host:port[,host:port]] [--orders N]
//
// --db defaults to $DATABASE_URL, --bootstrap to $KAFKA_BOOTSTRAP_SERVERS. Without a Kafka
// cluster the example starts librdkafka's in-process mock cluster, so it runs anywhere a
// PostgreSQL server is at hand; it then reads the topic back and checks that every event
// it wrote arrived, keyed by order id, in write order per order. Exits 0 on success,
// 1 (with one line on stderr) otherwise.
#include <librdkafka/rdkafka.h>  // before rdkafka_mock.h
#include <librdkafka/rdkafka_mock.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "txoutbox/kafka/publisher.hpp"
#include "txoutbox/postgres/migrate.hpp"
#include "txoutbox/postgres/store.hpp"
#include "txoutbox/postgres/writer.hpp"
#include "txoutbox/relay.hpp"

using namespace std::chrono_literals;

namespace {

constexpr const char* outbox_schema = "txoutbox_example";
constexpr const char* topic = "shop.order";  // topic_prefix "shop." + aggregate type "order"
constexpr int topic_partitions = 3;

struct settings {
  std::string db;
  std::string bootstrap;
  int orders = 20;
};

std::string env_or(const char* name, std::string fallback = {}) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : std::move(fallback);
}

settings parse_args(int argc, char** argv) {
  settings s{.db = env_or("DATABASE_URL"), .bootstrap = env_or("KAFKA_BOOTSTRAP_SERVERS")};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::invalid_argument(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--db") {
      s.db = value();
    } else if (arg == "--bootstrap") {
      s.bootstrap = value();
    } else if (arg == "--orders") {
      s.orders = std::stoi(value());
    } else {
      throw std::invalid_argument("unknown argument " + std::string(arg) +
                                  " (usage: --db URL [--bootstrap host:port] [--orders N])");
    }
  }
  if (s.db.empty())
    throw std::invalid_argument("--db postgresql://... (or DATABASE_URL) is required");
  if (s.orders < 1)
    throw std::invalid_argument("--orders must be at least 1");
  return s;
}

/// librdkafka's in-process Kafka cluster, for running without a real one. Owns a
/// throwaway client handle that only keeps the cluster's books.
class local_cluster {
 public:
  local_cluster() {
    std::array<char, 256> err{};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err.data(), err.size());
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size());
    if (handle_ == nullptr)
      throw std::runtime_error(std::string("cannot start the mock cluster: ") + err.data());
    cluster_ = rd_kafka_mock_cluster_new(handle_, 3);
    if (cluster_ == nullptr) {
      rd_kafka_destroy(handle_);
      throw std::runtime_error("cannot start the mock cluster");
    }
    rd_kafka_mock_topic_create(cluster_, topic, topic_partitions, 3);
  }
  ~local_cluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
  }
  local_cluster(const local_cluster&) = delete;
  local_cluster& operator=(const local_cluster&) = delete;
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

/// The service's command handlers: the order row and its event commit together or not
/// at all. The writer adds one INSERT (and a NOTIFY) to the transaction the service has
/// open; it never commits or rolls back by itself.
std::string place_order(pqxx::connection& conn, const txoutbox::postgres::writer& outbox,
                        const std::string& order_id, int total_cents) {
  pqxx::work tx(conn);
  tx.exec_params(
      "INSERT INTO shop_orders(id, total_cents, paid) VALUES ($1, $2, false) "
      "ON CONFLICT (id) DO UPDATE SET total_cents = EXCLUDED.total_cents, paid = false",
      order_id, total_cents);
  const auto id = outbox.enqueue(
      tx, txoutbox::message{.aggregate_type = "order",
                            .aggregate_id = order_id,  // the Kafka message key
                            .type = "OrderPlaced",
                            .payload = R"({"order_id":")" + order_id + R"(","total_cents":)" +
                                       std::to_string(total_cents) + "}",
                            .headers = {{"tenant", "example"}}});
  tx.commit();
  return id.to_string();
}

std::string pay_order(pqxx::connection& conn, const txoutbox::postgres::writer& outbox,
                      const std::string& order_id) {
  pqxx::work tx(conn);
  // Locking the order row serialises writers per order: "written order" is commit order.
  tx.exec_params1("SELECT id FROM shop_orders WHERE id = $1 FOR UPDATE", order_id);
  tx.exec_params("UPDATE shop_orders SET paid = true WHERE id = $1", order_id);
  const auto id =
      outbox.enqueue(tx, txoutbox::message{.aggregate_type = "order",
                                           .aggregate_id = order_id,
                                           .type = "OrderPaid",
                                           .payload = R"({"order_id":")" + order_id + R"("})"});
  tx.commit();
  return id.to_string();
}

/// Reads the topic back from the beginning (assign(), no consumer group join) and returns
/// the ce_id header of every message, partition by partition in offset order.
std::vector<std::string> read_back(const std::string& bootstraps) {
  std::array<char, 256> err{};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : std::map<std::string, std::string>{{"bootstrap.servers", bootstraps},
                                                               {"group.id", "postgres_to_kafka"},
                                                               {"enable.auto.commit", "false"},
                                                               {"enable.partition.eof", "true"},
                                                               {"log_level", "3"}}) {
    rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err.data(), err.size());
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err.data(), err.size());
  if (rk == nullptr)
    throw std::runtime_error(std::string("consumer: ") + err.data());
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(topic_partitions);
  for (int p = 0; p < topic_partitions; ++p)
    rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  std::vector<std::string> ids;
  std::set<int> at_end;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (static_cast<int>(at_end.size()) < topic_partitions &&
         std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr)
      continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(m->partition);
    } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_t* hdrs = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          rd_kafka_header_get_last(hdrs, "ce_id", &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ids.emplace_back(static_cast<const char*>(value), size);
      }
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return ids;
}

int run(const settings& s) {
  // The service's own table and the outbox schema (migrations are idempotent).
  pqxx::connection conn(s.db);
  txoutbox::postgres::migrate(conn, {.schema = outbox_schema, .partitions = 16});
  {
    pqxx::work tx(conn);
    tx.exec0(
        "CREATE TABLE IF NOT EXISTS shop_orders "
        "(id text PRIMARY KEY, total_cents int NOT NULL, paid boolean NOT NULL)");
    tx.commit();
  }

  std::unique_ptr<local_cluster> mock;
  std::string bootstrap = s.bootstrap;
  if (bootstrap.empty()) {
    mock = std::make_unique<local_cluster>();
    bootstrap = mock->bootstraps();
    std::cout << "no --bootstrap given: started a local mock Kafka cluster at " << bootstrap
              << "\n";
  }

  // delivery_timeout (10 s) fits well inside the relay's lease (30 s) minus its renew margin.
  std::shared_ptr<txoutbox::publisher> publisher =
      txoutbox::kafka::make_publisher({.bootstrap_servers = bootstrap,
                                       .topic_prefix = "shop.",
                                       .source = "/examples/postgres_to_kafka",
                                       .delivery_timeout = 10s});
  auto store = txoutbox::postgres::make_store({.url = s.db, .schema = outbox_schema});
  txoutbox::relay relay(store, publisher,
                        {.threads = 2,
                         .batch_size = 100,
                         .poll_interval = 200ms,
                         .lease_ttl = 30s,
                         .on_log = [](txoutbox::log_level level, std::string_view text) {
                           if (level >= txoutbox::log_level::warn)
                             std::cerr << "relay: " << text << "\n";
                         }});
  relay.start();

  const txoutbox::postgres::writer outbox({.schema = outbox_schema});
  // Per order: OrderPlaced, then OrderPaid in a later transaction. Order ids are unique
  // per run so reruns on the same database do not mix.
  const std::string run_tag =
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count());
  std::vector<std::pair<std::string, std::string>> written;  // (placed id, paid id)
  for (int n = 0; n < s.orders; ++n) {
    const std::string order_id = "order-" + run_tag + "-" + std::to_string(n);
    const auto placed = place_order(conn, outbox, order_id, 1000 + n);
    written.emplace_back(placed, pay_order(conn, outbox, order_id));
  }
  std::cout << "placed and paid " << s.orders
            << " orders (each a transaction: order row + event)\n";

  if (!relay.flush(60s))
    throw std::runtime_error("the relay did not publish everything within 60 s");
  if (!relay.stop(10s))
    std::cerr << "the relay did not stop within 10 s; its in-flight rows will be retried\n";
  const auto stats = relay.stats();
  std::cout << "relay published " << stats.published << ", retried " << stats.retried
            << ", dead-lettered " << stats.dead_lettered << "\n";

  if (!mock) {
    std::cout << "events are on topic " << topic << " at " << bootstrap << "\n";
    return 0;
  }
  // On the local cluster, check the story end to end: every event arrived, and per order
  // OrderPlaced was first delivered before OrderPaid (one key, one partition, in order).
  const auto delivered = read_back(bootstrap);
  std::map<std::string, std::size_t> first_at;
  for (std::size_t i = 0; i < delivered.size(); ++i)
    first_at.try_emplace(delivered[i], i);
  std::size_t missing = 0;
  std::size_t out_of_order = 0;
  for (const auto& [placed, paid] : written) {
    const auto a = first_at.find(placed);
    const auto b = first_at.find(paid);
    if (a == first_at.end() || b == first_at.end()) {
      ++missing;
    } else if (a->second > b->second) {
      ++out_of_order;
    }
  }
  std::cout << "read back " << delivered.size() << " messages from " << topic << "; "
            << 2 * written.size() << " events written by this run, " << missing
            << " orders with a missing event, " << out_of_order << " out of order\n";
  if (missing != 0 || out_of_order != 0)
    throw std::runtime_error("the events did not all arrive in order");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "postgres_to_kafka: " << e.what() << "\n";
    return 1;
  }
}
