#include "minidump/byte_reader.h"

namespace bw::minidump::detail {
namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

}  // namespace

std::string utf16le_to_utf8(Bytes bytes, bool stop_at_nul) {
  constexpr uint32_t kReplacement = 0xfffd;
  std::string out;
  out.reserve(bytes.size() / 2);
  size_t units = bytes.size() / 2;
  auto unit = [&](size_t i) { return static_cast<uint32_t>(bytes[2 * i] | (bytes[2 * i + 1] << 8)); };
  for (size_t i = 0; i < units; ++i) {
    uint32_t u = unit(i);
    if (stop_at_nul && u == 0) break;
    if (u >= 0xd800 && u <= 0xdbff) {
      if (i + 1 < units) {
        uint32_t low = unit(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          append_utf8(out, 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00));
          ++i;
          continue;
        }
      }
      append_utf8(out, kReplacement);
    } else if (u >= 0xdc00 && u <= 0xdfff) {
      append_utf8(out, kReplacement);
    } else {
      append_utf8(out, u);
    }
  }
  return out;
}

std::optional<std::string> read_minidump_string(Bytes file, uint64_t rva) {
  auto length = read_le<uint32_t>(file, rva);
  if (!length) return std::nullopt;
  // Odd lengths are malformed; the last half code unit is ignored.
  auto chars = slice(file, rva + 4, *length & ~1U);
  if (!chars) return std::nullopt;
  return utf16le_to_utf8(*chars);
}

std::string read_c_string(Bytes bytes, size_t offset) {
  if (offset >= bytes.size()) return {};
  size_t end = offset;
  while (end < bytes.size() && bytes[end] != 0) ++end;
  return valid_utf8(std::string_view(reinterpret_cast<const char*>(bytes.data() + offset), end - offset));
}

std::string valid_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const auto b0 = static_cast<uint8_t>(in[i]);
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if (b0 < 0x80) {
      out.push_back(static_cast<char>(b0));
      ++i;
      continue;
    } else if ((b0 & 0xe0) == 0xc0) {
      len = 2, cp = b0 & 0x1f, min = 0x80;
    } else if ((b0 & 0xf0) == 0xe0) {
      len = 3, cp = b0 & 0x0f, min = 0x800;
    } else if ((b0 & 0xf8) == 0xf0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    }
    // Count the continuation bytes that follow; a broken or truncated sequence is replaced by one
    // U+FFFD (lead and continuation bytes together), close to what the WHATWG decoder does.
    size_t k = 0;
    while (len != 0 && k + 1 < len && i + 1 + k < in.size() &&
           (static_cast<uint8_t>(in[i + 1 + k]) & 0xc0) == 0x80) {
      cp = (cp << 6) | (static_cast<uint8_t>(in[i + 1 + k]) & 0x3f);
      ++k;
    }
    if (len == 0) {
      append_utf8(out, 0xfffd);
      ++i;
    } else if (k + 1 < len) {
      append_utf8(out, 0xfffd);
      i += 1 + k;
    } else if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      // Overlong forms, surrogates and values past U+10FFFF: the lead byte is invalid.
      append_utf8(out, 0xfffd);
      ++i;
    } else {
      out.append(in.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string hex_lower(Bytes bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

}  // namespace bw::minidump::detail
