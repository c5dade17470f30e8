// process: posix_spawn-based child processes with output captured to files.
#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "txoutbox/testing/servers.hpp"

extern char** environ;

namespace txoutbox::testing {

child_process::child_process(const std::filesystem::path& exe, const std::vector<std::string>& args,
                             const std::map<std::string, std::optional<std::string>>& env,
                             const std::filesystem::path& dir, const std::string& name,
                             const std::filesystem::path& cwd)
    : out_path_(dir / (name + ".out")), err_path_(dir / (name + ".err")) {
  std::vector<std::string> argv_text{exe.string()};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const auto eq = entry.find('=');
    const std::string key = entry.substr(0, eq);
    if (!env.contains(key))
      env_text.push_back(entry);
  }
  for (const auto& [key, value] : env) {
    if (value)
      env_text.push_back(key + "=" + *value);
  }
  std::vector<char*> envp;
  for (auto& e : env_text)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!cwd.empty())
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  const int rc =
      posix_spawn(&pid_, argv_text.front().c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw std::runtime_error("posix_spawn " + exe.string() + ": " + std::strerror(rc));
}

child_process::~child_process() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGCONT);  // a SIGSTOPped child must not linger
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

void child_process::signal(int sig) {
  if (pid_ > 0 && !poll_exit())
    ::kill(pid_, sig);
}

bool child_process::poll_exit() {
  if (status_)
    return true;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    if (WIFEXITED(status)) {
      status_ = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      status_ = 128 + WTERMSIG(status);
    } else {
      return false;
    }
    return true;
  }
  return false;
}

std::optional<int> child_process::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!poll_exit()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return status_;
}

bool child_process::running() {
  return !poll_exit();
}

std::string child_process::out() const {
  return read_text(out_path_);
}
std::string child_process::err() const {
  return read_text(err_path_);
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

temp_dir::temp_dir() : path_(std::filesystem::temp_directory_path() / unique_name("txoutbox_cli")) {
  std::filesystem::create_directories(path_);
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

run_result run_cli(const std::vector<std::string>& args,
                   const std::map<std::string, std::optional<std::string>>& env,
                   std::chrono::milliseconds timeout) {
  return run_cli_in({}, args, env, timeout);
}

run_result run_cli_in(const std::filesystem::path& cwd, const std::vector<std::string>& args,
                      const std::map<std::string, std::optional<std::string>>& env,
                      std::chrono::milliseconds timeout) {
  temp_dir dir;
  run_result result;
  {
    child_process p(TXOUTBOX_CLI_PATH, args, env, dir.path(), "cli", cwd);
    const auto code = p.wait_for(timeout);
    result.exit_code = code ? *code : -1;
    result.out = p.out();
    result.err = p.err();
  }
  return result;
}

}  // namespace txoutbox::testing
