// Which controller acts: a table of peers, their answers, and the verdict.
#include "rsm/ctl/leadership.hpp"

#include <catch2/catch.hpp>

using namespace rsm;
using namespace rsm::ctl;

namespace {
address http(int n) {
  return {"10.0.0.9", static_cast<std::uint16_t>(8090 + n)};
}
const peer_answer k_alive{true, false};
const peer_answer k_active{true, true};
const peer_answer k_silent{false, false};
}  // namespace

TEST_CASE("controllers: the peers come from discovery or --peers, never self", "[unit][ctl]") {
  std::map<int, address> discovered = {{3, http(3)}, {1, http(1)}, {2, http(2)}};
  CHECK(peers_of(2, discovered, {}) == std::vector<peer>{{1, http(1)}, {3, http(3)}});
  // --peers wins over discovery, numbered by position.
  CHECK(peers_of(1, discovered, {http(7), http(8)}) == std::vector<peer>{{2, http(8)}});
  CHECK(peers_of(1, {{1, http(1)}}, {}).empty());
}

TEST_CASE("controllers: the lowest one that answers acts", "[unit][ctl]") {
  std::vector<peer> three = {{1, http(1)}, {2, http(2)}, {3, http(3)}};
  auto without = [&](int self) {
    std::vector<peer> p;
    for (const auto& x : three)
      if (x.instance != self) p.push_back(x);
    return p;
  };
  struct row {
    const char* what;
    int self;
    std::map<int, peer_answer> answers;
    bool active;
    int leader;  // 0: none
  };
  const std::vector<row> table = {
      {"1 waits while 2 still says it is active", 1, {{2, k_active}, {3, k_alive}}, false, 2},
      {"1 acts when the others stand by", 1, {{2, k_alive}, {3, k_alive}}, true, 0},
      {"2 stands by while 1 answers", 2, {{1, k_alive}, {3, k_silent}}, false, 1},
      {"2 acts when 1 is silent", 2, {{1, k_silent}, {3, k_alive}}, true, 0},
      {"3 stands by for 2 when 1 is silent", 3, {{1, k_silent}, {2, k_alive}}, false, 2},
      {"3 acts when 1 and 2 are silent", 3, {{1, k_silent}, {2, k_silent}}, true, 0},
      {"no answer at all counts as silent", 2, {}, true, 0},
  };
  for (const auto& r : table) {
    INFO(r.what);
    auto l = decide_leadership(r.self, without(r.self), r.answers);
    INFO(l.reason);
    CHECK(l.active == r.active);
    CHECK((l.leader ? l.leader->instance : 0) == r.leader);
    CHECK_FALSE(l.reason.empty());
  }
}

TEST_CASE("controllers: a returning controller waits for the one covering for it", "[unit][ctl]") {
  std::vector<peer> others = {{2, http(2)}};
  // 1 comes back while 2 acts: 1 waits.
  auto l = decide_leadership(1, others, {{2, k_active}});
  CHECK_FALSE(l.active);
  CHECK_THAT(l.reason, Catch::Contains("waiting for it to stand by"));
  // 2 sees 1 answer and stands by ...
  auto two = decide_leadership(2, {{1, http(1)}}, {{1, k_alive}});
  CHECK_FALSE(two.active);
  // ... and then 1 acts.
  CHECK(decide_leadership(1, others, {{2, k_alive}}).active);
}

TEST_CASE("controllers: alone, or without a rank, a controller acts", "[unit][ctl]") {
  CHECK(decide_leadership(1, {}, {}).active);
  auto unranked = decide_leadership(0, {{1, http(1)}}, {{1, k_active}});
  CHECK(unranked.active);
  CHECK_THAT(unranked.reason, Catch::Contains("--instance"));
}
