// What a caller may see of a crash (docs/design.md §12, docs/processed_crash.md, docs/security.md),
// in one place: every page and endpoint asks here, with the caller's permissions.
//
// An anonymous caller (every web page, and an API call without an Auth-Token) sees only this:
// - raw crash: the annotations on the public allowlist (`kDefaultPublicAnnotations` plus the
//   site's `web.public_annotations`) and the collector's own fields (uuid, submitted_timestamp,
//   version, metadata). Every other annotation is protected, including any the allowlist does
//   not know yet: a new annotation is hidden until a site declares it public.
// - processed crash: every field except the protected ones (`processor::is_protected_field`:
//   url, user_comments, email); a raw crash embedded in it (Socorro's `raw_crash`) is reduced
//   as above.
// - dumps: never.
// A caller holding view_pii (an API token, web/caller_auth.h) sees every annotation and every field;
// one holding view_rawdump may download dumps. Super Search fields: a field is visible to a
// caller holding its permissions_needed (index/fields.h, Field::visible_to), which the index
// applies to the same permission set; SuperSearchUnredacted needs every permission any field
// needs (missing_for_unredacted).
//
// Thread safety: immutable after construction; all members may be called from any thread.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace bw {
class Config;
}
namespace bw::index {
class FieldCatalogue;
}

namespace bw::web {

// Permission names a caller holds (the same type as index::Permissions and auth::PermissionSet).
// Empty: anonymous.
using Permissions = std::set<std::string, std::less<>>;
inline constexpr std::string_view kViewPiiPermission = "view_pii";
inline constexpr std::string_view kViewRawdumpPermission = "view_rawdump";

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

  // What a caller holding `permissions` may see: with view_pii the whole raw or processed crash
  // (every annotation, the protected fields), without it the public_ forms above. A non-object
  // gives an empty object.
  nlohmann::json raw_crash_for(const nlohmann::json& raw_crash, const Permissions& permissions) const;
  nlohmann::json processed_crash_for(const nlohmann::json& processed, const Permissions& permissions) const;
  // Dump downloads need view_rawdump.
  static bool may_download_dumps(const Permissions& permissions);
  // SuperSearchUnredacted needs every permission any field of `fields` needs (crash-stats: the
  // union of the fields' permissions_needed; in practice view_pii): the first one the caller
  // lacks, or nullopt when it holds them all.
  static std::optional<std::string> missing_for_unredacted(const index::FieldCatalogue& fields,
                                                           const Permissions& permissions);

 private:
  std::set<std::string, std::less<>> public_annotations_;
};

}  // namespace bw::web
