// outbox_record: a message as stored in the outbox and handed to publishers.
#pragma once

#include <chrono>
#include <cstdint>

#include "txoutbox/message.hpp"

namespace txoutbox {

/// A committed outbox row as the relay claimed it. `msg.id` is never nil and
/// `msg.deliver_after` is unset (it was applied when the row was written).
struct outbox_record {
  message msg{};
  std::int64_t seq = 0;         ///< database sequence; orders rows of one partition
  std::uint32_t partition = 0;  ///< stable hash of aggregate_id mod partition count
  std::chrono::system_clock::time_point created_at{};  ///< commit-side insert time (db clock)
  std::int32_t attempts = 0;                           ///< failed publish attempts so far
};

}  // namespace txoutbox
