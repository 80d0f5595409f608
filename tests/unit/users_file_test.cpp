// --users-file (proxy/users_file.hpp), and AUTH against it in the pipeline.
#include "rsm/proxy/users_file.hpp"
#include "rsm/proxy/pipeline.hpp"

#include "rsm/resp/command.hpp"

#include <catch2/catch.hpp>

using namespace rsm;
using proxy::user_table;

TEST_CASE("users file: NAME SHA256HEX lines, every mistake named by its line", "[unit][users]") {
  // printf %s app-secret | sha256sum
  const auto app = proxy::sha256_hex("app-secret");
  CHECK(app.size() == 64);
  CHECK(proxy::sha256_hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto t =
      user_table::parse("# users\n\napp " + app + "\n  ops\t" + proxy::sha256_hex("o") + "  \r\n");
  REQUIRE(t.has_value());
  CHECK(t->size() == 2);
  CHECK(t->check("app", "app-secret"));
  CHECK_FALSE(t->check("app", "app-secret "));
  CHECK_FALSE(t->check("app", ""));
  CHECK(t->check("ops", "o"));
  CHECK_FALSE(t->check("nobody", "app-secret"));
  // Upper-case hex is the same hash.
  std::string upper = app;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(user_table::parse("app " + upper)->check("app", "app-secret"));
  for (const char* bad :
       {"app", "app 1234",
        "default e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "app zzb0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}) {
    auto r = user_table::parse(std::string("# ok\n") + bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().detail.starts_with("line 2: "));
  }
  auto twice = user_table::parse("a " + app + "\na " + app);
  REQUIRE_FALSE(twice.has_value());
  CHECK(twice.error().detail.find("twice") != std::string::npos);
}

namespace {

proxy::action auth(proxy::request_pipeline& p, std::vector<std::string> args) {
  auto bytes = resp::encode(resp::command(args));
  resp::request_parser parser;
  REQUIRE(parser.parse(bytes).what == resp::parse_step::kind::frame_end);
  return p.on_frame(parser, bytes, false);
}

}  // namespace

TEST_CASE("users file: AUTH user pass to the proxy, the default user off without requirepass",
          "[unit][users]") {
  auto t = *user_table::parse("app " + proxy::sha256_hex("app-secret"));
  proxy::policy commands({}, {});
  proxy::request_pipeline p(proxy::pipeline_config{"", &commands, nullptr, false, false, &t}, {},
                            false);
  CHECK_FALSE(p.state.authenticated);
  CHECK(auth(p, {"GET", "k"}).bytes == "-NOAUTH Authentication required.\r\n");
  CHECK(auth(p, {"AUTH", "anything"}).bytes.starts_with("-WRONGPASS"));
  CHECK(auth(p, {"AUTH", "default", "anything"}).bytes.starts_with("-WRONGPASS"));
  CHECK(auth(p, {"AUTH", "app", "wrong"}).bytes.starts_with("-WRONGPASS"));
  CHECK_FALSE(p.state.authenticated);
  CHECK(auth(p, {"AUTH", "app", "app-secret"}).bytes == "+OK\r\n");
  CHECK(p.state.authenticated);
  CHECK(p.state.user_name == "app");
  CHECK(p.client_info().find(" user=app ") != std::string::npos);
  // HELLO AUTH too; and with --requirepass the default user is back.
  proxy::request_pipeline q(proxy::pipeline_config{"pw", &commands, nullptr, false, false, &t}, {},
                            false);
  CHECK(auth(q, {"HELLO", "3", "AUTH", "app", "nope"}).bytes.starts_with("-WRONGPASS"));
  auto a = auth(q, {"HELLO", "3", "AUTH", "app", "app-secret"});
  CHECK(a.how == proxy::rewrite::hello);
  CHECK(q.state.user_name == "app");
  proxy::request_pipeline r(proxy::pipeline_config{"pw", &commands, nullptr, false, false, &t}, {},
                            false);
  CHECK(auth(r, {"AUTH", "pw"}).bytes == "+OK\r\n");
  CHECK(r.state.user_name == "default");
}
