// The relay's configuration: option validation and the default owner name.
#include "relay/relay_config.hpp"

#include <unistd.h>

#include <cstdio>
#include <random>
#include <utility>

#include "relay/timing.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox::detail {

namespace {

using std::chrono::milliseconds;

std::string random_hex8() {
  std::random_device rd;
  std::uint32_t v = rd();
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(v));
  return buf;
}

std::string default_owner() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof host, "%s", "localhost");
  }
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + random_hex8();
}

std::string ms_text(milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

void validate(const relay_options& o) {
  auto bad = [](const char* field, const std::string& why) {
    throw usage_error(errc::invalid_argument, field,
                      std::string("relay_options.") + field + ": " + why);
  };
  if (o.threads == 0)
    bad("threads", "must be at least 1");
  if (o.batch_size == 0)
    bad("batch_size", "must be at least 1");
  if (o.claim_max_bytes == 0)
    bad("claim_max_bytes", "must be at least 1");
  if (o.poll_interval.count() <= 0)
    bad("poll_interval", "must be positive");
  if (o.max_attempts == 0)
    bad("max_attempts", "must be at least 1");
  if (o.backoff_initial.count() < 0)
    bad("backoff_initial", "must not be negative");
  if (o.backoff_max < o.backoff_initial)
    bad("backoff_max", "must not be below backoff_initial");
  if (o.renew_divisor < 2)
    bad("renew_divisor", "must be at least 2");
  if (o.lease_ttl < timing::min_lease_ttl)
    bad("lease_ttl", "must be at least " + ms_text(timing::min_lease_ttl));
  if (o.lease_ttl / o.renew_divisor < timing::min_renew_period) {
    bad("lease_ttl",
        "lease_ttl / renew_divisor must be at least " + ms_text(timing::min_renew_period));
  }
  if (o.probe_interval.count() <= 0)
    bad("probe_interval", "must be positive");
  if (o.max_crash_starts == 0)
    bad("max_crash_starts", "must be at least 1");
}

}  // namespace

relay_config::relay_config(std::shared_ptr<txoutbox::store> s,
                           std::shared_ptr<txoutbox::publisher> p, relay_options o)
    : store(std::move(s)), publisher(std::move(p)), options(std::move(o)) {
  if (!store)
    throw usage_error(errc::invalid_argument, "store", "relay: store must not be null");
  if (!publisher) {
    throw usage_error(errc::invalid_argument, "publisher", "relay: publisher must not be null");
  }
  validate(options);
  clock = options.clock ? options.clock : steady_clock_source();
  owner = options.owner.empty() ? default_owner() : options.owner;
  policy.max_attempts = options.max_attempts;
  policy.backoff_initial = options.backoff_initial;
  policy.backoff_max = options.backoff_max;
}

}  // namespace txoutbox::detail
