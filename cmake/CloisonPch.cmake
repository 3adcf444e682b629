# Precompiled headers. Why: the whole test command (two full builds, one of
# them ASan+UBSan) must stay under 30 minutes on 2 cores, and parsing the same
# third-party headers (nlohmann/json, Abseil's Status, GoogleTest, the standard
# library) in every translation unit was a large share of it. One owner target
# per family compiles the header once; the others reuse it (REUSE_FROM), so
# all of them must share compile options: keep the options of a family in its
# function below. Only third-party and standard headers go in: a project
# header in a PCH would hide missing includes.
#
# cloison_use_src_pch(target): modules under src/.
# cloison_use_test_pch(target): test executables (adds GoogleTest, GoogleMock).
set(CLOISON_PCH_COMMON
  <algorithm> <array> <chrono> <cstdint> <cstring> <filesystem> <fstream>
  <functional> <map> <memory> <mutex> <optional> <set> <span> <sstream>
  <string> <string_view> <unordered_map> <utility> <vector>
  <absl/status/status.h> <absl/status/statusor.h> <nlohmann/json.hpp>)

option(CLOISON_PCH "Use precompiled headers" ON)

add_library(cloison_src_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch_anchor.cc)
target_link_libraries(cloison_src_pch PRIVATE absl::status absl::statusor nlohmann_json::nlohmann_json)
if(CLOISON_PCH)
  target_precompile_headers(cloison_src_pch PRIVATE ${CLOISON_PCH_COMMON})
endif()

function(cloison_use_src_pch target)
  if(CLOISON_PCH)
    target_precompile_headers(${target} REUSE_FROM cloison_src_pch)
  endif()
endfunction()
