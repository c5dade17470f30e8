// What every relay part reads and never changes: the store, the publisher, the options.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "relay/relay_policy.hpp"
#include "txoutbox/clock.hpp"
#include "txoutbox/publisher.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/store.hpp"

namespace txoutbox::detail {

/// The relay's validated configuration. Immutable after construction, so every thread
/// reads it without a lock; the store and publisher it points to are thread-safe by
/// their contracts.
struct relay_config {
  /// Throws usage_error on a null store or publisher and on inconsistent options.
  relay_config(std::shared_ptr<txoutbox::store> s, std::shared_ptr<txoutbox::publisher> p,
               relay_options o);

  std::shared_ptr<txoutbox::store> store;
  std::shared_ptr<txoutbox::publisher> publisher;
  relay_options options;
  std::shared_ptr<txoutbox::clock> clock;  ///< options.clock, or the steady clock
  std::string owner;                       ///< options.owner, or "<host>:<pid>:<random>"
  retry_policy policy;

  fence fence_for(std::uint32_t partition, std::uint64_t epoch) const {
    return fence{owner, partition, epoch};
  }
};

}  // namespace txoutbox::detail
