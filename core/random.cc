#include "core/random.h"

#include <sys/random.h>

#include <cerrno>
#include <system_error>

namespace bw {

void random_bytes(void* out, size_t size) {
  auto* p = static_cast<unsigned char*>(out);
  while (size > 0) {
    ssize_t n = ::getrandom(p, size, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace bw
