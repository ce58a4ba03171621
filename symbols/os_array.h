// Internal: OsArray<T>, a growable array of trivially copyable records for the compact form.
//
// Why not std::vector: a parsed module can hold hundreds of MB. A vector grows by copying into a
// new buffer (twice the memory for a moment) and the parser used to build in blocks and copy them
// into vectors at the end (every byte written twice). OsArray keeps small arrays on the heap and,
// past kHeapLimit, moves to anonymous memory from mmap that grows with mremap: the kernel moves
// page tables, never the bytes, so the records are written once, into their final place, and
// shrinking gives whole pages back. Small modules stay on the heap so that thousands of them in
// the LRU do not use thousands of mappings.
//
// Errors: throws std::bad_alloc when memory cannot be had. Not thread-safe while being built;
// read-only use from many threads is fine.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

namespace bw::symbols::compact {

template <typename T>
class OsArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  static constexpr size_t kHeapLimit = size_t{256} << 10;  // bytes kept on the heap

  OsArray() = default;
  OsArray(OsArray&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_bytes_(std::exchange(o.capacity_bytes_, 0)),
        mapped_(std::exchange(o.mapped_, false)) {}
  OsArray& operator=(OsArray&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      capacity_bytes_ = std::exchange(o.capacity_bytes_, 0);
      mapped_ = std::exchange(o.mapped_, false);
    }
    return *this;
  }
  OsArray(const OsArray&) = delete;
  OsArray& operator=(const OsArray&) = delete;
  ~OsArray() { release(); }

  void push_back(const T& v) {
    if ((size_ + 1) * sizeof(T) > capacity_bytes_) grow((size_ + 1) * sizeof(T));
    std::memcpy(static_cast<void*>(data_ + size_), &v, sizeof(T));
    ++size_;
  }
  // Appends n records (used for the string blob).
  void append(const T* p, size_t n) {
    if (n == 0) return;
    if ((size_ + n) * sizeof(T) > capacity_bytes_) grow((size_ + n) * sizeof(T));
    std::memcpy(static_cast<void*>(data_ + size_), p, n * sizeof(T));
    size_ += n;
  }
  // Shrinks (giving whole pages back when mapped) or grows with value-initialized records.
  void resize(size_t n) {
    if (n > size_) {
      if (n * sizeof(T) > capacity_bytes_) grow(n * sizeof(T));
      std::memset(static_cast<void*>(data_ + size_), 0, (n - size_) * sizeof(T));
      size_ = n;
      return;
    }
    size_ = n;
    if (mapped_) {
      size_t keep = std::max(page_round(n * sizeof(T)), page_size());
      if (keep < capacity_bytes_) {
        void* p = ::mremap(data_, capacity_bytes_, keep, 0);
        if (p != MAP_FAILED) capacity_bytes_ = keep;  // in place; on failure simply keep it all
      }
    }
  }
  void clear() { resize(0); }
  // Gives back unused capacity: heap arrays are reallocated to their size, mapped ones keep only
  // the pages in use.
  void shrink_to_fit() {
    if (mapped_) {
      resize(size_);
    } else if (size_ == 0) {
      release();
    } else if (size_ * sizeof(T) < capacity_bytes_) {
      void* p = std::realloc(static_cast<void*>(data_), size_ * sizeof(T));
      if (p) {
        data_ = static_cast<T*>(p);
        capacity_bytes_ = size_ * sizeof(T);
      }
    }
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }
  std::span<const T> span() const { return {data_, size_}; }
  // Bytes held (heap or mapped), what a memory budget should count.
  size_t capacity_bytes() const { return capacity_bytes_; }

 private:
  static size_t page_size() {
    static const size_t size = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    return size;
  }
  static size_t page_round(size_t bytes) { return (bytes + page_size() - 1) / page_size() * page_size(); }

  void grow(size_t need_bytes) {
    size_t want = std::max({need_bytes, capacity_bytes_ * 2, sizeof(T) * 16});
    if (want <= kHeapLimit && !mapped_) {
      void* p = std::realloc(static_cast<void*>(data_), want);
      if (!p) throw std::bad_alloc();
      data_ = static_cast<T*>(p);
      capacity_bytes_ = want;
      return;
    }
    want = page_round(want);
    if (mapped_) {
      void* p = ::mremap(data_, capacity_bytes_, want, MREMAP_MAYMOVE);
      if (p == MAP_FAILED) throw std::bad_alloc();
      data_ = static_cast<T*>(p);
      capacity_bytes_ = want;
      return;
    }
    void* p = ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    if (size_ > 0) std::memcpy(p, static_cast<const void*>(data_), size_ * sizeof(T));
    std::free(static_cast<void*>(data_));
    data_ = static_cast<T*>(p);
    capacity_bytes_ = want;
    mapped_ = true;
  }
  void release() {
    if (mapped_) {
      ::munmap(static_cast<void*>(data_), capacity_bytes_);
    } else {
      std::free(static_cast<void*>(data_));
    }
    data_ = nullptr;
    size_ = 0;
    capacity_bytes_ = 0;
    mapped_ = false;
  }

  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_bytes_ = 0;
  bool mapped_ = false;
};

}  // namespace bw::symbols::compact
