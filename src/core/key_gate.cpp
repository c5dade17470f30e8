// key_gate: the per-key and per-route batch rules, and the only copy of their reasons.
#include "txoutbox/key_gate.hpp"

#include <utility>

namespace txoutbox {

namespace {

constexpr std::string_view key_failed_reason = "not sent: an earlier message of this key failed";
constexpr std::string_view route_down_reason = "not sent: destination unavailable";
/// settle()'s wording for a record the transport already had.
constexpr std::string_view key_failed_sent_reason =
    "an earlier message of this key failed in the same batch; re-published after it";

std::string route_down_sent_reason(std::string_view route_noun) {
  std::string reason = "destination unavailable: an earlier message of this ";
  reason += route_noun;
  reason += " was; re-published after it";
  return reason;
}

}  // namespace

key_gate::key_gate(route_fn route, std::string route_noun)
    : route_(std::move(route)), route_noun_(std::move(route_noun)) {}

key_gate::key_gate(const publisher& pub, std::string route_noun)
    : key_gate([&pub](const outbox_record& rec) { return pub.route(rec); }, std::move(route_noun)) {
}

std::optional<publish_result> key_gate::refusal(const outbox_record& rec) {
  if (key_failed(rec))
    return publish_result::retry(std::string(key_failed_reason));
  if (std::optional<std::string> why = route_down(rec)) {
    failed_keys_.insert(rec.msg.aggregate_id);
    return publish_result::unavailable(std::move(*why));
  }
  return std::nullopt;
}

publish_result key_gate::record(const outbox_record& rec, publish_result result) {
  if (result.status != publish_status::ok)
    failed_keys_.insert(rec.msg.aggregate_id);
  if (result.status == publish_status::unavailable)
    down_routes_.insert(route_of(rec));
  return result;
}

void key_gate::fail_all_routes(std::string why) {
  all_down_ = std::move(why);
}

publish_result key_gate::settle(const outbox_record& rec, publish_result own, bool sent) {
  if (key_failed(rec)) {
    if (!sent)
      own = publish_result::retry(std::string(key_failed_reason));
    else if (own.status != publish_status::retry)
      own = publish_result::retry(std::string(key_failed_sent_reason));
    return own;
  }
  if (std::optional<std::string> why = route_down(rec)) {
    if (own.status != publish_status::unavailable)
      own =
          publish_result::unavailable(sent ? route_down_sent_reason(route_noun_) : std::move(*why));
    failed_keys_.insert(rec.msg.aggregate_id);
    return own;
  }
  return record(rec, std::move(own));
}

bool key_gate::key_failed(const outbox_record& rec) const {
  return !failed_keys_.empty() && failed_keys_.contains(rec.msg.aggregate_id);
}

std::optional<std::string> key_gate::route_down(const outbox_record& rec) const {
  if (all_down_)
    return std::string(route_down_reason) + ": " + *all_down_;
  if (!down_routes_.empty() && down_routes_.contains(route_of(rec)))
    return std::string(route_down_reason);
  return std::nullopt;
}

std::string key_gate::route_of(const outbox_record& rec) const {
  return route_ ? route_(rec) : std::string();
}

}  // namespace txoutbox
