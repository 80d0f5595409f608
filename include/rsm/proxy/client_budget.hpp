#pragma once
/// --maxmemory-clients (Redis's name): one budget for the bytes every client connection of the
/// proxy holds (request and reply buffers). Past it, the largest consumers are closed first, as
/// Redis's client eviction does, until the total is back under the budget. Sans-io: sizes in,
/// choices out; server.cpp measures and closes.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rsm::proxy {

/// "auto", "0" (off), or bytes: N, Nk / Nm / Ng (1000s), Nkb / Nmb / Ngb (1024s), as Redis's
/// config reads them. Nothing: not one of those. "auto" is returned as nothing-but-valid via
/// `is_auto`.
struct memory_setting {
  bool is_auto = false;
  std::size_t bytes = 0;
};
std::optional<memory_setting> parse_memory_setting(std::string_view text);

/// What "auto" means: half of the memory limit of the process's cgroup (`cgroup_limit`, none:
/// no limit found), else 1 GiB.
std::size_t auto_client_budget(std::optional<std::size_t> cgroup_limit);

/// The memory limit of this process's cgroup (v2 memory.max, or v1 memory.limit_in_bytes), if
/// it has one.
std::optional<std::size_t> cgroup_memory_limit();

/// One data thread's part of the budget: `sizes` are its clients' bytes, `thread_total` their
/// sum, `global_total` every thread's (as last published). When the global total is over
/// `budget`, this thread frees its share of the excess (in proportion to what it holds): the
/// indices of its clients to close, largest first. Clients of `floor` bytes or less (a client's
/// minimum: an idle read buffer) are never chosen.
std::vector<std::size_t> clients_to_shed(const std::vector<std::size_t>& sizes,
                                         std::size_t thread_total, std::size_t global_total,
                                         std::size_t budget, std::size_t floor);

}  // namespace rsm::proxy
