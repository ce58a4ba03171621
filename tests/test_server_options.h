// Options for a test's in-process http::Server on a free loopback port: one I/O thread and two
// workers (enough for a page and the work it defers), no access log unless the test reads it.
// Test code only; header-only (the test binaries link bw_http).
#pragma once

#include "http/server.h"

namespace bw::test_support {

inline http::ServerOptions small_server_options(bool access_log = false) {
  http::ServerOptions o;
  o.io_threads = 1;
  o.worker_threads = 2;
  o.access_log = access_log;
  return o;
}

}  // namespace bw::test_support
