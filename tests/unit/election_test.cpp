// The one master election (sentinel::elect): a table of sentinel answers and ROLE answers,
// each with the verdict it must give.
#include "rsm/sentinel/election.hpp"

#include <catch2/catch.hpp>

using namespace rsm;
using sentinel::ballot;
using sentinel::role_seen;
using kind = sentinel::verdict::kind;

namespace {

address at(int port) {
  return {"10.0.0.1", static_cast<std::uint16_t>(port)};
}
ballot names(int port, long long epoch = 0) {
  return {at(port), epoch};
}
const ballot k_nothing{std::nullopt, 0};

struct row {
  const char* what;
  std::vector<ballot> ballots;
  int known = 3;
  std::map<address, role_seen> roles;
  std::optional<address> incumbent;
  kind expect = kind::elected;
  std::optional<int> candidate;  // port
  int votes = 0;
  bool majority = false;
};

}  // namespace

TEST_CASE("the election: highest epoch then a majority then ROLE master", "[unit][election]") {
  const auto m = role_seen::master;
  const std::vector<row> table = {
      {"all three agree",
       {names(1), names(1), names(1)},
       3,
       {{at(1), m}},
       {},
       kind::elected,
       1,
       3,
       true},
      {"one sentinel down: two of three",
       {names(1), names(1)},
       3,
       {{at(1), m}},
       {},
       kind::elected,
       1,
       2,
       true},
      {"a lone sentinel answering still names the master",
       {names(1)},
       3,
       {{at(1), m}},
       {},
       kind::elected,
       1,
       1,
       false},
      {"a failover's leader at a higher epoch is ahead of two behind",
       {names(2, 5), names(1, 4), names(1, 4)},
       3,
       {{at(2), m}, {at(1), m}},
       {},
       kind::elected,
       2,
       1,
       false},
      {"...and the new master not promoted yet is not the master",
       {names(2, 5), names(1, 4), names(1, 4)},
       3,
       {{at(2), role_seen::not_master}, {at(1), m}},
       {},
       kind::not_master,
       2,
       1,
       false},
      {"a sentinel re-pointed by hand (epoch 0) does not move the others",
       {names(9, 0), names(1, 0), names(1, 0)},
       3,
       {{at(1), m}, {at(9), m}},
       {},
       kind::elected,
       1,
       2,
       true},
      {"a re-pointed sentinel loses to a higher epoch even when alone",
       {names(9, 0), names(1, 3)},
       3,
       {{at(1), m}},
       {},
       kind::elected,
       1,
       1,
       false},
      {"split 1:1 in one epoch: the incumbent stays",
       {names(1, 2), names(2, 2)},
       3,
       {{at(1), m}, {at(2), m}},
       at(2),
       kind::elected,
       2,
       1,
       false},
      {"split 1:1 in one epoch without an incumbent among them: nobody",
       {names(1, 2), names(2, 2)},
       3,
       {{at(1), m}, {at(2), m}},
       at(3),
       kind::split,
       {},
       0,
       false},
      {"split 2:2:1 of five: no majority, nobody",
       {names(1), names(1), names(2), names(2), names(3)},
       5,
       {{at(1), m}},
       {},
       kind::split,
       {},
       0,
       false},
      {"three of five in one epoch decide",
       {names(1), names(1), names(1), names(2), names(2)},
       5,
       {{at(1), m}},
       at(2),
       kind::elected,
       1,
       3,
       true},
      {"sentinels that monitor nothing cast no vote",
       {k_nothing, names(1), k_nothing},
       3,
       {{at(1), m}},
       {},
       kind::elected,
       1,
       1,
       false},
      {"no sentinel monitors the name",
       {k_nothing, k_nothing},
       3,
       {},
       {},
       kind::none_monitors,
       {},
       0,
       false},
      {"no sentinel answers", {}, 3, {}, at(1), kind::no_answer, {}, 0, false},
      {"every sentinel names a node that says replica",
       {names(1), names(1), names(1)},
       3,
       {{at(1), role_seen::not_master}},
       {},
       kind::not_master,
       1,
       3,
       true},
      {"a busy master is busy, not lost",
       {names(1), names(1), names(1)},
       3,
       {{at(1), role_seen::busy}},
       at(1),
       kind::busy,
       1,
       3,
       true},
      {"a candidate not asked yet is unconfirmed",
       {names(1), names(1), names(1)},
       3,
       {},
       {},
       kind::unconfirmed,
       1,
       3,
       true},
      {"ROLE of another address does not confirm the candidate",
       {names(1), names(1)},
       3,
       {{at(2), m}},
       {},
       kind::unconfirmed,
       1,
       2,
       true},
      {"no sentinels known (static --sentinels of one): majority of the answers",
       {names(1)},
       0,
       {{at(1), m}},
       {},
       kind::elected,
       1,
       1,
       true},
  };
  for (const auto& r : table) {
    INFO(r.what);
    auto v = sentinel::elect({r.ballots, r.known, r.roles, r.incumbent});
    INFO(v.reason);
    CHECK(sentinel::to_string(v.what) == sentinel::to_string(r.expect));
    if (r.candidate) {
      REQUIRE(v.candidate);
      CHECK(v.candidate->port == *r.candidate);
    } else {
      CHECK_FALSE(v.candidate);
    }
    CHECK(v.master.has_value() == (r.expect == kind::elected));
    if (v.master) CHECK(*v.master == *v.candidate);
    CHECK(v.votes == r.votes);
    CHECK(v.majority == r.majority);
    CHECK_FALSE(v.reason.empty());
  }
}

TEST_CASE("the election's verdict says whether the sentinels disagree", "[unit][election]") {
  auto v = sentinel::elect({{names(2, 5), names(1, 4)}, 3, {{at(2), role_seen::master}}, {}});
  CHECK(v.disagree);
  CHECK(v.epoch == 5);
  CHECK_THAT(v.reason, Catch::Contains("config-epoch 5"));
  v = sentinel::elect({{names(1, 5), names(1, 4)}, 3, {{at(1), role_seen::master}}, {}});
  CHECK_FALSE(v.disagree);
  CHECK(v.epoch == 5);  // the highest epoch among the ballots naming it
}
