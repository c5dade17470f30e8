// The NATS JetStream publisher: one js_PublishMsg per record with Nats-Msg-Id, over a shared
// connection.
#include "txoutbox/nats/publisher.hpp"

#include <nats/nats.h>

#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/routing_guard.hpp"
#include "core/wire_format.hpp"
#include "nats/subject.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/sync_publisher.hpp"

namespace txoutbox::nats {

namespace {

/// How long a failed connect makes later sends fail at once, so a batch to a dead server
/// costs one connect attempt rather than one per key.
constexpr std::chrono::milliseconds connect_cooldown{500};
constexpr std::chrono::milliseconds max_connect_timeout{2000};
constexpr const char* shut_down_reason = "publisher shut down";

/// libnats' text for a failed call: the thread's last error, else the status text.
std::string status_text(natsStatus s) {
  natsStatus last = NATS_OK;
  const char* text = nats_GetLastError(&last);
  if (text != nullptr && *text != '\0')
    return text;
  return natsStatus_GetText(s);
}

/// JetStream error codes that say the stream or the server cannot store anything now: the
/// destination's state, not the message's fault.
bool destination_js_error(jsErrCode code) {
  switch (code) {
    case JSClusterNotAvailErr:
    case JSInsufficientResourcesErr:
    case JSStreamStoreFailedErr:
    case JSNotEnabledErr:
    case JSNotEnabledForAccountErr:
    case JSClusterNoPeersErr:
    case JSStreamOfflineErr:
    case JSStreamNotFoundErr:
      return true;
    default:
      return false;
  }
}

bool ascii_iequals_prefix(std::string_view text, std::string_view lower_prefix) {
  if (text.size() < lower_prefix.size())
    return false;
  for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_prefix[i])
      return false;
  }
  return true;
}

/// One live connection and its JetStream context; destroyed when the last send using it
/// lets go (a replaced connection may still be in use by another thread).
struct connection {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;

  connection() = default;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() {
    if (js != nullptr)
      jsCtx_Destroy(js);
    if (nc != nullptr)
      natsConnection_Destroy(nc);  // closes it when still open
  }
};

struct options_deleter {
  void operator()(natsOptions* o) const noexcept { natsOptions_Destroy(o); }
};
struct msg_deleter {
  void operator()(natsMsg* m) const noexcept { natsMsg_Destroy(m); }
};
struct ack_deleter {
  void operator()(jsPubAck* a) const noexcept { jsPubAck_Destroy(a); }
};
struct stream_info_deleter {
  void operator()(jsStreamInfo* si) const noexcept { jsStreamInfo_Destroy(si); }
};

void check(natsStatus s, const char* what) {
  if (s != NATS_OK)
    throw transient_error(std::string("nats: ") + what + ": " + status_text(s));
}

/// Publishes each record synchronously and waits for its JetStream ack. Thread-safe.
///
/// The batch rules of the publisher contract (sync_publisher, key_gate), plus one: after a
/// failure of the connection itself (no ack in time, disconnected, cannot connect) send()
/// throws destination_down, so the rest of the batch, whatever its route, is reported
/// `unavailable` unsent and a hung server costs one ack_timeout per batch, not one per key.
class nats_publisher final : public txoutbox::sync_publisher {
 public:
  explicit nats_publisher(publisher_options options)
      : options_(std::move(options)),
        subject_(detail::subject_template::parse(options_.subject_template)) {}

  /// The stream every message must land in when one is expected, else the message's
  /// subject: the unit whose outage (no stream, stream offline, no responders) is shared.
  std::string route(const outbox_record& rec) const override {
    if (!options_.stream_name.empty())
      return options_.stream_name;
    std::string subject;
    if (subject_.render(rec.msg.aggregate_type, rec.msg.type, subject))
      return {};  // not a subject: rejected by send(), its route does not matter
    return subject;
  }

 protected:
  // flush() is sync_publisher's: every ok was acked by the stream before publish() returned.
  void interrupt() noexcept override {
    std::lock_guard lock(mutex_);
    if (conn_)
      natsConnection_Close(conn_->nc);  // wakes a js_PublishMsg waiting for its ack
  }

  /// Sends one record and waits for its ack. Throws destination_down when the failure is
  /// the connection's, another exception when libnats cannot build the message.
  publish_result send(const outbox_record& rec) override {
    const auto& m = rec.msg;
    if (auto unsafe = txoutbox::detail::routing_reject(m, true))
      return *unsafe;  // CR/LF/NUL would split a header line or the subject
    std::string subject;
    if (auto problem = subject_.render(m.aggregate_type, m.type, subject))
      return publish_result::reject("nats: " + *problem);
    for (const auto& [name, value] : m.headers) {
      if (ascii_iequals_prefix(name, "nats-"))
        return publish_result::reject("nats: header '" + name +
                                      "' is reserved (JetStream interprets Nats-* headers)");
    }

    std::shared_ptr<connection> conn;
    try {
      conn = current();
    } catch (const std::exception& e) {
      if (is_shut_down())
        return publish_result::retry(shut_down_reason);
      throw destination_down(e.what());  // cannot connect, or the stream cannot be made
    }
    if (natsConnection_Status(conn->nc) != NATS_CONN_STATUS_CONNECTED)
      throw destination_down("nats: not connected (reconnecting)");

    natsMsg* raw_msg = nullptr;
    check(natsMsg_Create(&raw_msg, subject.c_str(), nullptr, m.payload.data(),
                         static_cast<int>(m.payload.size())),
          "cannot create a message");
    std::unique_ptr<natsMsg, msg_deleter> msg(raw_msg);
    const std::string id = m.id.to_string();
    const auto set = [&](const std::string& name, const std::string& value) {
      check(natsMsgHeader_Set(msg.get(), name.c_str(), value.c_str()), "cannot set a header");
    };
    for (const auto& [name, value] : m.headers)
      set(name, value);
    set("ce-specversion", "1.0");
    set("ce-id", id);
    set("ce-type", m.type);
    set("ce-source", options_.source);
    set("ce-subject", m.aggregate_id);
    set("ce-time", txoutbox::detail::format_rfc3339(rec.created_at));
    set("ce-aggregatetype", m.aggregate_type);
    set("content-type", "application/json");

    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id.c_str();  // sets Nats-Msg-Id: JetStream drops re-publishes of this id
    po.MaxWait = options_.ack_timeout.count();
    if (!options_.stream_name.empty())
      po.ExpectStream = options_.stream_name.c_str();
    jsPubAck* raw_ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = js_PublishMsg(&raw_ack, conn->js, msg.get(), &po, &jerr);
    std::unique_ptr<jsPubAck, ack_deleter> ack(raw_ack);
    if (s == NATS_OK)
      return publish_result::ok();  // ack->Duplicate too: the stream already has this id
    return classify(s, jerr, subject);
  }

 private:
  /// A failed js_PublishMsg: the server's or stream's state is `unavailable` (the whole
  /// connection's throws destination_down), the message's own fault `reject`.
  publish_result classify(natsStatus s, jsErrCode jerr, const std::string& subject) {
    const std::string text = status_text(s);
    if (is_shut_down())
      return publish_result::retry(shut_down_reason);
    switch (s) {
      case NATS_NO_RESPONDERS:
        return publish_result::unavailable("nats: no responders for '" + subject +
                                           "': no JetStream stream captures the subject (yet), "
                                           "or JetStream is not ready");
      case NATS_TIMEOUT:
        throw destination_down("nats: no JetStream ack within " +
                               std::to_string(options_.ack_timeout.count()) + " ms");
      case NATS_MAX_PAYLOAD:
      case NATS_INVALID_SUBJECT:
        return publish_result::reject("nats: " + text);
      case NATS_NOT_PERMITTED:  // publish permission denied: an operator fixes it
        return publish_result::unavailable("nats: " + text);
      default:
        break;
    }
    if (jerr != 0) {
      const std::string reason =
          "nats: JetStream error " + std::to_string(static_cast<int>(jerr)) + ": " + text;
      if (jerr == JSStreamNotFoundErr && options_.create_stream)
        drop_connection();  // the next connection re-creates the stream
      if (destination_js_error(jerr))
        return publish_result::unavailable(reason);
      return publish_result::reject(reason);
    }
    // Disconnected, closed, I/O errors, stale connection, ...: the connection's problem.
    throw destination_down("nats: " + text);
  }

  /// The shared connection, (re)made when there is none or it was closed. Throws
  /// transient_error when the server cannot be reached or the stream cannot be made.
  std::shared_ptr<connection> current() {
    {
      std::lock_guard lock(mutex_);
      if (is_shut_down())
        throw transient_error(shut_down_reason);
      if (conn_ && !natsConnection_IsClosed(conn_->nc))
        return conn_;
    }
    std::lock_guard connect_lock(connect_mutex_);  // one connect at a time; no mutex_ held
    {
      std::lock_guard lock(mutex_);
      if (conn_ && !natsConnection_IsClosed(conn_->nc))
        return conn_;  // another send connected meanwhile
      if (!last_connect_error_.empty() &&
          std::chrono::steady_clock::now() - last_connect_failure_ < connect_cooldown)
        throw transient_error(last_connect_error_);
    }
    std::shared_ptr<connection> fresh;
    try {
      fresh = connect();
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      last_connect_error_ = e.what();
      last_connect_failure_ = std::chrono::steady_clock::now();
      throw;
    }
    std::lock_guard lock(mutex_);
    if (is_shut_down()) {
      natsConnection_Close(fresh->nc);
      throw transient_error(shut_down_reason);
    }
    last_connect_error_.clear();
    conn_ = fresh;
    return conn_;
  }

  void drop_connection() {
    std::lock_guard lock(mutex_);
    if (conn_)
      natsConnection_Close(conn_->nc);
  }

  std::shared_ptr<connection> connect() {
    natsOptions* raw_opts = nullptr;
    check(natsOptions_Create(&raw_opts), "cannot create options");
    std::unique_ptr<natsOptions, options_deleter> opts(raw_opts);
    std::vector<std::string> urls;
    for (std::size_t pos = 0; pos <= options_.url.size();) {
      const auto comma = std::min(options_.url.find(',', pos), options_.url.size());
      if (comma > pos)
        urls.push_back(options_.url.substr(pos, comma - pos));
      pos = comma + 1;
    }
    std::vector<const char*> url_ptrs;
    for (const auto& u : urls)
      url_ptrs.push_back(u.c_str());
    check(natsOptions_SetServers(opts.get(), url_ptrs.data(), static_cast<int>(url_ptrs.size())),
          "bad server URL");
    check(natsOptions_SetNoRandomize(opts.get(), true), "cannot set options");
    check(natsOptions_SetTimeout(opts.get(),
                                 std::min(options_.ack_timeout, max_connect_timeout).count()),
          "cannot set options");
    // Reconnect forever in the background; sends meanwhile report `retry` at once.
    check(natsOptions_SetMaxReconnect(opts.get(), -1), "cannot set options");
    check(natsOptions_SetReconnectWait(opts.get(), 200), "cannot set options");
    check(natsOptions_SetName(opts.get(), "txoutbox"), "cannot set options");
    if (!options_.token.empty())
      check(natsOptions_SetToken(opts.get(), options_.token.c_str()), "cannot set the token");
    if (!options_.user.empty())
      check(natsOptions_SetUserInfo(opts.get(), options_.user.c_str(), options_.password.c_str()),
            "cannot set the user");

    auto conn = std::make_shared<connection>();
    const natsStatus s = natsConnection_Connect(&conn->nc, opts.get());
    if (s != NATS_OK)
      throw transient_error("nats: cannot connect to " + options_.url + ": " + status_text(s));
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = options_.ack_timeout.count();
    check(natsConnection_JetStream(&conn->js, conn->nc, &jo), "cannot create a JetStream context");
    if (options_.create_stream && !options_.stream_name.empty())
      ensure_stream(conn->js);
    return conn;
  }

  /// Creates the stream when it does not exist (file storage, subjects of the template).
  void ensure_stream(jsCtx* js) {
    jsStreamInfo* raw_si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&raw_si, js, options_.stream_name.c_str(), nullptr, &jerr);
    std::unique_ptr<jsStreamInfo, stream_info_deleter> si(raw_si);
    if (s == NATS_OK)
      return;
    if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr)
      throw transient_error("nats: cannot look up stream " + options_.stream_name + ": " +
                            status_text(s));
    const std::string filter = subject_.stream_filter();
    const char* subjects[] = {filter.c_str()};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = options_.stream_name.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    jsStreamInfo* raw_created = nullptr;
    jerr = static_cast<jsErrCode>(0);
    s = js_AddStream(&raw_created, js, &cfg, nullptr, &jerr);
    std::unique_ptr<jsStreamInfo, stream_info_deleter> created(raw_created);
    if (s != NATS_OK && jerr != JSStreamNameExistErr)
      throw transient_error("nats: cannot create stream " + options_.stream_name + " for '" +
                            filter + "': " + status_text(s));
  }

  const publisher_options options_;
  const detail::subject_template subject_;
  std::mutex connect_mutex_;  ///< serialises connect(); never held with mutex_ waiting on it
  std::mutex mutex_;          ///< guards conn_ and the connect-failure memo
  std::shared_ptr<connection> conn_;
  std::string last_connect_error_;
  std::chrono::steady_clock::time_point last_connect_failure_{};
};

[[noreturn]] void bad_field(const std::string& field, const std::string& what) {
  throw usage_error(errc::invalid_argument, field, "nats publisher: " + field + " " + what);
}

}  // namespace

std::unique_ptr<txoutbox::publisher> make_publisher(publisher_options options) {
  if (options.url.empty())
    bad_field("url", "must not be empty");
  if (options.ack_timeout.count() <= 0)
    bad_field("ack_timeout", "must be positive");
  if (options.create_stream && options.stream_name.empty())
    bad_field("stream_name", "must be set when create_stream is on");
  for (char c : options.stream_name) {
    if (c <= ' ' || c == '.' || c == '*' || c == '>' || c == 0x7f)
      bad_field("stream_name", "must not contain spaces, control characters, '.', '*' or '>'");
  }
  if (!options.token.empty() && !options.user.empty())
    bad_field("token", "and user are exclusive");
  if (options.source.empty())
    bad_field("source", "must not be empty");
  detail::subject_template::parse(options.subject_template);  // throws usage_error
  return std::make_unique<nats_publisher>(std::move(options));
}

}  // namespace txoutbox::nats
