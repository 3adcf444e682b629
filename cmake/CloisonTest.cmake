# cloison_test(NAME SOURCES... LIBS ...): one GoogleTest executable, registered with CTest.
# Test data live in tests/testdata; tests find them through CLOISON_TESTDATA.
#
# Test code itself is compiled at -O0 (the modules under test keep the
# build's level): large TEST bodies and GoogleTest's macros are slow to
# optimise (demo_service_test.cc: 47 s at -O3, 35 s at -O1) and the time
# is spent in the modules, not in the test bodies.
function(cloison_test_options target)
  target_link_libraries(${target} PRIVATE GTest::gtest GTest::gmock)
  target_compile_options(${target} PRIVATE -O0)
endfunction()

# The tests' precompiled header (see cmake/CloisonPch.cmake).
add_library(cloison_test_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch_anchor.cc)
target_link_libraries(cloison_test_pch PRIVATE absl::status absl::statusor nlohmann_json::nlohmann_json)
cloison_test_options(cloison_test_pch)
if(CLOISON_PCH)
  target_precompile_headers(cloison_test_pch PRIVATE ${CLOISON_PCH_COMMON} <gtest/gtest.h> <gmock/gmock.h>)
endif()

function(cloison_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest_main)
  cloison_test_options(${name})
  if(CLOISON_PCH)
    target_precompile_headers(${name} REUSE_FROM cloison_test_pch)
  endif()
  target_compile_definitions(${name} PRIVATE
    CLOISON_TESTDATA="${PROJECT_SOURCE_DIR}/tests/testdata"
    CLOISON_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    CLOISON_BINARY="$<TARGET_FILE:cloison>")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
endfunction()
