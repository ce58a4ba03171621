// Bad .sym inputs shared by the parser tests (sym_parser_test.cc, sym_parser_paths_test.cc) and
// sym_check_test.cc, which must reach the same verdict on exactly the same text. Test code only.
#pragma once

#include <string_view>

namespace bw::symbols::test_inputs {

// One bad line of (nearly) every record kind among good ones: 12 bad lines, the orphan INLINE is
// dropped (not bad), the last line still parses; the first error is "line 2: bad FUNC record".
inline constexpr std::string_view kBadLinesOfEveryKind =
    "MODULE Linux x86_64 ID mod\n"
    "FUNC zz 10 0 bad_hex\n"
    "FUNC 100 10 0 good\n"
    "100 fffffffffffffffffffff 1 0\n"   // size overflows 64 bits
    "100 8 99999999999 0\n"             // line number overflows 32 bits
    "100 8 1\n"                         // missing field
    "108 8 2 0\n"
    "PUBLIC\n"
    "PUBLIC 200\n"
    "STACK CFI INIT 100 10\n"
    "STACK CFI 104\n"
    "STACK WIN 9 0 0 0 0 0 0 0 0 0 0\n"
    "STACK WHAT\n"
    "INLINE 5 1 0 0 100 4\n"
    "NONSENSE here\n"
    "FILE x name\n"
    "\n"
    "PUBLIC 300 0 still_parsed\r\n";

// Line records the fast path must leave to the general parser: 5 bad, the first at line 4.
inline constexpr std::string_view kLineRecordsForTheGeneralParser =
    "MODULE Linux x86_64 ID mod\n"
    "FUNC 100 100 0 f\n"
    "100 8 1 0\n"                        // good
    "108 8 2 0 extra\n"                  // trailing field
    "110 8 99999999999 0\n"              // line number over 32 bits
    "118 8 3 4294967296\n"               // file id over 32 bits
    "120 10000000000000000 4 0\n"        // size over 64 bits
    "128  8 5 0\n"                       // two spaces: general parser accepts it
    "130 8 6 0 \n"                       // trailing space: accepted too
    "138 8 7 0\r\n"                      // CRLF
    "140 8 x 0\n"                        // bad decimal
    "148 0 8 0\n"                        // zero-sized: dropped, not bad
    "200 8 9 0\n";                       // outside the function: dropped

}  // namespace bw::symbols::test_inputs
