// cmd_dead: `txoutbox dead list|requeue|purge` over the store's dead-letter operations.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <set>

#include "commands.hpp"
#include "core/time_text.hpp"
#include "database.hpp"
#include "output.hpp"

namespace txoutbox::cli {
namespace {

void print_list_json(const std::vector<dead_letter_record>& letters) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](const std::string& s) {
    w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  };
  w.StartArray();
  for (const auto& d : letters) {
    const message& m = d.record.msg;
    w.StartObject();
    w.Key("id");
    str(m.id.to_string());
    w.Key("aggregatetype");
    str(m.aggregate_type);
    w.Key("aggregateid");
    str(m.aggregate_id);
    w.Key("type");
    str(m.type);
    w.Key("payload");
    rapidjson::Document payload;
    payload.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
        m.payload.c_str(), m.payload.size());
    if (payload.HasParseError()) {
      str(m.payload);  // a row written by plain SQL may hold anything: keep it as text
    } else {
      payload.Accept(w);
    }
    w.Key("headers");
    w.StartObject();
    for (const auto& [name, value] : m.headers) {
      str(name);
      str(value);
    }
    w.EndObject();
    w.Key("attempts");
    w.Int(d.record.attempts);
    w.Key("reason");
    str(d.reason);
    w.Key("created_at");
    str(txoutbox::detail::rfc3339(d.record.created_at));
    w.Key("failed_at");
    str(txoutbox::detail::rfc3339(d.failed_at));
    w.EndObject();
  }
  w.EndArray();
  std::cout << buf.GetString() << '\n';
}

void print_list_text(const std::vector<dead_letter_record>& letters, std::size_t limit) {
  std::cout << letters.size() << " dead letter" << (letters.size() == 1 ? "" : "s")
            << (letters.size() == limit ? " (limit reached; --limit N shows more)" : "") << "\n";
  for (const auto& d : letters) {
    const message& m = d.record.msg;
    // The reason comes from a broker or the relay: scrubbed like any printed text.
    std::cout << m.id.to_string() << "  " << m.aggregate_type << "/" << m.aggregate_id << "  "
              << m.type << "  attempts " << d.record.attempts << "  failed "
              << txoutbox::detail::rfc3339(d.failed_at) << "  " << sanitize(d.reason) << "\n";
  }
}

}  // namespace

int run_dead(const dead_args& args) {
  auto st = open_store(args.common);
  const std::string where = args.common.label();
  try {
    switch (args.action) {
      case dead_action::list: {
        const auto letters = st->dead_letters(args.limit);
        if (args.json) {
          print_list_json(letters);
        } else {
          print_list_text(letters, args.limit);
        }
        break;
      }
      case dead_action::requeue:
      case dead_action::purge: {
        const bool requeue = args.action == dead_action::requeue;
        const std::span<const message_id> ids(args.ids);
        const std::size_t n = requeue ? st->requeue_dead_letters(ids) : st->purge_dead_letters(ids);
        std::cout << (requeue ? "requeued " : "purged ") << n << " dead letter"
                  << (n == 1 ? "" : "s");
        if (!args.all) {
          const std::set<message_id> distinct(args.ids.begin(), args.ids.end());
          if (n < distinct.size())
            std::cout << " (" << distinct.size() - n << " of the given ids not found)";
        }
        std::cout << "\n";
        break;
      }
    }
  } catch (...) {
    rethrow_store_error("dead letters of " + where);
  }
  return std::cout.flush() ? 0 : 1;
}

}  // namespace txoutbox::cli
