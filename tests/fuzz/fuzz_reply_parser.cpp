// Reply frames of every RESP2/RESP3 type: never crash, never consume more than offered, and
// give the same frame boundaries and errors whether the input comes whole or in pieces.
#include "frames.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto make = [] { return rsm::resp::reply_parser({1 << 20, 4096, 64, 1 << 20}); };
  auto bounded = [](const rsm::resp::reply_parser& p) {
    fuzz::check(p.error_prefix().view().size() <= rsm::resp::short_text::capacity);
  };
  auto whole = fuzz::run_frames(make(), in, {size}, bounded);
  auto pieces = fuzz::run_frames(make(), in, fuzz::cuts(in), bounded);
  fuzz::check(whole == pieces);
  return 0;
}
