// procwatcher JSON: garbage is an error, never a crash; whatever parses re-encodes to the
// same group.
#include "rsm/lainlet/procwatcher.hpp"
#include "rsm/topology/group.hpp"
#include "split.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto procs = rsm::lainlet::parse_procwatcher(in);
  if (!procs) {
    fuzz::check(!procs.error().detail.empty());
    return 0;
  }
  auto g = rsm::topology::from_procs(*procs, "redis", "redis-sentinel");
  auto again = rsm::lainlet::parse_procwatcher(rsm::lainlet::to_procwatcher_json(*procs));
  fuzz::check(again.has_value());
  fuzz::check(rsm::topology::from_procs(*again, "redis", "redis-sentinel") == g);
  fuzz::check(rsm::topology::diff(g, g).empty());
  return 0;
}
