// The annotation names under which crash clients send the same fact. Each convention names the
// product, version, channel and process type differently; readers try the names in this order and
// take the first present. Used by the processor (processed-crash fields) and by the crash index's
// field catalogue (for crashes processed before a convention was known).
//   Mozilla (Breakpad-based crash reporter)      ProductName, Version, ReleaseChannel, ProcessType
//   Breakpad's uploaders and Chromium/Crashpad    prod, ver, channel, ptype
//   Crashpad's query parameters (collector maps)  product, version
//   Electron                                      _productName, _version, process_type
#pragma once

#include <string>
#include <vector>

namespace bw::client_annotations {

inline const std::vector<std::string>& product() {
  static const std::vector<std::string> names = {"ProductName", "prod", "product", "_productName"};
  return names;
}
inline const std::vector<std::string>& version() {
  static const std::vector<std::string> names = {"Version", "ver", "version", "_version"};
  return names;
}
inline const std::vector<std::string>& release_channel() {
  static const std::vector<std::string> names = {"ReleaseChannel", "channel"};
  return names;
}
inline const std::vector<std::string>& process_type() {
  static const std::vector<std::string> names = {"ProcessType", "ptype", "process_type"};
  return names;
}

}  // namespace bw::client_annotations
