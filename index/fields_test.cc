#include "index/fields.h"

#include <gtest/gtest.h>

#include "core/config.h"
#include "core/crash_id.h"

namespace bw::index {
namespace {

using json = nlohmann::json;

const std::string kId = "de1bb258-cbbf-4589-a673-34f800261101";

json processed_crash() {
  return {
      {"uuid", kId},
      {"date_processed", "2026-11-01T10:20:30.123456+00:00"},
      {"product", "Firefox"},
      {"version", "140.0"},
      {"build_id", "20261030101010"},
      {"os_name", "Windows NT"},
      {"cpu_count", "8"},
      {"signature", "js::GC"},
      {"proto_signature", "js::GC | foo"},
      {"success", true},
      {"missing_symbols", json::array({"xul.pdb/ABC"})},
      {"modules_in_stack", json::array({"xul.pdb/ABC", 7})},
      {"url", "https://example.com/"},
      {"json_dump", {{"system_info", {{"cpu_arch", "amd64"}, {"os_ver", "10.0.19045"}}}}},
  };
}

TEST(Fields, EveryRequiredFieldIsCatalogued) {
  auto cat = FieldCatalogue::builtin();
  for (const char* name : {"uuid", "date", "product", "version", "release_channel", "build_id", "platform",
                           "platform_version", "cpu_arch", "cpu_count", "process_type", "signature", "proto_signature",
                           "reason", "address", "crashing_thread", "moz_crash_reason", "abort_message", "uptime",
                           "install_age", "success", "processor_notes", "modules_in_stack", "missing_symbols",
                           "has_missing_symbols", "url", "email", "user_comments"}) {
    EXPECT_NE(cat->find(name), nullptr) << name;
  }
  for (const char* name : {"url", "email", "user_comments"}) EXPECT_EQ(cat->find(name)->permission, "view_pii");
  EXPECT_EQ(cat->find("signature")->permission, "");
  EXPECT_EQ(cat->find("nope"), nullptr);
}

TEST(Fields, OperatorsFollowTheType) {
  auto cat = FieldCatalogue::builtin();
  EXPECT_TRUE(cat->find("signature")->takes(Op::kRegex));
  EXPECT_FALSE(cat->find("signature")->takes(Op::kGreater));
  EXPECT_TRUE(cat->find("uptime")->takes(Op::kGreaterEq));
  EXPECT_FALSE(cat->find("uptime")->takes(Op::kContains));
  EXPECT_FALSE(cat->find("product")->takes(Op::kContains));  // enum: terms and null only
  EXPECT_TRUE(cat->find("success")->takes(Op::kTrue));
  EXPECT_FALSE(cat->find("success")->takes(Op::kStartsWith));
  EXPECT_TRUE(cat->find("date")->takes(Op::kLess));
  EXPECT_FALSE(cat->find("date")->takes(Op::kRegex));
  for (const auto& f : cat->all()) EXPECT_TRUE(f.takes(Op::kNull)) << f.name;
}

TEST(Fields, ExtractRowConvertsAndFallsBack) {
  auto cat = FieldCatalogue::builtin();
  json raw = {{"ReleaseChannel", "beta"}, {"ProcessType", "content"}, {"ProductName", "Ignored"}, {"URL", "raw-url"}};
  CrashRow row = extract_row(*cat, processed_crash(), raw);
  auto v = [&](const char* name) { return row.values[cat->position(*cat->find(name))]; };
  EXPECT_EQ(row.uuid, kId);
  EXPECT_EQ(v("product"), "Firefox");  // processed wins over raw
  EXPECT_EQ(v("release_channel"), "beta");  // raw fallback
  EXPECT_EQ(v("process_type"), "content");
  EXPECT_EQ(v("build_id"), 20261030101010);
  EXPECT_EQ(v("cpu_count"), 8);
  EXPECT_EQ(v("cpu_arch"), "amd64");  // nested processed source
  EXPECT_EQ(v("platform_version"), "10.0.19045");
  EXPECT_EQ(v("has_missing_symbols"), true);
  EXPECT_EQ(v("modules_in_stack"), json::array({"xul.pdb/ABC", "7"}));
  EXPECT_EQ(v("url"), "https://example.com/");
  EXPECT_TRUE(v("reason").is_null());
  EXPECT_EQ(format_date_us(row.date_us), "2026-11-01T10:20:30.123456+00:00");
  EXPECT_EQ(format_day(row.day), "2026-11-01");
  EXPECT_EQ(row.product, "Firefox");
  EXPECT_EQ(row.platform, "Windows NT");
  EXPECT_EQ(row.build_id, "20261030101010");
  // Columns are not repeated in the document; document fields are.
  EXPECT_FALSE(row.document.contains("signature"));
  EXPECT_EQ(row.document["proto_signature"], "js::GC | foo");
}

TEST(Fields, OtherClientConventions) {
  auto cat = FieldCatalogue::builtin();
  json processed = {{"uuid", kId}, {"date_processed", "2026-11-01T00:00:00Z"}};
  auto row = extract_row(*cat, processed, json{{"prod", "Chrome_Linux"}, {"ver", "120.1"}, {"ptype", "renderer"}, {"channel", "dev"}});
  EXPECT_EQ(row.product, "Chrome_Linux");
  EXPECT_EQ(row.version, "120.1");
  EXPECT_EQ(row.process_type, "renderer");
  row = extract_row(*cat, processed, json{{"_productName", "MyApp"}, {"_version", "3.1.0"}, {"process_type", "browser"}});
  EXPECT_EQ(row.product, "MyApp");
  EXPECT_EQ(row.version, "3.1.0");
  EXPECT_EQ(row.process_type, "browser");
}

TEST(Fields, BadCrashesAreRefused) {
  auto cat = FieldCatalogue::builtin();
  json p = processed_crash();
  p["uuid"] = "not-a-crash-id";
  EXPECT_THROW(extract_row(*cat, p, json()), InvalidCrash);
  p = processed_crash();
  p.erase("date_processed");
  EXPECT_THROW(extract_row(*cat, p, json()), InvalidCrash);
  p = processed_crash();
  p["date_processed"] = "yesterday";
  EXPECT_THROW(extract_row(*cat, p, json()), InvalidCrash);
  EXPECT_THROW(extract_row(*cat, json::array(), json()), InvalidCrash);
}

TEST(Fields, ValuesThatDoNotConvertAreLeftOut) {
  auto cat = FieldCatalogue::builtin();
  json p = processed_crash();
  p["cpu_count"] = "many";
  p["success"] = "maybe";
  p["signature"] = std::string(20000, 'x');
  auto row = extract_row(*cat, p, json());
  EXPECT_TRUE(row.values[cat->position(*cat->find("cpu_count"))].is_null());
  EXPECT_TRUE(row.values[cat->position(*cat->find("success"))].is_null());
  EXPECT_EQ(row.values[cat->position(*cat->find("signature"))].get<std::string>().size(), kMaxValueBytes);
}

TEST(Fields, SiteAnnotations) {
  auto cat = FieldCatalogue::with_annotations({"GraphicsCritical:string", "Buckets:integer:public"});
  const Field* g = cat->find("GraphicsCritical");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->permission, "view_pii");  // protected unless declared public
  EXPECT_EQ(cat->find("Buckets")->permission, "");
  EXPECT_EQ(cat->find("Buckets")->type, FieldType::kInteger);
  json p = processed_crash();
  auto row = extract_row(*cat, p, json{{"Buckets", "12"}, {"GraphicsCritical", "oops"}});
  EXPECT_EQ(row.document["Buckets"], 12);
  EXPECT_EQ(row.document["GraphicsCritical"], "oops");

  EXPECT_THROW(FieldCatalogue::with_annotations({"NoType"}), std::invalid_argument);
  EXPECT_THROW(FieldCatalogue::with_annotations({"X:banana"}), std::invalid_argument);
  EXPECT_THROW(FieldCatalogue::with_annotations({"signature:string"}), std::invalid_argument);
  EXPECT_THROW(FieldCatalogue::with_annotations({"_x:string"}), std::invalid_argument);
  EXPECT_THROW(FieldCatalogue::with_annotations({"a.b:string"}), std::invalid_argument);
  EXPECT_THROW(FieldCatalogue::with_annotations({"A:string:private"}), std::invalid_argument);
}

TEST(Fields, AnnotationsFromConfig) {
  Config::Sources sources;
  sources.overrides = {{"index.annotations", "Foo:string,Bar:integer:public"}, {"server.data", "/tmp/bwdata"}};
  auto settings = IndexSettings::from_config(Config::load(sources));
  EXPECT_NE(settings.fields->find("Foo"), nullptr);
  EXPECT_EQ(settings.fields->find("Bar")->type, FieldType::kInteger);
  EXPECT_EQ(settings.sqlite_path, std::filesystem::path("/tmp/bwdata/index/crashes.sqlite"));
  sources.overrides = {{"index.annotations", "Foo"}};
  EXPECT_THROW(IndexSettings::from_config(Config::load(sources)), ConfigError);
  sources.overrides = {{"index.readers", "0"}};
  EXPECT_THROW(IndexSettings::from_config(Config::load(sources)), ConfigError);
  sources.overrides = {{"index.sqlite_cache_size", "8MiB"}};
  EXPECT_EQ(IndexSettings::from_config(Config::load(sources)).sqlite_cache_bytes, uint64_t{8} << 20);
  sources.overrides = {{"index.sqlite_cache_size", "100KB"}};
  EXPECT_THROW(IndexSettings::from_config(Config::load(sources)), ConfigError);
}

TEST(Fields, CatalogueJson) {
  auto j = FieldCatalogue::builtin()->to_json();
  EXPECT_EQ(j["url"]["permissions_needed"], json::array({"view_pii"}));
  EXPECT_EQ(j["signature"]["permissions_needed"], json::array());
  EXPECT_EQ(j["date"]["in_database_name"], "date_processed");
  EXPECT_EQ(j["date"]["query_type"], "date");
  EXPECT_EQ(j["uptime"]["query_type"], "number");
}

TEST(Dates, Forms) {
  bool date_only = false;
  EXPECT_EQ(parse_date_us("2026-11-01", &date_only), days_from_civil(2026, 11, 1) * kMicrosPerDay);
  EXPECT_TRUE(date_only);
  int64_t base = days_from_civil(2026, 11, 1) * kMicrosPerDay;
  EXPECT_EQ(parse_date_us("2026-11-01T12:30", &date_only), base + (12 * 3600 + 30 * 60) * 1'000'000LL);
  EXPECT_FALSE(date_only);
  EXPECT_EQ(parse_date_us("2026-11-01 12:30:15"), base + (12 * 3600 + 30 * 60 + 15) * 1'000'000LL);
  EXPECT_EQ(parse_date_us("2026-11-01T12:30:15.5Z"), base + (12 * 3600 + 30 * 60 + 15) * 1'000'000LL + 500000);
  EXPECT_EQ(parse_date_us("2026-11-01T12:30:15+02:00"), base + (10 * 3600 + 30 * 60 + 15) * 1'000'000LL);
  EXPECT_EQ(parse_date_us("2026-11-01T12:30:15-0130"), base + (14 * 3600 + 0 * 60 + 15) * 1'000'000LL);
  EXPECT_EQ(parse_date_us("2026-11-01T00:00:00+01"), base - 3600 * 1'000'000LL);
  for (const char* bad : {"", "2026", "2026-13-01", "2026-02-30", "2026-11-01T", "2026-11-01T25:00", "2026-11-01x",
                          "2026-11-01T10:00:00+", "2026-11-01T10:00:00.", "2026-11-01T10:00:00Zjunk", "20261101",
                          "2026-11-01T10:00:00 +00:00"}) {
    EXPECT_FALSE(parse_date_us(bad)) << bad;
  }
  EXPECT_EQ(format_date_us(base), "2026-11-01T00:00:00+00:00");
  EXPECT_EQ(format_date_us(-1), "1969-12-31T23:59:59.999999+00:00");
  EXPECT_EQ(format_day(days_from_civil(2000, 2, 29)), "2000-02-29");
}

}  // namespace
}  // namespace bw::index
