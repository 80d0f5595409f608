#pragma once
// How big a connection's read buffer is (internal): sessions' client reads and backend links.
//
// Read buffers start small (an idle connection holds 4 KiB, not 64), double while reads fill
// them, and go back to the small size once a read uses less than an eighth of a big one.
#include <algorithm>
#include <cstddef>

namespace rsm::proxy {

constexpr std::size_t k_read_min = 4 * 1024;
constexpr std::size_t k_read_size = 64 * 1024;

/// The size for the next read into a buffer of `size` bytes holding `held` bytes, after the
/// last read of `got` bytes filled (`filled`) or did not fill the space it had.
constexpr std::size_t next_read_size(std::size_t size, std::size_t held, std::size_t got,
                                     bool filled) {
  if (held == 0 && size > k_read_min && !filled && got < size / 8) return k_read_min;
  if (size - held < k_read_min / 4 || (filled && size < k_read_size))
    return std::max(size * 2, held + k_read_min);
  return size;
}

}  // namespace rsm::proxy
