// lainlet's event stream: the same events whole and in pieces; bounded; never a crash.
#include "rsm/lainlet/watch_decoder.hpp"
#include "split.hpp"

namespace {

struct outcome {
  std::vector<rsm::lainlet::event> events;
  bool failed = false;
  bool operator==(const outcome&) const = default;
};

outcome run(std::string_view data, const std::vector<std::size_t>& cuts) {
  rsm::lainlet::watch_decoder d({4096, 8192});
  outcome o;
  std::size_t pos = 0;
  for (auto cut : cuts) {
    auto r = d.feed(data.substr(pos, cut - pos), o.events);
    pos = cut;
    fuzz::check(d.buffered() <= 4096 + 8192);
    if (!r) {
      o.failed = true;
      break;
    }
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto whole = run(in, {size});
  auto pieces = run(in, fuzz::cuts(in));
  // A failure may be found at a different point, but success must agree event for event.
  fuzz::check(whole.failed == pieces.failed);
  if (!whole.failed) fuzz::check(whole.events == pieces.events);
  return 0;
}
