// cmd_status: `txoutbox status` prints backlog, oldest age, dead letters, owners and leases.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <iomanip>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "database.hpp"

namespace txoutbox::cli {
namespace {

const char* backend_name(db_scheme scheme) {
  switch (scheme) {
    case db_scheme::sqlite:
      return "sqlite";
    case db_scheme::mysql:
      return "mysql";
    case db_scheme::postgresql:
      break;
  }
  return "postgresql";
}

struct snapshot {
  store_stats stats;
  std::vector<std::string> owners;
  std::vector<lease_info> leases;
};

void print_json(const status_args& args, const snapshot& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("schema");
  w.String(args.common.label().c_str());
  w.Key("backend");
  w.String(backend_name(args.common.db.scheme));
  w.Key("partitions");
  w.Uint(s.stats.partitions);
  w.Key("backlog");
  w.Int64(s.stats.backlog);
  w.Key("oldest_age_ms");
  if (s.stats.oldest_age) {
    w.Int64(s.stats.oldest_age->count());
  } else {
    w.Null();
  }
  w.Key("dead_letters");
  w.Int64(s.stats.dead_letters);
  w.Key("live_owners");
  w.StartArray();
  for (const auto& o : s.owners)
    w.String(o.c_str());
  w.EndArray();
  w.Key("leases");
  w.StartArray();
  for (const auto& l : s.leases) {
    w.StartObject();
    w.Key("partition");
    w.Uint(l.partition);
    w.Key("owner");
    if (l.owner.empty()) {
      w.Null();
    } else {
      w.String(l.owner.c_str());
    }
    w.Key("epoch");
    w.Uint64(l.epoch);
    w.Key("expires_in_ms");
    w.Int64(l.expires_in.count());
    w.Key("live");
    w.Bool(!l.owner.empty() && l.expires_in.count() > 0);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::cout << buf.GetString() << '\n';
}

std::string age_text(std::chrono::milliseconds age) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << static_cast<double>(age.count()) / 1000.0 << " s";
  return out.str();
}

void print_text(const status_args& args, const snapshot& s) {
  std::cout << "schema:        " << args.common.label() << " ("
            << backend_name(args.common.db.scheme) << ", " << s.stats.partitions << " partitions)\n"
            << "backlog:       " << s.stats.backlog << "\n"
            << "oldest:        "
            << (s.stats.oldest_age ? age_text(*s.stats.oldest_age) : std::string("-")) << "\n"
            << "dead letters:  " << s.stats.dead_letters << "\n"
            << "live owners:   " << s.owners.size();
  for (std::size_t i = 0; i < s.owners.size(); ++i)
    std::cout << (i == 0 ? " (" : ", ") << s.owners[i];
  std::cout << (s.owners.empty() ? "" : ")") << "\n";
  std::cout << "leases:\n  " << std::left << std::setw(10) << "partition" << std::setw(40)
            << "owner" << std::setw(8) << "epoch"
            << "expires in\n";
  for (const auto& l : s.leases) {
    std::string expiry = l.owner.empty()            ? "-"
                         : l.expires_in.count() > 0 ? age_text(l.expires_in)
                                                    : "expired";
    std::cout << "  " << std::setw(10) << l.partition << std::setw(40)
              << (l.owner.empty() ? "-" : l.owner) << std::setw(8) << l.epoch << expiry << "\n";
  }
}

}  // namespace

int run_status(const status_args& args) {
  auto store = open_store(args.common);
  snapshot s;
  try {
    s.stats = store->stats();
    s.owners = store->live_owners();
    s.leases = store->leases();
  } catch (...) {
    rethrow_store_error("status of " + args.common.label());
  }
  if (args.json) {
    print_json(args, s);
  } else {
    print_text(args, s);
  }
  return std::cout.flush() ? 0 : 1;
}

}  // namespace txoutbox::cli
