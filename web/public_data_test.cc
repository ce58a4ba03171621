// What anyone may see: the allowlist, the site's additions and the protected processed fields.
#include "web/public_data.h"

#include <gtest/gtest.h>

#include "core/config.h"
#include "index/fields.h"

namespace bw::web {
namespace {

using nlohmann::json;

TEST(PublicDataTest, DefaultAllowlistAndUnknownAnnotationsAreProtected) {
  PublicData p;
  for (const char* name : {"ProductName", "Version", "ReleaseChannel", "BuildID", "ProcessType", "CrashTime",
                           "MozCrashReason", "Android_Model", "Notes"}) {
    EXPECT_TRUE(p.is_public_annotation(name)) << name;
  }
  for (const char* name : {"URL", "Email", "Comments", "SomethingNew", "productname", ""}) {
    EXPECT_FALSE(p.is_public_annotation(name)) << name;
  }
}

TEST(PublicDataTest, SiteAddsAnnotationsThroughConfig) {
  Config::Sources sources;
  sources.overrides = {{"web.public_annotations", "GraphicsCriticalError,AppInitDLLs"}};
  PublicData p = PublicData::from_config(Config::load(sources));
  EXPECT_TRUE(p.is_public_annotation("GraphicsCriticalError"));
  EXPECT_TRUE(p.is_public_annotation("AppInitDLLs"));
  EXPECT_TRUE(p.is_public_annotation("ProductName"));
  EXPECT_FALSE(p.is_public_annotation("URL"));
}

TEST(PublicDataTest, RawCrashKeepsPublicAnnotationsAndCollectorFields) {
  json raw = {{"ProductName", "Firefox"}, {"URL", "https://secret.example/"}, {"Email", "me@example.com"},
              {"Comments", "my bank page"}, {"Unknown", "x"}, {"uuid", "id"}, {"submitted_timestamp", "t"},
              {"version", 2}, {"metadata", {{"payload", "multipart"}}}};
  json pub = PublicData().public_raw_crash(raw);
  EXPECT_EQ(pub, (json{{"ProductName", "Firefox"}, {"uuid", "id"}, {"submitted_timestamp", "t"}, {"version", 2},
                       {"metadata", {{"payload", "multipart"}}}}));
  EXPECT_EQ(PublicData().public_raw_crash(json::array()), json::object());
}

TEST(PublicDataTest, ProcessedCrashDropsProtectedFields) {
  json processed = {{"product", "Firefox"}, {"url", "u"}, {"email", "e"}, {"user_comments", "c"},
                    {"signature", "s"}, {"raw_crash", {{"ProductName", "Firefox"}, {"URL", "u"}}}};
  json pub = PublicData().public_processed_crash(processed);
  EXPECT_EQ(pub, (json{{"product", "Firefox"}, {"signature", "s"}, {"raw_crash", {{"ProductName", "Firefox"}}}}));
}

TEST(PublicDataTest, ViewPiiSeesEverythingAndOnlyViewPii) {
  json raw = {{"ProductName", "Firefox"}, {"URL", "u"}, {"Unknown", "x"}, {"uuid", "id"}};
  json processed = {{"product", "Firefox"}, {"url", "u"}, {"email", "e"}, {"user_comments", "c"}, {"raw_crash", raw}};
  PublicData p;
  EXPECT_EQ(p.raw_crash_for(raw, {"view_pii"}), raw);
  EXPECT_EQ(p.processed_crash_for(processed, {"view_pii", "view_rawdump"}), processed);
  // Any other permission, or none, is the public view.
  for (const Permissions& perms : {Permissions{}, Permissions{"view_rawdump", "admin", "reprocess_crashes"}}) {
    EXPECT_EQ(p.raw_crash_for(raw, perms), p.public_raw_crash(raw));
    EXPECT_EQ(p.processed_crash_for(processed, perms), p.public_processed_crash(processed));
  }
  EXPECT_EQ(p.raw_crash_for(json::array(), {"view_pii"}), json::object());
  EXPECT_EQ(p.processed_crash_for("text", {"view_pii"}), json::object());
}

TEST(PublicDataTest, DumpsNeedViewRawdumpAndUnredactedEveryFieldPermission) {
  EXPECT_TRUE(PublicData::may_download_dumps({"view_rawdump"}));
  EXPECT_FALSE(PublicData::may_download_dumps({"view_pii", "admin"}));
  EXPECT_FALSE(PublicData::may_download_dumps({}));
  auto fields = index::FieldCatalogue::with_annotations({"Secret:string", "Open:string:public"});
  EXPECT_EQ(PublicData::missing_for_unredacted(*fields, {}), "view_pii");
  EXPECT_EQ(PublicData::missing_for_unredacted(*fields, {"view_rawdump"}), "view_pii");
  EXPECT_EQ(PublicData::missing_for_unredacted(*fields, {"view_pii"}), std::nullopt);
}

}  // namespace
}  // namespace bw::web
