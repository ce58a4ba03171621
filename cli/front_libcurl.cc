// core/libcurl.h for `breakwater` (front_main.cc), which is linked statically and so cannot load
// shared libraries: asking for libcurl hands the whole command to breakwater-all.
#include "cli/run_app.h"
#include "core/libcurl.h"

namespace bw {

const LibCurl& libcurl() { throw cli::NeedsFullBinary("libcurl (HTTP symbol downloads)"); }

}  // namespace bw
