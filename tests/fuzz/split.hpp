#pragma once
// Fuzz helpers: the same input whole and cut into pieces must give the same result.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace fuzz {

// Cut points derived from the data itself (deterministic for a given input).
inline std::vector<std::size_t> cuts(std::string_view data) {
  std::vector<std::size_t> out;
  std::size_t pos = 0;
  std::uint32_t h = 2166136261u;
  for (unsigned char c : data) h = (h ^ c) * 16777619u;
  while (pos < data.size()) {
    h = h * 1103515245u + 12345u;
    pos = std::min(data.size(), pos + 1 + (h >> 16) % 17);
    out.push_back(pos);
  }
  return out;
}

inline void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace fuzz
