#include "collector/gzip_stream.h"

#include <libdeflate.h>
#include <zlib.h>

#include <array>
#include <cstring>
#include <string>

namespace bw::collector {

struct GzipInflater::State {
  z_stream z{};
  std::array<unsigned char, 64 * 1024> buf{};
};

GzipInflater::GzipInflater(uint64_t max_output, Output out)
    : state_(std::make_unique<State>()), max_output_(max_output), out_(std::move(out)) {
  // 16 + MAX_WBITS: gzip wrapper only (not raw deflate, not zlib).
  if (inflateInit2(&state_->z, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
  // zlib still parses the trailer but leaves checking it to check_trailer().
  if (inflateValidate(&state_->z, 0) != Z_OK) throw std::bad_alloc();
}

GzipInflater::~GzipInflater() { inflateEnd(&state_->z); }

void GzipInflater::feed(std::string_view in) {
  auto& z = state_->z;
  total_in_ += in.size();
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  while (!in.empty()) {
    // zlib counts in uInt; feed at most 1 GiB at a time.
    uInt chunk = static_cast<uInt>(std::min<size_t>(in.size(), 1u << 30));
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = chunk;
    while (z.avail_in > 0) {
      if (member_done_) {
        // Another member follows: it must start with the gzip magic, else it is trailing junk.
        if (inflateReset(&z) != Z_OK || inflateValidate(&z, 0) != Z_OK) throw GzipError("inflate reset failed");
        member_done_ = false;
        member_crc_ = 0;
        member_size_ = 0;
      }
      z.next_out = state_->buf.data();
      z.avail_out = static_cast<uInt>(state_->buf.size());
      const unsigned char* consumed_from = z.next_in;
      int rc = inflate(&z, Z_NO_FLUSH);
      remember_consumed(consumed_from, static_cast<size_t>(z.next_in - consumed_from));
      size_t produced = state_->buf.size() - z.avail_out;
      if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR || rc == Z_MEM_ERROR) {
        throw GzipError(std::string("not valid gzip: ") + (z.msg ? z.msg : "inflate error"));
      }
      if (produced > 0) {
        if (total_out_ + produced > max_output_) throw GzipTooLarge("inflated body over the limit");
        total_out_ += produced;
        member_crc_ = libdeflate_crc32(member_crc_, state_->buf.data(), produced);
        member_size_ += static_cast<uint32_t>(produced);
        if (rc == Z_STREAM_END) check_trailer();  // before the last piece is handed on
        out_(std::string_view(reinterpret_cast<const char*>(state_->buf.data()), produced));
      }
      if (rc == Z_STREAM_END) {
        if (produced == 0) check_trailer();
        member_done_ = true;
      } else if (rc == Z_BUF_ERROR && produced == 0 && z.avail_in > 0) {
        throw GzipError("inflate made no progress");
      }
    }
    in.remove_prefix(chunk);
  }
}

void GzipInflater::remember_consumed(const unsigned char* p, size_t n) {
  if (n >= sizeof tail_) {
    std::memcpy(tail_, p + n - sizeof tail_, sizeof tail_);
    tail_len_ = sizeof tail_;
    return;
  }
  size_t keep = std::min(tail_len_, sizeof tail_ - n);
  std::memmove(tail_, tail_ + tail_len_ - keep, keep);
  std::memcpy(tail_ + keep, p, n);
  tail_len_ = keep + n;
}

void GzipInflater::check_trailer() {
  // zlib has consumed the whole member, so its last 8 bytes are CRC-32 and ISIZE, little-endian.
  if (tail_len_ < sizeof tail_) throw GzipError("gzip trailer missing");
  auto le32 = [this](size_t at) {
    return static_cast<uint32_t>(tail_[at]) | static_cast<uint32_t>(tail_[at + 1]) << 8 |
           static_cast<uint32_t>(tail_[at + 2]) << 16 | static_cast<uint32_t>(tail_[at + 3]) << 24;
  };
  if (le32(0) != member_crc_) throw GzipError("not valid gzip: incorrect data check");
  if (le32(4) != member_size_) throw GzipError("not valid gzip: incorrect length check");
}

void GzipInflater::finish() {
  if (total_in_ == 0) throw GzipError("empty gzip stream");
  if (!member_done_) throw GzipError("gzip stream is truncated");
}

std::string gzip_compress(std::string_view data, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::bad_alloc();
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(data.size())) + 64);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  size_t written = out.size() - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip compression failed");
  out.resize(written);
  return out;
}

}  // namespace bw::collector
