// Cryptographically strong random bytes from the kernel (getrandom(2)), for crash ids and
// temporary names. Blocks only until the kernel's pool is first initialised (early boot).
// Errors: throws std::system_error if the kernel refuses. Thread safety: any thread.
#pragma once

#include <cstddef>

namespace bw {

void random_bytes(void* out, size_t size);

}  // namespace bw
