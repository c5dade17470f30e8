# CTest fixtures that start each test server once per run (filled in by the test kit).
include_guard(GLOBAL)
set(TXOUTBOX_TEST_SERVERS_DIR "${PROJECT_BINARY_DIR}/test-servers")
