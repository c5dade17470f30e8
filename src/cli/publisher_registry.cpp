// publisher_registry: the broker publishers built into this binary (the only #ifdefs for them).
#include "publisher_registry.hpp"

#ifdef TXOUTBOX_CLI_HAVE_KAFKA
#include "txoutbox/kafka/publisher.hpp"
#endif
#ifdef TXOUTBOX_CLI_HAVE_REDIS
#include "txoutbox/redis/publisher.hpp"
#endif
#ifdef TXOUTBOX_CLI_HAVE_NATS
#include "txoutbox/nats/publisher.hpp"
#endif
#ifdef TXOUTBOX_CLI_HAVE_HTTP
#include "txoutbox/http/publisher.hpp"
#endif

namespace txoutbox::cli {
namespace {

/// A component's option parser as a check: parses, discards the options.
template <auto Parse>
[[maybe_unused]] void check_with(const std::string& uri, const publisher_opts& opts) {
  (void)Parse(uri, opts);
}

}  // namespace

const publisher_entry* publisher_registry::find(const std::string& scheme) const {
  for (const publisher_entry& entry : entries_) {
    for (const std::string& s : entry.schemes) {
      if (s == scheme)
        return &entry;
    }
  }
  return nullptr;
}

void register_all([[maybe_unused]] publisher_registry& registry) {
#ifdef TXOUTBOX_CLI_HAVE_KAFKA
  registry.add({{"kafka"},
                "kafka://",
                check_with<kafka::parse_publisher_uri>,
                kafka::make_publisher_from_uri});
#endif
#ifdef TXOUTBOX_CLI_HAVE_REDIS
  registry.add({{"redis"},
                "redis://",
                check_with<redis::parse_publisher_uri>,
                redis::make_publisher_from_uri});
#endif
#ifdef TXOUTBOX_CLI_HAVE_NATS
  registry.add(
      {{"nats"}, "nats://", check_with<nats::parse_publisher_uri>, nats::make_publisher_from_uri});
#endif
#ifdef TXOUTBOX_CLI_HAVE_HTTP
  // The http factory checks its options when it builds the publisher.
  registry.add({{"http", "https"}, "http(s)://", {}, http::make_publisher_from_uri});
#endif
}

const publisher_registry& builtin_publishers() {
  static const publisher_registry registry = [] {
    publisher_registry r;
    register_all(r);
    return r;
  }();
  return registry;
}

}  // namespace txoutbox::cli
