#include "rsm/log.hpp"

#include "support/printing.hpp"

#include <catch2/catch.hpp>

#include <regex>

using namespace rsm;

TEST_CASE("text log lines have the documented shape", "[unit][log]") {
  log::set_format(log::format::text);
  auto line = log::format_line(log::level::info, "proxy", "listening", {{"addr", "0.0.0.0:8889"}});
  CHECK(std::regex_match(
      line, std::regex(
                R"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d INFO proxy: listening addr=0\.0\.0\.0:8889\n)")));
  auto quoted = log::format_line(log::level::warn, "ctl", "x", {{"reason", "two words"}});
  CHECK(quoted.find("WARN ctl: x reason=\"two words\"") != std::string::npos);
}

TEST_CASE("json log lines are one object per line", "[unit][log]") {
  log::set_format(log::format::json);
  auto line = log::format_line(log::level::error, "ctl", "say \"hi\"", {{"n", 3}});
  log::set_format(log::format::text);
  CHECK(line.back() == '\n');
  CHECK(line.find("\"level\":\"error\"") != std::string::npos);
  CHECK(line.find("\"msg\":\"say \\\"hi\\\"\"") != std::string::npos);
  CHECK(line.find("\"n\":\"3\"") != std::string::npos);
}

TEST_CASE("secrets are never written", "[unit][log]") {
  for (log::format f : {log::format::text, log::format::json}) {
    log::set_format(f);
    auto line = log::format_line(log::level::info, "proxy", "auth",
                                 {{"password", "hunter2"},
                                  {"requirepass", "hunter2"},
                                  {"sentinel-password", "hunter2"},
                                  {"user", "bob"}});
    CHECK(line.find("hunter2") == std::string::npos);
    CHECK(line.find("<redacted>") != std::string::npos);
    CHECK(line.find("bob") != std::string::npos);
  }
  log::set_format(log::format::text);
}

TEST_CASE("log levels filter", "[unit][log]") {
  CHECK(log::parse_level("WARNING") == log::level::warn);
  CHECK_FALSE(log::parse_level("loud"));
  log::set_level(log::level::warn);
  CHECK_FALSE(log::enabled(log::level::info));
  CHECK(log::enabled(log::level::error));
  log::set_level(log::level::info);
}
