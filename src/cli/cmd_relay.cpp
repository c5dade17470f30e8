// cmd_relay: `txoutbox relay` runs a relay until SIGINT/SIGTERM, then stops it cleanly.
#include <pthread.h>
#include <signal.h>

#include <csignal>
#include <memory>
#include <string>

#include "commands.hpp"
#include "database.hpp"
#include "failure.hpp"
#include "output.hpp"
#include "txoutbox/relay.hpp"

namespace txoutbox::cli {
namespace {

const char* level_name(log_level level) {
  switch (level) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
  }
  return "info";
}

}  // namespace

int run_relay(const relay_args& args) {
  // Block the stop signals before any thread exists: every relay thread inherits the
  // mask, so SIGINT/SIGTERM stay pending until the main thread's sigwait() takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr) != 0) {
    throw failure(exit_other, "cannot block SIGINT/SIGTERM");
  }
  // A closed stdout (stdout publisher) must become a retry, not a silent death.
  std::signal(SIGPIPE, SIG_IGN);

  // The publisher first: a bad option of its factory is a usage error (2) even when the
  // database is down, and a broker publisher connects in the background anyway.
  auto publisher = make_publisher(args.publisher);
  auto store = open_store(args.common, relay_pool_size(args.relay.threads));

  relay_options options = args.relay;
  const log_level min_level = args.min_level;
  options.on_log = [min_level](log_level level, std::string_view text) {
    if (static_cast<int>(level) < static_cast<int>(min_level))
      return;
    print_line("txoutbox relay: " + std::string(level_name(level)) + ": " + std::string(text));
  };

  std::unique_ptr<relay> r;
  try {
    r = std::make_unique<relay>(store, publisher, std::move(options));
    r->start();
  } catch (...) {
    rethrow_store_error("relay on " + args.common.db.redacted + " schema " + args.common.label());
  }
  print_line("txoutbox relay: started as " + r->owner() + " (schema " + args.common.label() +
             ", publisher " + args.publisher.display + ", batch " +
             std::to_string(args.relay.batch_size) + ", lease " +
             std::to_string(args.relay.lease_ttl.count()) + " ms)");

  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  print_line("txoutbox relay: " + std::string(signal_number == SIGINT ? "SIGINT" : "SIGTERM") +
             " received, stopping (budget " + std::to_string(args.stop_timeout.count()) + " ms)");
  const bool finished = r->stop(args.stop_timeout);
  const relay_stats s = r->stats();
  print_line("txoutbox relay: stopped " +
             std::string(finished ? "cleanly" : "after abandoning in-flight work") +
             " (published " + std::to_string(s.published) + ", retried " +
             std::to_string(s.retried) + ", dead-lettered " + std::to_string(s.dead_lettered) +
             ", fenced batches " + std::to_string(s.fenced_batches) + ", errors " +
             std::to_string(s.errors) + ")");
  return exit_ok;
}

}  // namespace txoutbox::cli
