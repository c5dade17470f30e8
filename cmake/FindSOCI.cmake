# FindSOCI: Debian's SOCI 4.0 ships neither a CMake config nor a pkg-config file.
#
# Provides imported INTERFACE targets:
#   SOCI::core        soci_core + Boost headers (soci-config.h defines SOCI_HAVE_BOOST) + libdl
#   SOCI::sqlite3     soci_sqlite3 + SQLite::SQLite3
#   SOCI::postgresql  soci_postgresql + PostgreSQL::PostgreSQL (libpq-fe.h)
#   SOCI::mysql       soci_mysql + PkgConfig::SOCI_MARIADB (libmariadb, mysql.h)
# and variables SOCI_FOUND (core and sqlite3 found), SOCI_<backend>_FOUND per backend,
# SOCI_INCLUDE_DIR. A backend whose library or client headers are missing is simply absent.
include_guard(GLOBAL)
include(FindPackageHandleStandardArgs)

find_path(SOCI_INCLUDE_DIR soci/soci.h)
find_library(SOCI_CORE_LIBRARY soci_core)
find_library(SOCI_SQLITE3_LIBRARY soci_sqlite3)
find_library(SOCI_POSTGRESQL_LIBRARY soci_postgresql)
find_library(SOCI_MYSQL_LIBRARY soci_mysql)
mark_as_advanced(SOCI_INCLUDE_DIR SOCI_CORE_LIBRARY SOCI_SQLITE3_LIBRARY
                 SOCI_POSTGRESQL_LIBRARY SOCI_MYSQL_LIBRARY)

set(SOCI_core_FOUND FALSE)
set(SOCI_sqlite3_FOUND FALSE)
set(SOCI_postgresql_FOUND FALSE)
set(SOCI_mysql_FOUND FALSE)

if(SOCI_INCLUDE_DIR AND SOCI_CORE_LIBRARY)
  find_package(Boost 1.74 QUIET)
  if(Boost_FOUND)
    set(SOCI_core_FOUND TRUE)
    if(NOT TARGET SOCI::core)
      add_library(SOCI::core INTERFACE IMPORTED)
      target_include_directories(SOCI::core INTERFACE "${SOCI_INCLUDE_DIR}")
      target_link_libraries(SOCI::core INTERFACE "${SOCI_CORE_LIBRARY}" Boost::headers
                            ${CMAKE_DL_LIBS})
    endif()
  endif()
endif()

if(SOCI_core_FOUND AND SOCI_SQLITE3_LIBRARY)
  find_package(SQLite3 QUIET)
  if(SQLite3_FOUND)
    set(SOCI_sqlite3_FOUND TRUE)
    if(NOT TARGET SOCI::sqlite3)
      add_library(SOCI::sqlite3 INTERFACE IMPORTED)
      target_link_libraries(SOCI::sqlite3 INTERFACE "${SOCI_SQLITE3_LIBRARY}" SOCI::core
                            SQLite::SQLite3)
    endif()
  endif()
endif()

if(SOCI_core_FOUND AND SOCI_POSTGRESQL_LIBRARY)
  find_package(PostgreSQL QUIET)
  if(PostgreSQL_FOUND)
    set(SOCI_postgresql_FOUND TRUE)
    if(NOT TARGET SOCI::postgresql)
      add_library(SOCI::postgresql INTERFACE IMPORTED)
      target_link_libraries(SOCI::postgresql INTERFACE "${SOCI_POSTGRESQL_LIBRARY}" SOCI::core
                            PostgreSQL::PostgreSQL)
    endif()
  endif()
endif()

if(SOCI_core_FOUND AND SOCI_MYSQL_LIBRARY)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(SOCI_MARIADB QUIET IMPORTED_TARGET libmariadb)
  endif()
  if(SOCI_MARIADB_FOUND)
    set(SOCI_mysql_FOUND TRUE)
    if(NOT TARGET SOCI::mysql)
      add_library(SOCI::mysql INTERFACE IMPORTED)
      target_link_libraries(SOCI::mysql INTERFACE "${SOCI_MYSQL_LIBRARY}" SOCI::core
                            PkgConfig::SOCI_MARIADB)
    endif()
  endif()
endif()

# Upper-case aliases for callers that prefer them (SOCI_SQLITE3_FOUND, ...).
foreach(backend IN ITEMS core sqlite3 postgresql mysql)
  string(TOUPPER "${backend}" upper)
  set(SOCI_${upper}_FOUND ${SOCI_${backend}_FOUND})
endforeach()

# SOCI_FOUND needs core and sqlite3 (the embedded default) plus any requested component.
find_package_handle_standard_args(SOCI
  REQUIRED_VARS SOCI_INCLUDE_DIR SOCI_CORE_LIBRARY SOCI_SQLITE3_LIBRARY SOCI_core_FOUND
                SOCI_sqlite3_FOUND
  HANDLE_COMPONENTS)
