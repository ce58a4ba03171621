#include "web/report_page.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <map>
#include <vector>

#include "web/public_data.h"

namespace bw::web {

using nlohmann::json;
using html::Url;
using html::Writer;

namespace {

// The member `key` of `obj` when obj is an object holding a non-null value there.
const json* member(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string text_of(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_float()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v.get<double>());
    return buf;
  }
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::string> text_field(const json& obj, std::string_view key) {
  const json* v = member(obj, key);
  if (!v) return std::nullopt;
  return text_of(*v);
}

std::optional<int64_t> int_field(const json& obj, std::string_view key) {
  const json* v = member(obj, key);
  if (!v) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_unsigned() && v->get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v->get<uint64_t>());
  }
  return std::nullopt;
}

const char* const kDash = "\xE2\x80\x94";

void value_or_dash(Writer& w, const std::optional<std::string>& value) {
  if (value && !value->empty()) {
    w.text(*value);
  } else {
    w.element("span", kDash, {{"class", "absent"}, {"aria-label", "not known"}});
  }
}

// One row of a details table: <tr><th scope=row>label</th><td>...</td></tr>.
// Values in the details and annotation tables are cut shorter than elsewhere: a table of
// summaries stays readable, and the JSON API has the whole value.
constexpr size_t kMaxDetail = 1000;

void detail_row(Writer& w, std::string_view label, const std::optional<std::string>& value) {
  w.open("tr");
  w.element("th", label, {{"scope", "row"}});
  w.open("td");
  if (value && !value->empty()) {
    w.text_limited(*value, kMaxDetail);
  } else {
    value_or_dash(w, std::nullopt);
  }
  w.close("td");
  w.close("tr");
}

bool is_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

bool is_host(std::string_view s) {
  return !s.empty() && s.size() <= 253 && s.front() != '.' && s.front() != '-' &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
         });
}

// A repository path or name: no empty, "." or ".." segment, no backslash.
bool is_clean_path(std::string_view s) {
  if (s.empty() || s.find('\\') != std::string_view::npos) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('/', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view seg = s.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    start = end + 1;
  }
  return true;
}

std::string trust_label(std::string_view trust) {
  if (trust == "context") return "context";
  if (trust == "cfi") return "CFI";
  if (trust == "cfi_scan") return "CFI scan";
  if (trust == "frame_pointer") return "frame pointer";
  if (trust == "scan") return "scan";
  if (trust == "prewalked") return "prewalked";
  if (trust == "none" || trust.empty()) return "none";
  return std::string(trust);
}

std::string trust_help(std::string_view trust) {
  if (trust == "context") return "taken from the CPU context saved in the dump";
  if (trust == "cfi") return "recovered with call frame information from the symbols";
  if (trust == "cfi_scan") return "found by scanning the stack, confirmed by call frame information";
  if (trust == "frame_pointer") return "recovered by following the frame pointer";
  if (trust == "scan") return "found by scanning the stack: may be wrong";
  return "how this frame was found";
}

// "0x000000000038ab264" → "0x38ab264" (crash-stats' form); anything else as it is.
std::string short_hex(const std::string& text) {
  if (!text.starts_with("0x") || !is_hex(std::string_view(text).substr(2))) return text;
  size_t first = text.find_first_not_of('0', 2);
  return first == std::string::npos ? "0x0" : "0x" + text.substr(first);
}

// "function", or "module@0xoffset" / "0xaddress" when the symbols had no name for it.
std::string frame_function(const json& frame) {
  if (auto f = text_field(frame, "function"); f && !f->empty()) return *f;
  auto module = text_field(frame, "module");
  auto module_offset = text_field(frame, "module_offset");
  if (module && module_offset) return *module + "@" + short_hex(*module_offset);
  if (auto offset = text_field(frame, "offset")) return *offset;
  return "";
}

void source_cell(Writer& w, const json& frame) {
  w.open("td", {{"class", "source"}});
  auto file = text_field(frame, "file");
  if (file && !file->empty()) {
    auto line = int_field(frame, "line");
    SourceRef ref = source_ref(*file, line);
    std::string shown = ref.display + (line ? ":" + std::to_string(*line) : "");
    if (ref.url) {
      w.link(Url::external(*ref.url), shown, {{"title", *file}});
    } else {
      w.element("span", shown, {{"title", *file}});
    }
  }
  w.close("td");
}

void frame_rows(Writer& w, const json& frame, std::optional<int64_t>& previous_number) {
  auto number = int_field(frame, "frame");
  // Truncated threads keep their first and last frames: say where the gap is.
  if (number && previous_number && *number > *previous_number + 1) {
    w.open("tr", {{"class", "gap"}});
    w.element("td", "\xE2\x80\xA6 frames " + std::to_string(*previous_number + 1) + " to " +
                        std::to_string(*number - 1) + " left out when the crash was processed",
              {{"colspan", "5"}});
    w.close("tr");
  }
  if (number) previous_number = number;
  std::string number_text = number ? std::to_string(*number) : "";
  std::string module = text_field(frame, "module").value_or("");

  // Inlined calls come first, innermost first, as the walker lists them.
  if (const json* inlines = member(frame, "inlines"); inlines && inlines->is_array()) {
    for (const auto& in : *inlines) {
      w.open("tr", {{"class", "inline-frame"}});
      w.open("td", {{"class", "frame-number"}});
      w.text(number_text);
      w.element("span", "inlined", {{"class", "badge"}});
      w.close("td");
      w.element("td", module, {{"class", "module"}});
      w.element("td", text_field(in, "function").value_or(""), {{"class", "function"}});
      source_cell(w, in);
      w.element("td", "inlined", {{"class", "trust"}, {"title", "inlined into the frame below by the compiler"}});
      w.close("tr");
    }
  }

  std::string trust = text_field(frame, "trust").value_or("");
  bool missing = member(frame, "missing_symbols") && frame["missing_symbols"].is_boolean() &&
                 frame["missing_symbols"].get<bool>();
  w.open("tr", {{"class", trust == "scan" ? "frame low-trust" : "frame"}});
  w.element("td", number_text, {{"class", "frame-number"}});
  w.open("td", {{"class", "module"}});
  w.text(module);
  if (missing) w.element("span", "no symbols", {{"class", "badge warn"}, {"title", "symbols for this module were not found"}});
  w.close("td");
  w.element("td", frame_function(frame), {{"class", "function"}});
  source_cell(w, frame);
  w.element("td", trust_label(trust), {{"class", "trust trust-" + (trust.empty() ? std::string("none") : trust)}, {"title", trust_help(trust)}});
  w.close("tr");
}

void frames_table(Writer& w, const json& thread, std::string_view caption) {
  const json* frames = member(thread, "frames");
  if (!frames || !frames->is_array() || frames->empty()) {
    w.element("p", "No frames.", {{"class", "muted"}});
    return;
  }
  w.open("div", {{"class", "table-wrap"}});
  w.open("table", {{"class", "frames"}});
  w.element("caption", caption, {{"class", "visually-hidden"}});
  w.open("thead");
  w.open("tr");
  for (const char* h : {"Frame", "Module", "Function", "Source", "Trust"}) w.element("th", h, {{"scope", "col"}});
  w.close("tr");
  w.close("thead");
  w.open("tbody");
  std::optional<int64_t> previous;
  for (const auto& frame : *frames) frame_rows(w, frame, previous);
  w.close("tbody");
  w.close("table");
  w.close("div");
  if (auto count = int_field(thread, "frame_count"); count && *count > static_cast<int64_t>(frames->size())) {
    w.element("p", "This thread had " + std::to_string(*count) + " frames; " + std::to_string(frames->size()) +
                       " were kept when the crash was processed.",
              {{"class", "muted"}});
  }
}

std::string thread_label(size_t index, const json& thread) {
  std::string label = "Thread " + std::to_string(index);
  if (auto name = text_field(thread, "thread_name"); name && !name->empty()) label += " (" + *name + ")";
  return label;
}

void section_heading(Writer& w, std::string_view id, std::string_view title) {
  w.element("h2", title, {{"id", std::string(id)}});
}

void details_section(Writer& w, const CrashId& id, const json& p) {
  section_heading(w, "details", "Details");
  w.open("div", {{"class", "table-wrap"}});
  w.open("table", {{"class", "details"}});
  w.open("tbody");
  detail_row(w, "Crash ID", id.str());
  w.open("tr");
  w.element("th", "Signature", {{"scope", "row"}});
  w.open("td", {{"class", "signature"}});
  if (auto sig = text_field(p, "signature"); sig && !sig->empty()) {
    w.link(Url::local("/signature/?signature=" + html::encode_component(*sig)), *sig);
  } else {
    value_or_dash(w, std::nullopt);
  }
  w.close("td");
  w.close("tr");
  detail_row(w, "Product", text_field(p, "product"));
  detail_row(w, "Version", text_field(p, "version"));
  detail_row(w, "Release channel", text_field(p, "release_channel"));
  detail_row(w, "Build ID", text_field(p, "build_id"));
  detail_row(w, "Process type", text_field(p, "process_type"));
  auto os = text_field(p, "os_name");
  auto os_version = text_field(p, "os_version");
  detail_row(w, "OS", os ? std::optional<std::string>(*os + (os_version ? " " + *os_version : "")) : os_version);
  detail_row(w, "CPU architecture", text_field(p, "cpu_arch"));
  detail_row(w, "CPU info", text_field(p, "cpu_info"));
  detail_row(w, "CPU count", text_field(p, "cpu_count"));
  detail_row(w, "Crash reason", text_field(p, "reason"));
  detail_row(w, "Crash address", text_field(p, "address"));
  if (auto r = text_field(p, "moz_crash_reason")) detail_row(w, "MOZ_CRASH reason", r);
  if (auto a = text_field(p, "abort_message")) detail_row(w, "Abort message", a);
  auto duration_text = [&](std::string_view key) -> std::optional<std::string> {
    auto s = int_field(p, key);
    if (!s) return text_field(p, key);
    if (*s < 60) return format_duration(*s);
    return format_duration(*s) + " (" + std::to_string(*s) + " s)";
  };
  detail_row(w, "Uptime", duration_text("uptime"));
  detail_row(w, "Install age", duration_text("install_age"));
  detail_row(w, "Crash time", text_field(p, "client_crash_date"));
  detail_row(w, "Date processed", text_field(p, "date_processed"));
  detail_row(w, "Processing finished", text_field(p, "completed_datetime"));
  std::optional<std::string> status;
  if (const json* s = member(p, "success"); s && s->is_boolean()) {
    status = s->get<bool>() ? "processed successfully" : "processed with errors (see the processor notes)";
  }
  if (auto m = text_field(p, "mdsw_status_string")) status = status.value_or("") + (status ? "; " : "") + "stack walk: " + *m;
  detail_row(w, "Status", status);
  if (auto ct = int_field(p, "crashing_thread")) {
    std::string label = std::to_string(*ct);
    if (auto name = text_field(p, "crashing_thread_name"); name && !name->empty()) label += " (" + *name + ")";
    detail_row(w, "Crashing thread", label);
  }
  w.close("tbody");
  w.close("table");
  w.close("div");

  std::vector<std::string> notes;
  if (const json* n = member(p, "processor_notes"); n && n->is_array()) {
    for (const auto& note : *n) notes.push_back(text_of(note));
  }
  w.element("h3", "Processor notes");
  if (notes.empty()) {
    w.element("p", "None.", {{"class", "muted"}});
  } else {
    w.open("ul", {{"class", "notes"}});
    for (const auto& note : notes) w.element("li", note);
    w.close("ul");
  }
}

void threads_section(Writer& w, const json& p) {
  const json* dump = member(p, "json_dump");
  const json* threads = dump ? member(*dump, "threads") : nullptr;
  std::optional<int64_t> crashing = int_field(p, "crashing_thread");
  if (!crashing && dump) {
    if (const json* ci = member(*dump, "crash_info")) crashing = int_field(*ci, "crashing_thread");
  }

  section_heading(w, "crashing-thread", "Crashing thread");
  const json* crashing_thread = nullptr;
  if (threads && threads->is_array() && crashing && *crashing >= 0 && static_cast<size_t>(*crashing) < threads->size()) {
    crashing_thread = &(*threads)[static_cast<size_t>(*crashing)];
  }
  // The truncate rule cuts json_dump.crashing_thread too; prefer it when the index is unknown.
  if (!crashing_thread && dump) crashing_thread = member(*dump, "crashing_thread");
  if (crashing_thread) {
    if (crashing) w.element("p", thread_label(static_cast<size_t>(*crashing), *crashing_thread), {{"class", "thread-name"}});
    frames_table(w, *crashing_thread, "Frames of the crashing thread");
  } else {
    w.element("p", "No crashing thread: the dump was not walked or names no crashing thread.", {{"class", "muted"}});
  }

  std::vector<size_t> others;
  if (threads && threads->is_array()) {
    for (size_t i = 0; i < threads->size(); ++i) {
      if (!crashing || static_cast<size_t>(*crashing) != i) others.push_back(i);
    }
  }
  section_heading(w, "threads", "Other threads (" + std::to_string(others.size()) + ")");
  if (others.empty()) w.element("p", "None.", {{"class", "muted"}});
  for (size_t i : others) {
    const json& t = (*threads)[i];
    w.open("details", {{"class", "thread"}});
    w.open("summary");
    std::string label = thread_label(i, t);
    if (auto count = int_field(t, "frame_count")) label += ", " + std::to_string(*count) + (*count == 1 ? " frame" : " frames");
    w.text(label);
    w.close("summary");
    frames_table(w, t, "Frames of " + thread_label(i, t));
    w.close("details");
  }
}

void modules_section(Writer& w, const json& p) {
  const json* dump = member(p, "json_dump");
  const json* modules = dump ? member(*dump, "modules") : nullptr;
  size_t count = modules && modules->is_array() ? modules->size() : 0;
  section_heading(w, "modules", "Modules (" + std::to_string(count) + ")");
  if (count == 0) {
    w.element("p", "No modules.", {{"class", "muted"}});
    return;
  }
  size_t missing = 0;
  for (const auto& m : *modules) {
    if (member(m, "missing_symbols") && m["missing_symbols"].is_boolean() && m["missing_symbols"].get<bool>()) ++missing;
  }
  if (missing > 0) {
    w.element("p", std::to_string(missing) + (missing == 1 ? " module" : " modules") +
                       " needed symbols that were not found; their frames show offsets instead of function names.",
              {{"class", "notice"}});
  }
  w.open("div", {{"class", "table-wrap"}});
  w.open("table", {{"class", "modules"}});
  w.open("thead");
  w.open("tr");
  for (const char* h : {"Module", "Version", "Debug file", "Debug ID", "Base address", "Symbols"}) {
    w.element("th", h, {{"scope", "col"}});
  }
  w.close("tr");
  w.close("thead");
  w.open("tbody");
  for (const auto& m : *modules) {
    auto flag = [&](std::string_view key) {
      const json* v = member(m, key);
      return v && v->is_boolean() && v->get<bool>();
    };
    w.open("tr");
    w.element("td", text_field(m, "filename").value_or(""), {{"class", "module"}});
    w.open("td");
    value_or_dash(w, text_field(m, "version"));
    w.close("td");
    w.element("td", text_field(m, "debug_file").value_or(""));
    w.element("td", text_field(m, "debug_id").value_or(""), {{"class", "mono"}});
    w.element("td", text_field(m, "base_addr").value_or(""), {{"class", "mono"}});
    w.open("td");
    if (flag("corrupt_symbols")) {
      w.element("span", "corrupt", {{"class", "badge error"}, {"title", "the symbol file could not be read"}});
    } else if (flag("missing_symbols")) {
      w.element("span", "missing", {{"class", "badge warn"}, {"title", "a frame needed symbols and none were found"}});
    } else if (flag("loaded_symbols")) {
      w.element("span", "loaded", {{"class", "badge ok"}});
    } else {
      w.element("span", "not needed", {{"class", "muted"}});
    }
    w.close("td");
    w.close("tr");
  }
  w.close("tbody");
  w.close("table");
  w.close("div");
}

void annotations_section(Writer& w, const json& raw, const Permissions& permissions) {
  bool all = permissions.contains(kViewPiiPermission);
  section_heading(w, "annotations", "Annotations");
  std::map<std::string, std::string> shown;
  if (raw.is_object()) {
    for (const auto& [key, value] : raw.items()) {
      if (!PublicData::is_collector_field(key)) shown.emplace(key, text_of(value));
    }
  }
  if (shown.empty()) {
    w.element("p", all ? "No annotations." : "No public annotations.", {{"class", "muted"}});
  } else {
    w.open("div", {{"class", "table-wrap"}});
    w.open("table", {{"class", "annotations"}});
    w.open("tbody");
    for (const auto& [key, value] : shown) detail_row(w, key, value);
    w.close("tbody");
    w.close("table");
    w.close("div");
  }
  w.element("p",
            all ? "Every annotation is shown, protected ones too (URL, comments, e-mail and any annotation not "
                  "declared public): you hold view_pii. Do not share them."
                : "Only public annotations are shown. Others (URL, comments, e-mail and any annotation not declared "
                  "public) are protected: sign in with an account holding view_pii to see them.",
            {{"class", "muted"}});
  if (const json* meta = member(raw, "metadata")) {
    if (const json* notes = member(*meta, "collector_notes"); notes && notes->is_array() && !notes->empty()) {
      w.element("h3", "Collector notes");
      w.open("ul", {{"class", "notes"}});
      for (const auto& n : *notes) w.element("li", text_of(n));
      w.close("ul");
    }
  }
}

void raw_data_section(Writer& w, const CrashId& id, const Permissions& permissions) {
  section_heading(w, "raw-data", "Raw data");
  w.open("ul");
  w.open("li");
  w.link(Url::local("/api/ProcessedCrash/?crash_id=" + id.str()), "Processed crash (JSON)");
  w.close("li");
  w.open("li");
  w.link(Url::local("/api/RawCrash/?crash_id=" + id.str()), "Raw crash annotations (JSON)");
  w.close("li");
  if (PublicData::may_download_dumps(permissions)) {
    w.open("li");
    w.link(Url::local("/api/RawCrash/?crash_id=" + id.str() + "&format=raw&name=upload_file_minidump"),
           "Minidump (download)");
    w.close("li");
  }
  w.close("ul");
  if (!PublicData::may_download_dumps(permissions)) {
    w.element("p", "Minidumps need the view_rawdump permission.", {{"class", "muted"}});
  }
}

}  // namespace

SourceRef source_ref(std::string_view file, std::optional<int64_t> line) {
  SourceRef ref{std::string(file), std::nullopt};
  bool hg = file.starts_with("hg:");
  bool git = file.starts_with("git:");
  if (!hg && !git) return ref;
  std::string_view rest = file.substr(hg ? 3 : 4);
  // <host>/<repo>:<path>:<rev>: the revision after the last ':', the repository before the first.
  size_t last = rest.rfind(':');
  if (last == std::string_view::npos) return ref;
  std::string_view rev = rest.substr(last + 1);
  std::string_view head = rest.substr(0, last);
  size_t first = head.find(':');
  if (first == std::string_view::npos) return ref;
  std::string_view repo = head.substr(0, first);
  std::string_view path = head.substr(first + 1);
  size_t slash = repo.find('/');
  if (slash == std::string_view::npos) return ref;
  std::string_view host = repo.substr(0, slash);
  std::string_view repo_path = repo.substr(slash + 1);
  if (!is_hex(rev) || !is_host(host) || !is_clean_path(repo_path) || !is_clean_path(path)) return ref;
  ref.display = std::string(path);
  std::string anchor = line && *line > 0 ? std::to_string(*line) : "";
  if (hg) {
    ref.url = "https://" + std::string(host) + "/" + html::encode_path(repo_path) + "/file/" + std::string(rev) + "/" +
              html::encode_path(path) + (anchor.empty() ? "" : "#l" + anchor);
  } else if (host == "github.com" && std::count(repo_path.begin(), repo_path.end(), '/') == 1) {
    ref.url = "https://github.com/" + html::encode_path(repo_path) + "/blob/" + std::string(rev) + "/" +
              html::encode_path(path) + (anchor.empty() ? "" : "#L" + anchor);
  }
  return ref;
}

std::string format_duration(int64_t seconds) {
  if (seconds < 0) return "-";
  const std::pair<int64_t, const char*> units[] = {{86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}};
  // The largest unit and the next one: "2 d 3 h", "4 min 5 s".
  for (size_t i = 0; i < std::size(units); ++i) {
    if (seconds < units[i].first) continue;
    std::string out = std::to_string(seconds / units[i].first) + " " + units[i].second;
    if (i + 1 < std::size(units)) {
      int64_t rest = (seconds % units[i].first) / units[i + 1].first;
      if (rest > 0) out += " " + std::to_string(rest) + " " + units[i + 1].second;
    }
    return out;
  }
  return "0 s";
}

std::string report_title(const CrashId& id, const json& processed) {
  std::string title = "Crash " + id.str();
  if (auto sig = text_field(processed, "signature"); sig && !sig->empty()) {
    title = std::string(html::utf8_prefix(*sig, 120)) + " \xE2\x80\x94 " + title;
  }
  return title;
}

html::Html render_report(const CrashId& id, const json& processed, const json& raw, const Permissions& permissions) {
  Writer w;
  w.open("div", {{"class", "report-head"}});
  w.element("p", "Crash report", {{"class", "eyebrow"}});
  w.open("h1", {{"class", "signature-title"}});
  auto sig = text_field(processed, "signature");
  w.text(sig && !sig->empty() ? *sig : "(no signature)");
  w.close("h1");
  w.element("p", id.str(), {{"class", "mono crash-id"}});
  w.close("div");

  w.open("nav", {{"class", "toc"}, {"aria-label", "Sections of this report"}});
  w.open("ul");
  for (const auto& [anchor, label] : std::vector<std::pair<const char*, const char*>>{
           {"details", "Details"}, {"crashing-thread", "Crashing thread"}, {"threads", "Other threads"},
           {"modules", "Modules"}, {"annotations", "Annotations"}, {"raw-data", "Raw data"}}) {
    w.open("li");
    w.link(Url::fragment(anchor), label);
    w.close("li");
  }
  w.close("ul");
  w.close("nav");

  details_section(w, id, processed);
  threads_section(w, processed);
  modules_section(w, processed);
  annotations_section(w, raw, permissions);
  raw_data_section(w, id, permissions);
  return w.finish();
}

html::Html render_pending(const CrashId& id, bool queued) {
  Writer w;
  w.open("div", {{"id", "pending"},
                 {"class", "pending"},
                 {"data-status-url", "/report/status/" + id.str()},
                 {"data-report-url", "/report/index/" + id.str()},
                 {"role", "status"},
                 {"aria-live", "polite"}});
  w.element("p", "Crash report", {{"class", "eyebrow"}});
  w.element("h1", "Processing this crash");
  w.element("p", id.str(), {{"class", "mono crash-id"}});
  w.element("p", queued ? "This crash is stored but not processed yet. It has been put at the front of the "
                          "processing queue; processing takes a few seconds."
                        : "This crash is stored but not processed yet. The server has too many requests to "
                          "process crashes first right now; this one will be processed in its turn.");
  w.element("p", "This page shows the report by itself as soon as it is ready. Without JavaScript, reload the page "
                 "in a few seconds.",
            {{"id", "pending-message"}});
  w.close("div");
  return w.finish();
}

}  // namespace bw::web
