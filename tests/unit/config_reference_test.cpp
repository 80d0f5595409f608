// docs/configuration.md carries every command's options as the program defines them: the
// tables between its markers are generated from the option sets and must match them exactly.
// After changing an option: RSM_UPDATE_DOCS=1 build/tests/rsm_unit_tests "[reference]"
#include "rsm/cli/app.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace rsm;

namespace {

const std::string k_begin = "<!-- generated from the option sets: begin -->\n";
const std::string k_end = "<!-- generated from the option sets: end -->\n";

std::string generated() {
  std::string out;
  for (const auto& c : cli::commands()) {
    auto set = c.options();
    out += "\n### rsm " + std::string(c.name) + "\n\n" + set.markdown();
  }
  return out + "\n";
}

}  // namespace

TEST_CASE("docs/configuration.md lists every option with its default and environment variables",
          "[unit][reference]") {
  std::string path = std::string(RSM_SOURCE_DIR) + "/docs/configuration.md";
  std::ifstream in(path);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = ss.str();
  auto b = doc.find(k_begin);
  auto e = doc.find(k_end);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  auto current = doc.substr(b + k_begin.size(), e - b - k_begin.size());
  auto wanted = generated();
  if (current != wanted && std::getenv("RSM_UPDATE_DOCS")) {
    std::ofstream(path, std::ios::trunc)
        << doc.substr(0, b + k_begin.size()) << wanted << doc.substr(e);
    current = wanted;
  }
  INFO("run RSM_UPDATE_DOCS=1 rsm_unit_tests \"[reference]\" to regenerate");
  CHECK(current == wanted);
}
