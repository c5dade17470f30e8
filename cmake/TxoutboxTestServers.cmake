# CTest fixtures that start each test server once per ctest run and stop it at the end.
#
# A fixture <name> is a pair of tests, server.<name>.start (FIXTURES_SETUP <name>) and
# server.<name>.stop (FIXTURES_CLEANUP <name>), running `<script> start|stop <dir>`. The
# script writes the server's URL to <dir>/<name>.url, which txoutbox::testing::server_url()
# reads (tests get TXOUTBOX_TEST_SERVERS_DIR=<dir> from txoutbox_test()). A test needing the
# server declares FIXTURES_REQUIRED <name>; `ctest -R` pulls the start/stop tests in by itself.
# A script must honour TXOUTBOX_TEST_<NAME>_URL (write it, start nothing) and must exit
# non-zero when CI=true and the server cannot run, so a missing server fails instead of
# skipping. Adding MariaDB, Redis or NATS is one line each:
#   txoutbox_add_server_fixture(mysql ${PROJECT_SOURCE_DIR}/tests/servers/mariadb.sh)
include_guard(GLOBAL)

set(TXOUTBOX_TEST_SERVERS_DIR "${PROJECT_BINARY_DIR}/test-servers")

# txoutbox_add_server_fixture(name script): the fixture `name` run by `script`.
function(txoutbox_add_server_fixture name script)
  if(TEST server.${name}.start)
    return()
  endif()
  find_program(TXOUTBOX_BASH bash REQUIRED)
  add_test(NAME server.${name}.start
           COMMAND ${TXOUTBOX_BASH} ${script} start ${TXOUTBOX_TEST_SERVERS_DIR})
  add_test(NAME server.${name}.stop
           COMMAND ${TXOUTBOX_BASH} ${script} stop ${TXOUTBOX_TEST_SERVERS_DIR})
  set_tests_properties(server.${name}.start PROPERTIES
    FIXTURES_SETUP ${name} TIMEOUT 180 LABELS "server")
  set_tests_properties(server.${name}.stop PROPERTIES
    FIXTURES_CLEANUP ${name} TIMEOUT 120 LABELS "server")
endfunction()

if(TXOUTBOX_HAVE_POSTGRES)
  txoutbox_add_server_fixture(pg ${PROJECT_SOURCE_DIR}/tests/servers/postgres.sh)
endif()
if(TXOUTBOX_HAVE_REDIS)
  txoutbox_add_server_fixture(redis ${PROJECT_SOURCE_DIR}/tests/servers/redis.sh)
endif()
if(TXOUTBOX_HAVE_NATS)
  txoutbox_add_server_fixture(nats ${PROJECT_SOURCE_DIR}/tests/servers/nats.sh)
endif()
if(TXOUTBOX_HAVE_SOCI)
  txoutbox_add_server_fixture(mysql ${PROJECT_SOURCE_DIR}/tests/servers/mariadb.sh)
endif()

# Unit tests of the discovery side (txoutbox::testing::server_url & co.), next to the scripts.
if(COMMAND catch_discover_tests AND TARGET txoutbox::testing)
  add_executable(unit_servers ${PROJECT_SOURCE_DIR}/tests/servers/test_servers.cpp)
  target_link_libraries(unit_servers PRIVATE txoutbox::testing Catch2::Catch2WithMain)
  txoutbox_warnings(unit_servers)
  catch_discover_tests(unit_servers TEST_PREFIX "unit_servers: ")
endif()
