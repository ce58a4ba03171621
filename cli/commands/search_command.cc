// `breakwater search FIELD=VALUE...`: Super Search from the terminal, on the index the
// configuration names (docs/search.md has the grammar). Prints a table, or with --json the
// answer /api/SuperSearch/ would give. Public fields only unless --unredacted (view_pii), as
// crash-stats' SuperSearch and SuperSearchUnredacted.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "index/crash_index.h"
#include "index/fields.h"
#include "index/search_table.h"
#include "index/super_search_query.h"

namespace bw::cli {

void register_search_command(CLI::App& app, SharedOptions& shared) {
  auto* sub = app.add_subcommand("search", "search the crash index (Super Search grammar: field=value ...)");
  shared.add_to(*sub);
  struct Options {
    std::vector<std::string> terms;
    bool json = false;
    bool unredacted = false;
    size_t max_cell = 60;
  };
  auto o = std::make_shared<Options>();
  sub->add_option("terms", o->terms,
                  "field=value pairs, e.g. signature=~OOM product=Firefox date=>=2026-11-01 _facets=version "
                  "_columns=uuid _results_number=20");
  sub->add_flag("--json", o->json, "print the /api/SuperSearch/ JSON answer instead of a table");
  sub->add_flag("--unredacted", o->unredacted, "include protected fields (url, email, comments...): view_pii");
  sub->add_option("--max-cell", o->max_cell, "longest table cell, in bytes")->capture_default_str();
  sub->callback([&shared, o] {
    Config config = shared.load_and_init_logging();
    auto settings = index::IndexSettings::from_config(config);
    index::Permissions permissions;
    if (o->unredacted) permissions.insert(std::string(index::kViewPii));
    index::SuperSearchQuery query;
    try {
      query = index::parse_super_search(settings.fields, index::query_pairs_from_arguments(o->terms), permissions,
                                        std::chrono::system_clock::now());
    } catch (const index::QueryError& e) {
      throw CommandFailed(2, e.parameter() + ": " + e.what());
    }
    auto crash_index = index::open_crash_index(settings);
    nlohmann::json result = crash_index->execute(query);
    if (o->json) {
      std::cout << result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      std::cout << index::format_search_table(query, result, o->max_cell);
    }
  });
}

}  // namespace bw::cli
