// INFO text: any input parses without a crash; lookups stay consistent.
#include "rsm/redis/info.hpp"
#include "split.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto i = rsm::redis::parse_info(in);
  (void)i.total_keys();
  for (const auto& [section, fields] : i.sections()) {
    for (const auto& [k, v] : fields) {
      auto got = i.get(section, k);
      fuzz::check(got.has_value() && *got == v);
      (void)i.get_int(section, k);
      (void)i.get_double(section, k);
      (void)rsm::redis::parse_info_pairs(v);
    }
  }
  return 0;
}
