#include "index/search_table.h"

#include <gtest/gtest.h>

#include <chrono>

namespace bw::index {
namespace {

using json = nlohmann::json;

SuperSearchQuery parse(const QueryPairs& pairs) {
  return parse_super_search(FieldCatalogue::builtin(), pairs, {},
                            std::chrono::system_clock::time_point(std::chrono::seconds(1793534400)));
}

TEST(SearchTable, HitsInColumnOrderThenTotalThenFacets) {
  auto q = parse({{"_columns", "signature"}, {"_columns", "uuid"}});
  json result = {{"hits",
                  {{{"uuid", "de1bb258-cbbf-4589-a673-34f800160918"}, {"signature", "OOM | small"}},
                   {{"uuid", "11111111-cbbf-4589-a673-34f800160918"}, {"signature", "a"}}}},
                 {"total", 12},
                 {"facets", {{"signature", {{{"term", "OOM | small"}, {"count", 10}}, {{"term", "a"}, {"count", 2}}}}}},
                 {"errors", json::array()}};
  std::string text = format_search_table(q, result);
  EXPECT_EQ(text,
            "signature    uuid\n"
            "-----------  ------------------------------------\n"
            "OOM | small  de1bb258-cbbf-4589-a673-34f800160918\n"
            "a            11111111-cbbf-4589-a673-34f800160918\n"
            "12 crashes (showing 1-2)\n"
            "\n"
            "signature:\n"
            "     10  OOM | small\n"
            "      2  a\n");
}

TEST(SearchTable, ControlCharactersCannotReachTheTerminalAndLongCellsAreCutAtACharacter) {
  auto q = parse({{"_columns", "signature"}});
  std::string longer = "\x1b[2J" + std::string(70, 'x') + "\xC3\xA9";  // escape sequence, then é at the end
  json result = {{"hits", {{{"signature", longer}}}}, {"total", 1}};
  std::string text = format_search_table(q, result, 20);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(text.find(" [2Jxxxxxxxxxxxxx\xE2\x80\xA6\n"), std::string::npos) << text;
  // A cut in the middle of a two-byte character keeps the whole character out.
  json accents = {{"hits", {{{"signature", std::string(16, 'a') + "\xC3\xA9\xC3\xA9\xC3\xA9"}}}}, {"total", 1}};
  std::string cut = format_search_table(q, accents, 20);
  EXPECT_NE(cut.find(std::string(16, 'a') + "\xE2\x80\xA6"), std::string::npos) << cut;
}

TEST(SearchTable, NestedAggregationsAndCardinality) {
  auto q = parse({{"_columns", "uuid"}});
  json result = {{"hits", json::array()},
                 {"total", 0},
                 {"facets",
                  {{"product", {{{"term", "Firefox"}, {"count", 3}, {"facets", {{"version", {{{"term", "1.0"}, {"count", 3}}}}}}}}},
                   {"cardinality_signature", {{"value", 7}}}}}};
  EXPECT_EQ(format_search_table(q, result),
            "0 crashes\n"
            "\n"
            "cardinality_signature: 7 distinct\n"
            "\n"
            "product:\n"
            "      3  Firefox\n"
            "    version:\n"
            "          3  1.0\n");
}

TEST(SearchTable, ArgumentsAreFieldEqualsValue) {
  auto pairs = query_pairs_from_arguments({"signature=~a=b&c", "product=Firefox", "_facets="});
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0], (std::pair<std::string, std::string>{"signature", "~a=b&c"}));
  EXPECT_EQ(pairs[2], (std::pair<std::string, std::string>{"_facets", ""}));
  EXPECT_THROW(query_pairs_from_arguments({"signature"}), QueryError);
  EXPECT_THROW(query_pairs_from_arguments({"=x"}), QueryError);
}

}  // namespace
}  // namespace bw::index
