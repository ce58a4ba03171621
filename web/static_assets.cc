#include "web/static_assets.h"

#include <stdexcept>
#include <string>

namespace bw::web {

const StaticAsset& static_asset(std::string_view name) {
  for (const auto& a : static_assets()) {
    if (a.name == name) return a;
  }
  throw std::logic_error("web/static has no file " + std::string(name));
}

}  // namespace bw::web
