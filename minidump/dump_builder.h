// Builds small synthetic minidumps in memory, for tests and fuzz seeds: streams the shared corpus
// does not contain (Memory64 list, assertion info, misc info versions, Crashpad annotations, old
// arm64 contexts...) and exact edge cases. Header-only; not part of the reader.
//
// Layout: the 32-byte header, then blobs in the order they are added, then the stream directory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bw::minidump::testing {

// Little-endian byte buffer.
class Buf {
 public:
  Buf& u8(uint8_t v) {
    b_.push_back(v);
    return *this;
  }
  Buf& u16(uint16_t v) { return put(v, 2); }
  Buf& u32(uint32_t v) { return put(v, 4); }
  Buf& u64(uint64_t v) { return put(v, 8); }
  Buf& zeros(size_t n) {
    b_.insert(b_.end(), n, 0);
    return *this;
  }
  Buf& bytes(const std::vector<uint8_t>& v) {
    b_.insert(b_.end(), v.begin(), v.end());
    return *this;
  }
  Buf& text(std::string_view s, bool nul = true) {
    b_.insert(b_.end(), s.begin(), s.end());
    if (nul) b_.push_back(0);
    return *this;
  }
  // ASCII (or raw UTF-16 code units) as UTF-16LE, padded with zeros to `units` if given.
  Buf& utf16(const std::u16string& s, size_t units = 0) {
    for (char16_t c : s) u16(static_cast<uint16_t>(c));
    for (size_t i = s.size(); i < units; ++i) u16(0);
    return *this;
  }
  Buf& patch_u32(size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b_[at + i] = static_cast<uint8_t>(v >> (8 * i));
    return *this;
  }
  size_t size() const { return b_.size(); }
  const std::vector<uint8_t>& data() const { return b_; }

 private:
  Buf& put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  std::vector<uint8_t> b_;
};

class DumpBuilder {
 public:
  DumpBuilder() { file_.zeros(32); }

  // Appends bytes and returns their offset (RVA) in the file.
  uint32_t blob(const Buf& b) {
    auto rva = static_cast<uint32_t>(file_.size());
    file_.bytes(b.data());
    return rva;
  }
  // A MINIDUMP_STRING (u32 byte length + UTF-16LE + NUL).
  uint32_t string(const std::u16string& s) {
    Buf b;
    b.u32(static_cast<uint32_t>(s.size() * 2)).utf16(s).u16(0);
    return blob(b);
  }
  // Crashpad's MinidumpUTF8String / MinidumpByteArray (u32 length + bytes + NUL).
  uint32_t utf8(std::string_view s) {
    Buf b;
    b.u32(static_cast<uint32_t>(s.size())).text(s);
    return blob(b);
  }
  void stream(uint32_t type, const Buf& b) {
    uint32_t rva = blob(b);
    dir_.push_back({type, static_cast<uint32_t>(b.size()), rva});
  }
  // A directory entry pointing anywhere (for hostile-input tests).
  void raw_entry(uint32_t type, uint32_t size, uint32_t rva) { dir_.push_back({type, size, rva}); }

  std::vector<uint8_t> finish(uint32_t timestamp = 0x5f000000) const {
    Buf out = file_;
    auto dir_rva = static_cast<uint32_t>(out.size());
    for (const auto& e : dir_) out.u32(e.type).u32(e.size).u32(e.rva);
    std::vector<uint8_t> bytes = out.data();
    Buf header;
    header.u32(0x504d444d).u32(0xa793).u32(static_cast<uint32_t>(dir_.size())).u32(dir_rva).u32(0).u32(timestamp).u64(0);
    std::copy(header.data().begin(), header.data().end(), bytes.begin());
    return bytes;
  }

 private:
  struct Entry {
    uint32_t type, size, rva;
  };
  Buf file_;
  std::vector<Entry> dir_;
};

}  // namespace bw::minidump::testing
