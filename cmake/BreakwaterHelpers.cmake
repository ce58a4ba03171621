# Shared build rules: warnings, sanitizers and the helpers every part uses.

set(BW_WARNINGS -Wall -Wextra -Wpedantic -Werror -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Wunused -Woverloaded-virtual -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports false positives from inlined std::string code at -O3 (GCC bugs 105329, 105651)
  # and from std::optional members (GCC bug 80635); clang still checks these.
  list(APPEND BW_WARNINGS -Wno-restrict -Wno-stringop-overflow -Wno-array-bounds -Wno-maybe-uninitialized)
endif()

if(BW_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(BW_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "BW_FUZZ needs clang (libFuzzer)")
  endif()
  # Coverage instrumentation everywhere, so the fuzzers see into the libraries they call.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# bw_library(NAME SOURCES ... DEPS ...)
function(bw_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR})
  target_compile_options(${name} PRIVATE ${BW_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# The executable part shared by bw_test and bw_server_test.
function(bw_test_executable name sources deps)
  add_executable(${name} ${sources})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR})
  target_compile_options(${name} PRIVATE ${BW_WARNINGS})
  target_compile_definitions(${name} PRIVATE
    BW_TESTDATA_DIR="${BW_TESTDATA_DIR}"
    BW_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    BW_BINARY_DIR="${CMAKE_BINARY_DIR}")
  target_link_libraries(${name} PRIVATE ${deps} GTest::gtest GTest::gmock GTest::gtest_main Threads::Threads)
endfunction()

# CTest properties from the parsed TIMEOUT (default 600), LABELS and RESOURCE_LOCK, into `out`.
macro(bw_test_properties out)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  set(${out} TIMEOUT ${ARG_TIMEOUT})
  if(ARG_LABELS)
    list(APPEND ${out} LABELS "${ARG_LABELS}")
  endif()
  if(ARG_RESOURCE_LOCK)
    list(APPEND ${out} RESOURCE_LOCK "${ARG_RESOURCE_LOCK}")
  endif()
endmacro()

# bw_test(NAME SOURCES ... DEPS ... [LABELS ...] [RESOURCE_LOCK ...] [TIMEOUT s])
# A GoogleTest executable; every test in it is registered with CTest.
function(bw_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS;RESOURCE_LOCK" ${ARGN})
  bw_test_executable(${name} "${ARG_SOURCES}" "${ARG_DEPS}")
  bw_test_properties(props)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 120 NO_PRETTY_VALUES PROPERTIES ${props})
endfunction()

# bw_server_test(NAME CTEST name SOURCES ... DEPS ... [ARGS ...] [LABELS ...] [RESOURCE_LOCK ...]
#                [TIMEOUT s] [ENVIRONMENT ...])
# A GoogleTest executable registered as ONE CTest test: its cases share a server the binary starts
# once (a private PostgreSQL or RabbitMQ, or `breakwater` processes), which would cost seconds per
# case if each ran in a process of its own.
function(bw_server_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT;CTEST" "SOURCES;DEPS;ARGS;LABELS;RESOURCE_LOCK;ENVIRONMENT" ${ARGN})
  bw_test_executable(${name} "${ARG_SOURCES}" "${ARG_DEPS}")
  bw_test_properties(props)
  add_test(NAME ${ARG_CTEST} COMMAND ${name} ${ARG_ARGS})
  set_tests_properties(${ARG_CTEST} PROPERTIES ${props})
  if(ARG_ENVIRONMENT)
    set_tests_properties(${ARG_CTEST} PROPERTIES ENVIRONMENT "${ARG_ENVIRONMENT}")  # one value: a list
  endif()
endfunction()
