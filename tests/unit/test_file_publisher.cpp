// Tests of the file and stdout JSON-lines publishers.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>

#include "txoutbox/envelope.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/file_publisher.hpp"

namespace {

namespace fs = std::filesystem;
using txoutbox::outbox_record;
using txoutbox::publish_status;

/// A fresh directory under the system temp dir, removed with its contents at scope exit.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::random_device rd;
    path = fs::temp_directory_path() /
           ("txoutbox-pub-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

outbox_record record(const std::string& key, int n, std::uint32_t partition = 0,
                     const std::string& extra = "") {
  outbox_record rec;
  txoutbox::message_id::bytes_type bytes{};
  bytes[0] = 0x01;
  bytes[6] = 0x70;  // version 7
  bytes[8] = 0x80;  // RFC 4122 variant
  bytes[12] = static_cast<std::uint8_t>(partition);
  bytes[13] = static_cast<std::uint8_t>(n >> 16);
  bytes[14] = static_cast<std::uint8_t>(n >> 8);
  bytes[15] = static_cast<std::uint8_t>(n);
  rec.msg.id = txoutbox::message_id(bytes);
  rec.msg.aggregate_type = "order";
  rec.msg.aggregate_id = key;
  rec.msg.type = "OrderPlaced";
  rec.msg.payload = "{\"p\":" + std::to_string(partition) + ",\"n\":" + std::to_string(n) +
                    ",\"pad\":\"" + extra + "\"}";
  rec.msg.headers = {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  rec.seq = n;
  rec.partition = partition;
  rec.created_at =
      std::chrono::system_clock::time_point(std::chrono::microseconds(1700000000123456));
  return rec;
}

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

bool same_json(const std::string& a, const std::string& b) {
  rapidjson::Document da, db;
  da.Parse(a.c_str());
  db.Parse(b.c_str());
  return !da.HasParseError() && !db.HasParseError() && da == db;
}

/// The fields the envelope carries, compared between what was sent and what was read.
void check_same_message(const outbox_record& read, const outbox_record& sent) {
  CHECK(read.msg.id == sent.msg.id);
  CHECK(read.msg.aggregate_type == sent.msg.aggregate_type);
  CHECK(read.msg.aggregate_id == sent.msg.aggregate_id);
  CHECK(read.msg.type == sent.msg.type);
  CHECK(same_json(read.msg.payload, sent.msg.payload));
  CHECK(read.msg.headers == sent.msg.headers);
  CHECK(read.created_at == sent.created_at);
}

}  // namespace

TEST_CASE("file publisher writes one parseable JSON line per record in batch order",
          "[publisher][file]") {
  temp_dir dir;
  const fs::path file = dir.path / "events.jsonl";
  auto pub = txoutbox::make_file_publisher({.path = file});
  REQUIRE(fs::exists(file));  // created at open

  const std::vector<outbox_record> batch{record("a", 1), record("b", 2), record("a", 3),
                                         record("c", 4)};
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == batch.size());
  for (const auto& r : results)
    CHECK(r.status == publish_status::ok);
  CHECK(pub->flush(std::chrono::milliseconds(100)));

  const auto lines = read_lines(file);
  REQUIRE(lines.size() == batch.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CHECK(lines[i] == txoutbox::to_json_line(batch[i]));
    check_same_message(txoutbox::parse_json_line(lines[i]), batch[i]);
  }
  CHECK(pub->publish({}).empty());
  CHECK(read_lines(file).size() == batch.size());
}

TEST_CASE("file publisher appends across instances", "[publisher][file]") {
  temp_dir dir;
  const fs::path file = dir.path / "events.jsonl";
  {
    auto first = txoutbox::make_file_publisher({.path = file});
    const std::vector<outbox_record> batch{record("a", 1), record("a", 2)};
    for (const auto& r : first->publish(batch))
      CHECK(r.status == publish_status::ok);
  }
  {
    auto second = txoutbox::make_file_publisher({.path = file, .fsync = false});
    const std::vector<outbox_record> batch{record("a", 3), record("b", 4), record("a", 5)};
    for (const auto& r : second->publish(batch))
      CHECK(r.status == publish_status::ok);
    CHECK(
        second->flush(std::chrono::milliseconds(100)));  // the durability barrier when fsync is off
  }
  const auto lines = read_lines(file);
  REQUIRE(lines.size() == 5);
  for (std::size_t i = 0; i < lines.size(); ++i)
    CHECK(txoutbox::parse_json_line(lines[i]).msg.payload.find("\"n\":" + std::to_string(i + 1)) !=
          std::string::npos);
}

TEST_CASE("file publisher never interleaves lines of concurrent batches",
          "[publisher][file][threads]") {
  temp_dir dir;
  const fs::path file = dir.path / "events.jsonl";
  const bool fsync = GENERATE(false, true);
  auto pub = txoutbox::make_file_publisher({.path = file, .fsync = fsync});

  constexpr int threads = 4, per_batch = 10;
  const int batches = fsync ? 10 : 40;
  const std::string pad(3000, 'x');  // long lines: a torn write would show
  std::atomic<int> ok{0}, not_ok{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int b = 0; b < batches; ++b) {
        std::vector<outbox_record> batch;
        for (int i = 0; i < per_batch; ++i)
          batch.push_back(record("k" + std::to_string(i % 3), b * per_batch + i,
                                 static_cast<std::uint32_t>(t), pad));
        for (const auto& r : pub->publish(batch))
          (r.status == publish_status::ok ? ok : not_ok)++;
      }
    });
  }
  for (auto& w : workers)
    w.join();
  CHECK(ok.load() == threads * batches * per_batch);
  CHECK(not_ok.load() == 0);

  const auto lines = read_lines(file);
  REQUIRE(lines.size() == static_cast<std::size_t>(threads * batches * per_batch));
  // Every line parses, and each batch is a contiguous run of per_batch lines in order.
  std::vector<int> next_seq(threads, 0);
  for (std::size_t start = 0; start < lines.size(); start += per_batch) {
    const outbox_record head = txoutbox::parse_json_line(lines[start]);
    rapidjson::Document doc;
    doc.Parse(head.msg.payload.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.IsObject());
    REQUIRE(doc.HasMember("p"));
    REQUIRE(doc["p"].IsInt());
    const int t = doc["p"].GetInt();
    REQUIRE(t >= 0);
    REQUIRE(t < threads);
    for (int i = 0; i < per_batch; ++i) {
      const outbox_record rec = txoutbox::parse_json_line(lines[start + i]);
      rapidjson::Document d;
      d.Parse(rec.msg.payload.c_str());
      REQUIRE_FALSE(d.HasParseError());
      REQUIRE(d.IsObject());
      REQUIRE(d.HasMember("p"));
      REQUIRE(d.HasMember("n"));
      REQUIRE(d["p"].IsInt());
      REQUIRE(d["n"].IsInt());
      REQUIRE(d["p"].GetInt() == t);
      REQUIRE(d["n"].GetInt() == next_seq[t]);
      ++next_seq[t];
    }
  }
  for (int t = 0; t < threads; ++t)
    CHECK(next_seq[t] == batches * per_batch);
}

TEST_CASE("file publisher throws io_failure when the path cannot be opened",
          "[publisher][file][error]") {
  temp_dir dir;
  SECTION("the path is a directory") {
    try {
      (void)txoutbox::make_file_publisher({.path = dir.path});
      FAIL("expected txoutbox::error");
    } catch (const txoutbox::error& e) {
      CHECK(e.code() == txoutbox::errc::io_failure);
      CHECK(std::string(e.what()).find("file publisher: cannot open " + dir.path.string() + ": ") ==
            0);
      CHECK(std::string(e.what()).find(std::strerror(EISDIR)) != std::string::npos);
    }
  }
  SECTION("the parent directory does not exist") {
    const fs::path missing = dir.path / "no" / "such" / "events.jsonl";
    try {
      (void)txoutbox::make_file_publisher({.path = missing});
      FAIL("expected txoutbox::error");
    } catch (const txoutbox::error& e) {
      CHECK(e.code() == txoutbox::errc::io_failure);
      CHECK(std::string(e.what()).find(std::strerror(ENOENT)) != std::string::npos);
    }
  }
}

TEST_CASE("file publisher reports unavailable, never ok, when the disk is full",
          "[publisher][file][error]") {
  // Every write to /dev/full fails with ENOSPC: the destination's state, not the records'.
  REQUIRE(fs::exists("/dev/full"));
  auto pub = txoutbox::make_file_publisher({.path = "/dev/full"});
  const std::vector<outbox_record> batch{record("a", 1), record("b", 2), record("a", 3)};
  CHECK(pub->route(batch[0]).empty());  // one route: the file
  for (int attempt = 0; attempt < 2; ++attempt) {
    const auto results = pub->publish(batch);
    REQUIRE(results.size() == batch.size());
    for (std::size_t i = 0; i < 2; ++i) {
      CHECK(results[i].status == publish_status::unavailable);
      CHECK(results[i].reason.find(std::strerror(ENOSPC)) != std::string::npos);
    }
    CHECK(results[2].status == publish_status::retry);  // a's later record: held behind it
  }
}

TEST_CASE("file publisher cuts a partly written batch back to whole lines",
          "[publisher][file][error]") {
  temp_dir dir;
  const fs::path file = dir.path / "events.jsonl";
  auto pub = txoutbox::make_file_publisher({.path = file});
  const std::vector<outbox_record> first{record("a", 1), record("b", 2)};
  for (const auto& r : pub->publish(first))
    CHECK(r.status == publish_status::ok);
  const auto size_before = fs::file_size(file);

  // A file-size limit a little past the current end: the next batch's write stops
  // part-way through a line (a short write), then fails with EFBIG.
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit limited = saved;
  limited.rlim_cur = static_cast<rlim_t>(size_before + 500);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
  const std::string pad(300, 'y');
  const std::vector<outbox_record> second{record("a", 3, 0, pad), record("c", 4, 0, pad),
                                          record("d", 5, 0, pad)};
  const auto failed = pub->publish(second);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &saved) == 0);
  std::signal(SIGXFSZ, old_handler);

  REQUIRE(failed.size() == 3);
  for (const auto& r : failed) {
    CHECK(r.status == publish_status::unavailable);  // the file cannot grow: not the records'
    CHECK(r.reason.find(std::strerror(EFBIG)) != std::string::npos);
  }
  CHECK(fs::file_size(file) == size_before);  // the torn tail was cut off

  // The retry of the same batch lands whole, after the first batch.
  for (const auto& r : pub->publish(second))
    CHECK(r.status == publish_status::ok);
  const auto lines = read_lines(file);
  REQUIRE(lines.size() == 5);
  std::vector<std::int64_t> order;
  for (const auto& line : lines) {
    const outbox_record rec = txoutbox::parse_json_line(line);
    order.push_back(rec.msg.id.bytes()[15]);
  }
  CHECK(order == std::vector<std::int64_t>{1, 2, 3, 4, 5});
}

TEST_CASE("file publisher refuses to publish after shutdown", "[publisher][file][shutdown]") {
  temp_dir dir;
  const fs::path file = dir.path / "events.jsonl";
  auto pub = txoutbox::make_file_publisher({.path = file});
  const std::vector<outbox_record> batch{record("a", 1), record("b", 2)};
  for (const auto& r : pub->publish(batch))
    CHECK(r.status == publish_status::ok);
  pub->shutdown(std::chrono::milliseconds(10));
  const auto results = pub->publish(batch);
  REQUIRE(results.size() == 2);
  for (const auto& r : results) {
    CHECK(r.status == publish_status::retry);
    CHECK(r.reason == "publisher shut down");
  }
  CHECK(read_lines(file).size() == 2);
}

TEST_CASE("stdout publisher writes one JSON line per record to standard output",
          "[publisher][stdout]") {
  temp_dir dir;
  const fs::path capture = dir.path / "stdout.txt";
  auto pub = txoutbox::make_stdout_publisher();
  const std::vector<outbox_record> batch{record("a", 1), record("b", 2), record("a", 3)};

  // Point fd 1 at a file for the duration of the publish.
  std::fflush(stdout);
  const int saved = ::dup(STDOUT_FILENO);
  REQUIRE(saved >= 0);
  const int fd = ::open(capture.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  ::dup2(fd, STDOUT_FILENO);
  ::close(fd);
  const auto results = pub->publish(batch);
  const bool flushed = pub->flush(std::chrono::milliseconds(10));
  std::fflush(stdout);
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);

  REQUIRE(results.size() == 3);
  for (const auto& r : results)
    CHECK(r.status == publish_status::ok);
  CHECK(flushed);
  const auto lines = read_lines(capture);
  REQUIRE(lines.size() == 3);
  for (std::size_t i = 0; i < lines.size(); ++i)
    check_same_message(txoutbox::parse_json_line(lines[i]), batch[i]);

  pub->shutdown(std::chrono::milliseconds(10));
  for (const auto& r : pub->publish(batch))
    CHECK(r.reason == "publisher shut down");
}
