// The stream parsers behind Minidump::open / from_bytes (internal to the reader).
//
// One Parser fills one Minidump: header and directory first (a failure there fails the dump),
// then each known stream; a stream that does not read is recorded in stream_errors and left empty.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "minidump/byte_reader.h"
#include "minidump/minidump.h"

namespace bw::minidump {

class Parser {
 public:
  explicit Parser(Minidump& dump) : md_(dump), file_(dump.file_bytes()) {}
  // nullopt on success.
  std::optional<Error> parse();

 private:
  using Bytes = detail::Bytes;

  std::optional<Error> parse_header_and_directory();
  // The bytes of the first well-formed stream of `type`, if any.
  std::optional<Bytes> stream(StreamType type) const;
  void stream_error(StreamType type, std::string reason);
  // Reads a list's u32 count and returns the offset of its first entry, allowing the 4 bytes of
  // padding some writers put after the count. Records an error and returns nullopt if the
  // entries do not fit.
  std::optional<std::pair<size_t, uint32_t>> list_start(StreamType type, Bytes s, size_t entry_size,
                                                       const char* what);
  std::optional<CpuContext> read_context(uint32_t size, uint32_t rva, std::string* why) const;

  void parse_system_info();
  void parse_misc_info();
  void parse_breakpad_info();
  void parse_thread_list();
  void parse_thread_names();
  void parse_exception();
  void parse_module_list();
  void parse_unloaded_modules();
  void parse_memory_lists();
  // Threads whose stack descriptor has RVA 0 take their stack bytes from the memory lists.
  void resolve_stacks_from_memory_list();
  void parse_assertion();
  void parse_crashpad_info();
  void parse_handle_data();
  void parse_memory_info();
  void parse_linux_streams();
  void parse_mac_streams();

  Module read_module(Bytes record);
  // Crashpad's MinidumpByteArray (u32 length + bytes) and MinidumpUTF8String (the same, as text).
  std::optional<detail::Bytes> byte_array(uint32_t rva) const;
  std::optional<std::string> utf8_string(uint32_t rva) const;

  Minidump& md_;
  Bytes file_;
  std::vector<std::pair<size_t, uint32_t>> stacks_in_memory_list_;  // (thread index, stack size)
};

}  // namespace bw::minidump
