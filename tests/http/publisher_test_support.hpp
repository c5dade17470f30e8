// Helpers shared by the HTTP publisher tests: records and one-message publishing.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <span>
#include <string>
#include <utility>

#include "test_http_server.hpp"
#include "txoutbox/http/publisher.hpp"
#include "txoutbox/outbox_record.hpp"

namespace http_test {

/// A record of aggregate `key` whose payload names `n`; fixed creation time.
inline txoutbox::outbox_record make_record(const std::string& key, int n,
                                           txoutbox::header_map headers = {}) {
  using namespace std::chrono;
  txoutbox::outbox_record r;
  r.msg.id = txoutbox::message_id::generate();
  r.msg.aggregate_type = "order";
  r.msg.aggregate_id = key;
  r.msg.type = "OrderPlaced";
  r.msg.payload = "{\"key\":\"" + key + "\",\"n\":" + std::to_string(n) + "}";
  r.msg.headers = std::move(headers);
  r.seq = n;
  r.created_at = sys_days{year{2024} / 5 / 1} + 12h + 34min + 56s + 123456us;
  return r;
}

/// Publishes one record as a batch of one; its result.
inline txoutbox::publish_result publish_one(txoutbox::publisher& p,
                                            const txoutbox::outbox_record& r) {
  auto results = p.publish(std::span<const txoutbox::outbox_record>(&r, 1));
  REQUIRE(results.size() == 1);
  return results[0];
}

inline txoutbox::http::publisher_options options_for(const test_http_server& server) {
  return txoutbox::http::publisher_options{.url = server.url()};
}

}  // namespace http_test
