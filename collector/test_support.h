// Helpers for the collector's integration tests: temporary folders, memory measurement, a
// streaming gzip of zeros (a bomb that does not need the bomb's size in memory), and the port in
// a started `breakwater`'s banner. Test-only.
#pragma once


#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>
#include "core/temp_dir.h"

namespace bw::collector::testing {

using bw::test_support::TempDir;

// Peak resident memory of this process (VmHWM) in bytes, and a reset of that peak to the current
// resident size (/proc/self/clear_refs), so a test can measure the growth of its own section.
uint64_t peak_rss_bytes();
void reset_peak_rss();
// How much the peak grew since reset_peak_rss(): the peak now minus the resident size at the
// reset (0 if it shrank; the kernel updates the peak lazily while memory is being returned).
uint64_t peak_rss_growth();

// gzip of `zeros` zero bytes, built in pieces (the input never exists in memory).
std::string gzip_of_zeros(uint64_t zeros);

// Files (not folders) below `dir`, recursively; 0 when it does not exist.
size_t count_files(const std::filesystem::path& dir);

// Reads "... http://HOST:PORT..." from a started server's first line; returns the port.
uint16_t port_from_banner(const std::string& line);

}  // namespace bw::collector::testing
