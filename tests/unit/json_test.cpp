// JSON from outside: nesting is bounded before RapidJSON sees it, and the parse is iterative.
#include "rsm/json.hpp"
#include "rsm/lainlet/procwatcher.hpp"

#include <catch2/catch.hpp>

using namespace rsm;

TEST_CASE("json: nesting past the limit is an error that says where, not a crash", "[unit][json]") {
  rapidjson::Document doc;
  // 1 MB of '[' crashed RapidJSON's recursive parser (and rsm with it).
  std::string deep(1024 * 1024, '[');
  auto bad = json::parse(doc, deep);
  REQUIRE(bad);
  CHECK(*bad == "nested deeper than 64 levels at offset 64");
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  CHECK(json::parse(doc, objects));
  // At the limit exactly it parses; one more level does not.
  std::string ok = std::string(64, '[') + std::string(64, ']');
  CHECK_FALSE(json::parse(doc, ok));
  CHECK(doc.IsArray());
  CHECK(json::parse(doc, "[" + ok + "]"));
  // Brackets inside strings (escaped quotes too) are text, not nesting.
  std::string text = "[\"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"]";
  CHECK_FALSE(json::parse(doc, text));
  CHECK(doc[0].GetStringLength() == 2001);
  // Garbage is RapidJSON's error, with its offset.
  auto garbage = json::parse(doc, "[1, 2");
  REQUIRE(garbage);
  CHECK(garbage->find("at offset 5") != std::string::npos);
}

TEST_CASE("json: deeply nested lainlet data is refused as bad data", "[unit][json][lainlet]") {
  auto r = lainlet::parse_procwatcher(std::string(1024 * 1024, '['));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().detail.find("procwatcher data is not JSON: nested deeper than 64 levels") !=
        std::string::npos);
}
