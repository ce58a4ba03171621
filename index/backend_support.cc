#include "index/backend_support.h"

#include <chrono>

namespace bw::index::backend {

CrashId crash_id_for_lookup(std::string_view text) {
  std::string why;
  auto id = CrashId::parse(text, &why);
  if (!id) throw QueryError("uuid", "uuid: \"" + std::string(text.substr(0, 80)) + "\" is not a crash id: " + why);
  return *id;
}

std::vector<const Field*> visible_fields(const FieldCatalogue& catalogue, const Permissions& permissions) {
  std::vector<const Field*> cols;
  for (const auto& f : catalogue.all()) {
    if (f.visible_to(permissions)) cols.push_back(&f);
  }
  return cols;
}

void drop_null_members(nlohmann::json& hit) {
  for (auto it = hit.begin(); it != hit.end();) {
    if (it->is_null()) {
      it = hit.erase(it);
    } else {
      ++it;
    }
  }
}

std::string select_list(const std::vector<const Field*>& cols, int& doc_column, std::string_view row_key) {
  std::string sel;
  int n = 0;
  bool need_doc = false;
  for (const Field* f : cols) {
    if (f->indexed()) {
      sel += (n++ ? ", c." : "c.") + f->column;
    } else {
      need_doc = true;
    }
  }
  doc_column = -1;
  if (need_doc) {
    sel += n ? ", c.doc" : "c.doc";
    doc_column = n++;
  }
  if (n == 0) sel = std::string(row_key);
  return sel;
}

TopCrashersDays top_crashers_days(const TopCrashersQuery& query, TopCrashersResult& result) {
  auto end = query.end.value_or(std::chrono::system_clock::now());
  TopCrashersDays days;
  days.end_day =
      floor_div(std::chrono::duration_cast<std::chrono::microseconds>(end.time_since_epoch()).count(), kMicrosPerDay);
  days.start_day = days.end_day - query.days + 1;
  result.days = query.days;
  result.start_date = format_day(days.start_day);
  result.end_date = format_day(days.end_day);
  return days;
}

}  // namespace bw::index::backend
