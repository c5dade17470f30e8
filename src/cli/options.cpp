// options: Boost.Program_options per subcommand, the relay's JSON config file, env defaults.
#include "options.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <boost/program_options.hpp>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <vector>

#include "failure.hpp"
#include "output.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/identifier.hpp"
#include "txoutbox/message_id.hpp"
#include "txoutbox/validation.hpp"
#include "txoutbox/version.hpp"

namespace po = boost::program_options;

namespace txoutbox::cli {
namespace {

constexpr const char* top_usage =
    "usage: txoutbox <command> [options]\n"
    "\n"
    "commands:\n"
    "  migrate   apply the shipped schema migrations (idempotent)\n"
    "  enqueue   write one message to the outbox and print its id\n"
    "  relay     publish committed messages until SIGINT/SIGTERM\n"
    "  status    backlog, oldest unpublished age, dead letters, owners, leases\n"
    "  dead      list, requeue or purge dead letters\n"
    "\n"
    "Run 'txoutbox <command> --help' for the options of a command.\n"
    "Exit codes: 0 ok, 2 usage, 3 database unreachable or not migrated,\n"
    "4 publisher error at start, 1 anything else.\n";

std::string read_file(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw failure(exit_usage, std::string(flag) + ": cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

po::options_description common_description() {
  po::options_description d("database options");
  d.add_options()("help,h", "show this help")(
      "db", po::value<std::string>(),
      "database URL: postgresql://..., sqlite:PATH or mysql://user@host:port/db "
      "(default: $TXOUTBOX_DB_URL)")(
      "db-password-file", po::value<std::string>(),
      "read the database password from this file (or set TXOUTBOX_DB_PASSWORD); never put it "
      "in argv")("schema", po::value<std::string>(),
                 "schema holding the outbox tables (default: txoutbox on PostgreSQL, main on "
                 "SQLite, the URL's database on MariaDB)");
  return d;
}

/// Parses `args` against `desc`; rejects positional arguments.
po::parsed_options parse_args(const std::vector<std::string>& args,
                              const po::options_description& desc) {
  auto parsed = po::command_line_parser(args).options(desc).run();
  for (const auto& o : parsed.options) {
    if (o.position_key >= 0 || o.unregistered) {
      const std::string token =
          o.original_tokens.empty() ? o.string_key : o.original_tokens.front();
      throw failure(exit_usage, "unexpected argument '" + token + "'");
    }
  }
  return parsed;
}

/// An integer flag checked against [min, max]; `fallback` when absent.
std::int64_t int_flag(const po::variables_map& vm, const char* name, std::int64_t min,
                      std::int64_t max, std::int64_t fallback) {
  if (!vm.count(name))
    return fallback;
  const auto v = vm[name].as<std::int64_t>();
  if (v < min || v > max) {
    throw failure(exit_usage, "--" + std::string(name) + " must be between " + std::to_string(min) +
                                  " and " + std::to_string(max) + ", got " + std::to_string(v));
  }
  return v;
}

common_args read_common(const po::variables_map& vm) {
  std::string password;
  const bool password_file = vm.count("db-password-file") > 0;
  if (password_file) {
    password = read_file(vm["db-password-file"].as<std::string>(), "--db-password-file");
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r'))
      password.pop_back();
    add_secret(password);
  } else if (const char* env = std::getenv("TXOUTBOX_DB_PASSWORD"); env != nullptr) {
    password = env;
    add_secret(password);
  }
  std::string url;
  if (vm.count("db")) {
    url = vm["db"].as<std::string>();
  } else if (const char* env = std::getenv("TXOUTBOX_DB_URL"); env != nullptr) {
    url = env;
  }
  common_args out;
  out.db = parse_database_url(url);
  apply_password(out.db, password, password_file);
  if (vm.count("schema")) {
    out.schema = vm["schema"].as<std::string>();
    try {
      check_identifier(out.schema, "schema");
    } catch (const usage_error& e) {
      throw failure(exit_usage, std::string("--schema: ") + e.what());
    }
  } else if (out.db.scheme == db_scheme::postgresql) {
    out.schema = "txoutbox";
  }
  return out;
}

std::string help_text(const std::string& usage, const po::options_description& desc) {
  std::ostringstream out;
  out << usage << "\n" << desc;
  return out.str();
}

// -- migrate ---------------------------------------------------------------------------

command parse_migrate(const std::vector<std::string>& args) {
  po::options_description desc = common_description();
  po::options_description own("migrate options");
  own.add_options()("partitions", po::value<std::int64_t>(),
                    "partition count N, stored on first migration (1..4096; default 16 on "
                    "servers, 1 on SQLite)");
  desc.add(own);
  po::variables_map vm;
  po::store(parse_args(args, desc), vm);
  if (vm.count("help"))
    return help_request{help_text("usage: txoutbox migrate --db URL [--partitions N]", desc)};
  migrate_args out;
  out.common = read_common(vm);
  out.partitions = static_cast<std::uint32_t>(int_flag(vm, "partitions", 1, 4096, 0));
  return out;
}

// -- enqueue ---------------------------------------------------------------------------

command parse_enqueue(const std::vector<std::string>& args) {
  po::options_description desc = common_description();
  po::options_description own("enqueue options");
  own.add_options()("aggregate-type", po::value<std::string>(),
                    "routing: topic / stream family (required)")(
      "aggregate-id", po::value<std::string>(), "ordering key (required)")(
      "type", po::value<std::string>(), "event type, e.g. OrderPlaced (required)")(
      "payload", po::value<std::string>(), "JSON payload (required)")(
      "header", po::value<std::vector<std::string>>()->composing(),
      "header name=value (repeatable)")("id", po::value<std::string>(),
                                        "message id (UUID); default: a new UUIDv7")(
      "deliver-after-ms", po::value<std::int64_t>(),
      "publish no earlier than now + N ms (database clock)");
  desc.add(own);
  po::variables_map vm;
  po::store(parse_args(args, desc), vm);
  if (vm.count("help")) {
    return help_request{help_text(
        "usage: txoutbox enqueue --db URL --aggregate-type T --aggregate-id K --type E --payload "
        "JSON\n"
        "                        [--header name=value]... [--id UUID] [--deliver-after-ms N]",
        desc)};
  }
  enqueue_args out;
  for (const char* required : {"aggregate-type", "aggregate-id", "type", "payload"}) {
    if (!vm.count(required))
      throw failure(exit_usage, "--" + std::string(required) + " is required");
  }
  message& m = out.msg;
  m.aggregate_type = vm["aggregate-type"].as<std::string>();
  m.aggregate_id = vm["aggregate-id"].as<std::string>();
  m.type = vm["type"].as<std::string>();
  m.payload = vm["payload"].as<std::string>();
  if (vm.count("header")) {
    for (const auto& h : vm["header"].as<std::vector<std::string>>()) {
      const auto eq = h.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw failure(exit_usage, "--header expects name=value, got '" + h + "'");
      }
      const auto [it, inserted] = m.headers.emplace(h.substr(0, eq), h.substr(eq + 1));
      if (!inserted)
        throw failure(exit_usage, "--header '" + it->first + "' given twice");
    }
  }
  if (vm.count("id")) {
    const auto id = message_id::try_parse(vm["id"].as<std::string>());
    if (!id || id->is_nil()) {
      throw failure(exit_usage, "--id: '" + vm["id"].as<std::string>() + "' is not a UUID");
    }
    m.id = *id;
  }
  if (vm.count("deliver-after-ms")) {
    m.deliver_after = std::chrono::milliseconds(
        int_flag(vm, "deliver-after-ms", 0, std::numeric_limits<std::int32_t>::max(), 0));
  }
  try {
    validate(m);
  } catch (const usage_error& e) {
    throw failure(exit_usage, std::string("invalid message: ") + e.what());
  }
  out.common = read_common(vm);
  return out;
}

// -- relay -----------------------------------------------------------------------------

/// Turns the --config JSON object into "--key=value" tokens for the same parser, so the
/// file obeys exactly the flags' names, types and checks.
std::vector<std::string> config_tokens(const std::string& path,
                                       const po::options_description& desc) {
  const std::string text = read_file(path, "--config");
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(text.c_str(),
                                                                                    text.size());
  if (doc.HasParseError()) {
    throw failure(exit_usage, "--config " + path + ": invalid JSON at offset " +
                                  std::to_string(doc.GetErrorOffset()) + ": " +
                                  rapidjson::GetParseError_En(doc.GetParseError()));
  }
  if (!doc.IsObject())
    throw failure(exit_usage, "--config " + path + ": expected a JSON object");
  std::vector<std::string> tokens;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    std::string key(it->name.GetString(), it->name.GetStringLength());
    for (char& c : key) {
      if (c == '_')
        c = '-';
    }
    if (key == "config" || key == "help" || desc.find_nothrow(key, false) == nullptr) {
      throw failure(exit_usage, "--config " + path + ": unknown key '" + key + "'");
    }
    const rapidjson::Value& v = it->value;
    auto scalar = [&](const rapidjson::Value& x) -> std::string {
      if (x.IsString())
        return std::string(x.GetString(), x.GetStringLength());
      if (x.IsInt64())
        return std::to_string(x.GetInt64());
      if (x.IsBool())
        return x.GetBool() ? "true" : "false";
      throw failure(exit_usage,
                    "--config " + path + ": key '" + key + "' must be a string or an integer");
    };
    if (v.IsArray()) {
      for (const auto& item : v.GetArray())
        tokens.push_back("--" + key + "=" + scalar(item));
    } else if (v.IsObject() && key == "publisher-opt") {
      for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
        tokens.push_back("--" + key + "=" +
                         std::string(m->name.GetString(), m->name.GetStringLength()) + "=" +
                         scalar(m->value));
      }
    } else {
      tokens.push_back("--" + key + "=" + scalar(v));
    }
  }
  return tokens;
}

log_level parse_level(const std::string& text) {
  if (text == "debug")
    return log_level::debug;
  if (text == "info")
    return log_level::info;
  if (text == "warn" || text == "warning")
    return log_level::warn;
  if (text == "error")
    return log_level::error;
  throw failure(exit_usage, "--log-level must be debug, info, warn or error, got '" + text + "'");
}

command parse_relay(const std::vector<std::string>& args) {
  po::options_description desc = common_description();
  po::options_description own("relay options");
  own.add_options()("config", po::value<std::string>(),
                    "JSON file with any of these options as keys (flags win)")(
      "publisher", po::value<std::string>(),
      ("where to publish (required): " + available_publishers()).c_str())(
      "publisher-opt", po::value<std::vector<std::string>>()->composing(),
      "publisher option key=value (repeatable; the keys of each publisher are in "
      "docs/cli.md); secrets only through *-env / *-file keys")(
      "threads", po::value<std::int64_t>(), "worker threads (default 2)")(
      "batch", po::value<std::int64_t>(),
      "max messages claimed per partition per batch (default 100)")(
      "poll-ms", po::value<std::int64_t>(), "claim at least this often, ms (default 500)")(
      "max-attempts", po::value<std::int64_t>(),
      "failed attempts before dead-lettering (default 10)")("backoff-ms", po::value<std::int64_t>(),
                                                            "first retry delay, ms (default 200)")(
      "backoff-max-ms", po::value<std::int64_t>(), "retry delay cap, ms (default 60000)")(
      "probe-ms", po::value<std::int64_t>(),
      "while a destination is down, probe it this often, ms (default 500)")(
      "lease-ms", po::value<std::int64_t>(),
      "partition lease and heartbeat lifetime, ms (default 10000)")(
      "partitions", po::value<std::int64_t>(),
      "expected partition count; 0 = the database's (default)")(
      "owner", po::value<std::string>(), "stable name of this relay (default host:pid:random)")(
      "stop-timeout-ms", po::value<std::int64_t>(),
      "budget for a clean stop on SIGINT/SIGTERM (default 10000)")(
      "log-level", po::value<std::string>(), "debug, info, warn or error (default info)");
  desc.add(own);
  po::variables_map vm;
  po::store(parse_args(args, desc), vm);  // first store wins: flags override the file
  if (vm.count("help")) {
    return help_request{
        help_text("usage: txoutbox relay --db URL --publisher URI [options]", desc)};
  }
  if (vm.count("config")) {
    po::store(parse_args(config_tokens(vm["config"].as<std::string>(), desc), desc), vm);
  }
  relay_args out;
  std::map<std::string, std::string> publisher_opts;
  if (vm.count("publisher-opt")) {
    for (const auto& o : vm["publisher-opt"].as<std::vector<std::string>>()) {
      const auto eq = o.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw failure(exit_usage, "--publisher-opt expects key=value, got '" + o + "'");
      }
      publisher_opts[o.substr(0, eq)] = o.substr(eq + 1);
    }
  }
  out.publisher = parse_publisher_uri(
      vm.count("publisher") ? vm["publisher"].as<std::string>() : "", publisher_opts);
  relay_options& r = out.relay;
  constexpr std::int64_t day_ms = 24LL * 3600 * 1000;
  r.threads = static_cast<std::size_t>(int_flag(vm, "threads", 1, 256, 2));
  r.batch_size = static_cast<std::size_t>(int_flag(vm, "batch", 1, 100'000, 100));
  r.poll_interval = std::chrono::milliseconds(int_flag(vm, "poll-ms", 1, day_ms, 500));
  r.max_attempts = static_cast<std::uint32_t>(int_flag(vm, "max-attempts", 1, 1'000'000, 10));
  r.backoff_initial = std::chrono::milliseconds(int_flag(vm, "backoff-ms", 0, day_ms, 200));
  r.backoff_max = std::chrono::milliseconds(int_flag(vm, "backoff-max-ms", 0, day_ms, 60'000));
  r.probe_interval = std::chrono::milliseconds(int_flag(vm, "probe-ms", 1, day_ms, 500));
  r.lease_ttl = std::chrono::milliseconds(int_flag(vm, "lease-ms", 100, day_ms, 10'000));
  r.partitions = static_cast<std::uint32_t>(int_flag(vm, "partitions", 0, 4096, 0));
  if (r.backoff_max < r.backoff_initial) {
    throw failure(exit_usage, "--backoff-max-ms must not be below --backoff-ms");
  }
  if (vm.count("owner")) {
    r.owner = vm["owner"].as<std::string>();
    if (r.owner.empty() || !is_clean_utf8(r.owner) || r.owner.size() > 200) {
      throw failure(exit_usage, "--owner must be 1..200 bytes of UTF-8");
    }
  }
  out.stop_timeout = std::chrono::milliseconds(int_flag(vm, "stop-timeout-ms", 0, day_ms, 10'000));
  if (vm.count("log-level"))
    out.min_level = parse_level(vm["log-level"].as<std::string>());
  out.common = read_common(vm);
  return out;
}

// -- status ----------------------------------------------------------------------------

command parse_status(const std::vector<std::string>& args) {
  po::options_description desc = common_description();
  po::options_description own("status options");
  own.add_options()("json", "print one JSON object (schema in docs/cli.md)");
  desc.add(own);
  po::variables_map vm;
  po::store(parse_args(args, desc), vm);
  if (vm.count("help"))
    return help_request{help_text("usage: txoutbox status --db URL [--json]", desc)};
  status_args out;
  out.json = vm.count("json") > 0;
  out.common = read_common(vm);
  return out;
}

// -- dead ------------------------------------------------------------------------------

constexpr const char* dead_usage =
    "usage: txoutbox dead list    --db URL [--limit N] [--json]\n"
    "       txoutbox dead requeue --db URL (--id UUID... | --all)\n"
    "       txoutbox dead purge   --db URL (--id UUID... | --all)\n";

command parse_dead(const std::vector<std::string>& args) {
  if (args.empty())
    throw failure(exit_usage, "dead: missing action: list, requeue or purge");
  const std::string& action = args.front();
  if (action == "--help" || action == "-h" || action == "help") {
    po::options_description desc = common_description();
    return help_request{help_text(dead_usage, desc)};
  }
  dead_args out;
  if (action == "list") {
    out.action = dead_action::list;
  } else if (action == "requeue") {
    out.action = dead_action::requeue;
  } else if (action == "purge") {
    out.action = dead_action::purge;
  } else {
    throw failure(exit_usage,
                  "dead: unknown action '" + action + "' (expected list, requeue or purge)");
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  po::options_description desc = common_description();
  po::options_description own("dead " + action + " options");
  if (out.action == dead_action::list) {
    own.add_options()("limit", po::value<std::int64_t>(),
                      "at most N dead letters, oldest first (1..100000, default 100)")(
        "json", "print one JSON array (schema in docs/cli.md)");
  } else {
    own.add_options()("id", po::value<std::vector<std::string>>()->composing(),
                      "a dead letter's message id (repeatable)")(
        "all", ("every dead letter (instead of --id)"));
  }
  desc.add(own);
  po::variables_map vm;
  po::store(parse_args(rest, desc), vm);
  if (vm.count("help"))
    return help_request{help_text(dead_usage, desc)};
  if (out.action == dead_action::list) {
    out.limit = static_cast<std::size_t>(int_flag(vm, "limit", 1, 100'000, 100));
    out.json = vm.count("json") > 0;
  } else {
    out.all = vm.count("all") > 0;
    if (vm.count("id")) {
      for (const auto& text : vm["id"].as<std::vector<std::string>>()) {
        const auto id = message_id::try_parse(text);
        if (!id || id->is_nil())
          throw failure(exit_usage, "--id: '" + text + "' is not a UUID");
        out.ids.push_back(*id);
      }
    }
    if (out.all && !out.ids.empty())
      throw failure(exit_usage, "dead " + action + ": give --id or --all, not both");
    if (!out.all && out.ids.empty())
      throw failure(exit_usage, "dead " + action + ": give at least one --id, or --all");
  }
  out.common = read_common(vm);
  return out;
}

}  // namespace

std::string common_args::label() const {
  if (!schema.empty())
    return schema;
  switch (db.scheme) {
    case db_scheme::sqlite:
      return "main";
    case db_scheme::mysql:
      return db.url_database;
    case db_scheme::postgresql:
      break;
  }
  return "txoutbox";
}

command parse_command_line(int argc, const char* const argv[]) {
  if (argc < 2)
    throw failure(exit_usage, "missing command (try 'txoutbox --help')");
  const std::string name = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (name == "--help" || name == "-h" || name == "help")
    return help_request{top_usage};
  if (name == "--version")
    return help_request{std::string("txoutbox ") + TXOUTBOX_VERSION_STRING + "\n"};
  try {
    if (name == "migrate")
      return parse_migrate(args);
    if (name == "enqueue")
      return parse_enqueue(args);
    if (name == "relay")
      return parse_relay(args);
    if (name == "status")
      return parse_status(args);
    if (name == "dead")
      return parse_dead(args);
  } catch (const po::error& e) {
    throw failure(exit_usage, name + ": " + e.what());
  }
  if (name.starts_with("-"))
    throw failure(exit_usage, "expected a command before '" + name + "' (try 'txoutbox --help')");
  throw failure(exit_usage, "unknown command '" + name + "' (try 'txoutbox --help')");
}

}  // namespace txoutbox::cli
