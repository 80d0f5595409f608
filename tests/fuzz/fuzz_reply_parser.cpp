// Reply frames: never crash, never consume more than offered, and give the same frame
// boundaries and errors whether the input comes whole or in pieces.
#include "rsm/resp/frame_parser.hpp"
#include "split.hpp"

#include <string>

namespace {

struct outcome {
  std::vector<std::size_t> frames;
  std::string error;
  bool operator==(const outcome&) const = default;
};

outcome run(std::string_view data, const std::vector<std::size_t>& cuts) {
  rsm::resp::reply_parser p({1 << 20, 4096, 64, 1 << 20});
  outcome o;
  std::string pending;
  std::size_t pos = 0, bytes = 0;
  for (auto cut : cuts) {
    pending.append(data.substr(pos, cut - pos));
    pos = cut;
    while (!pending.empty()) {
      auto st = p.parse(pending);
      fuzz::check(st.consumed <= pending.size());
      bytes += st.consumed;
      pending.erase(0, st.consumed);
      if (st.what == rsm::resp::parse_step::kind::error) {
        o.error = p.error_message();
        return o;
      }
      if (st.what == rsm::resp::parse_step::kind::need_more) {
        fuzz::check(pending.empty());
        break;
      }
      o.frames.push_back(bytes);
      bytes = 0;
      fuzz::check(p.error_prefix().view().size() <= rsm::resp::short_text::capacity);
    }
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto whole = run(in, {size});
  auto pieces = run(in, fuzz::cuts(in));
  fuzz::check(whole == pieces);
  return 0;
}
