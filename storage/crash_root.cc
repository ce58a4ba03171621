#include "storage/crash_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <set>
#include <system_error>

#include "core/fs_util.h"
#include "storage/records.h"

namespace bw::storage {
namespace fsys = std::filesystem;
namespace {

constexpr int kRetries = 8;  // for races with concurrent pruning of empty folders

[[noreturn]] void io_error(const std::string& what, const fsys::path& path, int err = errno) {
  throw TransientStorageError(what + " " + path.string() + ": " + std::generic_category().message(err));
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Entries of a folder, without "." and ".."; nullopt when the folder does not exist.
// The entries of an open folder stream (closed here); `dir` names it in errors.
std::vector<std::string> read_entries(DIR* d, const fsys::path& dir) {
  std::vector<std::string> out;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") out.emplace_back(n);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) io_error("read folder", dir, err);
  return out;
}

std::optional<std::vector<std::string>> list_dir(const fsys::path& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    io_error("list", dir);
  }
  return read_entries(d, dir);
}

std::vector<std::string> sorted_entries(const fsys::path& dir) {
  auto entries = list_dir(dir).value_or(std::vector<std::string>{});
  std::sort(entries.begin(), entries.end());
  return entries;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "00".."<max>" exactly two digits.
bool is_two_digits(std::string_view s, int max) {
  return s.size() == 2 && all_digits(s) && (s[0] - '0') * 10 + (s[1] - '0') <= max;
}

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

std::pair<std::string, std::string> utc_hour_minute(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char hh[8], mm[8];
  std::snprintf(hh, sizeof hh, "%02d", tm.tm_hour);
  std::snprintf(mm, sizeof mm, "%02d", tm.tm_min);
  return {hh, mm};
}

// Folders of the current minute are left alone by pruning: writers are about to use them.
bool is_current_minute(const std::string& hour, const std::string& minute) {
  auto [h, m] = utc_hour_minute(now_ms());
  return h == hour && m == minute;
}

bool is_current_hour(const std::string& hour) { return utc_hour_minute(now_ms()).first == hour; }

// create_directories_durably, retried when a concurrent prune removes a parent half-way.
void ensure_dir(const fsys::path& dir) {
  for (int attempt = 0;; ++attempt) {
    try {
      fs::create_directories_durably(dir);
      return;
    } catch (const std::system_error& e) {
      if (e.code().value() != ENOENT || attempt + 1 >= kRetries) throw;
    }
  }
}

// Parses "<id>.<claimed ms>.<deadline ms>".
bool parse_claim_name(const std::string& name, const CrashId& want, int64_t* deadline) {
  const std::string& id = want.str();
  if (name.size() <= id.size() + 1 || name.compare(0, id.size(), id) != 0 || name[id.size()] != '.') return false;
  std::string_view rest = std::string_view(name).substr(id.size() + 1);
  auto dot = rest.find('.');
  if (dot == std::string_view::npos) return false;
  auto claimed = rest.substr(0, dot), dl = rest.substr(dot + 1);
  if (!all_digits(claimed) || !all_digits(dl) || dl.size() > 18) return false;
  *deadline = std::stoll(std::string(dl));
  return true;
}

std::optional<CrashId> claim_id(const std::string& name) {
  if (name.size() < CrashId::kLength) return std::nullopt;
  return CrashId::parse(std::string_view(name).substr(0, CrashId::kLength));
}

// A .tmp folder this process is building, flock'd so that cleanup in other processes leaves it
// alone while we live. Removed on destruction unless it was renamed into place.
class TempFolder {
 public:
  // `tag` goes into the name after the pid: "<pid>-<tag>tmp-<16 hex>".
  explicit TempFolder(const fsys::path& tmp_root, std::string_view tag = "") {
    fs::create_directories_durably(tmp_root);
    for (int attempt = 1;; ++attempt) {
      path_ = tmp_root / (std::to_string(::getpid()) + "-" + std::string(tag) + fs::unique_temp_name());
      if (::mkdir(path_.c_str(), 0755) != 0) io_error("mkdir", path_);
      fd_ = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd_ < 0) {
        int err = errno;
        ::rmdir(path_.c_str());
        if (err == ENOENT && attempt < kRetries) continue;  // swept before we could open it
        io_error("open", path_, err);
      }
      if (::flock(fd_, LOCK_EX) != 0) {
        int err = errno;
        discard();
        io_error("flock", path_, err);
      }
      // Expiry trash is swept whatever its age by whoever can lock it (remove_expiry_trash), so
      // between our mkdir and flock another process may have taken and deleted it: only a
      // folder still at our path is ours.
      struct stat held{}, at_path{};
      if (::fstat(fd_, &held) == 0 && ::lstat(path_.c_str(), &at_path) == 0 && held.st_dev == at_path.st_dev &&
          held.st_ino == at_path.st_ino) {
        return;
      }
      ::close(fd_);
      fd_ = -1;
      if (attempt >= kRetries) io_error("lock", path_, ENOENT);
    }
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  ~TempFolder() { discard(); }

  const fsys::path& path() const { return path_; }
  // After the rename, `path()` holds nothing of ours (or the swapped-out old crash).
  void committed() { committed_ = true; }

 private:
  void discard() noexcept {
    if (!committed_) {
      std::error_code ec;
      fsys::remove_all(path_, ec);
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  fsys::path path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Puts the caller's dump file at `target`: a hard link when the file system allows, else a copy.
// Either way the bytes are fsync'd before the crash folder is renamed into place.
void place_dump_file(const fsys::path& source, const fsys::path& target) {
  if (::link(source.c_str(), target.c_str()) != 0) {
    int err = errno;
    if (err == ENOENT) throw std::invalid_argument("dump file does not exist: " + source.string());
    if (err != EXDEV && err != EPERM && err != EMLINK && err != EOPNOTSUPP && err != EACCES) {
      io_error("link", source, err);
    }
    std::error_code ec;
    fsys::copy_file(source, target, fsys::copy_options::none, ec);
    if (ec) io_error("copy", source, ec.value());
  }
  fs::fsync_path(target);
}

constexpr const char* kDumpNamesFile = "dump_names.json";
// A pass of expire_dumps_before over a day: running (created before the day is listed), done.
constexpr const char* kDumpsExpiring = ".dumps-expiring";
constexpr const char* kDumpsExpired = ".dumps-expired";
// The temporary dump_names.json an expiry writes in a crash folder.
constexpr std::string_view kExpiryNamesPrefix = ".dump_names.json.expire-";
// Tag of .tmp folders holding expired days (see TempFolder).
constexpr std::string_view kExpiryTag = "expire-";

using Fd = bw::fs::UniqueFd;

// Entries of the folder open at `dir_fd` (`path` names it in errors).
std::vector<std::string> list_dir_fd(int dir_fd, const fsys::path& path) {
  int dup_fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) io_error("dup", path);
  DIR* d = ::fdopendir(dup_fd);
  if (!d) {
    int err = errno;
    ::close(dup_fd);
    io_error("list", path, err);
  }
  return read_entries(d, path);
}

// Up to `max` bytes of a file in the folder open at `dir_fd`; nullopt when it does not exist.
std::optional<std::string> read_small_file_at(int dir_fd, const fsys::path& dir, const char* name, size_t max) {
  int fd = ::openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    io_error("open", dir / name);
  }
  Fd file(fd);
  std::string out;
  char buf[4096];
  while (out.size() <= max) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      io_error("read", dir / name);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Writes `bytes` to a new temporary file in the folder open at `dir_fd`, fsyncs it and renames it
// to `name`. False when the temporary file vanished before the rename (see below).
bool write_and_rename_at(int dir_fd, const fsys::path& dir, const char* name, std::string_view bytes) {
  std::string tmp = std::string(kExpiryNamesPrefix) + fs::unique_temp_name();
  int fd = ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) io_error("create", dir / tmp);
  try {
    {
      Fd file(fd);
      size_t done = 0;
      while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
          if (errno == EINTR) continue;
          io_error("write", dir / tmp);
        }
        done += static_cast<size_t>(n);
      }
      if (::fsync(fd) != 0) io_error("fsync", dir / tmp);
    }
    if (::renameat(dir_fd, tmp.c_str(), dir_fd, name) == 0) return true;
    if (errno != ENOENT) io_error("rename", dir / tmp);
    return false;
  } catch (...) {
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    throw;
  }
}

// Replaces `name` in the folder open at `dir_fd` with `bytes`: temporary file, fsync, rename,
// fsync of the folder. Through the descriptor, so it is this folder whatever its path is now.
// A concurrent expiry run of the same crash may take our temporary file for a dead run's
// leftover and delete it: then we write it again (both runs write the same bytes).
void write_file_atomically_at(int dir_fd, const fsys::path& dir, const char* name, std::string_view bytes) {
  for (int attempt = 1; !write_and_rename_at(dir_fd, dir, name, bytes); ++attempt) {
    if (attempt >= kRetries) io_error("rename into", dir / name, ENOENT);
  }
  if (::fsync(dir_fd) != 0) io_error("fsync", dir);
}

// A real calendar day written YYYYMMDD.
bool is_day_folder_name(std::string_view name) {
  if (name.size() != 8 || !all_digits(name)) return false;
  int year = std::stoi(std::string(name.substr(0, 4)));
  int month = std::stoi(std::string(name.substr(4, 2)));
  int day = std::stoi(std::string(name.substr(6, 2)));
  return is_valid_civil_date(year, month, day);
}

// Crash folders (<day>/name/<xx>/<yy>/<id> with an id of that day) under a day folder.
std::vector<fsys::path> crash_folders_of_day(const fsys::path& day_dir, const std::string& day) {
  std::vector<fsys::path> out;
  auto name = day_dir / "name";
  for (auto& a : sorted_entries(name)) {
    for (auto& b : sorted_entries(name / a)) {
      for (auto& leaf : sorted_entries(name / a / b)) {
        auto id = CrashId::parse(leaf);
        if (!id || id->str() != leaf || id->date_folder() != day) continue;  // not ours: leave it
        if (leaf.compare(0, 2, a) != 0 || leaf.compare(2, 2, b) != 0) continue;
        out.push_back(name / a / b / leaf);
      }
    }
  }
  return out;
}

}  // namespace

CrashRoot::CrashRoot(fsys::path root, CrashRootOptions options) : root_(std::move(root)), options_(std::move(options)) {}

fsys::path CrashRoot::crash_dir(const CrashId& id) const {
  const std::string& s = id.str();
  return root_ / id.date_folder() / "name" / s.substr(0, 2) / s.substr(2, 2) / s;
}

bool CrashRoot::has_crash(const CrashId& id) const {
  struct stat st{};
  return ::stat(crash_dir(id).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

fsys::path CrashRoot::date_link_path(const CrashId& id, const std::string& hour, const std::string& minute) const {
  return root_ / id.date_folder() / "date" / hour / minute / id.str();
}

std::string CrashRoot::date_link_target(const CrashId& id) const {
  // Relative, so the root can be mounted anywhere: from <day>/date/HH/MM back up to <day>.
  const std::string& s = id.str();
  return "../../../name/" + s.substr(0, 2) + "/" + s.substr(2, 2) + "/" + s;
}

void CrashRoot::save_crash(const CrashId& id, const nlohmann::json& raw_crash, const std::vector<DumpInput>& dumps) {
  // Everything that can be refused is refused before touching the disk.
  if (dumps.size() > records::kMaxDumps) throw std::invalid_argument("too many dumps");
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const auto& d : dumps) {
    check_dump_name(d.name);
    if (!seen.insert(d.name).second) throw std::invalid_argument("duplicate dump name " + d.name);
    names.push_back(d.name);
  }
  std::string raw_text = records::encode_json(raw_crash);

  try {
    TempFolder tmp(tmp_root());
    fs::write_file_synced(tmp.path() / "raw_crash.json", raw_text);
    step("raw_crash.json");
    for (const auto& d : dumps) {
      auto target = tmp.path() / (d.name + ".dump");
      if (const auto* bytes = std::get_if<std::string>(&d.content)) {
        fs::write_file_synced(target, *bytes);
      } else {
        place_dump_file(std::get<fsys::path>(d.content), target);
      }
      step(d.name + ".dump");
    }
    fs::write_file_synced(tmp.path() / "dump_names.json", records::encode_dump_names(names));
    step("dump_names.json");
    fs::fsync_path(tmp.path());

    auto final_dir = crash_dir(id);
    bool replaced = false;
    for (int attempt = 0;; ++attempt) {
      if (attempt == kRetries) io_error("rename into place", final_dir, ENOENT);
      ensure_dir(final_dir.parent_path());
      if (::rename(tmp.path().c_str(), final_dir.c_str()) == 0) break;
      int err = errno;
      if (err == ENOENT) continue;  // a concurrent remove pruned the parent folders
      if (err != EEXIST && err != ENOTEMPTY) io_error("rename into place", final_dir, err);
      // The id exists: swap the new folder in atomically; the old one is left at tmp.path().
      if (::renameat2(AT_FDCWD, tmp.path().c_str(), AT_FDCWD, final_dir.c_str(), RENAME_EXCHANGE) == 0) {
        replaced = true;
        break;
      }
      err = errno;
      if (err == ENOENT) continue;
      if (err != EINVAL && err != ENOSYS) io_error("swap into place", final_dir, err);
      // No RENAME_EXCHANGE on this file system: move the old one aside first (readers may
      // briefly see no crash, never a half one).
      auto aside = tmp_root() / (std::to_string(::getpid()) + "-" + fs::unique_temp_name());
      if (::rename(final_dir.c_str(), aside.c_str()) != 0 && errno != ENOENT) io_error("move aside", final_dir);
      if (::rename(tmp.path().c_str(), final_dir.c_str()) != 0) io_error("rename into place", final_dir);
      std::error_code ec;
      fsys::remove_all(aside, ec);
      replaced = true;
      break;
    }
    tmp.committed();
    fs::fsync_path(final_dir.parent_path());
    if (replaced) {
      std::error_code ec;
      fsys::remove_all(tmp.path(), ec);  // the swapped-out old crash
    }
    step("renamed");
    // This day's dump expiry pass (if one ran or is running) has not seen this crash: make the
    // next pass look at the day again (the marks only exist in days whose dumps have expired).
    for (const char* mark : {kDumpsExpired, kDumpsExpiring}) {
      auto path = root_ / id.date_folder() / mark;
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) io_error("unlink", path);
    }

    if (options_.date_tree && !(replaced && (find_date_link(id) || find_claim(id)))) {
      make_date_link(id);
      step("linked");
    }
  } catch (const std::system_error& e) {  // also std::filesystem::filesystem_error
    throw TransientStorageError(std::string("save ") + id.str() + ": " + e.what());
  }
}

void CrashRoot::make_date_link(const CrashId& id) {
  auto [hour, minute] = utc_hour_minute(now_ms());
  auto link = date_link_path(id, hour, minute);
  auto target = date_link_target(id);
  for (int attempt = 0; attempt < kRetries; ++attempt) {
    if (::symlink(target.c_str(), link.c_str()) == 0) {
      // File-system timestamps come from a coarse clock (milliseconds apart); stamp the link
      // with the precise time so crashes saved in the same minute walk in save order.
      struct timespec now{};
      ::clock_gettime(CLOCK_REALTIME, &now);
      struct timespec times[2] = {now, now};
      ::utimensat(AT_FDCWD, link.c_str(), times, AT_SYMLINK_NOFOLLOW);
      fs::fsync_path(link.parent_path());
      return;
    }
    if (errno == EEXIST) return;
    if (errno != ENOENT) io_error("symlink", link);
    ensure_dir(link.parent_path());
  }
  io_error("symlink", link, ENOENT);
}

void CrashRoot::save_file(const CrashId& id, const std::string& filename, std::string_view bytes) {
  auto dir = crash_dir(id);
  try {
    for (int attempt = 0;; ++attempt) {
      ensure_dir(dir);
      try {
        fs::write_file_atomically(dir / filename, bytes);
        return;
      } catch (const std::system_error& e) {
        // A concurrent remove of the same crash took the folder away: try again.
        if (e.code().value() != ENOENT || attempt + 1 >= kRetries) throw;
      }
    }
  } catch (const std::system_error& e) {
    throw TransientStorageError(std::string("save ") + filename + " of " + id.str() + ": " + e.what());
  }
}

std::string CrashRoot::read_file(const CrashId& id, const std::string& filename) const {
  try {
    return fs::read_file(crash_dir(id) / filename);
  } catch (const std::system_error& e) {
    if (e.code().value() == ENOENT || e.code().value() == ENOTDIR) {
      throw CrashNotFound("crash " + id.str() + ": no " + filename + " in " + root_.string());
    }
    throw TransientStorageError(std::string("read ") + filename + " of " + id.str() + ": " + e.what());
  }
}

bool CrashRoot::remove_crash(const CrashId& id) {
  auto dir = crash_dir(id);
  bool existed = false;
  try {
    struct stat st{};
    if (::lstat(dir.c_str(), &st) == 0) {
      // Move it out of the name tree in one step, then delete at leisure.
      fs::create_directories_durably(tmp_root());
      auto trash = tmp_root() / (std::to_string(::getpid()) + "-" + fs::unique_temp_name());
      if (::rename(dir.c_str(), trash.c_str()) == 0) {
        existed = true;
        fs::fsync_path(dir.parent_path());
        std::error_code ec;
        fsys::remove_all(trash, ec);  // leftovers (on error) go with the stale .tmp sweep
        prune_empty(dir.parent_path(), root_ / id.date_folder());
      } else if (errno != ENOENT) {
        io_error("remove", dir);
      }
    }
    if (options_.date_tree) confirm(id);
  } catch (const std::system_error& e) {
    throw TransientStorageError(std::string("remove ") + id.str() + ": " + e.what());
  }
  return existed;
}

void CrashRoot::prune_empty(const fsys::path& folder, const fsys::path& stop) const {
  // rmdir fails on a folder that is not empty, which is exactly when it must stay.
  for (auto f = folder; f != stop && f.string().size() > stop.string().size(); f = f.parent_path()) {
    if (::rmdir(f.c_str()) != 0) break;
  }
}

std::vector<std::string> CrashRoot::days() const {
  std::vector<std::string> out;
  for (auto& name : sorted_entries(root_)) {
    if (name.size() == 8 && all_digits(name)) out.push_back(name);
  }
  return out;
}

std::optional<fsys::path> CrashRoot::find_date_link(const CrashId& id) const {
  auto date = root_ / id.date_folder() / "date";
  for (auto& hour : sorted_entries(date)) {
    for (auto& minute : sorted_entries(date / hour)) {
      auto link = date / hour / minute / id.str();
      struct stat st{};
      if (::lstat(link.c_str(), &st) == 0) return link;
    }
  }
  return std::nullopt;
}

std::optional<CrashRoot::Claim> CrashRoot::find_claim(const CrashId& id) const {
  auto claimed = root_ / id.date_folder() / "claimed";
  for (auto& hour : sorted_entries(claimed)) {
    for (auto& minute : sorted_entries(claimed / hour)) {
      for (auto& name : sorted_entries(claimed / hour / minute)) {
        int64_t deadline = 0;
        if (parse_claim_name(name, id, &deadline)) return Claim{claimed / hour / minute / name, hour, minute, deadline};
      }
    }
  }
  return std::nullopt;
}

bool CrashRoot::move_entry(const fsys::path& from, const fsys::path& to, bool durable) {
  for (int attempt = 0; attempt < kRetries; ++attempt) {
    if (::rename(from.c_str(), to.c_str()) == 0) {
      if (durable) fs::fsync_path(to.parent_path());
      return true;
    }
    if (errno != ENOENT) io_error("rename", from);
    struct stat st{};
    if (::lstat(from.c_str(), &st) != 0) return false;  // someone else moved it first
    if (durable) {
      ensure_dir(to.parent_path());
    } else {
      // Claim moves are not fsync'd (at least once is enough), so neither are their folders.
      std::error_code ec;
      fsys::create_directories(to.parent_path(), ec);
    }
  }
  io_error("rename", from, ENOENT);
}

std::vector<NewCrashEntry> CrashRoot::list_new(size_t limit) {
  std::vector<NewCrashEntry> out;
  if (!options_.date_tree || limit == 0) return out;
  try {
    return_expired_claims();
    maybe_remove_stale_temporaries();
    const int64_t stale_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.stale_temporary_age).count();
    for (auto& day : days()) {
      auto date = root_ / day / "date";
      for (auto& hour : sorted_entries(date)) {
        if (!is_two_digits(hour, 23)) continue;
        for (auto& minute : sorted_entries(date / hour)) {
          if (!is_two_digits(minute, 59)) continue;
          auto folder = date / hour / minute;
          std::vector<NewCrashEntry> in_minute;
          auto names = sorted_entries(folder);
          for (auto& name : names) {
            auto id = CrashId::parse(name);
            if (!id || id->str() != name || id->date_folder() != day) continue;  // not ours: leave it
            struct stat st{};
            if (::lstat((folder / name).c_str(), &st) != 0) continue;  // claimed meanwhile
            in_minute.push_back(NewCrashEntry{day, hour, minute, mtime_ns(st), *id});
          }
          if (names.empty() && !is_current_minute(hour, minute)) ::rmdir(folder.c_str());
          std::sort(in_minute.begin(), in_minute.end(),
                    [](const NewCrashEntry& a, const NewCrashEntry& b) { return a.order_key() < b.order_key(); });
          for (auto& e : in_minute) {
            if (!has_crash(e.id)) {
              // A link whose crash is gone (removed behind our back): drop it once it is old.
              if (now_ns() - e.linked_ns > stale_ns) ::unlink(date_link_path(e.id, hour, minute).c_str());
              continue;
            }
            out.push_back(std::move(e));
            if (out.size() >= limit) return out;
          }
        }
        if (!is_current_hour(hour)) ::rmdir((date / hour).c_str());  // only succeeds when empty
      }
    }
  } catch (const std::system_error& e) {
    throw TransientStorageError(std::string("walk ") + root_.string() + ": " + e.what());
  }
  return out;
}

bool CrashRoot::try_claim(const NewCrashEntry& entry, std::chrono::milliseconds lease) {
  if (!options_.date_tree) return false;
  try {
    int64_t claimed_ms = now_ms();
    int64_t deadline_ms = claimed_ms + lease.count();
    auto from = date_link_path(entry.id, entry.hour, entry.minute);
    auto to = root_ / entry.day / "claimed" / entry.hour / entry.minute /
              (entry.id.str() + "." + std::to_string(claimed_ms) + "." + std::to_string(deadline_ms));
    if (!move_entry(from, to, /*durable=*/false)) return false;
    if (!is_current_minute(entry.hour, entry.minute)) prune_empty(from.parent_path(), root_ / entry.day / "date");
    if (!has_crash(entry.id)) {  // removed between the listing and the claim
      ::unlink(to.c_str());
      return false;
    }
    return true;
  } catch (const std::system_error& e) {
    throw TransientStorageError(std::string("claim ") + entry.id.str() + ": " + e.what());
  }
}

bool CrashRoot::confirm(const CrashId& id) {
  if (!options_.date_tree) return false;
  try {
    auto day = root_ / id.date_folder();
    if (auto claim = find_claim(id)) {
      if (::unlink(claim->path.c_str()) == 0) {
        prune_empty(claim->path.parent_path(), day / "claimed");
        return true;
      }
      if (errno != ENOENT) io_error("unlink", claim->path);
      // Its lease expired and it went back to the date tree just now: remove it from there.
    }
    if (auto link = find_date_link(id)) {
      if (::unlink(link->c_str()) == 0) {
        prune_empty(link->parent_path(), day / "date");
        return true;
      }
      if (errno != ENOENT) io_error("unlink", *link);
    }
    return false;
  } catch (const std::system_error& e) {
    throw TransientStorageError(std::string("confirm ") + id.str() + ": " + e.what());
  }
}

bool CrashRoot::release(const CrashId& id) {
  if (!options_.date_tree) return false;
  try {
    auto claim = find_claim(id);
    if (!claim) return false;
    if (!move_entry(claim->path, date_link_path(id, claim->hour, claim->minute), /*durable=*/false)) return false;
    prune_empty(claim->path.parent_path(), root_ / id.date_folder() / "claimed");
    return true;
  } catch (const std::system_error& e) {
    throw TransientStorageError(std::string("release ") + id.str() + ": " + e.what());
  }
}

size_t CrashRoot::return_expired_claims() {
  if (!options_.date_tree) return 0;
  size_t returned = 0;
  int64_t now = now_ms();
  for (auto& day : days()) {
    auto claimed = root_ / day / "claimed";
    for (auto& hour : sorted_entries(claimed)) {
      for (auto& minute : sorted_entries(claimed / hour)) {
        auto folder = claimed / hour / minute;
        for (auto& name : sorted_entries(folder)) {
          auto id = claim_id(name);
          int64_t deadline = 0;
          if (!id || id->date_folder() != day || !parse_claim_name(name, *id, &deadline)) continue;
          if (deadline > now) continue;
          if (move_entry(folder / name, date_link_path(*id, hour, minute), /*durable=*/false)) ++returned;
        }
        ::rmdir(folder.c_str());  // only succeeds when empty
      }
      ::rmdir((claimed / hour).c_str());
    }
  }
  return returned;
}

size_t CrashRoot::remove_stale_temporaries() {
  size_t removed = 0;
  const int64_t stale_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.stale_temporary_age).count();
  auto entries = list_dir(tmp_root());
  if (!entries) return 0;
  for (auto& name : *entries) {
    auto path = tmp_root() / name;
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (now_ns() - mtime_ns(st) <= stale_ns) continue;
    if (S_ISDIR(st.st_mode)) {
      int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) continue;
      // A writer that is alive holds the lock; one that died released it with its last fd.
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        continue;
      }
      std::error_code ec;
      fsys::remove_all(path, ec);
      ::close(fd);
      if (!ec) ++removed;
    } else if (::unlink(path.c_str()) == 0) {
      ++removed;
    }
  }
  return removed;
}

void CrashRoot::maybe_remove_stale_temporaries() {
  int64_t now = now_ms();
  int64_t due = next_stale_sweep_ms_.load();
  if (now < due) return;
  int64_t period = std::max<int64_t>(1000, std::chrono::duration_cast<std::chrono::milliseconds>(options_.stale_temporary_age).count() / 4);
  if (!next_stale_sweep_ms_.compare_exchange_strong(due, now + period)) return;  // another thread does it
  remove_stale_temporaries();
}

std::vector<std::string> CrashRoot::crash_days() const {
  std::vector<std::string> out;
  for (auto& day : days()) {
    if (is_day_folder_name(day)) out.push_back(day);
  }
  return out;
}

std::vector<CrashId> CrashRoot::crash_ids_with_file(const std::string& day, const std::string& filename) const {
  std::vector<CrashId> out;
  if (!is_day_folder_name(day)) return out;
  for (auto& folder : crash_folders_of_day(root_ / day, day)) {
    struct stat st{};
    if (::stat((folder / filename).c_str(), &st) != 0) continue;
    out.push_back(*CrashId::parse(folder.filename().string()));
  }
  return out;
}

std::vector<std::string> CrashRoot::expired_days(const std::string& first_kept_day) const {
  if (!is_day_folder_name(first_kept_day)) {
    throw std::invalid_argument("first kept day must be a date written YYYYMMDD, not '" + first_kept_day + "'");
  }
  std::vector<std::string> out;
  for (auto& day : days()) {
    // Same length, all digits: string order is date order.
    if (day < first_kept_day && is_day_folder_name(day)) out.push_back(day);
  }
  return out;
}

size_t CrashRoot::remove_expiry_trash() {
  size_t removed = 0;
  try {
    auto entries = list_dir(tmp_root());
    if (!entries) return 0;
    for (auto& name : *entries) {
      auto dash = name.find('-');
      if (dash == std::string::npos || name.compare(dash + 1, kExpiryTag.size(), kExpiryTag) != 0) continue;
      auto path = tmp_root() / name;
      int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) continue;  // gone already, or not a folder
      Fd held(fd);
      // A live expiry run holds its lock until the day is deleted; a dead one released it.
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) continue;
      std::error_code ec;
      fsys::remove_all(path, ec);
      if (ec) throw std::system_error(ec, "remove " + path.string());
      ++removed;
    }
  } catch (const std::system_error& e) {
    throw TransientStorageError(std::string("remove expiry leftovers in ") + tmp_root().string() + ": " + e.what());
  }
  return removed;
}

ExpiryCounts CrashRoot::expire_days_before(const std::string& first_kept_day) {
  auto expired = expired_days(first_kept_day);
  remove_expiry_trash();
  ExpiryCounts counts;
  try {
    for (auto& day : expired) {
      // Locked before the day moves in, so no sweep deletes it under us; deleted (with the day)
      // when it goes out of scope.
      TempFolder trash(tmp_root(), kExpiryTag);
      auto from = root_ / day;
      auto to = trash.path() / day;
      if (::rename(from.c_str(), to.c_str()) != 0) {
        if (errno == ENOENT) continue;  // another expiry run took it first
        io_error("expire", from);
      }
      fs::fsync_path(root_);
      step("expire day renamed");
      ++counts.days;
      counts.crashes += crash_folders_of_day(to, day).size();
      std::error_code ec;
      fsys::remove_all(to, ec);
      if (ec) throw std::system_error(ec, "remove " + to.string());
    }
  } catch (const std::system_error& e) {
    throw TransientStorageError(std::string("expire days in ") + root_.string() + ": " + e.what());
  }
  return counts;
}

ExpiryCounts CrashRoot::expire_dumps_before(const std::string& first_kept_day) {
  auto expired = expired_days(first_kept_day);
  remove_expiry_trash();
  ExpiryCounts counts;
  try {
    for (auto& day : expired) {
      auto dir = root_ / day;
      auto done = dir / kDumpsExpired;
      auto running = dir / kDumpsExpiring;
      struct stat st{};
      if (::lstat(done.c_str(), &st) == 0) continue;
      // The running mark is made before the day is listed: a save into the day from now on
      // removes it (after its rename), and then this pass does not mark the day done.
      int fd = ::open(running.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd < 0) {
        if (errno == ENOENT) continue;  // the day was expired whole meanwhile
        io_error("create", running);
      }
      ::close(fd);
      for (auto& folder : crash_folders_of_day(dir, day)) {
        auto c = expire_crash_dumps(folder);
        counts.crashes += c.crashes;
        counts.dumps += c.dumps;
      }
      if (::rename(running.c_str(), done.c_str()) == 0) {
        ++counts.days;
      } else if (errno != ENOENT) {
        io_error("mark", running);
      }
    }
  } catch (const std::system_error& e) {
    throw TransientStorageError(std::string("expire dumps in ") + root_.string() + ": " + e.what());
  }
  return counts;
}

ExpiryCounts CrashRoot::expire_crash_dumps(const fsys::path& folder) {
  ExpiryCounts out;
  int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return out;  // removed or replaced meanwhile
    io_error("open", folder);
  }
  Fd dir(fd);
  std::vector<std::string> dumps;
  for (auto& name : list_dir_fd(fd, folder)) {
    std::string_view n = name;
    if (n.size() > 5 && n.ends_with(".dump") && is_valid_dump_name(n.substr(0, n.size() - 5))) {
      dumps.push_back(name);
    } else if (n.starts_with(kExpiryNamesPrefix)) {
      ::unlinkat(fd, name.c_str(), 0);  // left by an expiry run that died
    }
  }
  static const std::string kNoDumps = records::encode_dump_names({});
  auto names = read_small_file_at(fd, folder, kDumpNamesFile, 64 * 1024);
  const bool listed = names && *names != kNoDumps;
  if (dumps.empty() && !listed) return out;
  // The list goes first: a reader then sees no dumps, never a listed dump that is missing.
  if (listed || !names) write_file_atomically_at(fd, folder, kDumpNamesFile, kNoDumps);
  step("expire dump_names.json emptied");
  for (auto& name : dumps) {
    if (::unlinkat(fd, name.c_str(), 0) == 0) {
      ++out.dumps;
    } else if (errno != ENOENT) {
      io_error("unlink", folder / name);
    }
  }
  if (!dumps.empty() && ::fsync(fd) != 0) io_error("fsync", folder);
  out.crashes = 1;
  return out;
}

}  // namespace bw::storage
