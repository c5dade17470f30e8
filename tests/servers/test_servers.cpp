// Tests of test-server discovery: URL lookup order, the CI switch and unique names.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "txoutbox/testing/servers.hpp"

namespace {

namespace fs = std::filesystem;
using txoutbox::testing::running_under_ci;
using txoutbox::testing::server_url;
using txoutbox::testing::unique_name;

/// Sets (or unsets, with nullopt) an environment variable for one scope, then restores it.
class scoped_env {
 public:
  scoped_env(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str()))
      old_ = old;
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ~scoped_env() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

/// A fresh directory standing in for TXOUTBOX_TEST_SERVERS_DIR, removed at scope exit.
struct temp_dir {
  fs::path path = fs::temp_directory_path() / unique_name("servers_test");
  temp_dir() { fs::create_directories(path); }
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  void write(const std::string& file, const std::string& text) const {
    std::ofstream(path / file) << text;
  }
};

}  // namespace

TEST_CASE("server_url reads the fixture's URL file without its newline", "[testing][servers]") {
  temp_dir dir;
  scoped_env servers("TXOUTBOX_TEST_SERVERS_DIR", dir.path.string());
  scoped_env url("TXOUTBOX_TEST_XYZ_URL", std::nullopt);
  dir.write("xyz.url", "postgresql://postgres@127.0.0.1:5999/postgres\n");

  REQUIRE(server_url("xyz", "TXOUTBOX_TEST_XYZ_URL") ==
          "postgresql://postgres@127.0.0.1:5999/postgres");
}

TEST_CASE("server_url prefers the environment variable over the fixture's file",
          "[testing][servers]") {
  temp_dir dir;
  scoped_env servers("TXOUTBOX_TEST_SERVERS_DIR", dir.path.string());
  scoped_env url("TXOUTBOX_TEST_XYZ_URL", "postgresql://me@db.example:5432/mine");
  dir.write("xyz.url", "postgresql://postgres@127.0.0.1:5999/postgres\n");

  REQUIRE(server_url("xyz", "TXOUTBOX_TEST_XYZ_URL") == "postgresql://me@db.example:5432/mine");
}

TEST_CASE("server_url is empty when neither the variable nor a usable file exists",
          "[testing][servers]") {
  temp_dir dir;
  scoped_env url("TXOUTBOX_TEST_XYZ_URL", std::nullopt);

  SECTION("no servers dir") {
    scoped_env servers("TXOUTBOX_TEST_SERVERS_DIR", std::nullopt);
    REQUIRE_FALSE(server_url("xyz", "TXOUTBOX_TEST_XYZ_URL").has_value());
  }
  SECTION("no file for this server") {
    scoped_env servers("TXOUTBOX_TEST_SERVERS_DIR", dir.path.string());
    dir.write("other.url", "redis://127.0.0.1:1\n");
    REQUIRE_FALSE(server_url("xyz", "TXOUTBOX_TEST_XYZ_URL").has_value());
  }
  SECTION("an empty file, as a start script that found no server leaves it") {
    scoped_env servers("TXOUTBOX_TEST_SERVERS_DIR", dir.path.string());
    dir.write("xyz.url", "\n");
    REQUIRE_FALSE(server_url("xyz", "TXOUTBOX_TEST_XYZ_URL").has_value());
  }
  SECTION("an empty environment variable does not hide the file") {
    scoped_env servers("TXOUTBOX_TEST_SERVERS_DIR", dir.path.string());
    scoped_env empty("TXOUTBOX_TEST_XYZ_URL", "");
    dir.write("xyz.url", "nats://127.0.0.1:4222");
    REQUIRE(server_url("xyz", "TXOUTBOX_TEST_XYZ_URL") == "nats://127.0.0.1:4222");
  }
}

TEST_CASE("running_under_ci follows the CI variable", "[testing][servers]") {
  {
    scoped_env ci("CI", "true");
    CHECK(running_under_ci());
  }
  {
    scoped_env ci("CI", "1");
    CHECK(running_under_ci());
  }
  {
    scoped_env ci("CI", "false");
    CHECK_FALSE(running_under_ci());
  }
  {
    scoped_env ci("CI", std::nullopt);
    CHECK_FALSE(running_under_ci());
  }
}

TEST_CASE("unique_name gives distinct lower-case SQL identifiers", "[testing][servers]") {
  const std::regex identifier("[a-z_][a-z0-9_]{0,62}");

  std::set<std::string> names;
  for (int i = 0; i < 1000; ++i)
    names.insert(unique_name());
  REQUIRE(names.size() == 1000);
  for (const auto& name : names)
    REQUIRE(std::regex_match(name, identifier));

  CHECK(unique_name("Orders").rfind("orders_", 0) == 0);
  CHECK(std::regex_match(unique_name("My-Schema.1"), identifier));
  CHECK(std::regex_match(unique_name("9lives"), identifier));
  CHECK(std::regex_match(unique_name(""), identifier));
  CHECK(std::regex_match(unique_name(std::string(200, 'x')), identifier));
  CHECK(unique_name("t").find("_" + std::to_string(::getpid()) + "_") != std::string::npos);
}

TEST_CASE("unique_name stays unique across threads", "[testing][servers]") {
  constexpr int threads = 4;
  constexpr int per_thread = 500;
  std::vector<std::vector<std::string>> made(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&made, t] {
      for (int i = 0; i < per_thread; ++i)
        made[t].push_back(unique_name("w"));
    });
  }
  for (auto& w : workers)
    w.join();

  std::set<std::string> all;
  for (const auto& list : made)
    all.insert(list.begin(), list.end());
  REQUIRE(all.size() == threads * per_thread);
}
