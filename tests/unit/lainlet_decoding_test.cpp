#include "rsm/lainlet/procwatcher.hpp"
#include "rsm/lainlet/watch_decoder.hpp"
#include "rsm/net/backoff.hpp"
#include "rsm/topology/group.hpp"
#include "support/printing.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace rsm;
using namespace rsm::lainlet;

namespace {

const std::string k_json =
    R"([{"proc":[{"InstanceNo":1,"IP":"172.20.0.5","Port":6379,"ProcName":"redis"},)"
    R"({"InstanceNo":2,"IP":"172.20.0.6","Port":6379,"ProcName":"redis"}]},)"
    R"({"proc":[{"InstanceNo":1,"IP":"172.20.0.7","Port":26379,"ProcName":"redis-sentinel"}]}])";

// As lainlet writes it: header already consumed; init, heartbeat, update, error.
const std::string k_stream = "id: 1\nevent: init\ndata: " + k_json +
                             "\n\n"
                             "id: 0\nevent: heartbeat\n\n"
                             ": a comment line\r\n"
                             "id: 2\r\nevent: update\r\ndata: line one\r\ndata:line two\r\n\r\n"
                             "id:3\nevent:delete\ndata: []\nretry: 5\n\n"
                             "id: 0\nevent: error\ndata: authorize failed, no permission\n\n";

std::vector<event> expected() {
  return {{1, "init", k_json, true},
          {0, "heartbeat", "", false},
          {2, "update", "line one\nline two", true},
          {3, "delete", "[]", true},
          {0, "error", "authorize failed, no permission", true}};
}

std::vector<event> decode(const std::vector<std::size_t>& cuts) {
  watch_decoder d;
  std::vector<event> out;
  std::size_t pos = 0;
  for (auto cut : cuts) {
    auto r = d.feed(std::string_view(k_stream).substr(pos, cut - pos), out);
    REQUIRE(r);
    pos = cut;
  }
  return out;
}

}  // namespace

TEST_CASE("a recorded watch stream decodes the same whole and byte by byte and split at random",
          "[unit][lainlet]") {
  CHECK(decode({k_stream.size()}) == expected());
  std::vector<std::size_t> bytes;
  for (std::size_t i = 1; i <= k_stream.size(); ++i) bytes.push_back(i);
  CHECK(decode(bytes) == expected());
  std::mt19937 rng(7);
  for (int round = 0; round < 100; ++round) {
    std::vector<std::size_t> cuts;
    std::size_t pos = 0;
    while (pos < k_stream.size()) {
      pos = std::min(k_stream.size(), pos + 1 + rng() % 37);
      cuts.push_back(pos);
    }
    CHECK(decode(cuts) == expected());
  }
}

TEST_CASE("malformed watch streams give clear errors and the decoder stays failed",
          "[unit][lainlet]") {
  struct bad_case {
    std::string input;
    std::string message;
  };
  std::vector<bad_case> table = {
      {"id: x\n\n", "id is not a number"},
      {"id: -1\n\n", "id is not a number"},
      {"id:\n\n", "id is not a number"},
      {"id: 99999999999999999999999\n\n", "id is not a number"},
      {"garbage without colon\n", "line without ':'"},
      {std::string(200, 'x'), "line longer than 100 bytes"},
      {"data: " + std::string(90, 'y') + "\ndata: " + std::string(90, 'y') + "\n",
       "event larger than 150 bytes"},
  };
  for (const auto& c : table) {
    INFO(c.input.substr(0, 60));
    watch_decoder d(watch_decoder::limits{100, 150});
    std::vector<event> out;
    auto r = d.feed(c.input, out);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::protocol_error);
    CHECK_THAT(r.error().detail, Catch::Contains(c.message));
    auto again = d.feed("id: 1\n\n", out);
    CHECK_FALSE(again);
    CHECK(out.empty());
  }
}

TEST_CASE("procwatcher data decodes into procs and a group", "[unit][lainlet]") {
  auto procs = parse_procwatcher(k_json);
  REQUIRE(procs);
  REQUIRE(procs->size() == 3);
  CHECK((*procs)[1] == proc{"redis", 2, "172.20.0.6", 6379});
  auto g = topology::from_procs(*procs, "redis", "redis-sentinel");
  CHECK(g.redis.size() == 2);
  CHECK(g.redis.at(2) == address{"172.20.0.6", 6379});
  CHECK(g.sentinels.at(1) == address{"172.20.0.7", 26379});

  // Unknown fields are ignored; instances without an IP or port are skipped until they have one;
  // other procs (the controller) are not part of the group.
  auto more = parse_procwatcher(
      R"([{"proc":[{"InstanceNo":3,"IP":"","Port":6379,"ProcName":"redis","Extra":{"a":1}},)"
      R"({"InstanceNo":4,"IP":"10.0.0.4","Port":0,"ProcName":"redis"},)"
      R"({"InstanceNo":5,"IP":null,"ProcName":"redis"},)"
      R"({"InstanceNo":1,"IP":"10.0.0.9","Port":8091,"ProcName":"redis-ctl"}],"Name":"x"},{}])");
  REQUIRE(more);
  CHECK(more->size() == 4);
  auto g2 = topology::from_procs(*more, "redis", "redis-sentinel");
  CHECK(g2.redis.empty());
  CHECK(g2.sentinels.empty());
  CHECK(parse_procwatcher("[]")->empty());

  // The emulator's own encoding reads back the same.
  auto round = parse_procwatcher(to_procwatcher_json(*procs));
  REQUIRE(round);
  CHECK(topology::from_procs(*round, "redis", "redis-sentinel") == g);
}

TEST_CASE("bad procwatcher data is refused with a message saying where", "[unit][lainlet]") {
  struct bad_case {
    std::string input;
    std::string message;
  };
  std::vector<bad_case> table = {
      {"", "not JSON"},
      {"{not json", "not JSON"},
      {"[{\"proc\":[]}] trailing", "not JSON"},
      {"{\"proc\":[]}", "the document should be an array of pod groups, got an object"},
      {"[1]", "pod group 0 should be an object, got a number"},
      {"[{\"proc\":{}}]", "pod group 0 \"proc\" should be an array"},
      {"[{\"proc\":[\"x\"]}]", "pod group 0 proc 0 should be an object, got a string"},
      {"[{\"proc\":[{\"InstanceNo\":\"1\"}]}]", "InstanceNo should be an integer, got a string"},
      {"[{\"proc\":[{\"Port\":6379.5}]}]", "Port should be an integer, got a number"},
      {"[{\"proc\":[{\"IP\":7}]}]", "IP should be a string, got a number"},
      {"[{\"proc\":[{\"ProcName\":[]}]}]", "ProcName should be a string, got an array"},
  };
  for (const auto& c : table) {
    INFO(c.input);
    auto r = parse_procwatcher(c.input);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::invalid_argument);
    CHECK_THAT(r.error().detail, Catch::Contains(c.message));
  }
}

TEST_CASE("topology diffs name what was added or removed or moved", "[unit][topology]") {
  topology::group a, b;
  a.redis = {{1, {"10.0.0.1", 6379}}, {2, {"10.0.0.2", 6379}}, {3, {"10.0.0.3", 6379}}};
  a.sentinels = {{1, {"10.0.0.7", 26379}}};
  b.redis = {{1, {"10.0.0.1", 6379}}, {2, {"10.0.0.2", 6390}}};
  b.sentinels = {{1, {"10.0.0.7", 26379}}, {2, {"10.0.0.8", 26379}}};
  auto d = topology::diff(a, b);
  REQUIRE(d.size() == 3);
  CHECK(d[0] == topology::change{topology::change::kind::moved, topology::role::redis, 2,
                                 address{"10.0.0.2", 6379}, address{"10.0.0.2", 6390}});
  CHECK(d[1].what == topology::change::kind::removed);
  CHECK(d[1].instance == 3);
  CHECK(d[2].what == topology::change::kind::added);
  CHECK(d[2].who == topology::role::sentinel);
  CHECK(d[0].describe() == "redis 2 moved 10.0.0.2:6379 -> 10.0.0.2:6390");
  CHECK(topology::diff(a, a).empty());
  CHECK(topology::diff({}, a).size() == 4);
}

TEST_CASE("a snapshot that empties the group at once is implausible", "[unit][topology]") {
  topology::group a;
  a.redis = {{1, {"10.0.0.1", 6379}}, {2, {"10.0.0.2", 6379}}};
  a.sentinels = {{1, {"10.0.0.7", 26379}}};
  auto no_redis = a, no_sentinels = a;
  no_redis.redis.clear();
  no_sentinels.sentinels.clear();
  auto one_left = a;
  one_left.redis.erase(2);

  CHECK_FALSE(topology::implausible(a, a));
  CHECK_FALSE(topology::implausible(a, one_left));  // a scale-down is a change
  CHECK_FALSE(topology::implausible({}, a));        // the first snapshot
  CHECK_FALSE(topology::implausible({}, {}));       // nothing was known
  CHECK_FALSE(topology::implausible(no_redis, no_redis));
  auto r = topology::implausible(a, no_redis);
  REQUIRE(r);
  CHECK_THAT(*r, Catch::Contains("every redis node (2)"));
  auto s = topology::implausible(a, no_sentinels);
  REQUIRE(s);
  CHECK_THAT(*s, Catch::Contains("every sentinel (1)"));
  auto both = topology::implausible(a, {});
  REQUIRE(both);
  CHECK_THAT(*both, Catch::Contains("every redis node (2) and every sentinel (1)"));
}

TEST_CASE("back-off doubles with jitter up to its cap and resets", "[unit][backoff]") {
  using std::chrono::milliseconds;
  net::backoff b(milliseconds(100), milliseconds(1000), 42);
  std::vector<long long> bases = {100, 200, 400, 800, 1000, 1000};
  for (auto base : bases) {
    auto d = b.next().count();
    CHECK(d >= base / 2);
    CHECK(d <= base);
  }
  b.reset();
  auto first = b.next().count();
  CHECK(first >= 50);
  CHECK(first <= 100);
}
