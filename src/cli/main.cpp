// main: the txoutbox command's entry point: dispatch, and every failure as one stderr line.
#include <cstdlib>
#include <iostream>
#include <pqxx/except>
#include <variant>

#include "commands.hpp"
#include "failure.hpp"
#include "options.hpp"
#include "output.hpp"
#include "txoutbox/error.hpp"

namespace {

template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

int dispatch(const txoutbox::cli::command& cmd) {
  using namespace txoutbox::cli;
  return std::visit(overloaded{
                        [](const help_request& h) {
                          std::cout << h.text;
                          return std::cout.flush() ? 0 : 1;
                        },
                        [](const migrate_args& a) { return run_migrate(a); },
                        [](const enqueue_args& a) { return run_enqueue(a); },
                        [](const relay_args& a) { return run_relay(a); },
                        [](const status_args& a) { return run_status(a); },
                        [](const dead_args& a) { return run_dead(a); },
                    },
                    cmd);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace txoutbox::cli;
  for (const char* name : {"PGPASSWORD", "TXOUTBOX_DB_PASSWORD"}) {
    if (const char* pw = std::getenv(name); pw != nullptr)
      add_secret(pw);
  }
  // An unreachable host must fail in bounded time, not hang (libpq waits forever by default).
  ::setenv("PGCONNECT_TIMEOUT", "10", 0);
  try {
    return dispatch(parse_command_line(argc, argv));
  } catch (const failure& e) {
    print_error(e.what());
    return e.code();
  } catch (const txoutbox::usage_error& e) {
    print_error(e.what());
    return exit_usage;
  } catch (const txoutbox::error& e) {
    const bool database =
        e.code() == txoutbox::errc::connection_failed || e.code() == txoutbox::errc::not_migrated;
    print_error(e.what());
    return database ? exit_database : exit_other;
  } catch (const pqxx::broken_connection& e) {
    print_error(std::string("database connection lost: ") + e.what());
    return exit_database;
  } catch (const std::exception& e) {
    print_error(e.what());
    return exit_other;
  } catch (...) {
    print_error("unexpected failure");
    return exit_other;
  }
}
