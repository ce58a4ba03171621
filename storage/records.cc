#include "storage/records.h"

#include <zlib.h>

#include <limits>
#include <set>

#include "storage/crash_storage.h"

namespace bw::storage::records {
namespace {

nlohmann::json parse_json(std::string_view bytes, const char* what) {
  auto value = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) throw CorruptCrashData(std::string(what) + ": not valid JSON");
  return value;
}

}  // namespace

std::string encode_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json decode_raw_crash(std::string_view bytes) {
  auto value = parse_json(bytes, "raw_crash.json");
  if (!value.is_object()) throw CorruptCrashData("raw_crash.json: not a JSON object");
  return value;
}

std::string encode_dump_names(const std::vector<std::string>& names) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& n : names) array.push_back(n);
  return array.dump();
}

std::vector<std::string> decode_dump_names(std::string_view bytes) {
  auto value = parse_json(bytes, "dump_names.json");
  if (!value.is_array()) throw CorruptCrashData("dump_names.json: not a JSON array");
  if (value.size() > kMaxDumps) throw CorruptCrashData("dump_names.json: too many dumps");
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const auto& item : value) {
    if (!item.is_string()) throw CorruptCrashData("dump_names.json: an entry is not a string");
    const auto& name = item.get_ref<const std::string&>();
    if (!is_valid_dump_name(name)) throw CorruptCrashData("dump_names.json: invalid dump name");
    if (!seen.insert(name).second) throw CorruptCrashData("dump_names.json: duplicate dump name " + name);
    names.push_back(name);
  }
  return names;
}

std::string gzip_compress(std::string_view bytes) {
  z_stream zs{};
  // 15 window bits + 16: gzip wrapper rather than zlib's.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("gzip: deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(bytes.size())) + 64);
  size_t in_off = 0;
  int rc = Z_OK;
  do {
    size_t in_chunk = std::min<size_t>(bytes.size() - in_off, std::numeric_limits<uInt>::max());
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + in_off));
    zs.avail_in = static_cast<uInt>(in_chunk);
    bool last = in_off + in_chunk == bytes.size();
    do {
      if (zs.total_out == out.size()) out.resize(out.size() * 2);
      size_t room = std::min<size_t>(out.size() - zs.total_out, std::numeric_limits<uInt>::max());
      zs.next_out = reinterpret_cast<Bytef*>(out.data() + zs.total_out);
      zs.avail_out = static_cast<uInt>(room);
      rc = deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
      if (rc == Z_STREAM_ERROR) {
        deflateEnd(&zs);
        throw std::runtime_error("gzip: deflate failed");
      }
    } while (zs.avail_out == 0 || (last && rc != Z_STREAM_END));
    in_off += in_chunk;
  } while (in_off < bytes.size());
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string gzip_decompress(std::string_view bytes, size_t max_output) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw std::runtime_error("gzip: inflateInit2 failed");
  std::string out;
  char buf[65536];
  size_t in_off = 0;
  int rc = Z_OK;
  for (;;) {
    if (zs.avail_in == 0 && in_off < bytes.size()) {
      size_t in_chunk = std::min<size_t>(bytes.size() - in_off, std::numeric_limits<uInt>::max());
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + in_off));
      zs.avail_in = static_cast<uInt>(in_chunk);
      in_off += in_chunk;
    }
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    size_t produced = sizeof buf - zs.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && produced > 0)) break;
    if (out.size() + produced > max_output) {
      inflateEnd(&zs);
      throw CorruptCrashData("gzip: decompressed data over " + std::to_string(max_output) + " bytes");
    }
    out.append(buf, produced);
    if (rc == Z_STREAM_END) break;
    if (produced == 0 && zs.avail_in == 0 && in_off == bytes.size()) {
      rc = Z_BUF_ERROR;  // input ended before the stream did
      break;
    }
  }
  bool trailing = zs.avail_in != 0 || in_off != bytes.size();
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) throw CorruptCrashData("gzip: corrupt or truncated stream");
  if (trailing) throw CorruptCrashData("gzip: bytes after the end of the stream");
  return out;
}

std::string encode_processed(const nlohmann::json& processed) { return gzip_compress(encode_json(processed)); }

nlohmann::json decode_processed(std::string_view bytes, size_t max_output) {
  auto value = parse_json(gzip_decompress(bytes, max_output), "processed_crash.json.gz");
  if (!value.is_object()) throw CorruptCrashData("processed_crash.json.gz: not a JSON object");
  return value;
}

}  // namespace bw::storage::records
