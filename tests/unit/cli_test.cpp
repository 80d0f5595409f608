// The command line: in-process parsing with a fake environment, and the real binary.
#include "rsm/cli/app.hpp"
#include "rsm/cli/commands.hpp"
#include "support/printing.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

using namespace rsm;
using namespace rsm::cli;

namespace {

env_lookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

struct outcome {
  int code;
  std::string out, err;
};

outcome run_cli(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  std::ostringstream out, err;
  int code = cli::run(args, fake_env(std::move(env)), out, err);
  return {code, out.str(), err.str()};
}

std::size_t lines(const std::string& s) {
  return std::count(s.begin(), s.end(), '\n');
}

// The commands a user is promised; later issues fill them in.
const std::vector<std::string> k_commands = {"proxy", "ctl", "watch", "status", "up", "version"};

}  // namespace

TEST_CASE("precedence is command line then environment then INI file then defaults",
          "[unit][cli]") {
  auto set = ctl_options();
  auto defaults = parse(set, {}, fake_env({}));
  CHECK(defaults.text("lainlet") == "lainlet.lain:9001");
  CHECK(defaults.text("app") == "redis-service-sm");
  CHECK(defaults.dur("interval") == std::chrono::seconds(10));

  auto env = parse(set, {}, fake_env({{"LAINLET_ADDR", "10.0.0.1:9001"}, {"LAIN_APPNAME", "x"}}));
  CHECK(env.text("lainlet") == "10.0.0.1:9001");
  CHECK(env.text("app") == "x");

  auto flag_wins =
      parse(set, {"--lainlet", "127.0.0.1:1234"}, fake_env({{"LAINLET_ADDR", "10.0.0.1:9001"}}));
  CHECK(flag_wins.text("lainlet") == "127.0.0.1:1234");

  // The LAIN variable comes before RSM_<NAME> in the option's list.
  auto lain_first = parse(set, {}, fake_env({{"RSM_LAINLET", "b:2"}, {"LAINLET_ADDR", "a:1"}}));
  CHECK(lain_first.text("lainlet") == "a:1");

  // The original's misspelt PROC_SENTILE_NAME works, and the right spelling wins over it.
  auto sic = parse(set, {}, fake_env({{"PROC_SENTILE_NAME", "old"}}));
  CHECK(sic.text("sentinel-proc") == "old");
  auto both =
      parse(set, {}, fake_env({{"PROC_SENTILE_NAME", "old"}, {"PROC_SENTINEL_NAME", "new"}}));
  CHECK(both.text("sentinel-proc") == "new");

  test::temp_dir dir("cli");
  auto ini = (dir.path() / "rsm.ini").string();
  {
    std::ofstream f(ini);
    f << "# comment\nlog-level = debug\nport = 1\n[ctl]\ninterval = 2m\nlainlet = ini:1\n"
         "[proxy]\nlisten = :1\n";
  }
  auto from_ini = parse(set, {"--config", ini}, fake_env({}));
  CHECK(from_ini.dur("interval") == std::chrono::minutes(2));
  CHECK(from_ini.text("lainlet") == "ini:1");
  CHECK(from_ini.text("log-level") == "debug");
  auto env_over_ini = parse(set, {"--config", ini}, fake_env({{"LAINLET_ADDR", "env:1"}}));
  CHECK(env_over_ini.text("lainlet") == "env:1");
  auto flag_over_all =
      parse(set, {"--config", ini, "--interval=5s"}, fake_env({{"RSM_INTERVAL", "7s"}}));
  CHECK(flag_over_all.dur("interval") == std::chrono::seconds(5));
  auto config_from_env = parse(set, {}, fake_env({{"RSM_CONFIG", ini}}));
  CHECK(config_from_env.dur("interval") == std::chrono::minutes(2));

  {
    std::ofstream f(ini);
    f << "[ctl]\nno-such-option = 1\n";
  }
  CHECK_THROWS_WITH(parse(set, {"--config", ini}, fake_env({})),
                    Catch::Contains("unknown option 'no-such-option'"));
}

TEST_CASE("typed values are checked with a message naming the option", "[unit][cli]") {
  auto set = proxy_options();
  auto v = parse(set, {"--check-interval", "soon", "--listen", "nope"}, fake_env({}));
  CHECK_THROWS_WITH(v.dur("check-interval"), Catch::Contains("--check-interval"));
  CHECK_THROWS_WITH(v.addr("listen"), Catch::Contains("--listen"));
  auto flags = parse(set, {}, fake_env({{"RSM_THREADS", "4"}}));
  CHECK(flags.integer("threads", 0, 1024) == 4);
  CHECK_THROWS(parse(set, {"--log-level", "loud"}, fake_env({})));
  auto ctl = ctl_options();
  CHECK(parse(ctl, {"--dry-run"}, fake_env({})).flag("dry-run"));
  CHECK_FALSE(parse(ctl, {"--dry-run=false"}, fake_env({})).flag("dry-run"));
  CHECK(parse(ctl, {}, fake_env({{"RSM_DRY_RUN", "true"}})).flag("dry-run"));
}

TEST_CASE("the printed configuration never shows a secret", "[unit][cli]") {
  auto r = run_cli({"proxy", "--print-config", "--password", "hunter2", "--requirepass=xyzzy"},
                   {{"RSM_SENTINEL_PASSWORD", "plugh"}});
  CHECK(r.code == 0);
  CHECK(r.out.find("hunter2") == std::string::npos);
  CHECK(r.out.find("xyzzy") == std::string::npos);
  CHECK(r.out.find("plugh") == std::string::npos);
  CHECK(r.out.find("password = <redacted>") != std::string::npos);
  CHECK(r.out.find("listen = :8889") != std::string::npos);
}

TEST_CASE("every secret can come from a file and is never printed", "[unit][cli]") {
  test::temp_dir dir("secrets");
  auto file = [&](const std::string& name, const std::string& content) {
    auto p = (dir.path() / name).string();
    std::ofstream(p) << content;
    return p;
  };
  auto pass = file("password", "from-a-file\n");
  auto set = proxy_options();
  auto v = parse(set, {"--password-file", pass}, fake_env({}));
  CHECK(v.text("password") == "from-a-file");  // the trailing newline is not part of it
  CHECK(parse(set, {}, fake_env({{"RSM_REQUIREPASS_FILE", pass}})).text("requirepass") ==
        "from-a-file");
  CHECK_THROWS_WITH(
      parse(set, {"--password-file", pass, "--password", "x"}, fake_env({})).text("password"),
      Catch::Contains("not both"));
  CHECK_THROWS_WITH(
      parse(set, {"--password-file", file("empty", "\n")}, fake_env({})).text("password"),
      Catch::Contains("is empty"));
  CHECK_THROWS_WITH(parse(set, {"--password-file", (dir.path() / "missing").string()}, fake_env({}))
                        .text("password"),
                    Catch::Contains("cannot read"));
  auto r = run_cli({"proxy", "--print-config", "--sentinel-password-file", pass});
  CHECK(r.code == 0);
  CHECK(r.out.find("from-a-file") == std::string::npos);
  CHECK(r.out.find("sentinel-password = <redacted>") != std::string::npos);
}

TEST_CASE("the controller's HTTP listener is on loopback unless told otherwise", "[unit][cli]") {
  auto r = run_cli({"ctl", "--print-config"});
  CHECK(r.code == 0);
  CHECK(r.out.find("http-listen = 127.0.0.1:8091\n") != std::string::npos);
  CHECK(r.out.find("admin-token-file = \n") != std::string::npos);
  // A port alone still means every interface (the LAIN files pass one).
  auto set = ctl_options();  // values refer to their option set: it must outlive them
  auto v = parse(set, {"--http-listen", ":8091"}, fake_env({}));
  CHECK(v.addr("http-listen")->host.empty());
}

TEST_CASE("usage errors are one line on stderr with exit code 2", "[unit][cli]") {
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{},
                                             {"nosuch"},
                                             {"proxy", "--nosuch"},
                                             {"ctl", "--interval"},
                                             {"proxy", "--log-format", "xml"},
                                             {"status", "extra-word"}}) {
    auto r = run_cli(args);
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find("try 'rsm") != std::string::npos);
    CHECK(r.out.empty());
  }
}

TEST_CASE("every command has help listing options with defaults and env vars", "[unit][cli]") {
  auto top = run_cli({"--help"});
  CHECK(top.code == 0);
  for (const auto& c : k_commands) {
    CHECK(top.out.find("  " + c + " ") != std::string::npos);
    auto h = run_cli({c, "--help"});
    INFO(c);
    CHECK(h.code == 0);
    CHECK(h.out.find("Usage: rsm " + c) != std::string::npos);
    CHECK(h.out.find("--log-level") != std::string::npos);
    CHECK(h.out.find("RSM_LOG_LEVEL") != std::string::npos);
  }
  auto ctl = run_cli({"ctl", "--help"});
  CHECK(ctl.out.find("(default: lainlet.lain:9001)") != std::string::npos);
  CHECK(ctl.out.find("LAINLET_ADDR") != std::string::npos);
  CHECK(ctl.out.find("PROC_SENTILE_NAME") != std::string::npos);
}

TEST_CASE("the rsm binary: help and version and usage errors and flag over env", "[unit][cli]") {
  const std::string rsm = RSM_BINARY;
  auto help = test::run_program({rsm, "--help"});
  CHECK(help.exit_code == 0);
  for (const auto& c : k_commands) CHECK(help.out.find("  " + c + " ") != std::string::npos);
  for (const auto& c : k_commands) {
    auto h = test::run_program({rsm, c, "--help"});
    INFO(c);
    CHECK(h.exit_code == 0);
  }

  auto bad = test::run_program({rsm, "nosuch"});
  CHECK(bad.exit_code == 2);
  CHECK(lines(bad.err) == 1);
  CHECK(bad.err.find("unknown command 'nosuch'") != std::string::npos);

  auto version = test::run_program({rsm, "version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.find("rsm 0.") == 0);
  CHECK(version.out.find("boost 1.81") != std::string::npos);
  CHECK(version.out.find("hiredis 0.14") != std::string::npos);
  CHECK(version.out.find("commit: ") != std::string::npos);

  auto env_only = test::run_program({rsm, "ctl", "--print-config"}, {{"LAINLET_ADDR", "env:9001"}});
  CHECK(env_only.out.find("lainlet = env:9001\n") != std::string::npos);
  auto flag_wins = test::run_program({rsm, "ctl", "--print-config", "--lainlet", "flag:9001"},
                                     {{"LAINLET_ADDR", "env:9001"}});
  CHECK(flag_wins.exit_code == 0);
  CHECK(flag_wins.out.find("lainlet = flag:9001\n") != std::string::npos);

  // A bad value is one line naming the option, exit 2, before anything starts.
  auto bad_value = test::run_program({rsm, "up", "--redis", "0"});
  CHECK(bad_value.exit_code == 2);
  CHECK(lines(bad_value.err) == 1);
  CHECK(bad_value.err.find("--redis") != std::string::npos);
}
