// The owner's session-level lock for the SOCI store: a held session or a lock file.
#include "owner_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <soci/soci.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "txoutbox/error.hpp"

namespace txoutbox::soci::detail {
namespace {

class session_lock final : public owner_lock {
 public:
  explicit session_lock(std::unique_ptr<::soci::session> s) : session_(std::move(s)) {}
  ~session_lock() override {
    try {
      session_.reset();  // closing the session releases its lock
    } catch (...) {
    }
  }

 private:
  std::unique_ptr<::soci::session> session_;
};

class file_lock final : public owner_lock {
 public:
  file_lock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~file_lock() override {
    // Unlink while still holding the lock: a waiter that opened this inode re-checks the
    // path after its flock and starts over on the new file.
    ::unlink(path_.c_str());
    ::close(fd_);
  }

 private:
  int fd_;
  std::string path_;
};

/// FNV-1a, 64 bits: stable across builds and processes (std::hash is not promised to be).
std::string fnv1a_hex(const std::string& text) {
  std::uint64_t h = 14695981039346656037ull;
  for (const unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

[[noreturn]] void throw_io(const std::string& path, int err) {
  throw error(errc::io_failure,
              "soci store: cannot open the owner lock file " + path + ": " + std::strerror(err));
}

}  // namespace

std::string owner_key(const std::string& schema, const std::string& owner) {
  return "txoutbox owner " + schema + " " + owner;
}

std::unique_ptr<owner_lock> hold_session(std::unique_ptr<::soci::session> session) {
  return std::make_unique<session_lock>(std::move(session));
}

std::unique_ptr<owner_lock> lock_file(const std::string& database, const std::string& key) {
  const auto path = database + ".owner-" + fnv1a_hex(key) + ".lock";
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      throw_io(path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK)
        return nullptr;
      throw_io(path, err);
    }
    struct stat held {
    }, named{};
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 &&
        held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
      return std::make_unique<file_lock>(fd, path);
    }
    ::close(fd);  // the file was released and removed meanwhile: take the new one
  }
  return nullptr;
}

}  // namespace txoutbox::soci::detail
