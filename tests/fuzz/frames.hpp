#pragma once
// The differential check shared by the frame-parser targets: frame boundaries and errors
// must not depend on how the input is cut.
#include "rsm/resp/frame_parser.hpp"
#include "split.hpp"

#include <string>

namespace fuzz {

struct frames_outcome {
  std::vector<std::size_t> frames;
  std::string error;
  bool operator==(const frames_outcome&) const = default;
};

template <class Parser, class Check>
frames_outcome run_frames(Parser p, std::string_view data, const std::vector<std::size_t>& cuts,
                          Check per_frame) {
  frames_outcome o;
  std::string pending;
  std::size_t pos = 0, bytes = 0;
  for (auto cut : cuts) {
    pending.append(data.substr(pos, cut - pos));
    pos = cut;
    while (!pending.empty()) {
      auto st = p.parse(pending);
      check(st.consumed <= pending.size());
      bytes += st.consumed;
      pending.erase(0, st.consumed);
      if (st.what == rsm::resp::parse_step::kind::error) {
        o.error = p.error_message();
        return o;
      }
      if (st.what == rsm::resp::parse_step::kind::need_more) {
        check(pending.empty());
        break;
      }
      o.frames.push_back(bytes);
      bytes = 0;
      per_frame(p);
    }
  }
  return o;
}

}  // namespace fuzz
