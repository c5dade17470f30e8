# Install rules and the CMake package (filled in by the build infrastructure work).
include_guard(GLOBAL)
