// Test-server discovery: URLs of the servers the CTest fixtures started.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace txoutbox::testing {

/// The URL of a test server: the environment variable `env_var` (e.g.
/// TXOUTBOX_TEST_PG_URL) when set, else the file <TXOUTBOX_TEST_SERVERS_DIR>/<name>.url
/// written by the CTest fixture (name "pg", "mysql", "redis", "nats"). nullopt when neither.
std::optional<std::string> server_url(std::string_view name, std::string_view env_var);

/// True when running under CI (CI=true): a missing server must fail the test, not skip.
bool running_under_ci() noexcept;

/// A name unique to this process and call, usable as a SQL identifier
/// ("t_<pid>_<counter>_<random>"), for per-test schemas and databases.
std::string unique_name(std::string_view prefix = "t");

}  // namespace txoutbox::testing
