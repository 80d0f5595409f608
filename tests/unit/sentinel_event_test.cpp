#include "rsm/sentinel/commands.hpp"
#include "rsm/sentinel/event.hpp"
#include "support/printing.hpp"

#include <catch2/catch.hpp>

using namespace rsm;
using namespace rsm::sentinel;
using resp::reply;

TEST_CASE("+switch-master events name the old and new master", "[unit][sentinel]") {
  auto e = parse_event("+switch-master", "master_service 10.0.0.1 6379 10.0.0.2 6380");
  CHECK(e.type == "+switch-master");
  CHECK(e.master_name == "master_service");
  CHECK(e.old_master == address{"10.0.0.1", 6379});
  CHECK(e.master_addr == address{"10.0.0.2", 6380});
}

TEST_CASE("instance events are parsed with and without the master part", "[unit][sentinel]") {
  auto m = parse_event("+odown", "master master_service 10.0.0.1 6379 #quorum 2/2");
  CHECK(m.instance_type == "master");
  CHECK(m.master_name == "master_service");
  CHECK(m.master_addr == address{"10.0.0.1", 6379});

  auto r =
      parse_event("+sdown", "slave 10.0.0.2:6380 10.0.0.2 6380 @ master_service 10.0.0.1 6379");
  CHECK(r.instance_type == "slave");
  CHECK(r.instance_name == "10.0.0.2:6380");
  CHECK(r.instance_addr == address{"10.0.0.2", 6380});
  CHECK(r.master_name == "master_service");
  CHECK(r.master_addr == address{"10.0.0.1", 6379});
}

TEST_CASE("malformed event payloads leave fields empty and never crash", "[unit][sentinel]") {
  for (const char* p : {"", " ", "master", "master x", "master x 1.2.3.4 notaport", "slave a b c @",
                        "+switch-master", "master_service 1 2 3"}) {
    INFO(p);
    auto e = parse_event("+switch-master", p);
    CHECK(e.payload == p);
    auto i = parse_event("+sdown", p);
    CHECK_FALSE(i.master_addr);
  }
  auto epoch = parse_event("+new-epoch", "12");
  CHECK(epoch.instance_type.empty());
}

TEST_CASE("sentinel records become fields and a typed master view", "[unit][sentinel]") {
  auto rec = reply::make_array(
      {reply::make_string("name"), reply::make_string("master_service"), reply::make_string("ip"),
       reply::make_string("10.0.0.1"), reply::make_string("port"), reply::make_string("6379"),
       reply::make_string("flags"), reply::make_string("master,failover_in_progress"),
       reply::make_string("config-epoch"), reply::make_string("7"), reply::make_string("quorum"),
       reply::make_string("2")});
  auto f = to_fields(rec);
  REQUIRE(f);
  auto v = to_master_view(*f);
  REQUIRE(v);
  CHECK(v->addr == address{"10.0.0.1", 6379});
  CHECK(v->has_flag("failover_in_progress"));
  CHECK(v->has_flag("master"));
  CHECK_FALSE(v->has_flag("o_down"));
  CHECK(v->config_epoch == 7);
  CHECK(v->quorum == 2);

  CHECK_FALSE(to_fields(reply::make_array({reply::make_string("odd")})));
  CHECK_FALSE(to_fields(reply::make_string("x")));
  fields no_port{{"name", "m"}, {"ip", "1.2.3.4"}};
  CHECK_FALSE(to_master_view(no_port));
}
