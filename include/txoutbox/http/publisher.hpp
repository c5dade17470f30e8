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
  /// The `ce-source` URI-reference of every event: valid UTF-8 without control
  /// characters (percent-encoded on the wire like every ce-* value).
  std::string source = "/txoutbox";
  /// Budget of one attempt: resolve + connect + TLS handshake + request + response.
  /// A slower attempt is reported `unavailable`. Keep it below the relay's lease TTL.
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
  /// user-supplied URL). Such a destination is reported `unavailable`: an operator fixes
  /// the URL; the messages wait in the table.
  bool refuse_private = false;
  /// Sent with every request (e.g. Authorization). Names are HTTP tokens other than the
  /// framing headers; values are valid UTF-8 without control characters (no CR, LF,
  /// NUL, tab). A message header of the same name wins; the CloudEvents, signing and
  /// content headers always win.
  header_map extra_headers{};
};

/// Builds the publisher. Each record becomes one POST whose body is the payload
/// (`content-type: application/json`), with CloudEvents 1.0 binary-mode headers
/// (`ce-specversion`, `ce-id`, `ce-source`, `ce-type`, `ce-subject` = aggregate id,
/// `ce-time`, `ce-aggregatetype`), the message's own headers, and with a secret the
/// Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`),
/// signed anew on every attempt.
///
/// ce-* values are percent-encoded (CloudEvents HTTP binding §3.1.3.2: space, `"`, `%` and
/// every byte outside printable ASCII), so "Zürich" travels as "Z%C3%BCrich".
///
/// Results (docs/publishers/http.md has the full table): 2xx = ok; 5xx, 408, 429, 3xx
/// (redirects are never followed), 401, 402, 403, 404, 405, 407, 410, 414, 421, 426, 451,
/// timeouts, and connection, DNS or TLS failures = unavailable (the destination's or its
/// operator's fault: no attempt burned; the batch's later records are not sent); 409,
/// 423, 425 = retry; other 4xx (400, 413, 422, ...) = reject. `Retry-After` (seconds or
/// an HTTP date) becomes the hint of an unavailable or retry result. Interim 1xx
/// responses are skipped. The reason starts with the status line. The URL is fixed, so
/// route() is empty: the publisher is one route.
///
/// Thread-safe: publish() may run concurrently for different partitions, each on its
/// own pooled keep-alive connection; shutdown() from any thread aborts requests in
/// flight. Throws usage_error (naming the option) for a malformed URL or secret, an
/// unreadable ca_file, a zero timeout or max_connections, an empty source or one with a
/// control character, or an extra header with a bad name or value.
std::unique_ptr<publisher> make_publisher(publisher_options options);

/// Builds a publisher from a URL and key=value options (what the command line passes).
/// `opts` keys: timeout-ms, source, max-connections, verify-peer (true/false),
/// ca-file, refuse-private (true/false), header.<name>, and the signing secret through
/// secret-env (name of an environment variable) or secret-file (path of a file whose
/// content, trailing whitespace trimmed, is the secret) — never the secret itself.
/// Throws usage_error naming the key for an unknown key or a bad value.
std::unique_ptr<publisher> make_publisher_from_uri(std::string_view uri,
                                                   const std::map<std::string, std::string>& opts);

}  // namespace txoutbox::http
