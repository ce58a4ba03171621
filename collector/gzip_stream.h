// Streaming gzip inflation (zlib) with a limit on the inflated size.
//
// zlib inflates; the CRC-32 and length in each member's trailer are checked here with
// libdeflate's CRC-32 (carry-less multiply, ~10x zlib 1.2's), because the checksum was the
// largest single cost of a collector request. (The optional header CRC, FHCRC, is not checked.)
//
// Input arrives in pieces; inflated output is handed to a callback in pieces of at most 64 KiB,
// so memory stays at zlib's window (~40 KiB) plus that buffer whatever the sizes. Several gzip
// members one after another are one stream (RFC 1952 allows it; `cat a.gz b.gz`).
//
// Errors: bytes that are not gzip, a bad checksum, or data after the end that is not another
// member → GzipError. More inflated output than `max_output` → GzipTooLarge, thrown before the
// excess is handed on. `finish` throws GzipError when the stream is truncated. Exceptions from
// the callback pass through. After any exception the object must not be fed again.
// Thread safety: one object per stream.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string_view>

namespace bw::collector {

class GzipError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class GzipTooLarge : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class GzipInflater {
 public:
  using Output = std::function<void(std::string_view)>;
  GzipInflater(uint64_t max_output, Output out);
  ~GzipInflater();
  GzipInflater(const GzipInflater&) = delete;
  GzipInflater& operator=(const GzipInflater&) = delete;

  void feed(std::string_view in);
  void finish();
  uint64_t total_in() const { return total_in_; }
  uint64_t total_out() const { return total_out_; }

 private:
  struct State;
  std::unique_ptr<State> state_;
  uint64_t max_output_;
  Output out_;
  uint64_t total_in_ = 0;
  uint64_t total_out_ = 0;
  bool member_done_ = false;  // the last member ended; more input starts a new one
  uint32_t member_crc_ = 0;   // CRC-32 of this member's output so far
  uint32_t member_size_ = 0;  // its length mod 2^32 (the trailer's ISIZE)
  unsigned char tail_[8]{};   // the last 8 input bytes consumed: the trailer, at a member's end
  size_t tail_len_ = 0;
  void remember_consumed(const unsigned char* p, size_t n);
  void check_trailer();
};

// Whole-buffer gzip compression (level 6), for clients and tests.
std::string gzip_compress(std::string_view data, int level = 6);

}  // namespace bw::collector
