// file_publisher: JSON-lines publishers with no dependency, to a file (fsynced) or stdout.
#include "txoutbox/file_publisher.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "txoutbox/envelope.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/key_gate.hpp"

namespace txoutbox {

namespace {

constexpr const char* shut_down_reason = "publisher shut down";

std::string errno_text(int err) {
  return std::strerror(err);
}

/// The result of a failed write or sync, `what` naming it ("file publisher: write
/// failed"). The target's own state — disk full or over quota, no permission, read-only
/// or failing file system, file size limit, a closed pipe — is `unavailable`: no record
/// can go until an operator fixes it, and none is at fault. Anything else is `retry`.
publish_result errno_result(const std::string& what, int err) {
  std::string reason = what + ": " + errno_text(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EACCES:
    case EPERM:
    case EROFS:
    case EIO:
    case EFBIG:
    case EPIPE:
      return publish_result::unavailable(std::move(reason));
    default:
      return publish_result::retry(std::move(reason));
  }
}

/// Renders a batch as JSON lines and keeps which records made it into the buffer.
/// A record whose envelope cannot be built (usage_error: a payload that is not JSON,
/// which the writers never store) is rejected, any other exception is a retry; either
/// way later records of its key are not sent.
struct rendered_batch {
  std::string text;
  std::vector<publish_result> results;  ///< final for rejected/unsent records
  std::vector<std::size_t> written;     ///< indexes of records whose line is in `text`
};

rendered_batch render(std::span<const outbox_record> batch) {
  rendered_batch out;
  out.results.resize(batch.size());
  out.written.reserve(batch.size());
  key_gate gate;  // one route: the file (rendering never fails `unavailable`)
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const outbox_record& rec = batch[i];
    if (auto held = gate.refusal(rec)) {
      out.results[i] = std::move(*held);
      continue;
    }
    try {
      std::string line = to_json_line(rec);
      out.text += line;
      out.text += '\n';
      out.written.push_back(i);
    } catch (const usage_error& e) {
      // Bad input is permanent: retrying cannot make the payload valid.
      out.results[i] = gate.record(
          rec, publish_result::reject(std::string("cannot render the envelope: ") + e.what()));
    } catch (const std::exception& e) {
      out.results[i] = gate.record(rec, publish_result::retry(e.what()));
    }
  }
  return out;
}

/// Settles every record whose line was in the failed write or sync: each one failed with
/// `failure`, then the contract's rules apply as to any batch whose outcome came after it
/// was handed over (a key's later records `retry`, not sent).
void fail_written(std::span<const outbox_record> batch, rendered_batch& r,
                  const publish_result& failure) {
  key_gate gate;
  for (std::size_t i : r.written)
    r.results[i] = gate.settle(batch[i], failure, false);
}

std::vector<publish_result> all_retry(std::size_t n, const char* reason) {
  return std::vector<publish_result>(n, publish_result::retry(reason));
}

/// Appends JSON lines to one file descriptor. Thread-safe: one mutex around write and
/// fsync, so batches never interleave and `ok` is reported only after the sync that
/// covers the batch's lines.
class file_publisher final : public publisher {
 public:
  explicit file_publisher(const file_publisher_options& options) : options_(options) {
    const std::string path = options.path.string();
    bool created = true;
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno == EEXIST) {
      created = false;
      fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    }
    if (fd_ < 0) {
      const int err = errno;
      throw error(errc::io_failure, "file publisher: cannot open " + path + ": " + errno_text(err));
    }
    struct stat st {};
    // Only regular files can be synced: fdatasync on a pipe or a character device
    // (/dev/stdout, /dev/null) fails with EINVAL and would make every batch retry.
    syncable_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
    if (created && options_.fsync && syncable_)
      sync_parent_directory(path);
  }

  ~file_publisher() override {
    if (fd_ >= 0)
      ::close(fd_);
  }

  file_publisher(const file_publisher&) = delete;
  file_publisher& operator=(const file_publisher&) = delete;

  std::vector<publish_result> publish(std::span<const outbox_record> batch) noexcept override {
    try {
      if (shut_down_.load(std::memory_order_acquire))
        return all_retry(batch.size(), shut_down_reason);
      rendered_batch r = render(batch);
      if (r.written.empty())
        return std::move(r.results);

      std::lock_guard lock(mutex_);
      if (torn_) {
        // An earlier failed batch left a partial line we could not cut off: end it, so
        // this batch's first line stays whole (readers see one bad line, not two).
        r.text.insert(r.text.begin(), '\n');
      }
      const off_t start = ::lseek(fd_, 0, SEEK_END);
      std::size_t done = 0;
      if (int err = write_all(r.text, done); err != 0) {
        if (done > 0)
          cut_back(start);
        fail_written(batch, r, errno_result("file publisher: write failed", err));
        return std::move(r.results);
      }
      torn_ = false;
      if (options_.fsync && syncable_ && ::fdatasync(fd_) != 0) {
        // The lines are in the file but not known to be on disk: report a failure; the
        // relay republishes them (at-least-once), so they may appear twice.
        const int err = errno;
        fail_written(batch, r, errno_result("file publisher: fsync failed", err));
        return std::move(r.results);
      }
      // results for written records are default-constructed `ok`
      return std::move(r.results);
    } catch (const std::exception& e) {
      return std::vector<publish_result>(batch.size(), publish_result::retry(e.what()));
    } catch (...) {
      return all_retry(batch.size(), "file publisher: unknown failure");
    }
  }

  bool flush(std::chrono::milliseconds /*timeout*/) noexcept override {
    // With fsync on every `ok` is already durable; with it off, flush is the barrier.
    if (options_.fsync || !syncable_)
      return true;
    std::lock_guard lock(mutex_);
    return ::fdatasync(fd_) == 0;
  }

  void shutdown(std::chrono::milliseconds /*timeout*/) noexcept override {
    // A local write cannot hang the way a socket can; a publish in progress finishes
    // its batch under the mutex, later ones are refused.
    shut_down_.store(true, std::memory_order_release);
  }

 private:
  /// Writes all of `text`, resuming after partial writes and EINTR. Returns 0 or errno;
  /// `done` is how many bytes reached the file.
  int write_all(std::string_view text, std::size_t& done) noexcept {
    while (done < text.size()) {
      const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return errno;
      }
      if (n == 0)
        return EIO;
      done += static_cast<std::size_t>(n);
    }
    return 0;
  }

  /// After a failed write, removes the partial batch so the file keeps whole lines.
  /// Truncation fails on devices and pipes; then the next batch starts a new line.
  void cut_back(off_t start) noexcept {
    if (start >= 0 && syncable_ && ::ftruncate(fd_, start) == 0)
      return;
    torn_ = true;
  }

  static void sync_parent_directory(const std::string& path) {
    // A new file's directory entry must reach the disk too, or a crash can lose the
    // whole file after its lines were reported `ok`.
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (dir.empty())
      dir = ".";
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
      return;  // the file's own syncs still hold; best effort for the entry
    (void)::fsync(dfd);
    ::close(dfd);
  }

  file_publisher_options options_;
  int fd_ = -1;
  bool syncable_ = false;
  std::mutex mutex_;
  bool torn_ = false;  ///< guarded by mutex_
  std::atomic<bool> shut_down_{false};
};

/// Writes JSON lines to stdout with stdio, flushed per batch. Thread-safe.
class stdout_publisher final : public publisher {
 public:
  std::vector<publish_result> publish(std::span<const outbox_record> batch) noexcept override {
    try {
      if (shut_down_.load(std::memory_order_acquire))
        return all_retry(batch.size(), shut_down_reason);
      rendered_batch r = render(batch);
      if (r.written.empty())
        return std::move(r.results);
      std::lock_guard lock(mutex_);
      errno = 0;
      const bool wrote = std::fwrite(r.text.data(), 1, r.text.size(), stdout) == r.text.size();
      const bool flushed = std::fflush(stdout) == 0;
      if (!wrote || !flushed) {
        const int err = errno != 0 ? errno : EIO;
        std::clearerr(stdout);
        fail_written(batch, r, errno_result("stdout publisher: write failed", err));
      }
      return std::move(r.results);
    } catch (const std::exception& e) {
      return std::vector<publish_result>(batch.size(), publish_result::retry(e.what()));
    } catch (...) {
      return all_retry(batch.size(), "stdout publisher: unknown failure");
    }
  }

  bool flush(std::chrono::milliseconds /*timeout*/) noexcept override {
    std::lock_guard lock(mutex_);
    return std::fflush(stdout) == 0;
  }

  void shutdown(std::chrono::milliseconds /*timeout*/) noexcept override {
    shut_down_.store(true, std::memory_order_release);
  }

 private:
  std::mutex mutex_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace

std::unique_ptr<publisher> make_file_publisher(const file_publisher_options& options) {
  return std::make_unique<file_publisher>(options);
}

std::unique_ptr<publisher> make_stdout_publisher() {
  return std::make_unique<stdout_publisher>();
}

}  // namespace txoutbox
