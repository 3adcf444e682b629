# cloison_test(NAME SOURCES... LIBS ...): one GoogleTest executable, registered with CTest.
# Test data live in tests/testdata; tests find them through CLOISON_TESTDATA.
function(cloison_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    CLOISON_TESTDATA="${PROJECT_SOURCE_DIR}/tests/testdata"
    CLOISON_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    CLOISON_BINARY="$<TARGET_FILE:cloison>")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
endfunction()
