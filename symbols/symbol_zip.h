// Reading an uploaded zip of symbol files without trusting it (docs/symbols.md, "Uploads").
//
// A zip comes from outside: its names, sizes and counts are all claims. What read_zip promises:
// - Before libzip sees the file, its end-of-central-directory record (and the Zip64 one, when the
//   classic one points to it) is read with bounds checks, and a zip that claims more than
//   `max_entries` entries or a central directory over `max_directory_bytes` is refused whole, so
//   libzip's in-memory directory stays bounded whatever the file holds.
// - Every entry is judged on its own; one bad entry never stops the others:
//   - names: refused when empty, absolute ("/x", "C:x"), with a backslash, a control character, an
//     empty, "." or ".." part, or longer than 1 KiB (zip slip);
//   - kinds: folders are passed over silently; links and other special files (Unix mode in the
//     external attributes), encrypted entries and compression methods libzip cannot read are
//     refused;
//   - size: an entry is inflated to a file, counting bytes as they come (the sizes in the headers
//     are not trusted): past `max_entry_bytes`, past `max_total_bytes` for the whole zip, or past
//     `max_ratio` times its compressed size (once over 1 MiB), it is refused as a zip bomb and
//     its partial file removed. A CRC or stream error refuses the entry.
// - Each accepted entry is handed to `each` as a temporary file inside `scratch_dir` (which must
//   exist), removed after `each` returns (or throws). Nothing is ever written at a path taken from
//   the zip.
// Memory: one 256 KiB buffer plus libzip's directory (bounded above).
// Errors: a file that is not a zip, or a directory over the limits: ZipError (a sentence for the
// uploader). Scratch files that cannot be written (disk full): std::system_error. Exceptions from
// `each` pass through. Thread safety: none shared; call from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bw::symbols {

class ZipError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ZipLimits {
  uint64_t max_entries = 100'000;
  uint64_t max_directory_bytes = uint64_t{64} << 20;  // the central directory
  uint64_t max_entry_bytes = uint64_t{4} << 30;       // one inflated entry
  uint64_t max_total_bytes = uint64_t{64} << 30;      // every inflated entry of one zip
  uint64_t max_ratio = 1000;                          // inflated / compressed bytes
};

struct ZipEntry {
  std::string name;           // as stored in the zip (UTF-8 as libzip reads it)
  std::filesystem::path file; // accepted: the inflated bytes (temporary); refused: empty
  uint64_t bytes = 0;         // inflated bytes written (accepted), or read before refusing
  std::string refused;        // why the entry was refused; empty when accepted
};

// Why a zip entry name is unsafe to take as a path, or "" when it is safe (rules above).
std::string zip_name_problem(std::string_view name);

// Reads every entry of `zip` (rules above), calling `each` once per file entry, in the zip's order.
void read_zip(const std::filesystem::path& zip, const std::filesystem::path& scratch_dir, const ZipLimits& limits,
              const std::function<void(const ZipEntry&)>& each);

}  // namespace bw::symbols
