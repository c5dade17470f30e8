// process: spawns the txoutbox binary with arguments and environment, no shell involved.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace txoutbox::testing {

/// One child process whose stdout and stderr go to files (read them at any time).
/// Not thread-safe: owned by the test thread. The destructor SIGKILLs and reaps a child
/// that is still running, so a failed REQUIRE never leaves a relay behind.
class child_process {
 public:
  /// Starts `exe` with `args` (argv[1..]); `env` entries are added to (or replace those
  /// of) this process's environment; a value of nullopt removes the variable. Output goes
  /// to <dir>/<name>.out and <dir>/<name>.err. The child runs in `cwd` (this process's
  /// working directory when empty). Throws std::runtime_error if spawning fails.
  child_process(const std::filesystem::path& exe, const std::vector<std::string>& args,
                const std::map<std::string, std::optional<std::string>>& env,
                const std::filesystem::path& dir, const std::string& name,
                const std::filesystem::path& cwd = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const noexcept { return pid_; }
  /// Sends `sig` unless the child was already reaped.
  void signal(int sig);
  /// Waits up to `timeout` for the child to end. Returns its exit code, or 128 + signal
  /// number when a signal ended it; nullopt on timeout.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  /// True while the child has not ended (reaps it if it just did).
  bool running();

  std::string out() const;
  std::string err() const;
  const std::filesystem::path& out_path() const noexcept { return out_path_; }
  const std::filesystem::path& err_path() const noexcept { return err_path_; }

 private:
  bool poll_exit();

  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path out_path_;
  std::filesystem::path err_path_;
};

/// What a finished command printed and how it ended.
struct run_result {
  int exit_code = -1;  ///< -1: did not finish within the timeout (then it was killed)
  std::string out;
  std::string err;
};

/// Runs the txoutbox binary to completion (up to `timeout`) in a private temp dir.
run_result run_cli(const std::vector<std::string>& args,
                   const std::map<std::string, std::optional<std::string>>& env = {},
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// Runs the txoutbox binary to completion with `cwd` as its working directory (relative
/// sqlite:PATH URLs and file: publishers resolve there); output is kept in a private dir.
run_result run_cli_in(const std::filesystem::path& cwd, const std::vector<std::string>& args,
                      const std::map<std::string, std::optional<std::string>>& env = {},
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// Reads a whole file ("" when missing).
std::string read_text(const std::filesystem::path& path);

/// A fresh private directory under the temp dir, removed with its content on destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace txoutbox::testing
