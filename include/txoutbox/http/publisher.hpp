// txoutbox::http: the HTTP webhook publisher (CloudEvents binary mode, optional signing).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "txoutbox/message.hpp"
#include "txoutbox/publisher.hpp"

namespace txoutbox::http {

/// Settings of an HTTP publisher. Works with designated initializers:
///
///   txoutbox::http::make_publisher({.url = "https://hooks.example.com/orders",
///                                   .signing_secret = secret_from_vault()});
struct publisher_options {
  /// Destination of every POST: `http://host[:port][/path][?query]` or `https://...`.
  /// No user info (put credentials in extra_headers), no fragment.
  std::string url{};
  /// The `ce-source` URI-reference of every event.
  std::string source = "/txoutbox";
  /// Budget of one attempt: resolve + connect + TLS handshake + request + response.
  /// A slower attempt is reported `retry`. Keep it below the relay's lease TTL.
  std::chrono::milliseconds timeout{10'000};
  /// Keep-alive connections kept open at most; one per partition being published at
  /// once is enough (the relay's thread count).
  std::size_t max_connections = 4;
  /// Standard Webhooks secret, `whsec_<base64 key>`; empty = requests are not signed.
  /// Never logged and never part of an error message.
  std::string signing_secret{};
  /// Verify the server's certificate chain and host name (https). Turn off only for
  /// local testing.
  bool verify_peer = true;
  /// PEM file of extra trusted CA certificates, added to the system store.
  std::string ca_file{};
  /// Refuse to send to loopback, private, link-local and unspecified addresses, checked
  /// on the addresses the host name resolves to (protects against SSRF through a
  /// user-supplied URL). Such a destination is reported `reject`.
  bool refuse_private = false;
  /// Sent with every request (e.g. Authorization). A message header of the same name
  /// wins; the CloudEvents, signing and content headers always win.
  header_map extra_headers{};
};

/// Builds the publisher. Each record becomes one POST whose body is the payload
/// (`content-type: application/json`), with CloudEvents 1.0 binary-mode headers
/// (`ce-specversion`, `ce-id`, `ce-source`, `ce-type`, `ce-subject` = aggregate id,
/// `ce-time`, `ce-aggregatetype`), the message's own headers, and with a secret the
/// Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`),
/// signed anew on every attempt.
///
/// Results: 2xx = ok; 408, 429, 5xx, timeouts and connection or TLS failures = retry
/// (`Retry-After` in seconds or as an HTTP date becomes retry_after); redirects and
/// other 4xx = reject, with the status line as reason. Redirects are never followed.
///
/// Thread-safe: publish() may run concurrently for different partitions, each on its
/// own pooled keep-alive connection; shutdown() from any thread aborts requests in
/// flight. Throws usage_error (naming the option) for a malformed URL or secret, an
/// unreadable ca_file, or a zero timeout or max_connections.
std::unique_ptr<publisher> make_publisher(publisher_options options);

/// For the command line (`--publisher URI --publisher-opt key=value`). `uri` is the
/// URL; `opts` keys: timeout-ms, source, max-connections, verify-peer (true/false),
/// ca-file, refuse-private (true/false), header.<name>, and the signing secret through
/// secret-env (name of an environment variable) or secret-file (path of a file whose
/// content, trailing whitespace trimmed, is the secret) — never the secret itself.
/// Throws usage_error naming the key for an unknown key or a bad value.
std::unique_ptr<publisher> make_publisher_from_uri(std::string_view uri,
                                                   const std::map<std::string, std::string>& opts);

}  // namespace txoutbox::http
