#pragma once
/// How many CPU cores this process may use, and the proxy's default data-thread count.
#include <cstddef>
#include <optional>
#include <string_view>

namespace rsm::net {

/// cgroup v2's cpu.max ("max 100000" or "150000 100000"): the quota in whole cores, rounded
/// up; nothing when unlimited or unreadable.
std::optional<std::size_t> cores_from_cpu_max(std::string_view text);

/// The cores this process may run on: its CPU affinity, bounded by a cgroup CPU quota (v2
/// cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us). At least 1.
std::size_t available_cores();

/// The default data-thread count for `cores`: a quarter of them, 1 to 4. One Redis master
/// runs commands on one thread, and a proxy thread spends about what Redis does per request,
/// so threads beyond a few only split the batches each shared connection groups (more
/// syscalls at Redis, less throughput); on a small machine they also take the cores Redis and
/// the clients need (docs/proxy.md, "Threads").
std::size_t default_data_threads(std::size_t cores);

}  // namespace rsm::net
