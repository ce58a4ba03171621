// Behavioural tests shared by every CrashIndex implementation (see crash_index_contract.h).
#include "index/crash_index_contract.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "index/test_crashes.h"

namespace bw::index::contract {
namespace {

using json = nlohmann::json;
using test_data::CrashGenerator;
using test_data::GeneratorOptions;
using test_data::TestCrash;
using Clock = std::chrono::steady_clock;

const auto kEnd = std::chrono::system_clock::time_point(std::chrono::seconds(1793534400));  // 2026-11-01T12:00:00Z
const auto kNow = kEnd + std::chrono::hours(1);
const int64_t kEndDay = floor_div(1793534400LL * 1'000'000, kMicrosPerDay);
// Every generated crash lies in the 20 days before kEnd.
const QueryPairs kAllDates = {{"date", ">=2026-10-01"}, {"date", "<2026-11-02"}};

std::optional<std::string> str(const TestCrash& c, const char* name) {
  auto it = c.processed.find(name);
  if (it == c.processed.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}
std::optional<int64_t> num(const TestCrash& c, const char* name) {
  auto it = c.processed.find(name);
  if (it == c.processed.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}
std::optional<std::string> raw(const TestCrash& c, const char* name) {
  auto it = c.raw.find(name);
  if (it == c.raw.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}
int64_t date_us(const TestCrash& c) { return *parse_date_us(*str(c, "date_processed")); }
std::string uuid(const TestCrash& c) { return *str(c, "uuid"); }
std::string day_of(const TestCrash& c) { return format_day(floor_div(date_us(c), kMicrosPerDay)); }
bool has(const std::optional<std::string>& v, std::string_view needle) { return v && v->find(needle) != std::string::npos; }
std::vector<std::string> list(const TestCrash& c, const char* name) {
  std::vector<std::string> out;
  auto it = c.processed.find(name);
  if (it != c.processed.end() && it->is_array()) {
    for (const auto& e : *it) out.push_back(e.get<std::string>());
  }
  return out;
}

QueryPairs with_dates(QueryPairs pairs) {
  bool dated = std::any_of(pairs.begin(), pairs.end(), [](const auto& p) { return p.first == "date"; });
  if (!dated) pairs.insert(pairs.end(), kAllDates.begin(), kAllDates.end());
  return pairs;
}

std::vector<CrashInput> inputs(const std::vector<TestCrash>& crashes) {
  std::vector<CrashInput> out;
  out.reserve(crashes.size());
  for (const auto& c : crashes) out.push_back(CrashInput{c.processed, c.raw});
  return out;
}

// Counts of `key(crash)` over crashes matching `pred`, as facet buckets (count desc, term asc).
template <typename Key>
std::vector<std::pair<std::string, int64_t>> expected_terms(const std::vector<TestCrash>& crashes, Key key, size_t size) {
  std::map<std::string, int64_t> counts;
  for (const auto& c : crashes) {
    for (const auto& k : key(c)) ++counts[k];
  }
  std::vector<std::pair<std::string, int64_t>> out(counts.begin(), counts.end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (out.size() > size) out.resize(size);
  return out;
}

std::vector<std::pair<std::string, int64_t>> buckets(const json& list) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& b : list) {
    out.emplace_back(b["term"].is_string() ? b["term"].get<std::string>() : b["term"].dump(), b["count"].get<int64_t>());
  }
  return out;
}

std::vector<std::string> one(const std::optional<std::string>& v) {
  return v ? std::vector<std::string>{*v} : std::vector<std::string>{};
}

}  // namespace

void CrashIndexContract::SetUp() {
  fields_ = FieldCatalogue::with_annotations({"Flavor:enum:public", "Temperature:float:public", "Secret:string"});
  backend_ = GetParam()();
  index_ = backend_->open(fields_);
}

void CrashIndexDataContract::SetUp() {
  CrashIndexContract::SetUp();
  GeneratorOptions options;
  options.seed = 42;
  options.end = kEnd;
  options.days = 20;
  options.signatures = 40;
  crashes_ = CrashGenerator(options).make(400);
  auto in = inputs(crashes_);
  index_->upsert_batch(in);
}

json CrashIndexDataContract::search(const QueryPairs& pairs, const Permissions& perms) {
  return index_->search(with_dates(pairs), perms, kNow);
}

void CrashIndexDataContract::expect_matches(const QueryPairs& pairs, const std::function<bool(const TestCrash&)>& pred,
                                            const Permissions& perms) {
  QueryPairs q = pairs;
  q.emplace_back("_results_number", "1000");
  json r = search(q, perms);
  std::set<std::string> want, got;
  for (const auto& c : crashes_) {
    if (pred(c)) want.insert(uuid(c));
  }
  for (const auto& h : r["hits"]) got.insert(h["uuid"].get<std::string>());
  std::string shown;
  for (const auto& [k, v] : pairs) shown += k + "=" + v + "&";
  EXPECT_EQ(r["total"].get<int64_t>(), static_cast<int64_t>(want.size())) << shown;
  EXPECT_EQ(got, want) << shown;
}

TEST_P(CrashIndexContract, EmptyIndex) {
  EXPECT_EQ(index_->count(), 0u);
  json r = index_->search({}, {}, kNow);
  EXPECT_EQ(r["total"], 0);
  EXPECT_EQ(r["hits"], json::array());
  EXPECT_EQ(r["errors"], json::array());
  EXPECT_EQ(r["facets"]["signature"], json::array());
  EXPECT_FALSE(index_->get("de1bb258-cbbf-4589-a673-34f800261101", {}));
  EXPECT_THROW(index_->get("nonsense", {}), QueryError);
  EXPECT_FALSE(index_->remove("de1bb258-cbbf-4589-a673-34f800261101"));
  EXPECT_EQ(index_->drop_older_than(kNow), 0u);
}

TEST_P(CrashIndexContract, InvalidCrashWritesNothing) {
  GeneratorOptions o;
  o.end = kEnd;
  auto crashes = CrashGenerator(o).make(3);
  crashes[2].processed["uuid"] = "not-an-id";
  auto in = inputs(crashes);
  EXPECT_THROW(index_->upsert_batch(in), InvalidCrash);
  EXPECT_EQ(index_->count(), 0u);
}

TEST_P(CrashIndexContract, StoredBytesGrowWithTheCrashes) {
  const uint64_t empty = index_->stored_bytes();
  EXPECT_GT(empty, 0u) << "the schema takes space";
  GeneratorOptions o;
  o.end = kEnd;
  auto crashes = CrashGenerator(o).make(2000);
  index_->upsert_batch(inputs(crashes));
  const uint64_t filled = index_->stored_bytes();
  // Each generated crash is several hundred bytes of indexed fields and JSON.
  EXPECT_GT(filled, empty + 2000 * 200) << empty << " -> " << filled;
  EXPECT_LT(filled, empty + 2000 * uint64_t{64 * 1024}) << empty << " -> " << filled;
}

TEST_P(CrashIndexDataContract, CountGetAndReopen) {
  EXPECT_EQ(index_->count(), crashes_.size());
  const TestCrash* with_url = nullptr;
  for (const auto& c : crashes_) {
    if (str(c, "url") && str(c, "reason")) with_url = &c;
  }
  ASSERT_NE(with_url, nullptr);
  auto hit = index_->get(uuid(*with_url), {});
  ASSERT_TRUE(hit);
  EXPECT_EQ((*hit)["uuid"], uuid(*with_url));
  EXPECT_EQ((*hit)["signature"], *str(*with_url, "signature"));
  EXPECT_EQ((*hit)["reason"], *str(*with_url, "reason"));
  EXPECT_EQ((*hit)["date"], format_date_us(date_us(*with_url)));
  EXPECT_EQ((*hit)["build_id"], std::stoll(*str(*with_url, "build_id")));
  EXPECT_EQ((*hit)["success"], with_url->processed["success"]);
  EXPECT_EQ((*hit)["modules_in_stack"], with_url->processed["modules_in_stack"]);
  EXPECT_FALSE(hit->contains("url"));  // protected
  auto pii = index_->get("bp-" + uuid(*with_url), {"view_pii"});
  ASSERT_TRUE(pii);
  EXPECT_EQ((*pii)["url"], *str(*with_url, "url"));
  // The data survives a reopen.
  index_.reset();
  index_ = backend_->open(fields_);
  EXPECT_EQ(index_->count(), crashes_.size());
}

TEST_P(CrashIndexDataContract, StringOperators) {
  expect_matches({{"signature", CrashGenerator::signature_name(0)}},
                 [](const TestCrash& c) { return str(c, "signature") == CrashGenerator::signature_name(0); });
  expect_matches({{"signature", "=" + CrashGenerator::signature_name(3)}, {"signature", "=" + CrashGenerator::signature_name(1)}},
                 [](const TestCrash& c) {
                   return str(c, "signature") == CrashGenerator::signature_name(3) ||
                          str(c, "signature") == CrashGenerator::signature_name(1);
                 });
  expect_matches({{"signature", "~frame1"}}, [](const TestCrash& c) { return has(str(c, "signature"), "frame1"); });
  expect_matches({{"signature", "~frame1"}, {"signature", "~OOM"}},
                 [](const TestCrash& c) { return has(str(c, "signature"), "frame1") || has(str(c, "signature"), "OOM"); });
  expect_matches({{"signature", "^js::"}}, [](const TestCrash& c) { return str(c, "signature")->starts_with("js::"); });
  expect_matches({{"signature", "!^js::"}}, [](const TestCrash& c) { return !str(c, "signature")->starts_with("js::"); });
  expect_matches({{"signature", "$frame12"}}, [](const TestCrash& c) { return str(c, "signature")->ends_with("frame12"); });
  expect_matches({{"signature", "$finalize"}, {"signature", "$Kill"}}, [](const TestCrash& c) {
    return str(c, "signature")->ends_with("finalize") || str(c, "signature")->ends_with("Kill");
  });
  expect_matches({{"signature", "@.*frame[12][0-9]"}}, [](const TestCrash& c) {
    auto s = *str(c, "signature");
    return s.size() >= 7 && s.find("frame") != std::string::npos && std::isdigit(static_cast<unsigned char>(s.back())) &&
           s.substr(s.rfind("frame") + 5).size() == 2 && (s[s.rfind("frame") + 5] == '1' || s[s.rfind("frame") + 5] == '2');
  });
  expect_matches({{"signature", "!@.*frame.*"}}, [](const TestCrash& c) { return !has(str(c, "signature"), "frame"); });
  expect_matches({{"reason", "__null__"}}, [](const TestCrash& c) { return !str(c, "reason"); });
  expect_matches({{"reason", "!__null__"}}, [](const TestCrash& c) { return str(c, "reason").has_value(); });
  // A negated filter also matches crashes without the field.
  expect_matches({{"reason", "!SIGABRT"}}, [](const TestCrash& c) { return str(c, "reason") != "SIGABRT"; });
  expect_matches({{"reason", "!~EXCEPTION"}}, [](const TestCrash& c) { return !has(str(c, "reason"), "EXCEPTION"); });
  expect_matches({{"address", "^0x"}, {"address", "!$00"}},
                 [](const TestCrash& c) { return has(str(c, "address"), "0x") && !str(c, "address")->ends_with("00"); });
  // Case-sensitive.
  expect_matches({{"signature", "~OOM"}}, [](const TestCrash& c) { return has(str(c, "signature"), "OOM"); });
  expect_matches({{"signature", "~oom"}}, [](const TestCrash& c) { return has(str(c, "signature"), "oom"); });
}

TEST_P(CrashIndexDataContract, EnumOperators) {
  expect_matches({{"product", "Fenix"}}, [](const TestCrash& c) { return str(c, "product") == "Fenix"; });
  expect_matches({{"product", "Fenix"}, {"product", "Thunderbird"}},
                 [](const TestCrash& c) { return str(c, "product") != "Firefox"; });
  expect_matches({{"product", "!Firefox"}, {"platform", "Linux"}},
                 [](const TestCrash& c) { return str(c, "product") != "Firefox" && str(c, "os_name") == "Linux"; });
  expect_matches({{"platform", "__null__"}}, [](const TestCrash& c) { return !str(c, "os_name"); });
  expect_matches({{"Flavor", "vanilla"}}, [](const TestCrash& c) { return raw(c, "Flavor") == "vanilla"; });
  expect_matches({{"Flavor", "!vanilla"}}, [](const TestCrash& c) { return raw(c, "Flavor") != "vanilla"; });
  // Raw-annotation fallback: process_type is absent from no processed crash here, so check the
  // processed values.
  expect_matches({{"process_type", "gpu"}}, [](const TestCrash& c) { return str(c, "process_type") == "gpu"; });
}

TEST_P(CrashIndexDataContract, NumberOperators) {
  expect_matches({{"uptime", ">=3600"}}, [](const TestCrash& c) { return num(c, "uptime") >= 3600; });
  expect_matches({{"uptime", ">3600"}, {"uptime", "<=5000"}},
                 [](const TestCrash& c) { return num(c, "uptime") > 3600 && num(c, "uptime") <= 5000; });
  expect_matches({{"uptime", "<100"}}, [](const TestCrash& c) { return num(c, "uptime") && *num(c, "uptime") < 100; });
  expect_matches({{"uptime", "__null__"}}, [](const TestCrash& c) { return !num(c, "uptime"); });
  expect_matches({{"uptime", "!<100"}}, [](const TestCrash& c) { return !(num(c, "uptime") && *num(c, "uptime") < 100); });
  expect_matches({{"cpu_count", "4"}, {"cpu_count", "16"}},
                 [](const TestCrash& c) { return num(c, "cpu_count") == 4 || num(c, "cpu_count") == 16; });
  expect_matches({{"cpu_count", "!4"}}, [](const TestCrash& c) { return num(c, "cpu_count") != 4; });
  expect_matches({{"build_id", ">=20260601000000"}},
                 [](const TestCrash& c) { return std::stoll(*str(c, "build_id")) >= 20260601000000; });
  auto temp = [](const TestCrash& c) -> std::optional<double> {
    auto t = raw(c, "Temperature");
    if (!t) return std::nullopt;
    return std::stod(*t);
  };
  expect_matches({{"Temperature", ">=50.5"}}, [&](const TestCrash& c) { return temp(c) && *temp(c) >= 50.5; });
  expect_matches({{"Temperature", "<10"}, {"Temperature", "!__null__"}}, [&](const TestCrash& c) { return temp(c) && *temp(c) < 10; });
  expect_matches({{"Temperature", "12.5"}}, [&](const TestCrash& c) { return temp(c) && *temp(c) == 12.5; });
}

TEST_P(CrashIndexDataContract, DateOperators) {
  std::string day = day_of(crashes_[0]);
  expect_matches({{"date", day}}, [&](const TestCrash& c) { return day_of(c) == day; });
  expect_matches({{"date", ">=2026-10-20"}, {"date", "<2026-10-25T06:00:00Z"}}, [](const TestCrash& c) {
    return date_us(c) >= *parse_date_us("2026-10-20") && date_us(c) < *parse_date_us("2026-10-25T06:00:00Z");
  });
  // Another zone: 2026-10-25T08:00+02:00 is 06:00 UTC.
  expect_matches({{"date", ">2026-10-20T00:00:00"}, {"date", "<=2026-10-25T08:00:00+02:00"}}, [](const TestCrash& c) {
    return date_us(c) > *parse_date_us("2026-10-20") && date_us(c) <= *parse_date_us("2026-10-25T06:00:00Z");
  });
  expect_matches({{"date", ">=2026-10-01"}, {"date", "<2026-11-02"}, {"date", "!" + day}},
                 [&](const TestCrash& c) { return day_of(c) != day; });
  // Without any date: the 7 days before now.
  json r = index_->search({{"_results_number", "0"}}, {}, kNow);
  int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(kNow.time_since_epoch()).count();
  int64_t want = std::count_if(crashes_.begin(), crashes_.end(),
                               [&](const TestCrash& c) { return date_us(c) >= now_us - 7 * kMicrosPerDay; });
  EXPECT_EQ(r["total"], want);
  EXPECT_GT(want, 0);
  EXPECT_LT(want, static_cast<int64_t>(crashes_.size()));
}

TEST_P(CrashIndexDataContract, BooleanAndListOperators) {
  expect_matches({{"success", "__true__"}}, [](const TestCrash& c) { return c.processed["success"] == true; });
  expect_matches({{"success", "!__true__"}}, [](const TestCrash& c) { return c.processed["success"] != true; });
  expect_matches({{"success", "false"}}, [](const TestCrash& c) { return c.processed["success"] == false; });
  expect_matches({{"has_missing_symbols", "__true__"}}, [](const TestCrash& c) { return !list(c, "missing_symbols").empty(); });
  expect_matches({{"has_missing_symbols", "__null__"}}, [](const TestCrash& c) { return !c.processed.contains("missing_symbols"); });
  auto in = [](const std::vector<std::string>& l, std::string_view s) { return std::find(l.begin(), l.end(), s) != l.end(); };
  expect_matches({{"modules_in_stack", "xul.pdb/4C4C44"}},
                 [&](const TestCrash& c) { return in(list(c, "modules_in_stack"), "xul.pdb/4C4C44"); });
  expect_matches({{"modules_in_stack", "!xul.pdb/4C4C44"}},
                 [&](const TestCrash& c) { return !in(list(c, "modules_in_stack"), "xul.pdb/4C4C44"); });
  expect_matches({{"modules_in_stack", "~.so"}}, [&](const TestCrash& c) {
    auto l = list(c, "modules_in_stack");
    return std::any_of(l.begin(), l.end(), [](const std::string& m) { return m.find(".so") != std::string::npos; });
  });
  expect_matches({{"modules_in_stack", "^ntdll"}, {"modules_in_stack", "^d3d11"}}, [&](const TestCrash& c) {
    auto l = list(c, "modules_in_stack");
    return std::any_of(l.begin(), l.end(), [](const std::string& m) { return m.starts_with("ntdll") || m.starts_with("d3d11"); });
  });
  expect_matches({{"missing_symbols", "__null__"}}, [](const TestCrash& c) { return list(c, "missing_symbols").empty(); });
  expect_matches({{"processor_notes", "no dump"}}, [&](const TestCrash& c) { return in(list(c, "processor_notes"), "no dump"); });
}

TEST_P(CrashIndexDataContract, SortOnSeveralKeysAndPaging) {
  json r = search({{"_sort", "product,-uptime"}, {"_columns", "uuid,product,uptime"}, {"_results_number", "1000"},
                   {"_facets", ""}});
  std::vector<const TestCrash*> want;
  for (const auto& c : crashes_) want.push_back(&c);
  std::sort(want.begin(), want.end(), [](const TestCrash* a, const TestCrash* b) {
    if (str(*a, "product") != str(*b, "product")) return *str(*a, "product") < *str(*b, "product");
    auto ua = num(*a, "uptime"), ub = num(*b, "uptime");
    if (ua.has_value() != ub.has_value()) return ua.has_value();  // missing last
    if (ua && *ua != *ub) return *ua > *ub;
    return uuid(*a) < uuid(*b);
  });
  ASSERT_EQ(r["hits"].size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(r["hits"][i]["uuid"], uuid(*want[i])) << i;
  EXPECT_EQ(r["hits"][0].size(), 3u);  // only the columns asked for
  // Ascending too: missing values still last.
  json asc = search({{"_sort", "uptime"}, {"_columns", "uuid,uptime"}, {"_results_number", "1000"}, {"_facets", ""}});
  std::vector<const TestCrash*> by_uptime;
  for (const auto& c : crashes_) by_uptime.push_back(&c);
  std::sort(by_uptime.begin(), by_uptime.end(), [](const TestCrash* a, const TestCrash* b) {
    auto ua = num(*a, "uptime"), ub = num(*b, "uptime");
    if (ua.has_value() != ub.has_value()) return ua.has_value();
    if (ua && *ua != *ub) return *ua < *ub;
    return uuid(*a) < uuid(*b);
  });
  ASSERT_EQ(asc["hits"].size(), by_uptime.size());
  for (size_t i = 0; i < by_uptime.size(); ++i) EXPECT_EQ(asc["hits"][i]["uuid"], uuid(*by_uptime[i])) << i;
  EXPECT_TRUE(asc["hits"][by_uptime.size() - 1]["uptime"].is_null());
  // Paging returns consecutive slices of the same order.
  json page = search({{"_sort", "product,-uptime"}, {"_results_number", "50"}, {"_results_offset", "100"}});
  ASSERT_EQ(page["hits"].size(), 50u);
  for (size_t i = 0; i < 50; ++i) EXPECT_EQ(page["hits"][i]["uuid"], uuid(*want[100 + i]));
  // Default: newest first.
  json latest = search({{"_results_number", "1"}});
  auto newest = std::max_element(crashes_.begin(), crashes_.end(),
                                 [](const TestCrash& a, const TestCrash& b) { return date_us(a) < date_us(b); });
  EXPECT_EQ(latest["hits"][0]["uuid"], uuid(*newest));
  EXPECT_EQ(latest["hits"][0]["date"], format_date_us(date_us(*newest)));
  EXPECT_EQ(latest["hits"][0].size(), 5u);
  // Past the end: no hits, the total still exact.
  json past = search({{"_results_offset", "9000"}});
  EXPECT_EQ(past["hits"].size(), 0u);
  EXPECT_EQ(past["total"], static_cast<int64_t>(crashes_.size()));
}

TEST_P(CrashIndexDataContract, Facets) {
  json r = search({{"_facets", "signature,platform"}, {"_facets", "modules_in_stack,success"}, {"_facets_size", "5"},
                   {"product", "Firefox"}, {"_results_number", "0"}});
  std::vector<TestCrash> firefox;
  for (const auto& c : crashes_) {
    if (str(c, "product") == "Firefox") firefox.push_back(c);
  }
  EXPECT_EQ(r["total"], static_cast<int64_t>(firefox.size()));
  EXPECT_EQ(r["hits"].size(), 0u);
  EXPECT_EQ(buckets(r["facets"]["signature"]), expected_terms(firefox, [](const TestCrash& c) { return one(str(c, "signature")); }, 5));
  EXPECT_EQ(buckets(r["facets"]["platform"]), expected_terms(firefox, [](const TestCrash& c) { return one(str(c, "os_name")); }, 5));
  EXPECT_EQ(buckets(r["facets"]["modules_in_stack"]), expected_terms(firefox, [](const TestCrash& c) { return list(c, "modules_in_stack"); }, 5));
  EXPECT_EQ(buckets(r["facets"]["success"]),
            expected_terms(firefox, [](const TestCrash& c) { return std::vector<std::string>{c.processed["success"].dump()}; }, 5));
  EXPECT_TRUE(r["facets"]["success"][0]["term"].is_boolean());
  // Default facet: signature, 50 buckets at most.
  json d = search({});
  EXPECT_EQ(buckets(d["facets"]["signature"]), expected_terms(crashes_, [](const TestCrash& c) { return one(str(c, "signature")); }, 50));
  // Cardinality.
  json card = search({{"_facets", "_cardinality.signature,_cardinality.modules_in_stack"}});
  std::set<std::string> sigs, mods;
  for (const auto& c : crashes_) {
    sigs.insert(*str(c, "signature"));
    for (const auto& m : list(c, "modules_in_stack")) mods.insert(m);
  }
  EXPECT_EQ(card["facets"]["cardinality_signature"]["value"], static_cast<int64_t>(sigs.size()));
  EXPECT_EQ(card["facets"]["cardinality_modules_in_stack"]["value"], static_cast<int64_t>(mods.size()));
}

TEST_P(CrashIndexDataContract, TwoLevelAggregations) {
  json r = search({{"_aggs.product.version", "platform,_cardinality.signature"}, {"_facets", ""}, {"_facets_size", "3"}});
  auto products = expected_terms(crashes_, [](const TestCrash& c) { return one(str(c, "product")); }, 3);
  ASSERT_EQ(buckets(r["facets"]["product"]), products);
  for (const auto& pb : r["facets"]["product"]) {
    std::vector<TestCrash> in_product;
    for (const auto& c : crashes_) {
      if (str(c, "product") == pb["term"].get<std::string>()) in_product.push_back(c);
    }
    auto versions = expected_terms(in_product, [](const TestCrash& c) { return one(str(c, "version")); }, 3);
    ASSERT_EQ(buckets(pb["facets"]["version"]), versions);
    for (const auto& vb : pb["facets"]["version"]) {
      std::vector<TestCrash> in_version;
      std::set<std::string> sigs;
      for (const auto& c : in_product) {
        if (str(c, "version") == vb["term"].get<std::string>()) {
          in_version.push_back(c);
          sigs.insert(*str(c, "signature"));
        }
      }
      EXPECT_EQ(buckets(vb["facets"]["platform"]),
                expected_terms(in_version, [](const TestCrash& c) { return one(str(c, "os_name")); }, 3));
      EXPECT_EQ(vb["facets"]["cardinality_signature"]["value"], static_cast<int64_t>(sigs.size()));
    }
  }
  // _facets and _aggs on the same field merge.
  json m = search({{"_facets", "signature"}, {"_aggs.signature", "process_type"}});
  ASSERT_FALSE(m["facets"]["signature"].empty());
  const auto& top = m["facets"]["signature"][0];
  std::vector<TestCrash> in_sig;
  for (const auto& c : crashes_) {
    if (str(c, "signature") == top["term"].get<std::string>()) in_sig.push_back(c);
  }
  EXPECT_EQ(buckets(top["facets"]["process_type"]),
            expected_terms(in_sig, [](const TestCrash& c) { return one(str(c, "process_type")); }, 50));
}

TEST_P(CrashIndexDataContract, Histograms) {
  json r = search({{"_histogram.date", "product"}, {"_histogram.uptime", ""}, {"_histogram_interval.uptime", "1000"},
                   {"_histogram.Temperature", ""}, {"_histogram_interval.Temperature", "12.5"}, {"_facets", ""}});
  // By day, oldest first, each with per-product counts.
  std::map<std::string, std::vector<TestCrash>> by_day;
  for (const auto& c : crashes_) by_day[day_of(c)].push_back(c);
  const json& days = r["facets"]["histogram_date"];
  ASSERT_EQ(days.size(), by_day.size());
  size_t i = 0;
  for (const auto& [day, list_of_day] : by_day) {
    EXPECT_EQ(days[i]["term"], day + "T00:00:00+00:00");
    EXPECT_EQ(days[i]["count"], static_cast<int64_t>(list_of_day.size()));
    EXPECT_EQ(buckets(days[i]["facets"]["product"]),
              expected_terms(list_of_day, [](const TestCrash& c) { return one(str(c, "product")); }, 50));
    ++i;
  }
  std::map<int64_t, int64_t> uptime;
  for (const auto& c : crashes_) {
    if (auto u = num(c, "uptime")) ++uptime[*u / 1000 * 1000];
  }
  std::vector<std::pair<std::string, int64_t>> want;
  for (const auto& [k, n] : uptime) want.emplace_back(std::to_string(k), n);
  EXPECT_EQ(buckets(r["facets"]["histogram_uptime"]), want);
  std::map<double, int64_t> temps;
  for (const auto& c : crashes_) {
    if (auto t = raw(c, "Temperature")) ++temps[std::floor(std::stod(*t) / 12.5) * 12.5];
  }
  const json& th = r["facets"]["histogram_Temperature"];
  ASSERT_EQ(th.size(), temps.size());
  size_t j = 0;
  for (const auto& [k, n] : temps) {
    EXPECT_DOUBLE_EQ(th[j]["term"].get<double>(), k);
    EXPECT_EQ(th[j]["count"], n);
    ++j;
  }
  // Hourly and weekly date buckets add up to the total.
  for (const char* interval : {"hour", "week"}) {
    json h = search({{"_histogram.date", ""}, {"_histogram_interval.date", interval}});
    int64_t sum = 0;
    for (const auto& b : h["facets"]["histogram_date"]) sum += b["count"].get<int64_t>();
    EXPECT_EQ(sum, static_cast<int64_t>(crashes_.size())) << interval;
  }
  json w = search({{"_histogram.date", ""}, {"_histogram_interval.date", "week"}});
  for (const auto& b : w["facets"]["histogram_date"]) {
    auto d = floor_div(*parse_date_us(b["term"].get<std::string>()), kMicrosPerDay);
    EXPECT_EQ((d + 3) % 7, 0) << b["term"];  // a Monday
  }
}

TEST_P(CrashIndexDataContract, TopCrashers) {
  TopCrashersQuery q;
  q.product = "Firefox";
  q.days = 7;
  q.limit = 10;
  q.end = kEnd;
  auto r = index_->top_crashers(q);
  auto count_period = [&](int64_t from_day, int64_t to_day, const std::string& version) {
    std::map<std::string, int64_t> counts;
    int64_t total = 0;
    for (const auto& c : crashes_) {
      int64_t d = floor_div(date_us(c), kMicrosPerDay);
      if (str(c, "product") != "Firefox" || d < from_day || d > to_day) continue;
      if (!version.empty() && str(c, "version") != version) continue;
      ++counts[*str(c, "signature")];
      ++total;
    }
    std::vector<std::pair<std::string, int64_t>> ranked(counts.begin(), counts.end());
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    return std::make_pair(ranked, total);
  };
  auto [cur, total] = count_period(kEndDay - 6, kEndDay, "");
  auto [prev, prev_total] = count_period(kEndDay - 13, kEndDay - 7, "");
  EXPECT_EQ(r.total, total);
  EXPECT_EQ(r.previous_total, prev_total);
  EXPECT_EQ(r.start_date, format_day(kEndDay - 6));
  EXPECT_EQ(r.end_date, format_day(kEndDay));
  ASSERT_EQ(r.crashers.size(), std::min<size_t>(10, cur.size()));
  for (size_t i = 0; i < r.crashers.size(); ++i) {
    const auto& c = r.crashers[i];
    EXPECT_EQ(c.rank, static_cast<int>(i + 1));
    EXPECT_EQ(c.signature, cur[i].first);
    EXPECT_EQ(c.count, cur[i].second);
    EXPECT_DOUBLE_EQ(c.percentage, 100.0 * static_cast<double>(cur[i].second) / static_cast<double>(total));
    auto p = std::find_if(prev.begin(), prev.end(), [&](const auto& e) { return e.first == c.signature; });
    if (p == prev.end()) {
      EXPECT_FALSE(c.previous_rank);
    } else {
      EXPECT_EQ(c.previous_rank, static_cast<int>(p - prev.begin() + 1));
      EXPECT_EQ(c.rank_change, *c.previous_rank - c.rank);
      EXPECT_DOUBLE_EQ(c.previous_percentage, 100.0 * static_cast<double>(p->second) / static_cast<double>(prev_total));
    }
    // Per-platform split and first seen.
    std::map<std::string, int64_t> platforms;
    std::string first;
    for (const auto& cr : crashes_) {
      if (str(cr, "signature") != c.signature) continue;
      if (first.empty() || day_of(cr) < first) first = day_of(cr);
      int64_t d = floor_div(date_us(cr), kMicrosPerDay);
      if (str(cr, "product") == "Firefox" && d >= kEndDay - 6 && d <= kEndDay) ++platforms[str(cr, "os_name").value_or("")];
    }
    EXPECT_EQ(c.platforms, platforms);
    EXPECT_EQ(c.first_seen, first);
  }
  // With a version and a process type.
  q.versions = {"140.0"};
  auto rv = index_->top_crashers(q);
  auto [curv, totalv] = count_period(kEndDay - 6, kEndDay, "140.0");
  EXPECT_EQ(rv.total, totalv);
  ASSERT_FALSE(rv.crashers.empty());
  EXPECT_EQ(rv.crashers[0].signature, curv[0].first);
  q.versions.clear();
  q.process_type = "content";
  q.platform = "Windows NT";
  auto rp = index_->top_crashers(q);
  int64_t want = 0;
  for (const auto& c : crashes_) {
    int64_t d = floor_div(date_us(c), kMicrosPerDay);
    if (str(c, "product") == "Firefox" && str(c, "process_type") == "content" && str(c, "os_name") == "Windows NT" &&
        d >= kEndDay - 6 && d <= kEndDay) {
      ++want;
    }
  }
  EXPECT_EQ(rp.total, want);
  // Bad requests.
  TopCrashersQuery bad;
  EXPECT_THROW(index_->top_crashers(bad), QueryError);
  bad.product = "Firefox";
  bad.days = 5;
  EXPECT_THROW(index_->top_crashers(bad), QueryError);
  auto json_form = r.to_json();
  EXPECT_EQ(json_form["crashers"].size(), r.crashers.size());
}

TEST_P(CrashIndexDataContract, ReprocessDoesNotDoubleCount) {
  TopCrashersQuery q;
  q.product = "Firefox";
  q.days = 28;
  q.limit = 100;
  q.end = kEnd;
  auto before = index_->top_crashers(q);
  // Reprocess every Firefox crash of the top signature into a new signature, twice.
  std::string top = before.crashers.at(0).signature;
  std::vector<TestCrash> changed;
  for (const auto& c : crashes_) {
    if (str(c, "signature") == top && str(c, "product") == "Firefox") {
      TestCrash copy = c;
      copy.processed["signature"] = "reprocessed | new";
      changed.push_back(copy);
    }
  }
  auto in = inputs(changed);
  index_->upsert_batch(in);
  index_->upsert_batch(in);
  for (const auto& c : changed) index_->upsert(c.processed, c.raw);
  EXPECT_EQ(index_->count(), crashes_.size());
  auto after = index_->top_crashers(q);
  EXPECT_EQ(after.total, before.total);
  auto find = [](const TopCrashersResult& r, const std::string& s) -> int64_t {
    for (const auto& c : r.crashers) {
      if (c.signature == s) return c.count;
    }
    return 0;
  };
  EXPECT_EQ(find(after, "reprocessed | new"), static_cast<int64_t>(changed.size()));
  EXPECT_EQ(find(after, top), 0);
  json f = search({{"_facets", "signature"}, {"_facets_size", "100"}, {"product", "Firefox"}});
  int64_t sum = 0;
  for (const auto& b : f["facets"]["signature"]) {
    sum += b["count"].get<int64_t>();
    if (b["term"] == "reprocessed | new") {
      EXPECT_EQ(b["count"], static_cast<int64_t>(changed.size()));
    }
    EXPECT_NE(b["term"], top);
  }
  EXPECT_EQ(sum, f["total"].get<int64_t>());
  // A batch holding one crash twice keeps the last version, counted once.
  TestCrash a = changed.at(0), b = changed.at(0);
  b.processed["signature"] = "last one wins";
  std::vector<TestCrash> twice = {a, b};
  auto tw = inputs(twice);
  index_->upsert_batch(tw);
  EXPECT_EQ(index_->count(), crashes_.size());
  EXPECT_EQ(find(index_->top_crashers(q), "last one wins"), 1);
  EXPECT_EQ(find(index_->top_crashers(q), "reprocessed | new"), static_cast<int64_t>(changed.size()) - 1);
}

// The (product, version, day) rollup equals what the crashes say, through reprocessing into
// another version, a remove and retention; and equals Super Search's per-day histogram.
TEST_P(CrashIndexDataContract, ProductVersionDaysFollowEveryWrite) {
  using Key = std::tuple<std::string, std::string, int64_t>;
  auto expected = [&](const std::vector<TestCrash>& crashes, int64_t first_day) {
    std::map<Key, int64_t> want;
    for (const auto& c : crashes) {
      int64_t day = floor_div(date_us(c), kMicrosPerDay);
      if (day >= first_day) want[{str(c, "product").value_or(""), str(c, "version").value_or(""), day}] += 1;
    }
    return want;
  };
  auto actual = [&](int64_t first_day) {
    std::map<Key, int64_t> got;
    auto rows = index_->product_version_days(first_day);
    for (size_t i = 1; i < rows.size(); ++i) {
      EXPECT_LT(std::tie(rows[i - 1].product, rows[i - 1].version, rows[i - 1].day),
                std::tie(rows[i].product, rows[i].version, rows[i].day));
    }
    for (const auto& r : rows) got[{r.product, r.version, r.day}] = r.count;
    return got;
  };
  const int64_t first = kEndDay - 13;
  std::vector<TestCrash> crashes = crashes_;
  ASSERT_EQ(actual(first), expected(crashes, first));
  ASSERT_EQ(actual(0), expected(crashes, 0));
  EXPECT_FALSE(actual(first).empty());

  // The same counts Super Search gives for one product's crashes per day and version.
  const std::string product = *str(crashes[0], "product");
  json h = search({{"product", product}, {"date", ">=" + format_day(first)}, {"_histogram.date", "version"},
                   {"_facets", ""}, {"_facets_size", "1000"}, {"_results_number", "0"}});
  std::map<Key, int64_t> from_search;
  for (const auto& b : h["facets"]["histogram_date"]) {
    int64_t day = floor_div(*parse_date_us(b["term"].get<std::string>()), kMicrosPerDay);
    for (const auto& v : b["facets"]["version"]) from_search[{product, v["term"].get<std::string>(), day}] = v["count"];
  }
  std::map<Key, int64_t> product_rows;
  for (const auto& [k, n] : actual(first)) {
    if (std::get<0>(k) == product && !std::get<1>(k).empty()) product_rows[k] = n;
  }
  EXPECT_EQ(product_rows, from_search);

  // Reprocessing moves crashes to another version, twice over, counted once.
  std::vector<TestCrash> changed;
  for (size_t i = 0; i < crashes.size(); i += 7) {
    crashes[i].processed["version"] = "99.0reprocessed";
    crashes[i].raw["Version"] = "99.0reprocessed";
    changed.push_back(crashes[i]);
  }
  index_->upsert_batch(inputs(changed));
  index_->upsert_batch(inputs(changed));
  // What the index stores as version (the processed crash's or the raw one's) decides: compare
  // with a fresh reading of each changed crash.
  for (auto& c : changed) {
    auto hit = index_->get(uuid(c), {});
    ASSERT_TRUE(hit);
    EXPECT_EQ((*hit)["version"], "99.0reprocessed");
  }
  EXPECT_EQ(actual(0), expected(crashes, 0));

  // Remove and retention take their crashes out.
  ASSERT_TRUE(index_->remove(uuid(crashes[1])));
  crashes.erase(crashes.begin() + 1);
  EXPECT_EQ(actual(0), expected(crashes, 0));
  const auto cutoff = kEnd - std::chrono::hours(24 * 9 + 7);
  const int64_t cutoff_us = std::chrono::duration_cast<std::chrono::microseconds>(cutoff.time_since_epoch()).count();
  index_->drop_older_than(cutoff);
  std::erase_if(crashes, [&](const TestCrash& c) { return date_us(c) < cutoff_us; });
  EXPECT_EQ(actual(0), expected(crashes, 0));
}

// A search of dates only, counted per day, is answered from the per-day rollup for whole days and
// from the crashes for partial ones (backend_support.h: DayRollupPlan). Its total, histogram and
// hits equal the crashes counted here and a search that scans them, for whole, partial, one-day
// and exclusive ranges, and stay so through reprocessing, a remove and retention.
TEST_P(CrashIndexDataContract, DayHistogramOfDatesOnlyCountsFromTheRollup) {
  std::vector<TestCrash> crashes = crashes_;
  const int64_t at = date_us(crashes[5]);  // a crash's exact date: inclusive and exclusive ends
  const int64_t day = kMicrosPerDay, end_us = kEndDay * kMicrosPerDay;
  const std::vector<std::pair<std::string, std::string>> ranges = {
      {">=" + format_date_us(end_us - 19 * day), "<" + format_date_us(end_us + day)},  // whole days
      {">=" + format_date_us(end_us - 9 * day - 3'600'000'000), "<=" + format_date_us(end_us - day / 3)},
      {">" + format_date_us(at), "<" + format_date_us(at + 4 * day)},            // starts just after a crash
      {">=" + format_date_us(at - 2 * day), "<" + format_date_us(at)},           // ends just before it
      {">=" + format_date_us(at - 3 * day), "<=" + format_date_us(at)},          // ends on it
      {">=" + format_date_us(at), "<=" + format_date_us(at)},                    // that crash alone
      {">=" + format_date_us(end_us - 5 * day + 1000), "<" + format_date_us(end_us - 5 * day + 7'200'000'000)},
  };
  // Exact product and version filters are read from the rollup too.
  const std::string product = *str(crashes[0], "product"), version = *str(crashes[0], "version");
  const std::string other_product = *str(*std::find_if(crashes.begin(), crashes.end(), [&](const TestCrash& c) {
    return str(c, "product") && str(c, "product") != product;
  }), "product");
  const std::vector<QueryPairs> filter_sets = {
      {}, {{"product", product}}, {{"product", product}, {"product", other_product}},
      {{"product", "=" + product}, {"version", version}}};
  auto matches = [&](const TestCrash& c, const QueryPairs& filters) {
    std::set<std::string> products, versions;
    for (const auto& [k, v] : filters) (k == "product" ? products : versions).insert(v[0] == '=' ? v.substr(1) : v);
    return (products.empty() || products.count(str(c, "product").value_or("")) != 0) &&
           (versions.empty() || versions.count(str(c, "version").value_or("")) != 0);
  };
  auto check = [&](const char* when) {
    for (const auto& filters : filter_sets) {
      for (const auto& [lower, upper] : ranges) {
        std::string shown = std::string(when) + ": date=" + lower + "&date=" + upper;
        for (const auto& [k, v] : filters) shown += "&" + k + "=" + v;
        QueryPairs pairs = {{"date", lower}, {"date", upper}, {"_histogram.date", ""}, {"_facets", ""},
                            {"_results_number", "20"}};
        pairs.insert(pairs.end(), filters.begin(), filters.end());
        json r = search(pairs);
        // Counted here: the crashes in the range, per day.
        auto bound = [](const std::string& text) { return *parse_date_us(text.substr(text[1] == '=' ? 2 : 1)); };
        const int64_t lo = bound(lower) + (lower[1] == '=' ? 0 : 1), hi = bound(upper) - (upper[1] == '=' ? 0 : 1);
        std::map<std::string, int64_t> per_day;
        int64_t total = 0;
        for (const auto& c : crashes) {
          if (date_us(c) < lo || date_us(c) > hi || !matches(c, filters)) continue;
          ++per_day[day_of(c) + "T00:00:00+00:00"];
          ++total;
        }
        std::vector<std::pair<std::string, int64_t>> want(per_day.begin(), per_day.end());
        EXPECT_EQ(r["total"], total) << shown;
        EXPECT_EQ(buckets(r["facets"]["histogram_date"]), want) << shown;
        // A search that must scan (a product facet asked too) gives the same histogram and hits.
        pairs.emplace_back("_facets", "product");
        json scanned = search(pairs);
        EXPECT_EQ(scanned["total"], r["total"]) << shown;
        EXPECT_EQ(scanned["facets"]["histogram_date"], r["facets"]["histogram_date"]) << shown;
        EXPECT_EQ(scanned["hits"], r["hits"]) << shown;
        EXPECT_EQ(r["hits"].size(), std::min<size_t>(20, static_cast<size_t>(total))) << shown;
      }
    }
  };
  check("loaded");
  // Reprocessing moves crashes a day later; a remove; retention with a mid-day cutoff.
  std::vector<TestCrash> changed;
  for (size_t i = 0; i < crashes.size(); i += 9) {
    crashes[i].processed["date_processed"] = format_date_us(date_us(crashes[i]) + day / 2);
    changed.push_back(crashes[i]);
  }
  index_->upsert_batch(inputs(changed));
  check("reprocessed");
  ASSERT_TRUE(index_->remove(uuid(crashes[2])));
  crashes.erase(crashes.begin() + 2);
  check("removed");
  const auto cutoff = kEnd - std::chrono::hours(24 * 11 + 5);
  const int64_t cutoff_us = std::chrono::duration_cast<std::chrono::microseconds>(cutoff.time_since_epoch()).count();
  index_->drop_older_than(cutoff);
  std::erase_if(crashes, [&](const TestCrash& c) { return date_us(c) < cutoff_us; });
  check("expired");
}

TEST_P(CrashIndexDataContract, Delete) {
  TopCrashersQuery q;
  q.product = *str(crashes_[0], "product");
  q.days = 28;
  q.limit = 1000;
  q.end = kEnd;
  auto before = index_->top_crashers(q);
  EXPECT_TRUE(index_->remove(uuid(crashes_[0])));
  EXPECT_FALSE(index_->remove(uuid(crashes_[0])));
  EXPECT_FALSE(index_->get(uuid(crashes_[0]), {}));
  EXPECT_EQ(index_->count(), crashes_.size() - 1);
  auto after = index_->top_crashers(q);
  EXPECT_EQ(after.total, before.total - 1);
  json r = search({{"uuid", uuid(crashes_[0])}});
  EXPECT_EQ(r["total"], 0);
  // Upserting it again brings it back, counted once.
  index_->upsert(crashes_[0].processed, crashes_[0].raw);
  EXPECT_EQ(index_->top_crashers(q).total, before.total);
}

TEST_P(CrashIndexDataContract, Retention) {
  const auto cutoff = kEnd - std::chrono::hours(24 * 9 + 7);  // mid-day: both rollup edges are partial days
  int64_t cutoff_us = std::chrono::duration_cast<std::chrono::microseconds>(cutoff.time_since_epoch()).count();
  int64_t old_count = std::count_if(crashes_.begin(), crashes_.end(), [&](const TestCrash& c) { return date_us(c) < cutoff_us; });
  ASSERT_GT(old_count, 0);
  TopCrashersQuery q;
  q.product = "Firefox";
  q.days = 7;
  q.end = kEnd;
  auto before = index_->top_crashers(q);
  json young_before = search({{"date", ">=" + format_date_us(cutoff_us)}, {"date", "<2026-11-02"}, {"_facets", "signature"}});
  EXPECT_EQ(index_->drop_older_than(cutoff), static_cast<uint64_t>(old_count));
  EXPECT_EQ(index_->count(), crashes_.size() - static_cast<size_t>(old_count));
  json young_after = search({{"date", ">=" + format_date_us(cutoff_us)}, {"date", "<2026-11-02"}, {"_facets", "signature"}});
  EXPECT_EQ(young_after["total"], young_before["total"]);
  EXPECT_EQ(young_after["facets"], young_before["facets"]);
  json old = search({{"date", "<" + format_date_us(cutoff_us)}, {"date", ">=2026-10-01"}});
  EXPECT_EQ(old["total"], 0);
  // The last 7 days are younger than the cutoff: Top Crashers unchanged.
  auto after = index_->top_crashers(q);
  EXPECT_EQ(after.total, before.total);
  ASSERT_EQ(after.crashers.size(), before.crashers.size());
  for (size_t i = 0; i < after.crashers.size(); ++i) EXPECT_EQ(after.crashers[i].count, before.crashers[i].count);
  // The previous period partly was: its total dropped by exactly the crashes removed from it.
  int64_t prev_removed = std::count_if(crashes_.begin(), crashes_.end(), [&](const TestCrash& c) {
    int64_t d = floor_div(date_us(c), kMicrosPerDay);
    return date_us(c) < cutoff_us && str(c, "product") == "Firefox" && d >= kEndDay - 13 && d <= kEndDay - 7;
  });
  EXPECT_EQ(after.previous_total, before.previous_total - prev_removed);
}

// Missing symbols: grouped by module over a period, the crashes of one module for healing, kept
// current by reprocessing (a crash that found its symbols no longer counts), remove and retention.
TEST_P(CrashIndexDataContract, MissingSymbols) {
  auto missing_of = [](const TestCrash& c) {
    std::vector<std::string> out;
    if (!c.processed.contains("json_dump")) return out;
    for (const auto& m : c.processed["json_dump"]["modules"]) {
      if (m["missing_symbols"].get<bool>()) out.push_back(m["debug_file"].get<std::string>());
    }
    return out;
  };
  const int64_t end_us = std::chrono::duration_cast<std::chrono::microseconds>(kEnd.time_since_epoch()).count();
  const int64_t from_us = end_us - 7 * kMicrosPerDay;
  std::map<std::string, std::pair<int64_t, int64_t>> expected;  // debug_file -> (crashes, newest date)
  for (const auto& c : crashes_) {
    if (date_us(c) < from_us || date_us(c) > end_us) continue;
    for (const auto& f : missing_of(c)) {
      auto& e = expected[f];
      ++e.first;
      e.second = std::max(e.second, date_us(c));
    }
  }
  ASSERT_GE(expected.size(), 2u);
  MissingSymbolsQuery q;
  q.days = 7;
  q.end = kEnd;
  auto got = index_->missing_symbols(q);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const auto& m = got[i];
    ASSERT_TRUE(expected.count(m.debug_file)) << m.debug_file;
    EXPECT_EQ(m.crashes, expected[m.debug_file].first) << m.debug_file;
    EXPECT_EQ(m.last_seen, format_date_us(expected[m.debug_file].second)) << m.debug_file;
    EXPECT_EQ(m.debug_id, [&] {
      std::string id = m.debug_id;
      for (char& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return id;
    }()) << "debug ids are upper-cased";
    EXPECT_EQ(m.code_id, "C0DE" + [&] {
      std::string id = m.debug_id;
      for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return id;
    }());
    if (i > 0) {
      EXPECT_TRUE(got[i - 1].crashes > m.crashes || (got[i - 1].crashes == m.crashes && got[i - 1].debug_file < m.debug_file));
    }
  }
  q.limit = 1;
  EXPECT_EQ(index_->missing_symbols(q).size(), 1u);
  q.days = 0;
  EXPECT_THROW(index_->missing_symbols(q), QueryError);

  // The crashes of the top module, every date, newest first; the debug id in any case.
  const MissingSymbol top = got.front();
  std::vector<std::pair<int64_t, std::string>> of_top;
  for (const auto& c : crashes_) {
    auto files = missing_of(c);
    if (std::find(files.begin(), files.end(), top.debug_file) != files.end()) of_top.emplace_back(date_us(c), uuid(c));
  }
  std::sort(of_top.begin(), of_top.end(), [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  std::string lower_id = top.debug_id;
  for (char& c : lower_id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto ids = index_->crashes_missing_symbols(top.debug_file, lower_id, 100000);
  ASSERT_EQ(ids.size(), of_top.size());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], of_top[i].second);
  EXPECT_EQ(index_->crashes_missing_symbols(top.debug_file, top.debug_id, 2).size(), 2u);
  EXPECT_TRUE(index_->crashes_missing_symbols(top.debug_file, "FFFF", 10).empty());

  // Reprocessed with its symbols found (twice: idempotent), one crash no longer counts; a removed
  // one neither.
  const std::string healed = of_top.front().second, removed = of_top.at(1).second;
  for (const auto& c : crashes_) {
    if (uuid(c) != healed) continue;
    TestCrash copy = c;
    for (auto& m : copy.processed["json_dump"]["modules"]) m["missing_symbols"] = false;
    index_->upsert(copy.processed, copy.raw);
    index_->upsert(copy.processed, copy.raw);
  }
  EXPECT_TRUE(index_->remove(removed));
  ids = index_->crashes_missing_symbols(top.debug_file, top.debug_id, 100000);
  EXPECT_EQ(ids.size(), of_top.size() - 2);
  EXPECT_EQ(std::find(ids.begin(), ids.end(), healed), ids.end());
  EXPECT_EQ(std::find(ids.begin(), ids.end(), removed), ids.end());

  // Retention takes the old crashes' rows with them.
  const auto cutoff = kEnd - std::chrono::hours(24 * 9 + 7);
  const int64_t cutoff_us = std::chrono::duration_cast<std::chrono::microseconds>(cutoff.time_since_epoch()).count();
  index_->drop_older_than(cutoff);
  ids = index_->crashes_missing_symbols(top.debug_file, top.debug_id, 100000);
  size_t young = 0;
  for (const auto& [date, id] : of_top) young += date >= cutoff_us && id != healed && id != removed ? 1 : 0;
  EXPECT_EQ(ids.size(), young);
}

TEST_P(CrashIndexDataContract, Permissions) {
  EXPECT_THROW(search({{"url", "~example"}}), QueryError);
  EXPECT_THROW(search({{"Secret", "x"}}), QueryError);
  expect_matches({{"url", "~example1"}}, [](const TestCrash& c) { return has(str(c, "url"), "example1"); }, {"view_pii"});
  json r = search({{"_columns", "uuid,url"}, {"_facets", "url"}, {"_results_number", "5"}});
  for (const auto& h : r["hits"]) EXPECT_FALSE(h.contains("url"));
  EXPECT_FALSE(r["facets"].contains("url"));
  json p = search({{"_columns", "uuid,url"}, {"_facets", "url"}, {"_results_number", "1000"}}, {"view_pii"});
  EXPECT_TRUE(p["facets"].contains("url"));
  bool some_url = false;
  for (const auto& h : p["hits"]) some_url = some_url || h["url"].is_string();
  EXPECT_TRUE(some_url);
}

TEST_P(CrashIndexDataContract, HostileQueries) {
  auto fast = [&](const QueryPairs& pairs) {
    auto start = Clock::now();
    try {
      search(pairs);
    } catch (const QueryError&) {
    }
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  };
  for (std::string evil : std::vector<std::string>{"'; DROP TABLE crashes; --", "\" OR 1=1 --", "%", "_", "*", "?", "[a]", "\\", "' || '",
                           std::string("a\0b", 3)}) {
    json r = search({{"signature", evil}, {"signature", "~" + evil}, {"signature", "^" + evil}, {"signature", "$" + evil}});
    EXPECT_EQ(r["total"], 0) << evil;
  }
  EXPECT_EQ(index_->count(), crashes_.size());
  // Pathological regex over long values.
  GeneratorOptions o;
  o.end = kEnd;
  o.seed = 7;
  auto longs = CrashGenerator(o).make(20);
  for (auto& c : longs) c.processed["signature"] = std::string(9000, 'a') + "b";
  auto in = inputs(longs);
  index_->upsert_batch(in);
  auto start = Clock::now();
  json r = search({{"signature", "@(a+)+$"}, {"signature", "@(a|aa)*c"}, {"_results_number", "0"}});
  EXPECT_EQ(r["total"], 0);
  r = search({{"signature", "@(a+)+b"}, {"_results_number", "0"}});
  EXPECT_EQ(r["total"], 20);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  EXPECT_THROW(search({{"_results_number", "100000000"}}), QueryError);
  EXPECT_THROW(search({{"_results_offset", "1000000"}}), QueryError);
  EXPECT_THROW(search({{"no_such_field", "1"}}), QueryError);
  EXPECT_THROW(search({{"date", ">=2026-13-45"}}), QueryError);
  EXPECT_THROW(search({{"date", "<tomorrow"}}), QueryError);
  try {
    search({{"date", ">=2026-10-01"}, {"date", "<=2026-02-30"}});
    ADD_FAILURE() << "bad date accepted";
  } catch (const QueryError& e) {
    EXPECT_EQ(e.parameter(), "date");
    EXPECT_NE(std::string(e.what()).find("2026-02-30"), std::string::npos);
  }
  QueryPairs many;
  for (int i = 0; i < 10000; ++i) many.emplace_back("signature", "~s" + std::to_string(i));
  fast(many);
  EXPECT_THROW(search(many), QueryError);
  // The largest allowed OR lists run, and fast.
  QueryPairs thousand;
  for (int i = 0; i < 998; ++i) thousand.emplace_back("signature", "~s" + std::to_string(i));
  fast(thousand);
  QueryPairs exact;
  for (int i = 0; i < 998; ++i) exact.emplace_back("signature", CrashGenerator::signature_name(static_cast<size_t>(i)));
  fast(exact);
  json all = search(exact);
  EXPECT_EQ(all["total"], static_cast<int64_t>(crashes_.size()));
  fast({{"_facets_size", "10000"}, {"_facets", "signature,uuid,address"}, {"_aggs.signature.address", "uuid"}});
}

TEST_P(CrashIndexDataContract, ConcurrentReadsAndWrites) {
  GeneratorOptions o;
  o.end = kEnd;
  o.seed = 99;
  o.days = 20;
  auto extra = CrashGenerator(o).make(500);
  std::atomic<bool> failed{false};
  std::thread writer([&] {
    try {
      for (size_t i = 0; i < extra.size(); i += 50) {
        std::vector<TestCrash> chunk(extra.begin() + static_cast<long>(i), extra.begin() + static_cast<long>(i + 50));
        auto in = inputs(chunk);
        index_->upsert_batch(in);
      }
    } catch (...) {
      failed = true;
    }
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      try {
        for (int i = 0; i < 20; ++i) {
          json r = search({{"_facets", "signature"}, {"_results_number", "10"}});
          int64_t n = r["total"].get<int64_t>();
          if (n < static_cast<int64_t>(crashes_.size()) || n > static_cast<int64_t>(crashes_.size() + extra.size())) failed = true;
        }
      } catch (...) {
        failed = true;
      }
    });
  }
  writer.join();
  for (auto& t : readers) t.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(index_->count(), crashes_.size() + extra.size());
}

TEST_P(CrashIndexContract, PagingPastTenThousand) {
  GeneratorOptions o;
  o.end = kEnd;
  o.seed = 5;
  o.days = 3;
  CrashGenerator gen(o);
  std::set<std::string> ids;
  for (int batch = 0; batch < 21; ++batch) {
    auto crashes = gen.make(500);
    for (const auto& c : crashes) ids.insert(uuid(c));
    auto in = inputs(crashes);
    index_->upsert_batch(in);
  }
  ASSERT_EQ(ids.size(), 10500u);
  std::vector<std::string> seen;
  int64_t previous_date = std::numeric_limits<int64_t>::max();
  for (int offset = 0; offset < 10000; offset += 1000) {
    json r = index_->search({{"date", ">=2026-10-01"}, {"_results_number", "1000"}, {"_results_offset", std::to_string(offset)},
                             {"_facets", ""}, {"_columns", "uuid,date"}},
                            {}, kNow);
    EXPECT_EQ(r["total"], 10500);  // exact, not capped
    ASSERT_EQ(r["hits"].size(), 1000u);
    for (const auto& h : r["hits"]) {
      seen.push_back(h["uuid"]);
      int64_t d = *parse_date_us(h["date"].get<std::string>());
      EXPECT_LE(d, previous_date);
      previous_date = d;
    }
  }
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 10000u);
  // Beyond the 10,000-result window: a clear error naming the parameter, as crash-stats.
  try {
    index_->search({{"_results_number", "1000"}, {"_results_offset", "9500"}}, {}, kNow);
    ADD_FAILURE() << "deep page accepted";
  } catch (const QueryError& e) {
    EXPECT_EQ(e.parameter(), "_results_offset");
  }
  // Ascending order reaches the rest.
  json rest = index_->search({{"date", ">=2026-10-01"}, {"_sort", "date"}, {"_results_number", "500"}, {"_facets", ""}}, {}, kNow);
  for (const auto& h : rest["hits"]) seen.push_back(h["uuid"]);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), ids);
}

}  // namespace bw::index::contract
