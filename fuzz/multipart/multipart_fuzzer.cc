// The streaming multipart parser on hostile bodies: it must never crash, hang or hold more than a
// part's headers, and it must not depend on how the body is split: parsing the input whole and in
// pieces (sizes drawn from the input) gives the same parts or the same failure.
// Input: first byte = piece size seed, the rest = body with boundary "BB".
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "http/multipart.h"

namespace {

struct Recorder : bw::http::MultipartSink {
  std::vector<std::string> events;
  void on_part_begin(const bw::http::PartHeaders& h) override {
    events.push_back("begin:" + h.name + ":" + h.filename.value_or("-") + ":" + h.content_type);
    events.push_back("");  // the part's data accumulates here
  }
  void on_part_data(std::string_view d) override {
    if (events.empty() || d.empty()) std::abort();
    events.back().append(d);
  }
  void on_part_end() override { events.push_back("end"); }
};

std::string parse(std::string_view body, size_t piece, std::vector<std::string>& events) {
  Recorder r;
  std::string error;
  try {
    bw::http::MultipartLimits limits;
    limits.max_header_bytes = 256;
    limits.max_parts = 20;
    bw::http::MultipartParser p("BB", r, limits);
    for (size_t i = 0; i < body.size(); i += piece) p.feed(body.substr(i, piece));
    p.finish();
  } catch (const bw::http::MultipartError& e) {
    error = e.what();
    if (error.empty()) std::abort();
  }
  events = std::move(r.events);
  return error;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = 1 + data[0] % 17;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> whole, pieces;
  std::string e1 = parse(body, body.size() + 1, whole);
  std::string e2 = parse(body, piece, pieces);
  // Errors can be found at different points, but success and the parts found must agree.
  if (e1.empty() != e2.empty()) std::abort();
  if (e1.empty() && whole != pieces) std::abort();
  bw::http::parse_media_type(body.substr(0, 300));
  return 0;
}
