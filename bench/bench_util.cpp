// Shared benchmark plumbing: medians, the results table and the PostgreSQL load helpers.
#include "bench_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <pqxx/pqxx>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "txoutbox/postgres/migrate.hpp"

namespace txoutbox::bench {
namespace {

const steady::time_point program_start = steady::now();

std::string pad(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

std::string ratio_text(const result_row& row) {
  return row.ratio ? fmt(*row.ratio) + "x" : std::string("-");
}

std::string met_text(const result_row& row) {
  if (!row.met)
    return row.target.empty() ? "" : "(reported)";
  return *row.met ? "met" : "MISSED";
}

/// Rows generated once per run; larger backlogs are made of several shifted copies.
constexpr long stage_rows = 1'000'000;

}  // namespace

bool settings::wants(const std::string& section) const {
  return only.empty() || std::find(only.begin(), only.end(), section) != only.end();
}

double median(std::vector<double> values) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double percentile(std::vector<double> values, double q) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  rank = std::clamp<std::size_t>(rank, 1, values.size());
  return values[rank - 1];
}

double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

std::string fmt(double v) {
  char buffer[64];
  const double a = std::fabs(v);
  if (a >= 1000 || v == 0)
    std::snprintf(buffer, sizeof buffer, "%.0f", v);
  else if (a >= 100)
    std::snprintf(buffer, sizeof buffer, "%.1f", v);
  else if (a >= 1)
    std::snprintf(buffer, sizeof buffer, "%.2f", v);
  else
    std::snprintf(buffer, sizeof buffer, "%.3g", v);
  return buffer;
}

void progress(const std::string& line) {
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "[%7.1fs] ", seconds_since(program_start));
  std::cerr << stamp << line << std::endl;
}

void results::add(result_row row) {
  if (!row.ratio && !row.baseline_name.empty() && row.baseline_value != 0)
    row.ratio = row.value / row.baseline_value;
  progress("  => " + row.section + " | " + row.name + " = " + fmt(row.value) + " " + row.unit +
           (row.ratio ? "  (" + ratio_text(row) + " of " + row.baseline_name + ")" : ""));
  rows_.push_back(std::move(row));
}

void results::compare(const std::string& section, const std::string& name, double value,
                      const std::string& unit, const std::string& baseline_name, double baseline,
                      const std::string& target, std::optional<bool> met, const std::string& note) {
  add(result_row{.section = section,
                 .name = name,
                 .value = value,
                 .unit = unit,
                 .baseline_name = baseline_name,
                 .baseline_value = baseline,
                 .target = target,
                 .met = met,
                 .note = note});
}

void results::print_text() const {
  std::size_t w_name = 11, w_base = 8;
  for (const auto& row : rows_) {
    w_name = std::max(w_name, row.section.size() + 3 + row.name.size());
    w_base = std::max(w_base, row.baseline_name.size());
  }
  std::ostringstream out;
  out << pad("measurement", w_name) << "  " << pad("median", 10) << pad("unit", 10)
      << pad("baseline", w_base) << "  " << pad("baseline", 10) << pad("ratio", 9) << "target\n";
  out << std::string(w_name + w_base + 60, '-') << "\n";
  std::string section;
  for (const auto& row : rows_) {
    if (row.section != section && !section.empty())
      out << "\n";
    section = row.section;
    out << pad(row.section + " | " + row.name, w_name) << "  " << pad(fmt(row.value), 10)
        << pad(row.unit, 10) << pad(row.baseline_name, w_base) << "  "
        << pad(row.baseline_name.empty() ? "" : fmt(row.baseline_value), 10)
        << pad(ratio_text(row), 9) << row.target << (row.target.empty() ? "" : " ") << met_text(row)
        << (row.note.empty() ? "" : "  " + row.note) << "\n";
  }
  for (const auto& n : notes_)
    out << n << "\n";
  std::cout << out.str() << std::flush;
}

std::string results::markdown() const {
  std::ostringstream out;
  out << "| section | measurement | median | unit | baseline (same run) | baseline median | "
         "ratio | target |\n";
  out << "| --- | --- | ---: | --- | --- | ---: | ---: | --- |\n";
  for (const auto& row : rows_) {
    out << "| " << row.section << " | " << row.name << " | " << fmt(row.value) << " | " << row.unit
        << " | " << row.baseline_name << " | "
        << (row.baseline_name.empty() ? "" : fmt(row.baseline_value)) << " | " << ratio_text(row)
        << " | " << row.target << (row.target.empty() ? "" : " ") << met_text(row)
        << (row.note.empty() ? "" : " " + row.note) << " |\n";
  }
  for (const auto& n : notes_)
    out << "\n" << n << "\n";
  return out.str();
}

void pg_exec(pqxx::connection& conn, const std::string& sql) {
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

std::string pg_value(pqxx::connection& conn, const std::string& sql) {
  pqxx::nontransaction tx(conn);
  const auto r = tx.exec(sql);
  return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].c_str();
}

void fresh_schema(pqxx::connection& conn, const std::string& schema, std::uint32_t partitions) {
  pg_exec(conn, "DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
  txoutbox::postgres::migrate(conn, {.schema = schema, .partitions = partitions});
}

std::string url_for_db(const std::string& url, const std::string& db) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos)
    throw std::runtime_error("--pg must be a postgresql:// URI");
  const auto query = url.find('?', scheme + 3);
  const auto host_end = url.find('/', scheme + 3);
  const auto path_start = host_end == std::string::npos || host_end > query ? query : host_end;
  const auto head = url.substr(0, path_start == std::string::npos ? url.size() : path_start);
  const auto tail = query == std::string::npos ? std::string() : url.substr(query);
  return head + "/" + db + tail;
}

std::string outbox(const std::string& schema) {
  return "\"" + schema + "\".outbox";
}

std::string order_payload(long n) {
  return R"({"order_id":)" + std::to_string(n) + R"(,"customer":"c)" + std::to_string(n % 1000) +
         R"(","total":)" + std::to_string(n % 10000) + R"(.5,"currency":"EUR","lines":3})";
}

void ensure_stage(pqxx::connection& conn) {
  if (pg_value(conn, "SELECT to_regclass('bench_stage.rows') IS NOT NULL") == "t")
    return;
  const auto start = steady::now();
  pg_exec(conn, "CREATE SCHEMA IF NOT EXISTS bench_stage");
  // The columns the writer would write: a UUIDv7-shaped id (48-bit ms timestamp, version
  // 7, variant 10, md5 bits), one order id per row as the aggregate id, a JSON payload
  // like the writer benchmark's, consecutive seq values.
  pg_exec(conn,
          "CREATE TABLE bench_stage.rows AS "
          "SELECT (lpad(to_hex(b.ms + g / 1000), 12, '0') || '7' || substr(h.h, 1, 3) || "
          "'8' || substr(h.h, 4, 15))::uuid AS id, "
          "('{\"order_id\":' || g || ',\"customer\":\"c' || (g % 1000) || "
          "'\",\"total\":' || (g % 10000) || '.5,\"currency\":\"EUR\",\"lines\":3}')::jsonb "
          "AS payload, g AS seq "
          "FROM (SELECT floor(extract(epoch FROM now()) * 1000)::bigint AS ms) b, "
          "generate_series(1::bigint, " +
              std::to_string(stage_rows) + "::bigint) g, LATERAL (SELECT md5(g::text) AS h) h");
  pg_exec(conn, "VACUUM ANALYZE bench_stage.rows");
  progress("generated " + std::to_string(stage_rows) + " staging rows in " +
           fmt(seconds_since(start)) + " s (once per run)");
}

double preload(pqxx::connection& conn, const std::string& schema, long rows) {
  ensure_stage(conn);
  const auto start = steady::now();
  const auto table = outbox(schema);
  pg_exec(conn, "SET maintenance_work_mem = '512MB'");
  pg_exec(conn, "TRUNCATE " + table);
  // Every index as shipped, dropped for the load and rebuilt after it.
  std::vector<std::string> index_defs;
  {
    pqxx::nontransaction tx(conn);
    for (const auto& row :
         tx.exec_params("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND "
                        "tablename = 'outbox' AND indexname <> 'outbox_pkey' ORDER BY indexname",
                        schema)) {
      index_defs.push_back(row[1].c_str());
      tx.exec("DROP INDEX \"" + schema + "\".\"" + std::string(row[0].c_str()) + "\"");
    }
    tx.exec("ALTER TABLE " + table + " DROP CONSTRAINT outbox_pkey");
  }
  // Copy k of the staging table (k = 0, 1, ... for backlogs above its size): copy k gets
  // its own seq range, aggregate ids and ids (first hex digit of the id = k). The database
  // computes partition_no from the aggregate id as for any insert.
  const auto s = std::to_string(stage_rows);
  pg_exec(conn,
          "INSERT INTO " + table +
              " (id, aggregatetype, aggregateid, type, payload, headers, seq, created_at, "
              "available_at) "
              "SELECT CASE WHEN k = 0 THEN r.id ELSE (to_hex(k) || substr(r.id::text, 2))::uuid "
              "END, 'order', 'order-' || (r.seq + k * " +
              s +
              "), 'OrderPlaced', r.payload, "
              "'{}'::jsonb, r.seq + k * " +
              s +
              ", now(), now() "
              "FROM generate_series(0, 15) k JOIN bench_stage.rows r "
              "ON r.seq + k * " +
              s + " <= " + std::to_string(rows) + " ORDER BY k, r.seq");
  pg_exec(conn, "ALTER TABLE " + table + " ADD CONSTRAINT outbox_pkey PRIMARY KEY (id)");
  for (const auto& def : index_defs)
    pg_exec(conn, def);
  pg_exec(conn,
          "ALTER TABLE " + table + " ALTER COLUMN seq RESTART WITH " + std::to_string(rows + 1));
  pg_exec(conn, "VACUUM ANALYZE " + table);
  pg_exec(conn, "CHECKPOINT");
  return seconds_since(start);
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = steady::now() + limit;
  while (!done()) {
    if (steady::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace txoutbox::bench
