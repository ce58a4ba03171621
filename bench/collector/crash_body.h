// The crash both collector benchmarks send or process: Firefox-like annotations and a dump of
// 3·kb KiB whose first third is random (the rest zeros), as a gzip'd multipart body of about
// `kb` KiB. Deterministic (fixed seed) apart from the multipart boundary.
#pragma once

#include <string>
#include <utility>

namespace bench {

// Returns {boundary, gzip'd multipart body}.
std::pair<std::string, std::string> make_crash(int kb);

}  // namespace bench
