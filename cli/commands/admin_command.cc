// `breakwater admin`: operator tools. Each group of tools is one function adding its
// subcommands to `admin` (queue tools below); other groups (users, tokens...) are added beside
// it in register_admin_command.
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/commands/admin_accounts.h"
#include "index/crash_index.h"
#include "maintenance/index_rebuild.h"
#include "maintenance/retention_job.h"
#include "processor/admin.h"
#include "queue/crash_queue.h"
#include "storage/factory.h"

namespace bw::cli {
namespace {

queue::QueueKind queue_kind_option(const std::string& name) {
  auto kind = queue::parse_queue_kind(name);
  if (!kind) throw CommandFailed(2, "unknown queue '" + name + "' (standard, priority or reprocessing)");
  return *kind;
}

queue::Ruleset ruleset_option(const std::string& name) {
  auto ruleset = queue::parse_ruleset(name);
  if (!ruleset) throw CommandFailed(2, "unknown ruleset '" + name + "' (" + std::string(queue::kRulesetNames) + ")");
  return *ruleset;
}

// admin queue stats | publish ID [--queue Q] [--ruleset R] | purge Q
void add_admin_queue_commands(CLI::App& admin, SharedOptions& shared) {
  auto* queue_cmd = admin.add_subcommand("queue", "inspect and feed the crash queues");
  queue_cmd->require_subcommand(1);

  auto* stats = queue_cmd->add_subcommand("stats", "messages ready, in flight and dead-lettered per queue");
  shared.add_to(*stats);
  auto json_output = std::make_shared<bool>(false);
  stats->add_flag("--json", *json_output, "print JSON instead of a table");
  stats->callback([&shared, json_output] {
    Config config = shared.load_and_init_logging();
    auto settings = queue::QueueSettings::from_config(config);
    auto q = queue::open_crash_queue(settings);
    auto s = q->stats();
    if (*json_output) {
      nlohmann::json out = nlohmann::json::object();
      for (auto kind : queue::kAllQueueKinds) {
        const auto& d = s.of(kind);
        out[std::string(queue::to_string(kind))] = {{"name", settings.name(kind)},
                                                    {"ready", d.ready},
                                                    {"in_flight", d.in_flight},
                                                    {"dead_letters", d.dead_letters}};
      }
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::cout << std::left << std::setw(14) << "queue" << std::setw(32) << "name" << std::right << std::setw(10)
              << "ready" << std::setw(11) << "in_flight" << std::setw(14) << "dead_letters" << "\n";
    for (auto kind : queue::kAllQueueKinds) {
      const auto& d = s.of(kind);
      std::cout << std::left << std::setw(14) << queue::to_string(kind) << std::setw(32) << settings.name(kind)
                << std::right << std::setw(10) << d.ready << std::setw(11) << d.in_flight << std::setw(14)
                << d.dead_letters << "\n";
    }
  });

  auto* publish = queue_cmd->add_subcommand("publish", "queue a crash for processing");
  shared.add_to(*publish);
  struct PublishOptions {
    std::string id;
    std::string queue = "priority";
    std::string ruleset = "default";
  };
  auto p = std::make_shared<PublishOptions>();
  publish->add_option("id", p->id, "crash id (bp- prefix allowed)")->required();
  publish->add_option("--queue", p->queue, "standard, priority or reprocessing")->capture_default_str();
  publish->add_option("--ruleset", p->ruleset, std::string(queue::kRulesetNames))->capture_default_str();
  publish->callback([&shared, p] {
    queue::Ruleset ruleset = ruleset_option(p->ruleset);
    auto kind = queue_kind_option(p->queue);
    Config config = shared.load_and_init_logging();
    // Only stored crashes are queued: a processor cannot process a crash that does not exist.
    auto storage = storage::make_primary_storage(config);
    auto q = queue::open_crash_queue(queue::QueueSettings::from_config(config));
    auto result = processor::request_processing(*q, storage.get(), {p->id}, ruleset, kind);
    if (!result.refused.empty()) throw CommandFailed(1, "refused " + result.refused.front());
    queue::CrashMessage message{result.published.at(0), ruleset};
    std::cout << "published " << message.encode() << " to " << queue::to_string(kind) << "\n";
  });

  auto* purge = queue_cmd->add_subcommand("purge", "drop the ready messages of one queue");
  shared.add_to(*purge);
  auto purge_queue = std::make_shared<std::string>();
  purge->add_option("queue", *purge_queue, "standard, priority or reprocessing")->required();
  purge->callback([&shared, purge_queue] {
    auto kind = queue_kind_option(*purge_queue);
    Config config = shared.load_and_init_logging();
    auto q = queue::open_crash_queue(queue::QueueSettings::from_config(config));
    uint64_t n = q->purge(kind);
    std::cout << "purged " << n << " messages from " << queue::to_string(kind) << "\n";
  });
}

// admin reprocess ID... [--ruleset R] | priority ID... (processor/admin.h)
void add_admin_processing_commands(CLI::App& admin, SharedOptions& shared) {
  struct Options {
    std::vector<std::string> ids;
    std::string ruleset = "default";
  };
  auto run = [&shared](const Options& o, bool reprocess) {
    queue::Ruleset ruleset = ruleset_option(o.ruleset);
    Config config = shared.load_and_init_logging();
    auto storage = storage::make_primary_storage(config);
    auto q = queue::open_crash_queue(queue::QueueSettings::from_config(config));
    auto result = reprocess ? processor::request_reprocessing(*q, storage.get(), o.ids, ruleset)
                            : processor::request_priority(*q, storage.get(), o.ids);
    for (const auto& id : result.published) std::cout << "queued " << id.str() << "\n";
    for (const auto& refused : result.refused) std::cerr << "refused " << refused << "\n";
    if (!result.refused.empty()) throw CommandFailed(1, std::to_string(result.refused.size()) + " crash ids refused");
  };
  auto* reprocess = admin.add_subcommand("reprocess", "process stored crashes again (reprocessing queue)");
  shared.add_to(*reprocess);
  auto r = std::make_shared<Options>();
  reprocess->add_option("ids", r->ids, "crash ids (bp- prefix allowed)")->required();
  reprocess->add_option("--ruleset", r->ruleset, std::string(queue::kRulesetNames))->capture_default_str();
  reprocess->callback([run, r] { run(*r, true); });
  auto* priority = admin.add_subcommand("priority", "process crashes now, ahead of the rest (priority queue)");
  shared.add_to(*priority);
  auto p = std::make_shared<Options>();
  priority->add_option("ids", p->ids, "crash ids (bp- prefix allowed)")->required();
  priority->callback([run, p] { run(*p, false); });
}

// admin index rebuild [--since DATE] | admin expire (maintenance/)
void add_admin_maintenance_commands(CLI::App& admin, SharedOptions& shared) {
  auto* index_cmd = admin.add_subcommand("index", "maintain the crash index");
  index_cmd->require_subcommand(1);
  auto* rebuild = index_cmd->add_subcommand("rebuild", "index every processed crash in storage again (resumable with --since)");
  shared.add_to(*rebuild);
  struct RebuildFlags {
    std::string since;
    size_t batch = 500;
  };
  auto r = std::make_shared<RebuildFlags>();
  rebuild->add_option("--since", r->since, "only crashes received on or after this day (YYYY-MM-DD)");
  rebuild->add_option("--batch", r->batch, "crashes per transaction")->capture_default_str();
  rebuild->callback([&shared, r] {
    maintenance::RebuildOptions options;
    if (!r->since.empty()) {
      options.since_day = maintenance::parse_day(r->since);
      if (!options.since_day) throw CommandFailed(2, "--since '" + r->since + "' is not a day (YYYY-MM-DD)");
    }
    if (r->batch == 0) throw CommandFailed(2, "--batch must be at least 1");
    options.batch = r->batch;
    options.progress = [](std::string_view line) { std::cout << line << std::endl; };
    Config config = shared.load_and_init_logging();
    auto storage = storage::make_primary_storage(config);
    auto crash_index = index::open_crash_index(config);
    maintenance::rebuild_index(*storage, *crash_index, options);
  });

  auto* expire = admin.add_subcommand("expire", "apply retention now: storage.*_retention_days and index.retention_days");
  shared.add_to(*expire);
  expire->callback([&shared] {
    Config config = shared.load_and_init_logging();
    auto crash_index = index::open_crash_index(config);
    maintenance::RetentionJob job(config, crash_index.get());
    if (!job.enabled()) {
      std::cout << "no retention is configured (every *_retention_days is 0): nothing to do" << std::endl;
      return;
    }
    auto run = job.run_once(std::chrono::system_clock::now(), [](std::string_view line) { std::cout << line << std::endl; });
    std::cout << run.summary() << std::endl;
  });
}

}  // namespace

void register_admin_command(CLI::App& app, SharedOptions& shared) {
  auto* admin = app.add_subcommand("admin", "operator tools");
  admin->require_subcommand(1);
  add_admin_queue_commands(*admin, shared);
  add_admin_processing_commands(*admin, shared);
  add_admin_maintenance_commands(*admin, shared);
  add_admin_account_commands(*admin, shared);
}

}  // namespace bw::cli
