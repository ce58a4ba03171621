// Encoding and decoding of the files a crash is stored as (raw_crash.json, dump_names.json,
// processed_crash.json.gz). Every decoder treats its input as untrusted bytes read back from disk:
// it checks sizes and shapes and throws CorruptCrashData with a reason, never anything undefined.
// Thread safety: stateless functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace bw::storage::records {

// Largest decompressed processed crash we accept (a processed crash is a few MB at most).
inline constexpr size_t kMaxProcessedBytes = size_t{512} << 20;
// Most dumps one crash may list (real crashes have a handful).
inline constexpr size_t kMaxDumps = 256;

// JSON text of a raw or processed crash. Invalid UTF-8 in strings is replaced (U+FFFD), not
// refused: the collector has already accepted the crash and it must be storable.
std::string encode_json(const nlohmann::json& value);
// Parses a raw crash: must be a JSON object.
nlohmann::json decode_raw_crash(std::string_view bytes);

// dump_names.json: a JSON array of valid, distinct dump names.
std::string encode_dump_names(const std::vector<std::string>& names);
std::vector<std::string> decode_dump_names(std::string_view bytes);

// gzip (RFC 1952) with zlib. Decompression refuses output larger than `max_output`, truncated
// streams and trailing bytes.
std::string gzip_compress(std::string_view bytes);
std::string gzip_decompress(std::string_view bytes, size_t max_output);

// processed_crash.json.gz: gzip'd JSON object.
std::string encode_processed(const nlohmann::json& processed);
nlohmann::json decode_processed(std::string_view bytes, size_t max_output = kMaxProcessedBytes);

}  // namespace bw::storage::records
