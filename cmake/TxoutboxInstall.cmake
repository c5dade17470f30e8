# Install rules: headers, libraries, one CMake export set and one pkg-config file per component.
#
# Every target made with txoutbox_library() (global property TXOUTBOX_INSTALL_TARGETS) is a
# component named by its EXPORT_NAME. For each one this file installs
#   - the library, and its export set as lib/cmake/txoutbox/txoutbox-<component>-targets.cmake
#     (namespace txoutbox::);
#   - its headers: include/txoutbox/*.hpp for core, include/txoutbox/<component>/ for others;
#   - lib/pkgconfig/txoutbox-<component>.pc from cmake/txoutbox-<component>.pc.in.
# It then writes txoutboxConfig.cmake from cmake/txoutboxConfig.cmake.in, telling it which
# components were built, which txoutbox components each one links, and which third-party
# imported targets (Threads::Threads, PkgConfig::PQXX, ...) each one's export refers to, so
# the config re-finds exactly those. A new component needs no change here: add its .pc.in,
# and teach the config's _txoutbox_provide() any new third-party target (configure warns).
# The `txoutbox` executable installs itself (src/cli/CMakeLists.txt).
include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

set(TXOUTBOX_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/txoutbox"
    CACHE STRING "Where txoutboxConfig.cmake is installed, relative to the prefix")
set(TXOUTBOX_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
    CACHE STRING "Where the txoutbox-*.pc files are installed, relative to the prefix")
set(_txoutbox_config_template "${PROJECT_SOURCE_DIR}/cmake/txoutboxConfig.cmake.in")

# _txoutbox_link_items(target out): what `target`'s export makes a consumer link: its
# interface, plus for a static library its private link items (exported as $<LINK_ONLY:>).
function(_txoutbox_link_items target out)
  get_target_property(type ${target} TYPE)
  get_target_property(items ${target} INTERFACE_LINK_LIBRARIES)
  if(NOT items)
    set(items "")
  endif()
  if(type STREQUAL "STATIC_LIBRARY")
    get_target_property(private ${target} LINK_LIBRARIES)
    if(private)
      list(APPEND items ${private})
    endif()
  endif()
  set(result "")
  foreach(item IN LISTS items)
    if(item MATCHES "^\\$<BUILD_INTERFACE:")
      continue()
    endif()
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" item "${item}")
    string(REGEX REPLACE "^\\$<INSTALL_INTERFACE:(.*)>$" "\\1" item "${item}")
    if(item MATCHES "::" OR TARGET ${item})
      list(APPEND result ${item})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES result)
  set(${out} ${result} PARENT_SCOPE)
endfunction()

# _txoutbox_pc_finish(target pc): writes `pc` from `pc`.tmp. For a static library the
# Requires.private / Libs.private fields are folded into Requires / Libs: whoever links the
# archive must link its hidden dependencies too, with or without `pkg-config --static`.
function(_txoutbox_pc_finish target pc)
  file(READ ${pc}.tmp text)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "STATIC_LIBRARY")
    foreach(field IN ITEMS Requires Libs)
      if(text MATCHES "\n${field}\\.private:[ \t]*([^\n]*)")
        set(private "${CMAKE_MATCH_1}")
        string(REGEX REPLACE "\n${field}\\.private:[^\n]*" "" text "${text}")
        if(NOT private STREQUAL "")
          if(text MATCHES "\n${field}:[ \t]*([^\n]*)")
            set(public "${CMAKE_MATCH_1}")
            if(field STREQUAL "Requires" AND NOT public STREQUAL "")
              string(APPEND public ",")
            endif()
            string(REGEX REPLACE "\n${field}:[^\n]*" "\n${field}: ${public} ${private}" text
                   "${text}")
          else()
            string(APPEND text "${field}: ${private}\n")
          endif()
        endif()
      endif()
    endforeach()
  endif()
  file(CONFIGURE OUTPUT ${pc} CONTENT "${text}" @ONLY)
endfunction()

get_property(_txoutbox_targets GLOBAL PROPERTY TXOUTBOX_INSTALL_TARGETS)
# The config's code lines that name a third-party target it can recreate (comments excluded).
file(STRINGS "${_txoutbox_config_template}" _txoutbox_config_text REGEX "^[^#]*STREQUAL \"")

# Map every install target to its component name first: links may name either.
set(_txoutbox_components "")
foreach(target IN LISTS _txoutbox_targets)
  get_target_property(component ${target} EXPORT_NAME)
  set(_txoutbox_component_of_${target} ${component})
  set(_txoutbox_component_of_txoutbox::${component} ${component})
  list(APPEND _txoutbox_components ${component})
endforeach()

# Paths the .pc templates use. The prefix is relative to the .pc file's own directory
# (${pcfiledir}), so the files stay right after `cmake --install <build> --prefix <elsewhere>`.
if(IS_ABSOLUTE "${TXOUTBOX_INSTALL_PKGCONFIGDIR}")
  set(TXOUTBOX_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH rel "/prefix/${TXOUTBOX_INSTALL_PKGCONFIGDIR}" "/prefix")
  string(REGEX REPLACE "/+$" "" rel "${rel}")
  set(TXOUTBOX_PC_PREFIX "\${pcfiledir}/${rel}")
endif()
foreach(dir IN ITEMS LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(TXOUTBOX_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(TXOUTBOX_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()

# Header subdirectories that belong to a component other than core (built or not).
get_property(_txoutbox_optional GLOBAL PROPERTY TXOUTBOX_COMPONENTS)
string(TOLOWER "testing;${_txoutbox_optional}" _txoutbox_optional)
set(_txoutbox_core_header_excludes "")
foreach(name IN LISTS _txoutbox_optional)
  list(APPEND _txoutbox_core_header_excludes PATTERN ${name} EXCLUDE)
endforeach()

set(TXOUTBOX_CONFIG_COMPONENT_LINES "")
foreach(target IN LISTS _txoutbox_targets)
  set(component ${_txoutbox_component_of_${target}})

  install(TARGETS ${target} EXPORT txoutbox-${component}-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT txoutbox_development
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT txoutbox_runtime
            NAMELINK_COMPONENT txoutbox_development
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT txoutbox_runtime)
  install(EXPORT txoutbox-${component}-targets
    NAMESPACE txoutbox::
    FILE txoutbox-${component}-targets.cmake
    DESTINATION ${TXOUTBOX_INSTALL_CMAKEDIR}
    COMPONENT txoutbox_development)

  if(component STREQUAL "core")
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/txoutbox/
      DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/txoutbox
      COMPONENT txoutbox_development
      FILES_MATCHING PATTERN "*.hpp"
      ${_txoutbox_core_header_excludes})
    install(FILES ${PROJECT_BINARY_DIR}/include/txoutbox/version.hpp
      DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/txoutbox
      COMPONENT txoutbox_development)
  elseif(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/include/txoutbox/${component})
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/txoutbox/${component}
      DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/txoutbox
      COMPONENT txoutbox_development
      FILES_MATCHING PATTERN "*.hpp")
  endif()

  # What the component's export refers to: other txoutbox components and third-party targets.
  _txoutbox_link_items(${target} items)
  set(needs_components "")
  set(needs_targets "")
  foreach(item IN LISTS items)
    if(DEFINED _txoutbox_component_of_${item})
      list(APPEND needs_components ${_txoutbox_component_of_${item}})
    elseif(item MATCHES "::")
      list(APPEND needs_targets ${item})
      string(FIND "${_txoutbox_config_text}" "STREQUAL \"${item}\"" known)
      if(known EQUAL -1)
        message(WARNING "txoutbox::${component} links ${item}, which "
          "cmake/txoutboxConfig.cmake.in does not know how to find: installed consumers "
          "will fail. Add it to _txoutbox_provide() there.")
      endif()
    endif()
  endforeach()
  string(APPEND TXOUTBOX_CONFIG_COMPONENT_LINES
    "set(_txoutbox_components_of_${component} ${needs_components})\n"
    "set(_txoutbox_targets_of_${component} ${needs_targets})\n")

  # pkg-config file, relocatable: see TXOUTBOX_PC_LIBDIR above.
  set(pc_template ${PROJECT_SOURCE_DIR}/cmake/txoutbox-${component}.pc.in)
  if(EXISTS ${pc_template})
    get_target_property(TXOUTBOX_PC_LIBNAME ${target} OUTPUT_NAME)
    configure_file(${pc_template} ${PROJECT_BINARY_DIR}/pkgconfig/txoutbox-${component}.pc.tmp
                   @ONLY)
    _txoutbox_pc_finish(${target} ${PROJECT_BINARY_DIR}/pkgconfig/txoutbox-${component}.pc)
    install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/txoutbox-${component}.pc
      DESTINATION ${TXOUTBOX_INSTALL_PKGCONFIGDIR}
      COMPONENT txoutbox_development)
  else()
    message(WARNING "No pkg-config template cmake/txoutbox-${component}.pc.in for component "
      "${component}: txoutbox-${component}.pc will not be installed.")
  endif()
endforeach()

# Shipped find modules for dependencies without a CMake config of their own (SOCI).
set(_txoutbox_find_modules "")
foreach(module IN ITEMS FindSOCI)
  if(EXISTS ${PROJECT_SOURCE_DIR}/cmake/${module}.cmake)
    list(APPEND _txoutbox_find_modules ${PROJECT_SOURCE_DIR}/cmake/${module}.cmake)
  endif()
endforeach()
if(_txoutbox_find_modules)
  install(FILES ${_txoutbox_find_modules}
    DESTINATION ${TXOUTBOX_INSTALL_CMAKEDIR}/modules
    COMPONENT txoutbox_development)
endif()

set(TXOUTBOX_BUILT_COMPONENTS ${_txoutbox_components})
set(TXOUTBOX_INSTALL_MIGRATIONSDIR "${CMAKE_INSTALL_DATADIR}/txoutbox/migrations")
configure_package_config_file(${_txoutbox_config_template}
  ${PROJECT_BINARY_DIR}/cmake/txoutboxConfig.cmake
  INSTALL_DESTINATION ${TXOUTBOX_INSTALL_CMAKEDIR}
  PATH_VARS TXOUTBOX_INSTALL_MIGRATIONSDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/txoutboxConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/txoutboxConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/txoutboxConfigVersion.cmake
  DESTINATION ${TXOUTBOX_INSTALL_CMAKEDIR}
  COMPONENT txoutbox_development)

# Migrations as files (the libraries embed them too), and the licence.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/migrations/
  DESTINATION ${TXOUTBOX_INSTALL_MIGRATIONSDIR}
  COMPONENT txoutbox_runtime
  FILES_MATCHING PATTERN "*.sql")
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE
  DESTINATION ${CMAKE_INSTALL_DOCDIR}
  COMPONENT txoutbox_runtime)
