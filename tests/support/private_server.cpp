// private_server: spawning, killing and restarting a test-owned server process.
#include "private_server.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "txoutbox/testing/wait.hpp"

#include "txoutbox/testing/servers.hpp"

extern char** environ;

namespace txoutbox::testing {

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error("socket() failed");
  sockaddr_in addr = loopback(0);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool port_accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  sockaddr_in addr = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string private_server::find_program(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/usr/bin:/usr/local/bin";
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty())
      continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return {};
}

private_server::private_server(std::string program, args_builder make_args)
    : program_(std::move(program)), make_args_(make_args) {
  std::string tmpl = "/tmp/txoutbox-private.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
}

private_server::~private_server() {
  kill();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void private_server::start() {
  if (pid_ > 0)
    throw std::logic_error("private_server already running");
  for (int attempt = 0; attempt < 10; ++attempt) {
    if (port_ == 0 || attempt > 0)
      port_ = free_port();  // a restart keeps its port unless that one was taken
    std::vector<std::string> args = make_args_(port_, dir_);
    args.insert(args.begin(), program_);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log_path = dir_ + "/server.log";
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, program_.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
      throw std::runtime_error("cannot spawn " + program_);
    pid_ = pid;
    const bool up = wait_until(
        [&] {
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return true;  // exited: the port was probably taken
          }
          return port_accepts(port_);
        },
        std::chrono::seconds(20));
    if (up && pid_ > 0)
      return;
    kill();
    if (log().find("in use") == std::string::npos)
      break;  // not a port clash: give up with the log
  }
  throw std::runtime_error("cannot start " + program_ + ": " + log());
}

void private_server::kill() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void private_server::pause() {
  if (pid_ > 0)
    ::kill(pid_, SIGSTOP);
}

void private_server::resume() {
  if (pid_ > 0)
    ::kill(pid_, SIGCONT);
}

std::string private_server::log() const {
  std::ifstream in(dir_ + "/server.log");
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  if (text.size() > 4000)
    text = "..." + text.substr(text.size() - 4000);
  return text;
}

std::string required_program(const std::string& name) {
  auto path = private_server::find_program(name);
  if (path.empty()) {
    if (running_under_ci())
      FAIL(name << " is not installed (CI=true)");
    WARN(name << " is not installed: skipped");
  }
  return path;
}

}  // namespace txoutbox::testing
