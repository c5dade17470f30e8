// Proves the public structs work with designated initializers under -Wextra -Werror.
#include <catch2/catch.hpp>

#include "txoutbox/txoutbox.hpp"

// g++ 12 warns (-Wmissing-field-initializers) on a designated initializer that leaves out
// a member without a default member initializer; users build with -Wextra -Werror too.
// This file is compiled with the project's warnings as errors, so it fails to build if a
// public struct loses its initializers.
TEST_CASE("public option structs accept partial designated initializers", "[api]") {
  const txoutbox::message msg{.aggregate_type = "order",
                              .aggregate_id = "42",
                              .type = "OrderPlaced",
                              .payload = R"({"total":10})"};
  CHECK(msg.id.is_nil());
  const txoutbox::relay_options relay{.threads = 3, .batch_size = 500};
  CHECK(relay.poll_interval.count() > 0);
  const txoutbox::validation_options validation{.max_payload_bytes = 1000};
  CHECK(validation.max_field_bytes > 0);
  const txoutbox::file_publisher_options file{.path = "/tmp/x.jsonl"};
  CHECK(file.fsync);
  const txoutbox::publish_result retry{.status = txoutbox::publish_status::retry};
  CHECK_FALSE(retry.retry_after.has_value());
  const txoutbox::outcome done{.what = txoutbox::outcome::action::published};
  CHECK(done.reason.empty());
  const txoutbox::fence f{.owner = "a"};
  CHECK(f.epoch == 0);
  const txoutbox::batch_marker marker{.starts = 1};
  CHECK(marker.head_seq == 0);
  const txoutbox::outbox_record rec{.seq = 7};
  CHECK(rec.attempts == 0);
  const txoutbox::store_stats stats{.backlog = 1};
  CHECK_FALSE(stats.oldest_age.has_value());
  const txoutbox::batch_report report{.partition = 2};
  CHECK(report.claimed == 0);
}
