// The OpenAPI 3 description of the API (api/openapi.json in the repository),
// compiled into the binary and served at GET /openapi.json.
#pragma once

#include <string_view>

namespace cloison::api {

std::string_view OpenApiJson();

}  // namespace cloison::api
