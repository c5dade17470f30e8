# Helpers shared by every txoutbox CMake file: component options, warnings, sanitizers.
include_guard(GLOBAL)

set_property(GLOBAL PROPERTY TXOUTBOX_COMPONENTS "")

# txoutbox_component_option(NAME doc default): cache variable TXOUTBOX_WITH_<NAME> = ON/OFF/AUTO.
function(txoutbox_component_option name doc default)
  set(TXOUTBOX_WITH_${name} "${default}" CACHE STRING "Build the ${doc} component (ON/OFF/AUTO)")
  set_property(CACHE TXOUTBOX_WITH_${name} PROPERTY STRINGS ON OFF AUTO)
  set_property(GLOBAL APPEND PROPERTY TXOUTBOX_COMPONENTS ${name})
  set(TXOUTBOX_HAVE_${name} OFF PARENT_SCOPE)
endfunction()

# txoutbox_resolve_component(NAME <condition...>): sets TXOUTBOX_HAVE_<NAME> in the caller,
# failing when the component is ON but its dependencies are missing.
macro(txoutbox_resolve_component name)
  if(${ARGN})
    set(TXOUTBOX_HAVE_${name} ON)
  else()
    set(TXOUTBOX_HAVE_${name} OFF)
    if(TXOUTBOX_WITH_${name} STREQUAL "ON")
      message(FATAL_ERROR "TXOUTBOX_WITH_${name}=ON but its dependencies were not found")
    endif()
  endif()
endmacro()

# txoutbox_pkg_component(NAME PREFIX MODULE DIR): a component whose one dependency is the
# pkg-config MODULE (imported as PkgConfig::<PREFIX>); adds DIR when it is built. A macro,
# so the imported target and TXOUTBOX_HAVE_<NAME> land in the caller's scope.
macro(txoutbox_pkg_component name prefix module dir)
  if(NOT TXOUTBOX_WITH_${name} STREQUAL "OFF")
    if(PkgConfig_FOUND)
      pkg_check_modules(${prefix} IMPORTED_TARGET ${module})
    endif()
    txoutbox_resolve_component(${name} ${prefix}_FOUND)
  endif()
  if(TXOUTBOX_HAVE_${name})
    add_subdirectory(${dir})
  endif()
endmacro()

function(txoutbox_print_summary)
  get_property(components GLOBAL PROPERTY TXOUTBOX_COMPONENTS)
  message(STATUS "txoutbox ${PROJECT_VERSION}: core testing")
  foreach(c IN LISTS components)
    if(TXOUTBOX_HAVE_${c})
      set(state "yes")
    else()
      set(state "no")
    endif()
    message(STATUS "  ${c}: ${state} (TXOUTBOX_WITH_${c}=${TXOUTBOX_WITH_${c}})")
  endforeach()
  if(TXOUTBOX_SANITIZE)
    message(STATUS "  sanitizers: ${TXOUTBOX_SANITIZE}")
  endif()
endfunction()

# txoutbox_warnings(target): the project's warning set, private to the target.
function(txoutbox_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(TXOUTBOX_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(TXOUTBOX_SANITIZE MATCHES "thread")
    target_compile_options(${target} PRIVATE -Wno-tsan)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # RapidJSON 1.1's member iterators define operator!= in a way C++20's reversed
    # candidates make ambiguous to clang (the chosen overload is the intended one).
    target_compile_options(${target} PRIVATE -Wno-ambiguous-reversed-operator)
  endif()
endfunction()

macro(txoutbox_apply_sanitizers)
  if(TXOUTBOX_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
      message(FATAL_ERROR "TXOUTBOX_FUZZ=ON needs clang (libFuzzer): configure with the fuzz "
                          "preset or -DCMAKE_CXX_COMPILER=clang++")
    endif()
    if(NOT TXOUTBOX_SANITIZE)
      set(TXOUTBOX_SANITIZE "address,undefined")
    elseif(TXOUTBOX_SANITIZE MATCHES "thread")
      message(FATAL_ERROR "TXOUTBOX_FUZZ=ON runs with ASan + UBSan, not TSan")
    endif()
    # Coverage instrumentation for the fuzzer in every target; only the fuzz targets link
    # libFuzzer's main (-fsanitize=fuzzer, tests/fuzz/CMakeLists.txt).
    add_compile_options(-fsanitize=fuzzer-no-link)
  endif()
  if(TXOUTBOX_SANITIZE)
    add_compile_options(-fsanitize=${TXOUTBOX_SANITIZE} -fno-omit-frame-pointer)
    add_link_options(-fsanitize=${TXOUTBOX_SANITIZE})
    if(TXOUTBOX_SANITIZE MATCHES "undefined")
      # vptr checks need the typeinfo of every polymorphic class they see; Debian's SOCI
      # libraries do not export theirs (soci::details::ref_counted_statement, the session
      # backends), so code calling into SOCI would not link. Every other check stays on.
      add_compile_options(-fno-sanitize-recover=undefined -fno-sanitize=vptr)
      if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        # Known reports in third-party headers (RapidJSON 1.1), one check per section.
        add_compile_options(
          -fsanitize-ignorelist=${PROJECT_SOURCE_DIR}/tests/sanitizers/clang_ignorelist.txt)
      endif()
    endif()
  endif()
endmacro()

# txoutbox_library(name alias_component SOURCES ...): a component library with the
# project's settings; exported as txoutbox::<component>.
function(txoutbox_library target component)
  cmake_parse_arguments(arg "" "" "SOURCES" ${ARGN})
  add_library(${target} ${arg_SOURCES})
  add_library(txoutbox::${component} ALIAS ${target})
  set_target_properties(${target} PROPERTIES
    EXPORT_NAME ${component}
    OUTPUT_NAME txoutbox_${component}
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}
    POSITION_INDEPENDENT_CODE ON)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  # Private headers of every component (src/<component>/*.hpp), never installed.
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  txoutbox_warnings(${target})
  set_property(GLOBAL APPEND PROPERTY TXOUTBOX_INSTALL_TARGETS ${target})
endfunction()
