// Shared helpers of the NATS tests: fixture discovery, a libnats client, JetStream read-back.
#include "nats_test_support.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

#include "txoutbox/message_id.hpp"
#include "txoutbox/testing/servers.hpp"

namespace txoutbox::testing::nats {

std::string server() {
  const auto url = server_url("nats", "TXOUTBOX_TEST_NATS_URL");
  if (!url) {
    if (running_under_ci())
      FAIL("no NATS server: the nats fixture did not start (CI=true)");
    WARN("no NATS server configured (TXOUTBOX_TEST_NATS_URL or the nats fixture): skipped");
    return {};
  }
  return *url;
}

namespace {

void check(natsStatus s, const std::string& what) {
  if (s != NATS_OK)
    throw std::runtime_error("nats test client: " + what + ": " + natsStatus_GetText(s));
}

}  // namespace

client::client(const std::string& url) {
  check(natsConnection_ConnectTo(&nc_, url.c_str()), "connect to " + url);
  check(natsConnection_JetStream(&js_, nc_, nullptr), "JetStream context");
}

client::~client() {
  jsCtx_Destroy(js_);
  natsConnection_Destroy(nc_);
}

void client::add_stream(const std::string& name, const std::string& subject) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char* subjects[] = {subject.c_str()};
  cfg.Name = name.c_str();
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const natsStatus s = js_AddStream(&si, js_, &cfg, nullptr, &jerr);
  jsStreamInfo_Destroy(si);
  check(s, "add stream " + name + " (JetStream error " + std::to_string(jerr) + ")");
}

std::uint64_t client::message_count(const std::string& name) {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (js_GetStreamInfo(&si, js_, name.c_str(), nullptr, &jerr) != NATS_OK)
    return 0;
  const std::uint64_t n = si->State.Msgs;
  jsStreamInfo_Destroy(si);
  return n;
}

std::vector<stored_message> client::read_all(const std::string& name) {
  std::vector<stored_message> out;
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (js_GetStreamInfo(&si, js_, name.c_str(), nullptr, &jerr) != NATS_OK)
    return out;
  const std::uint64_t first = si->State.FirstSeq;
  const std::uint64_t last = si->State.LastSeq;
  jsStreamInfo_Destroy(si);
  for (std::uint64_t seq = first; seq != 0 && seq <= last; ++seq) {
    natsMsg* msg = nullptr;
    check(js_GetMsg(&msg, js_, name.c_str(), seq, nullptr, &jerr),
          "get message " + std::to_string(seq));
    stored_message m;
    m.subject = natsMsg_GetSubject(msg);
    m.data.assign(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    const char** keys = nullptr;
    int count = 0;
    if (natsMsgHeader_Keys(msg, &keys, &count) == NATS_OK) {
      for (int i = 0; i < count; ++i) {
        const char* value = nullptr;
        if (natsMsgHeader_Get(msg, keys[i], &value) == NATS_OK)
          m.headers[keys[i]] = value;
      }
      free(static_cast<void*>(keys));
    }
    natsMsg_Destroy(msg);
    out.push_back(std::move(m));
  }
  return out;
}

outbox_record make_record(const std::string& aggregate_type, const std::string& key, int n) {
  outbox_record r;
  r.msg.id = message_id::generate();
  r.msg.aggregate_type = aggregate_type;
  r.msg.aggregate_id = key;
  r.msg.type = "OrderPlaced";
  r.msg.payload = "{\"n\":" + std::to_string(n) + "}";
  r.seq = n;
  r.created_at = std::chrono::system_clock::now();
  return r;
}

std::vector<std::string> nats_server_args(int port, const std::string& dir) {
  return {"-a", "127.0.0.1", "-p", std::to_string(port), "-js", "-sd", dir + "/js"};
}

}  // namespace txoutbox::testing::nats
