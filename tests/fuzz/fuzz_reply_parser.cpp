// Reply frames of every RESP2/RESP3 type: never crash, never consume more than offered, and
// give the same frame boundaries, errors, types and error prefixes whether the input comes whole
// (mostly the one-pass path) or in pieces (the state machine).
#include "frames.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto make = [] { return rsm::resp::reply_parser({1 << 20, 4096, 64, 1 << 20}); };
  auto seen = [](std::string& out) {
    return [&out](const rsm::resp::reply_parser& p) {
      fuzz::check(p.error_prefix().view().size() <= rsm::resp::short_text::capacity);
      out += p.type();
      out += p.error_prefix().view();
      out += '\n';
    };
  };
  std::string seen_whole, seen_pieces;
  auto whole = fuzz::run_frames(make(), in, {size}, seen(seen_whole));
  auto pieces = fuzz::run_frames(make(), in, fuzz::cuts(in), seen(seen_pieces));
  fuzz::check(whole == pieces);
  fuzz::check(seen_whole == seen_pieces);
  return 0;
}
