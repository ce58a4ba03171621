// What anyone may see of a crash (DESIGN §12, docs/processed_crash.md), in one place.
//
// Until accounts and permissions exist every web visitor and API caller is anonymous, so every
// page and endpoint shows only this:
// - raw crash: the annotations on the public allowlist (`kDefaultPublicAnnotations` plus the
//   site's `web.public_annotations`) and the collector's own fields (uuid, submitted_timestamp,
//   version, metadata). Every other annotation is protected, including any the allowlist does
//   not know yet: a new annotation is hidden until a site declares it public.
// - processed crash: every field except the protected ones (`processor::is_protected_field`:
//   url, user_comments, email); a raw crash embedded in it (Socorro's `raw_crash`) is reduced
//   as above.
// - dumps: never (they need view_rawdump).
//
// Thread safety: immutable after construction; all members may be called from any thread.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace bw {
class Config;
}

namespace bw::web {

// The annotations public by default: product identity, versions, times, crash reasons and
// hardware facts that say nothing about the user.
const std::vector<std::string>& default_public_annotations();

class PublicData {
 public:
  // The default allowlist plus `extra_public_annotations`.
  explicit PublicData(const std::vector<std::string>& extra_public_annotations = {});
  // web.public_annotations.
  static PublicData from_config(const Config& config);

  bool is_public_annotation(std::string_view name) const;
  // True for the keys the collector writes into every raw crash itself.
  static bool is_collector_field(std::string_view name);

  // The raw crash with protected annotations removed (a non-object gives an empty object).
  nlohmann::json public_raw_crash(const nlohmann::json& raw_crash) const;
  // The processed crash with protected fields removed (a non-object gives an empty object).
  nlohmann::json public_processed_crash(const nlohmann::json& processed) const;

 private:
  std::set<std::string, std::less<>> public_annotations_;
};

}  // namespace bw::web
