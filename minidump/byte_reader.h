// Bounds-checked little-endian reading of untrusted bytes (internal to the reader).
//
// Every read is checked against the span with overflow-safe arithmetic; a read that does not fit
// returns nullopt (or, for `Cursor`, zero and marks the cursor failed) instead of touching memory
// outside the bytes.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bw::minidump::detail {

using Bytes = std::span<const uint8_t>;

// The sub-span [offset, offset + size) if it lies inside `bytes`.
inline std::optional<Bytes> slice(Bytes bytes, uint64_t offset, uint64_t size) {
  if (offset > bytes.size() || size > bytes.size() - offset) return std::nullopt;
  return bytes.subspan(static_cast<size_t>(offset), static_cast<size_t>(size));
}

template <typename T>
inline std::optional<T> read_le(Bytes bytes, uint64_t offset) {
  if (offset > bytes.size() || sizeof(T) > bytes.size() - offset) return std::nullopt;
  T value = 0;
  const uint8_t* p = bytes.data() + offset;
  for (size_t i = 0; i < sizeof(T); ++i) value = static_cast<T>(value | (static_cast<T>(p[i]) << (8 * i)));
  return value;
}

// Sequential reader over one record. Reads past the end yield 0 and set `failed()`.
class Cursor {
 public:
  explicit Cursor(Bytes bytes, size_t pos = 0) : bytes_(bytes), pos_(pos) {
    if (pos_ > bytes_.size()) failed_ = true;
  }
  uint8_t u8() { return next<uint8_t>(); }
  uint16_t u16() { return next<uint16_t>(); }
  uint32_t u32() { return next<uint32_t>(); }
  uint64_t u64() { return next<uint64_t>(); }
  int32_t i32() { return static_cast<int32_t>(u32()); }
  void skip(size_t n) {
    if (failed_ || n > bytes_.size() - pos_) {
      failed_ = true;
      return;
    }
    pos_ += n;
  }
  Bytes take(size_t n) {
    if (failed_ || n > bytes_.size() - pos_) {
      failed_ = true;
      return {};
    }
    Bytes out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  size_t pos() const { return pos_; }
  size_t remaining() const { return failed_ ? 0 : bytes_.size() - pos_; }
  bool failed() const { return failed_; }
  bool ok() const { return !failed_; }

 private:
  template <typename T>
  T next() {
    if (failed_) return 0;
    auto v = read_le<T>(bytes_, pos_);
    if (!v) {
      failed_ = true;
      return 0;
    }
    pos_ += sizeof(T);
    return *v;
  }
  Bytes bytes_;
  size_t pos_ = 0;
  bool failed_ = false;
};

// UTF-16LE code units to UTF-8; unpaired surrogates become U+FFFD. Stops at `max_units` or a NUL
// if `stop_at_nul`.
std::string utf16le_to_utf8(Bytes bytes, bool stop_at_nul = false);

// A MINIDUMP_STRING at `rva`: u32 length in bytes, then UTF-16LE. nullopt if it does not fit.
std::optional<std::string> read_minidump_string(Bytes file, uint64_t rva);

// A NUL-terminated 8-bit string inside `bytes` starting at `offset` (to the end if no NUL),
// made valid UTF-8.
std::string read_c_string(Bytes bytes, size_t offset = 0);

// `bytes` as text, with every invalid UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view bytes);

// Lowercase / uppercase hex of bytes.
std::string hex_lower(Bytes bytes);

}  // namespace bw::minidump::detail
