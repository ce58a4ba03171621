// The rules of the default ruleset (docs/design.md §8), in their default order, and the factory
// that builds a ruleset from names (config key processor.ruleset). Every field they write is listed
// in docs/processed_crash.md.
//
//   cleanup      strip NULs and invalid keys from the raw crash; uuid, crash_report_keys,
//                metadata, submitted_timestamp, additional_minidumps
//   annotations  typed fields copied from annotations (annotation_fields() below)
//   stackwalk    walks every upload_file_minidump* dump (json_dump, mdsw_status_string,
//                stackwalk_version; extra dumps under their dump name)
//   derived      crashing_thread, reason, address, cpu_*, os_*, modules_in_stack,
//                missing_symbols, topmost_filenames
//   truncate     threads longer than max_frames keep their first and last max_frames/2 frames
//   dates        date_processed, crash_time, client_crash_date, install_age, uptime
//   signature    signature, proto_signature, signature_debug (the signature library)
//
// The regenerate_signature ruleset is `signature` alone, run on the stored processed crash.
// Errors: make_rule / make_ruleset throw std::invalid_argument for an unknown rule name.
// Thread safety: every rule is stateless; the walker and generator they borrow are thread-safe
// and must outlive them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "processor/dump_walker.h"
#include "processor/rule.h"
#include "processor/ruleset.h"

namespace bw::signature {
class SignatureGenerator;
}

namespace bw::processor {

// The annotation that names a test hook (honoured only with processor.test_hooks).
inline constexpr const char* kTestHookAnnotation = "BreakwaterTestHook";
// "breakwater-stackwalk <project version>": the stackwalk_version field.
std::string stackwalk_version();

// How an annotation becomes a typed processed field.
enum class FieldType { kString, kInteger, kBoolean };
struct AnnotationField {
  const char* field;                     // processed crash field
  std::vector<std::string> annotations;  // raw crash annotations it comes from; the first present wins
  FieldType type;
  bool is_protected;  // visible only with view_pii (docs/design.md §12)
};
const std::vector<AnnotationField>& annotation_fields();
// True for processed fields that only users with view_pii may see.
bool is_protected_field(std::string_view field);

class CleanupRule final : public Rule {
 public:
  std::string_view name() const override { return "cleanup"; }
  void action(ProcessingContext& context) override;
};

class AnnotationsRule final : public Rule {
 public:
  std::string_view name() const override { return "annotations"; }
  void action(ProcessingContext& context) override;
};

class StackwalkRule final : public Rule {
 public:
  explicit StackwalkRule(DumpWalker& walker) : walker_(walker) {}
  std::string_view name() const override { return "stackwalk"; }
  void action(ProcessingContext& context) override;

 private:
  DumpWalker& walker_;
};

class DerivedFieldsRule final : public Rule {
 public:
  std::string_view name() const override { return "derived"; }
  // Only when the main dump was walked.
  bool predicate(const ProcessingContext& context) const override;
  void action(ProcessingContext& context) override;
};

class TruncateStacksRule final : public Rule {
 public:
  explicit TruncateStacksRule(size_t max_frames);
  std::string_view name() const override { return "truncate"; }
  bool predicate(const ProcessingContext& context) const override;
  void action(ProcessingContext& context) override;

 private:
  size_t max_frames_;
};

class DatesRule final : public Rule {
 public:
  std::string_view name() const override { return "dates"; }
  void action(ProcessingContext& context) override;
};

class SignatureRule final : public Rule {
 public:
  explicit SignatureRule(const signature::SignatureGenerator& generator) : generator_(generator) {}
  std::string_view name() const override { return "signature"; }
  void action(ProcessingContext& context) override;

 private:
  const signature::SignatureGenerator& generator_;
};

struct RuleDependencies {
  DumpWalker* walker = nullptr;                             // for stackwalk
  const signature::SignatureGenerator* signatures = nullptr;  // for signature
  size_t max_frames = 500;                                  // for truncate
};

// cleanup, annotations, stackwalk, derived, truncate, dates, signature.
const std::vector<std::string>& default_rule_names();
std::unique_ptr<Rule> make_rule(std::string_view name, const RuleDependencies& deps);
Ruleset make_ruleset(const std::vector<std::string>& names, const RuleDependencies& deps);


}  // namespace bw::processor
