// The NATS JetStream publisher: options and factories (libnats stays out of this header).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "txoutbox/publisher.hpp"

namespace txoutbox::nats {

/// How the NATS JetStream publisher is configured. Works with designated initializers:
///
///   auto p = txoutbox::nats::make_publisher({.url = "nats://nats:4222",
///                                            .create_stream = true});
///
/// The subject of a message is `subject_template` with `{aggregatetype}` and `{type}`
/// replaced by the message's aggregate type and event type.
struct publisher_options {
  std::string url = "nats://127.0.0.1:4222";  ///< one URL or a comma-separated list
  std::string subject_template = "txoutbox.{aggregatetype}.{type}";
  /// The JetStream stream that must store the messages: every publish expects it
  /// (Nats-Expected-Stream), so a subject captured by another stream is rejected. Empty =
  /// no expectation (and no create_stream).
  std::string stream_name = "TXOUTBOX";
  /// Create `stream_name` (file storage, subjects from the template with each placeholder
  /// token as `*`) when it does not exist, on every (re)connection.
  bool create_stream = false;
  /// How long one message waits for its JetStream ack before it is reported `unavailable`.
  std::chrono::milliseconds ack_timeout{5000};
  std::string source = "/txoutbox";  ///< CloudEvents `source` attribute (ce-source header)
  std::string token = "";            ///< auth token; never printed
  std::string user = "";             ///< user name (with password)
  std::string password = "";         ///< never printed
};

/// Creates the publisher. Validates the options (throws usage_error naming the field:
/// a subject template with an unknown placeholder, a wildcard or an empty token, ...) but
/// does not connect: the connection is made by publish() and re-made after it closes, so
/// an unreachable server shows as `unavailable` results and a relay may start before NATS.
///
/// Each record is published with `js_PublishMsg` and waits for its ack: the payload as
/// body, header `Nats-Msg-Id` = message id (JetStream drops a re-publish inside the
/// stream's duplicate window, and that `Duplicate` ack counts as `ok`), CloudEvents
/// headers `ce-specversion`, `ce-id`, `ce-type`, `ce-source`, `ce-subject` (aggregate id),
/// `ce-time`, `ce-aggregatetype`, `content-type: application/json`, then the message's
/// own headers (a `Nats-*` name is rejected: JetStream interprets those).
/// No responders (no stream captures the subject yet, or JetStream is starting), ack
/// timeouts, a lost or refused connection and JetStream errors of the stream's state
/// (not found, offline, ...) are `unavailable`, the route being `stream_name` when set,
/// else the subject; an aggregate or event type that is not a valid subject token, a
/// control character in a routing field or header, and permanent JetStream errors
/// (expected stream mismatch, message too large, ...) are `reject`
/// (docs/publishers/nats.md, "Results"). After a failure of the connection itself (no ack
/// in time, disconnected, cannot connect) the rest of the batch is reported `unavailable`
/// unsent, so a hung server costs one ack_timeout per batch.
///
/// Thread-safe: publish() may run concurrently for different partitions over one shared
/// connection. shutdown() closes the connection (natsConnection_Close, never the
/// process-wide nats_Close), which unblocks a publish() waiting for an ack.
std::unique_ptr<txoutbox::publisher> make_publisher(publisher_options options);

/// Builds a publisher from a URI `nats://host:port[,nats://...]` and key=value options
/// (what the command line passes). Keys: `subject-template`, `stream`,
/// `create-stream` (true/false), `ack-timeout-ms`, `source`, `user`, and secrets through
/// `token-env` / `token-file` and `password-env` / `password-file` (an environment
/// variable's name or a file's path; one trailing newline is dropped) — credentials in
/// the URI itself are refused. An unknown key, a bad value or a malformed URI throws
/// usage_error naming it.
std::unique_ptr<txoutbox::publisher> make_publisher_from_uri(
    std::string_view uri, const std::map<std::string, std::string>& opts);

/// Parses the same URI and options into publisher_options without creating a publisher
/// (for validation at start-up and for tests). Same errors as make_publisher_from_uri.
publisher_options parse_publisher_uri(std::string_view uri,
                                      const std::map<std::string, std::string>& opts);

}  // namespace txoutbox::nats
