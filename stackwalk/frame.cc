#include "stackwalk/frame.h"

namespace bw::stackwalk {

std::string_view trust_json_name(FrameTrust trust) {
  switch (trust) {
    case FrameTrust::kNone: return "none";
    case FrameTrust::kScan: return "scan";
    case FrameTrust::kCfiScan: return "cfi_scan";
    case FrameTrust::kFramePointer: return "frame_pointer";
    case FrameTrust::kCfi: return "cfi";
    case FrameTrust::kPrewalked: return "prewalked";
    case FrameTrust::kContext: return "context";
    case FrameTrust::kInline: return "inline";
    case FrameTrust::kLeaf: return "scan";
  }
  return "none";
}

std::string_view trust_description(FrameTrust trust) {
  switch (trust) {
    case FrameTrust::kNone: return "unknown";
    case FrameTrust::kScan: return "stack scanning";
    case FrameTrust::kCfiScan: return "call frame info with scanning";
    case FrameTrust::kFramePointer: return "previous frame's frame pointer";
    case FrameTrust::kCfi: return "call frame info";
    case FrameTrust::kPrewalked: return "recovered by external stack walker";
    case FrameTrust::kContext: return "given as instruction pointer in context";
    case FrameTrust::kInline: return "inline record";
    case FrameTrust::kLeaf: return "simulating a return from leaf function";
  }
  return "unknown";
}

}  // namespace bw::stackwalk
