// Kafka publisher results: librdkafka error codes to ok/retry/reject/unavailable.
#include <string>
#include <string_view>

#include "kafka/detail.hpp"

namespace txoutbox::kafka::detail {

namespace {

/// How a librdkafka error code settles a record.
enum class outcome_kind { ok, retry, reject, unavailable, fatal };

/// The destination cannot take any message now (brokers down or unreachable, a timeout,
/// TLS or SASL failure, a topic that does not exist or may not be written, too few
/// replicas): not the record's fault, so it keeps its attempts. The record's own permanent
/// faults are rejects. Everything not listed is retried (the relay dead-letters after
/// max_attempts anyway), which errs on the side of never losing a message to a misjudged
/// transient condition.
outcome_kind classify(rd_kafka_resp_err_t err) noexcept {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return outcome_kind::ok;
    case RD_KAFKA_RESP_ERR__FATAL:
      return outcome_kind::fatal;
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
      return outcome_kind::unavailable;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__KEY_SERIALIZATION:
    case RD_KAFKA_RESP_ERR__VALUE_SERIALIZATION:
      return outcome_kind::reject;
    default:
      return outcome_kind::retry;
  }
}

}  // namespace

publish_result to_result(rd_kafka_resp_err_t err, std::string_view context) {
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
    case outcome_kind::unavailable:
      return publish_result::unavailable(std::move(reason));
    case outcome_kind::fatal:
      return publish_result::retry("fatal producer error, producer re-created: " + reason);
    case outcome_kind::retry:
      break;
  }
  return publish_result::retry(std::move(reason));
}

}  // namespace txoutbox::kafka::detail
