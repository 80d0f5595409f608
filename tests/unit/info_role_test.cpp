#include "rsm/redis/info.hpp"
#include "rsm/redis/role.hpp"
#include "support/printing.hpp"

#include <catch2/catch.hpp>

#include <limits>

using namespace rsm;
using namespace rsm::redis;
using resp::reply;

namespace {

// Recorded from redis 7.0 (a replica), trimmed; INFO lines end in CRLF.
const char* k_replica_info =
    "# Server\r\nredis_version:7.0.15\r\nrun_id:a2d88b34c1d3c6d279e3b94e6913ef0c7595ddf3\r\n"
    "tcp_port:6380\r\nuptime_in_seconds:42\r\n\r\n"
    "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:6379\r\n"
    "master_link_status:up\r\nmaster_last_io_seconds_ago:1\r\nmaster_sync_in_progress:0\r\n"
    "slave_read_repl_offset:1234\r\nslave_repl_offset:1234\r\nslave_priority:100\r\n"
    "master_replid:5f0c2b8e4c6d1a7b9e3f2d1c0b9a8e7f6d5c4b3a\r\nmaster_repl_offset:1234\r\n\r\n"
    "# CPU\r\nused_cpu_sys:0.123456\r\nused_cpu_user:0.654321\r\n\r\n"
    "# Keyspace\r\ndb0:keys=10,expires=2,avg_ttl=0\r\ndb3:keys=5,expires=0,avg_ttl=0\r\n";

}  // namespace

TEST_CASE("INFO output parses into sections and fields", "[unit][info]") {
  auto i = parse_info(k_replica_info);
  CHECK(i.has_section("server"));
  CHECK(i.has_section("Replication"));
  CHECK(i.get("replication", "role") == "slave");
  CHECK(i.get("Replication", "master_link_status") == "up");
  CHECK(i.get_int("replication", "master_port") == 6379);
  CHECK(i.get_int("replication", "slave_repl_offset") == 1234);
  CHECK(i.get_double("cpu", "used_cpu_user") == Approx(0.654321));
  CHECK(i.get("", "run_id") == "a2d88b34c1d3c6d279e3b94e6913ef0c7595ddf3");
  CHECK_FALSE(i.get("server", "role"));
  CHECK_FALSE(i.get_int("server", "redis_version"));
  CHECK(i.total_keys() == 15);
  CHECK_FALSE(i.has_section("default"));
}

TEST_CASE("INFO parsing tolerates LF-only and headerless input", "[unit][info]") {
  auto i = parse_info(
      "role:master\nconnected_slaves:1\nslave0:ip=10.0.0.2,port=6380,state=online,offset=99,lag="
      "0\n");
  CHECK(i.get("", "role") == "master");
  auto pairs = parse_info_pairs(std::string(*i.get("", "slave0")));
  CHECK(pairs["ip"] == "10.0.0.2");
  CHECK(pairs["port"] == "6380");
  CHECK(pairs["state"] == "online");
  CHECK(pairs["offset"] == "99");
  CHECK(parse_info("").sections().empty());
  CHECK(parse_info("# Keyspace\r\n").total_keys() == 0);
}

TEST_CASE("keyspace counts that overflow or are not numbers never overflow the total",
          "[unit][info]") {
  // Found by the fuzzer (UBSan: signed overflow in total_keys).
  auto huge = parse_info("# Keyspace\r\ndb0:keys=9223372036854775807,expires=0\r\ndb1:keys=3\r\n");
  CHECK(huge.total_keys() == std::numeric_limits<long long>::max());
  auto junk = parse_info(
      "# Keyspace\r\ndb0:keys=777777777777777777777777777777\r\ndb1:keys=x\r\n"
      "db2:keys=-5\r\ndb3:keys=4\r\n");
  CHECK(junk.total_keys() == 4);
}

TEST_CASE("ROLE replies parse for master and replica and sentinel", "[unit][role]") {
  auto master = parse_role(reply::make_array(
      {reply::make_string("master"), reply::make_integer(3129659),
       reply::make_array(
           {reply::make_array({reply::make_string("127.0.0.1"), reply::make_string("9001"),
                               reply::make_string("3129242")})})}));
  REQUIRE(master);
  CHECK(master->is_master());
  CHECK(master->offset == 3129659);
  REQUIRE(master->replicas.size() == 1);
  CHECK(master->replicas[0].addr == address{"127.0.0.1", 9001});
  CHECK(master->replicas[0].offset == 3129242);

  auto replica = parse_role(reply::make_array(
      {reply::make_string("slave"), reply::make_string("127.0.0.1"), reply::make_integer(9000),
       reply::make_string("connected"), reply::make_integer(3167038)}));
  REQUIRE(replica);
  CHECK(replica->is_replica());
  CHECK(replica->master == address{"127.0.0.1", 9000});
  CHECK(replica->link_state == "connected");
  CHECK(replica->offset == 3167038);

  auto sentinel = parse_role(reply::make_array(
      {reply::make_string("sentinel"),
       reply::make_array({reply::make_string("master_service"), reply::make_string("other")})}));
  REQUIRE(sentinel);
  CHECK(sentinel->type == role_info::kind::sentinel);
  CHECK(sentinel->master_names.size() == 2);
}

TEST_CASE("malformed ROLE replies are errors and never crash", "[unit][role]") {
  auto err = parse_role(reply::make_error("NOAUTH Authentication required."));
  REQUIRE_FALSE(err);
  CHECK(err.error() == errc::error_reply);
  CHECK(err.error().detail == "NOAUTH Authentication required.");

  std::vector<reply> bad = {
      reply::make_nil(),
      reply::make_string("master"),
      reply::make_array({}),
      reply::make_array({reply::make_integer(1)}),
      reply::make_array({reply::make_string("master"), reply::make_integer(1)}),
      reply::make_array({reply::make_string("master"), reply::make_integer(1),
                         reply::make_array({reply::make_string("x")})}),
      reply::make_array({reply::make_string("slave"), reply::make_string("h")}),
      reply::make_array({reply::make_string("slave"), reply::make_string("h"),
                         reply::make_string("notaport"), reply::make_string("connected"),
                         reply::make_integer(1)}),
      reply::make_array({reply::make_string("sentinel"), reply::make_string("x")}),
      reply::make_array({reply::make_string("leader")}),
  };
  for (const auto& r : bad) {
    INFO(r.to_debug_string());
    auto p = parse_role(r);
    REQUIRE_FALSE(p);
    CHECK(p.error() == errc::unexpected_reply);
  }
}
