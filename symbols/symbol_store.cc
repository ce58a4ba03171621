// The site's own symbol store: checked, compressed, atomic adds; lookups by debug id and code id.
#include "symbols/symbol_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <memory>
#include <system_error>

#include "core/fs_util.h"
#include "symbols/symbol_supplier.h"

namespace bw::symbols {

namespace fs = std::filesystem;

const char* to_string(StoreOutcome outcome) {
  switch (outcome) {
    case StoreOutcome::kAdded: return "added";
    case StoreOutcome::kReplaced: return "replaced";
    case StoreOutcome::kSkipped: return "skipped";
    case StoreOutcome::kRefused: return "refused";
  }
  return "unknown";
}

namespace {

constexpr size_t kBlock = size_t{1} << 20;
constexpr std::string_view kShaComment = "sha256:";
constexpr size_t kMaxIndexEntry = 4096;

[[noreturn]] void throw_errno(const std::string& what, const fs::path& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

// read() that retries EINTR; -1 on error.
ssize_t read_some(int fd, char* buf, size_t n) {
  for (;;) {
    ssize_t got = ::read(fd, buf, n);
    if (got >= 0 || errno != EINTR) return got;
  }
}

struct Sha256 {
  Sha256() : ctx(EVP_MD_CTX_new()) {
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) throw std::runtime_error("SHA-256 unavailable");
  }
  ~Sha256() { EVP_MD_CTX_free(ctx); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const char* p, size_t n) { EVP_DigestUpdate(ctx, p, n); }
  std::string hex_digest() {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, d, &len);
    return hex(d, len);
  }
  EVP_MD_CTX* ctx;
};

// SHA-256 of what `fd` holds from offset 0; "" with *why on a read error.
std::string hash_fd(int fd, std::string* why) {
  if (::lseek(fd, 0, SEEK_SET) != 0) {
    *why = std::string("cannot seek: ") + std::strerror(errno);
    return {};
  }
  Sha256 sha;
  std::unique_ptr<char[]> buf(new char[kBlock]);
  for (;;) {
    ssize_t n = read_some(fd, buf.get(), kBlock);
    if (n < 0) {
      *why = std::string("cannot read: ") + std::strerror(errno);
      return {};
    }
    if (n == 0) break;
    sha.update(buf.get(), static_cast<size_t>(n));
  }
  return sha.hex_digest();
}

// Removes a temporary file unless released.
struct TempFile {
  fs::path path;
  ~TempFile() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

// Compresses `in` (from offset 0) into a new file `out_path` with the digest in the gzip header;
// returns the SHA-256 of what was read, so a change since the first read is noticed. Throws
// std::system_error for failures on the store's side; "" with *why when the input cannot be read.
std::string compress_to(int in, const fs::path& out_path, const std::string& sha_hex, int level, std::string* why) {
  if (::lseek(in, 0, SEEK_SET) != 0) {
    *why = std::string("cannot seek: ") + std::strerror(errno);
    return {};
  }
  bw::fs::UniqueFd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (out.get() < 0) throw_errno("cannot create", out_path);

  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("zlib deflateInit2 failed");
  }
  struct End {
    z_stream* z;
    ~End() { deflateEnd(z); }
  } end{&z};
  std::string comment = std::string(kShaComment) + sha_hex;
  gz_header header{};
  header.os = 3;  // Unix
  header.comment = reinterpret_cast<Bytef*>(comment.data());
  if (deflateSetHeader(&z, &header) != Z_OK) throw std::runtime_error("zlib deflateSetHeader failed");

  Sha256 sha;
  std::unique_ptr<char[]> inbuf(new char[kBlock]);
  std::unique_ptr<char[]> outbuf(new char[kBlock]);
  bool done = false;
  while (!done) {
    ssize_t n = read_some(in, inbuf.get(), kBlock);
    if (n < 0) {
      *why = std::string("cannot read: ") + std::strerror(errno);
      return {};
    }
    sha.update(inbuf.get(), static_cast<size_t>(n));
    z.next_in = reinterpret_cast<Bytef*>(inbuf.get());
    z.avail_in = static_cast<uInt>(n);
    int flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = reinterpret_cast<Bytef*>(outbuf.get());
      z.avail_out = static_cast<uInt>(kBlock);
      int rc = deflate(&z, flush);
      if (rc == Z_STREAM_ERROR) throw std::runtime_error("zlib deflate failed");
      size_t have = kBlock - z.avail_out;
      if (!bw::fs::write_all(out.get(), {outbuf.get(), have})) throw_errno("cannot write", out_path);
      if (rc == Z_STREAM_END) done = true;
    } while (z.avail_out == 0);
  }
  if (::fsync(out.get()) != 0) throw_errno("cannot fsync", out_path);
  return sha.hex_digest();
}

// "<a>/<b>/<c>" into its three parts; false unless exactly three non-empty parts.
bool split_store_path(std::string_view path, std::string_view parts[3]) {
  for (int i = 0; i < 3; ++i) {
    size_t slash = path.find('/');
    if (i < 2) {
      if (slash == std::string_view::npos) return false;
      parts[i] = path.substr(0, slash);
      path.remove_prefix(slash + 1);
    } else {
      if (slash != std::string_view::npos) return false;
      parts[i] = path;
    }
    if (parts[i].empty()) return false;
  }
  return true;
}

// Takes an flock on a folder for as long as it lives (released by close).
class FolderLock {
 public:
  explicit FolderLock(const fs::path& folder)
      : fd_(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_.get() < 0) throw_errno("cannot open", folder);
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) throw_errno("cannot lock", folder);
    }
  }

 private:
  bw::fs::UniqueFd fd_;
};

// Writes the code-id index entry of a stored module (atomically; the last writer wins).
void write_code_index(const fs::path& dir, const ModuleInfo& info, const std::string& module_path) {
  if (info.code_id.empty()) return;
  std::string_view code_file = info.code_file.empty() ? std::string_view(info.debug_file) : std::string_view(info.code_file);
  size_t slash = code_file.find_last_of("/\\");
  if (slash != std::string_view::npos) code_file.remove_prefix(slash + 1);
  std::string why;
  ModuleKey key{std::string(code_file), info.code_id, "", ""};
  std::string rel = store_relative_path(key, &why);
  if (rel.empty()) return;  // an unusable code id: the module is still found by its debug id
  fs::path entry = dir / fs::path(rel).parent_path() / (std::string(code_file) + ".codeid");
  std::string line = module_path + "\n";
  try {
    if (bw::fs::read_file(entry) == line) return;
  } catch (const std::system_error&) {
    // missing (or unreadable): written below
  }
  bw::fs::create_directories_durably(entry.parent_path());
  bw::fs::write_file_atomically(entry, line);
}

}  // namespace

std::string stored_sha256(const fs::path& gz_file) {
  bw::fs::UniqueFd fd(::open(gz_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return {};
  unsigned char buf[4096];
  size_t len = 0;
  while (len < sizeof buf) {
    ssize_t n = read_some(fd.get(), reinterpret_cast<char*>(buf) + len, sizeof buf - len);
    if (n <= 0) break;
    len += static_cast<size_t>(n);
  }
  // RFC 1952: ID1 ID2 CM FLG MTIME(4) XFL OS, then FEXTRA, FNAME, FCOMMENT as flagged.
  if (len < 10 || buf[0] != 0x1f || buf[1] != 0x8b || buf[2] != 8) return {};
  unsigned flags = buf[3];
  size_t pos = 10;
  if (flags & 0x04) {  // FEXTRA: 2-byte length, then that many bytes
    if (len - pos < 2) return {};
    size_t xlen = buf[pos] | (size_t{buf[pos + 1]} << 8);
    pos += 2;
    if (len - pos < xlen) return {};
    pos += xlen;
  }
  auto zero_terminated = [&](std::string_view* out) {
    const void* nul = std::memchr(buf + pos, 0, len - pos);
    if (!nul) return false;
    size_t end = static_cast<size_t>(static_cast<const unsigned char*>(nul) - buf);
    *out = std::string_view(reinterpret_cast<const char*>(buf) + pos, end - pos);
    pos = end + 1;
    return true;
  };
  std::string_view text;
  if ((flags & 0x08) && !zero_terminated(&text)) return {};  // FNAME
  if (!(flags & 0x10) || !zero_terminated(&text)) return {};  // FCOMMENT
  if (!text.starts_with(kShaComment)) return {};
  text.remove_prefix(kShaComment.size());
  if (text.size() != 64 || !std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    return {};
  }
  return std::string(text);
}

std::string store_path(std::string_view debug_file, std::string_view debug_id, std::string* why) {
  ModuleKey key{std::string(debug_file), std::string(debug_id), "", ""};
  std::string rel = store_relative_path(key, why);
  if (rel.empty()) return {};
  std::string want = std::string(debug_file) + "/" + upper(debug_id) + "/" + sym_file_name(debug_file) + ".gz";
  if (rel != want) {
    if (why) *why = "'" + std::string(debug_file) + "' is not a file name";
    return {};
  }
  rel.resize(rel.size() - 3);  // without ".gz"
  return rel;
}

SymbolStore::SymbolStore(fs::path dir, SymbolStoreOptions options) : dir_(std::move(dir)), options_(options) {}

StoreResult SymbolStore::add(const fs::path& sym_file, std::string_view claimed) const {
  StoreResult r;
  auto refuse = [&r](std::string why) {
    r.outcome = StoreOutcome::kRefused;
    r.reason = std::move(why);
    return r;
  };

  // The claimed path, checked before the file is even opened.
  std::string claimed_path;
  if (!claimed.empty()) {
    std::string_view parts[3];
    if (!split_store_path(claimed, parts)) {
      return refuse("path '" + std::string(claimed) + "' is not <debug_file>/<debug_id>/<file>.sym");
    }
    std::string why;
    claimed_path = store_path(parts[0], parts[1], &why);
    if (claimed_path.empty()) return refuse("path '" + std::string(claimed) + "' is unusable: " + why);
    if (parts[2] != sym_file_name(parts[0])) {
      return refuse("path '" + std::string(claimed) + "' should end in " + sym_file_name(parts[0]));
    }
    r.path = claimed_path;
  }

  bw::fs::UniqueFd in(::open(sym_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return refuse("cannot open " + sym_file.string() + ": " + std::strerror(errno));
  struct stat st{};
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) return refuse(sym_file.string() + " is not a regular file");
  r.sym_bytes = static_cast<uint64_t>(st.st_size);

  std::string why;
  r.sha256 = hash_fd(in.get(), &why);
  if (r.sha256.empty()) return refuse(sym_file.string() + ": " + why);

  // Check the very file that is open (not whatever the name points at by now), with the parser's
  // check-only pass: the verdict of a full parse without building the module (bounded memory).
  std::string parse_error;
  auto checked = check_sym_file("/proc/self/fd/" + std::to_string(in.get()), &parse_error);
  if (!checked) return refuse(sym_file.string() + ": " + parse_error);
  r.module = checked->info;
  if (r.module.debug_id.empty()) return refuse("no MODULE record");
  if (checked->is_corrupt()) {
    std::string first = checked->first_errors.empty() ? "" : " (" + checked->first_errors.front() + ")";
    return refuse("not a valid .sym file: " + std::to_string(checked->bad_lines) + " bad line" +
                  (checked->bad_lines == 1 ? "" : "s") + first);
  }
  ModuleKey module_key{r.module.debug_file, r.module.debug_id, "", ""};
  std::string module_rel = store_relative_path(module_key, &why);
  if (module_rel.empty()) return refuse("the MODULE record's identity is unusable: " + why);
  module_rel.resize(module_rel.size() - 3);
  if (!claimed_path.empty() && module_rel != claimed_path) {
    return refuse("the MODULE record says " + module_rel + ", not " + claimed_path);
  }
  r.path = module_rel;

  fs::path final_file = dir_ / (r.path + ".gz");
  auto same_as_stored = [&] { return stored_sha256(final_file) == r.sha256; };
  auto stored_size = [&] {
    std::error_code ec;
    auto size = fs::file_size(final_file, ec);
    return ec ? uint64_t{0} : static_cast<uint64_t>(size);
  };
  if (same_as_stored()) {
    // An add that stopped between its rename and its index entry left the entry missing.
    write_code_index(dir_, r.module, r.path);
    r.outcome = StoreOutcome::kSkipped;
    r.stored_bytes = stored_size();
    return r;
  }

  fs::path folder = final_file.parent_path();
  bw::fs::create_directories_durably(folder);
  TempFile tmp{folder / ("." + final_file.filename().string() + "." + bw::fs::unique_temp_name())};
  std::string compressed_sha = compress_to(in.get(), tmp.path, r.sha256, options_.compression_level, &why);
  if (compressed_sha.empty()) return refuse(sym_file.string() + ": " + why);
  if (compressed_sha != r.sha256) {
    ::unlink(tmp.path.c_str());
    tmp.path.clear();
    std::error_code ec;
    fs::remove(folder, ec);  // the folders this add created, if nothing else is in them
    fs::remove(folder.parent_path(), ec);
    return refuse(sym_file.string() + " changed while it was being added");
  }

  FolderLock lock(folder);
  if (same_as_stored()) {  // an identical add finished first
    r.outcome = StoreOutcome::kSkipped;
    r.stored_bytes = stored_size();
    return r;
  }
  std::error_code ec;
  bool existed = fs::exists(final_file, ec);
  if (::rename(tmp.path.c_str(), final_file.c_str()) != 0) throw_errno("cannot rename into", final_file);
  tmp.path.clear();
  bw::fs::fsync_path(folder);
  write_code_index(dir_, r.module, r.path);
  r.outcome = existed ? StoreOutcome::kReplaced : StoreOutcome::kAdded;
  r.stored_bytes = stored_size();
  return r;
}

void SymbolStore::add_folder(const fs::path& folder,
                             const std::function<void(const fs::path&, const StoreResult&)>& each) const {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    std::error_code ec;
    if (entry.path().extension() == ".sym" && entry.is_regular_file(ec)) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    fs::path rel = file.lexically_relative(folder);
    std::string claimed;
    if (std::distance(rel.begin(), rel.end()) == 3) claimed = rel.generic_string();
    each(file, add(file, claimed));
  }
}

std::optional<StoredSymbol> SymbolStore::find(std::string_view debug_file, std::string_view debug_id,
                                              std::string* invalid) const {
  std::string why;
  std::string path = store_path(debug_file, debug_id, &why);
  if (path.empty()) {
    if (invalid) *invalid = why;
    return std::nullopt;
  }
  StoredSymbol s;
  s.file = dir_ / (path + ".gz");
  std::error_code ec;
  auto status = fs::status(s.file, ec);
  if (ec || !fs::is_regular_file(status)) return std::nullopt;
  s.path = std::move(path);
  s.debug_file = std::string(debug_file);
  s.debug_id = upper(debug_id);
  s.stored_bytes = fs::file_size(s.file, ec);
  s.stored_at = fs::last_write_time(s.file, ec);
  s.sha256 = stored_sha256(s.file);
  return s;
}

std::optional<std::string> SymbolStore::find_code(std::string_view code_file, std::string_view code_id,
                                                  std::string* invalid) const {
  std::string why;
  std::string code_path = store_path(code_file, code_id, &why);
  if (code_path.empty()) {
    if (invalid) *invalid = why;
    return std::nullopt;
  }
  fs::path entry = dir_ / fs::path(code_path).parent_path() / (std::string(code_file) + ".codeid");
  bw::fs::UniqueFd fd(::open(entry.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return std::nullopt;
  char buf[kMaxIndexEntry];
  ssize_t n = read_some(fd.get(), buf, sizeof buf);
  if (n <= 0 || static_cast<size_t>(n) == sizeof buf) return std::nullopt;  // unreadable or oversized: ignored
  std::string_view text(buf, static_cast<size_t>(n));
  if (text.ends_with('\n')) text.remove_suffix(1);
  std::string_view parts[3];
  if (!split_store_path(text, parts)) return std::nullopt;
  auto stored = find(parts[0], parts[1]);
  if (!stored || parts[2] != sym_file_name(parts[0])) return std::nullopt;
  return stored->path;
}

std::vector<StoredSymbol> SymbolStore::list() const {
  std::vector<StoredSymbol> out;
  std::error_code ec;
  for (const auto& file_dir : fs::directory_iterator(dir_, ec)) {
    std::error_code e1;
    if (!file_dir.is_directory(e1)) continue;
    std::string debug_file = file_dir.path().filename().string();
    for (const auto& id_dir : fs::directory_iterator(file_dir.path(), e1)) {
      std::error_code e2;
      if (!id_dir.is_directory(e2)) continue;
      std::string debug_id = id_dir.path().filename().string();
      std::string why;
      std::string path = store_path(debug_file, debug_id, &why);
      if (path.empty() || debug_id != upper(debug_id)) continue;  // not a module folder (or not ours)
      fs::path file = dir_ / (path + ".gz");
      auto status = fs::status(file, e2);
      if (e2 || !fs::is_regular_file(status)) continue;  // a code-id folder only
      StoredSymbol s;
      s.path = std::move(path);
      s.file = std::move(file);
      s.debug_file = debug_file;
      s.debug_id = debug_id;
      s.stored_bytes = fs::file_size(s.file, e2);
      s.stored_at = fs::last_write_time(s.file, e2);
      out.push_back(std::move(s));
    }
  }
  std::sort(out.begin(), out.end(), [](const StoredSymbol& a, const StoredSymbol& b) { return a.path < b.path; });
  return out;
}

}  // namespace bw::symbols
