// private_server: a server process owned by one test (killed, restarted), on a port of its own.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace txoutbox::testing {

/// Runs `program args...` as a child process with output to <dir>/server.log, in a private
/// temporary directory that is removed on destruction. kill() is SIGKILL (a crash);
/// start() again reuses the same directory and port. Not thread-safe: test thread only.
class private_server {
 public:
  /// `make_args(port, dir)` builds the argument list (without the program).
  using args_builder = std::vector<std::string> (*)(int port, const std::string& dir);

  private_server(std::string program, args_builder make_args);
  ~private_server();
  private_server(const private_server&) = delete;
  private_server& operator=(const private_server&) = delete;

  /// Starts the server and waits until its port accepts connections (throws on failure).
  void start();
  /// SIGKILL and reap; nothing of the process survives, its files stay.
  void kill();
  /// SIGSTOP / SIGCONT: the process keeps its sockets but answers nothing.
  void pause();
  void resume();

  int port() const noexcept { return port_; }
  const std::string& dir() const noexcept { return dir_; }
  /// The server's log, for INFO() when something fails.
  std::string log() const;

  /// The full path of a server binary, or "" when it is not installed (also looks in
  /// /usr/sbin, where Debian puts nats-server).
  static std::string find_program(const std::string& name);

 private:
  std::string program_;
  args_builder make_args_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

/// find_program(name) for a test that needs the server: "" after a WARN that the test is
/// skipped when it is not installed, a FAIL under CI (where a missing server is a failure).
std::string required_program(const std::string& name);

/// A port that was free a moment ago on 127.0.0.1.
int free_port();

/// True once something accepts TCP connections on 127.0.0.1:port.
bool port_accepts(int port);

}  // namespace txoutbox::testing
