#include "rsm/cli/options.hpp"

#include "rsm/log.hpp"
#include "rsm/secret.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace rsm::cli {
namespace {

std::string env_name(std::string_view option) {
  std::string out = "RSM_";
  for (char c : option) {
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string describe(const std::string& help, const std::string& def,
                     const std::vector<std::string>& env, bool show_default) {
  std::string d = help;
  if (show_default) d += def.empty() ? " (default: none)" : " (default: " + def + ")";
  if (!env.empty()) {
    d += " [env: ";
    for (std::size_t i = 0; i < env.size(); ++i) {
      if (i) d += ", ";
      d += env[i];
    }
    d += "]";
  }
  return d;
}

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t\r");
  auto e = s.find_last_not_of(" \t\r");
  if (b == std::string::npos) return {};
  return s.substr(b, e - b + 1);
}

// Reads an INI file into "--key=value" words for this command (see the header for the rules).
std::vector<std::string> ini_words(const option_set& set, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw usage_error("config file '" + path + "': cannot be read");
  std::vector<std::string> words;
  std::string section, line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        throw usage_error("config file '" + path + "' line " + std::to_string(lineno) +
                          ": bad section header");
      }
      section = trim(line.substr(1, line.size() - 2));
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos) {
      throw usage_error("config file '" + path + "' line " + std::to_string(lineno) +
                        ": want key = value");
    }
    auto key = trim(line.substr(0, eq));
    auto value = trim(line.substr(eq + 1));
    bool known = false;
    for (const auto& s : set.specs()) known = known || s.name == key;
    if (section.empty() || section == "rsm") {
      if (!known) continue;  // a key for another command
    } else if (section == set.command()) {
      if (!known) {
        throw usage_error("config file '" + path + "' line " + std::to_string(lineno) +
                          ": unknown option '" + key + "' for rsm " + set.command());
      }
    } else {
      continue;
    }
    words.push_back("--" + key + "=" + value);
  }
  return words;
}

po::parsed_options parse_words(const po::options_description& desc,
                               const std::vector<std::string>& words) {
  auto parsed =
      po::command_line_parser(words)
          .options(desc)
          .style(po::command_line_style::unix_style & ~po::command_line_style::allow_guessing)
          .run();
  for (const auto& o : parsed.options) {
    if (o.position_key >= 0 && !o.original_tokens.empty()) {
      throw usage_error("unexpected argument '" + o.original_tokens.front() + "'");
    }
  }
  return parsed;
}

}  // namespace

env_lookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

option_set::option_set(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)), desc_("Options", 100, 50) {
  desc_.add_options()("help,h", po::bool_switch(), "show this help and exit");
  specs_.push_back({"help", "", {}, true, false, "show this help and exit", ""});
  text("config", "", "INI file with option values", {}, "FILE");
  text("log-level", "info", "debug, info, warn, error or off", {}, "LEVEL");
  text("log-format", "text", "text or json (on stderr)", {}, "FORMAT");
  flag("print-config", "print the effective configuration (secrets redacted) and exit");
}

option_set& option_set::text(std::string name, std::string default_value, std::string help,
                             std::vector<std::string> env, std::string value_name) {
  env.push_back(env_name(name));
  auto* v = po::value<std::string>()->value_name(value_name);
  // The default is shown in the description (with the env vars), not as program_options' "(=X)".
  if (!default_value.empty()) v->default_value(default_value, "");
  desc_.add_options()(name.c_str(), v, describe(help, default_value, env, true).c_str());
  specs_.push_back({std::move(name), std::move(default_value), std::move(env), false, false,
                    std::move(help), std::move(value_name)});
  return *this;
}

option_set& option_set::flag(std::string name, std::string help, std::vector<std::string> env) {
  env.push_back(env_name(name));
  auto* v = po::value<bool>()->implicit_value(true, "")->default_value(false, "")->value_name(
      "[=true|false]");
  desc_.add_options()(name.c_str(), v, describe(help, "", env, false).c_str());
  specs_.push_back({std::move(name), "false", std::move(env), true, false, std::move(help), ""});
  return *this;
}

option_set& option_set::secret(std::string name, std::string help, std::vector<std::string> env) {
  env.push_back(env_name(name));
  auto* v = po::value<std::string>()->value_name("SECRET");
  desc_.add_options()(name.c_str(), v, describe(help, "", env, true).c_str());
  specs_.push_back({name, "", std::move(env), false, true, help, "SECRET"});
  // Every secret can come from a file instead, so that none need be on a command line (where
  // /proc shows it) or in the environment.
  text(name + "-file", "", "read --" + name + " from this file (one line; chmod 600)", {}, "FILE");
  return *this;
}

std::string option_set::markdown() const {
  auto cell = [](std::string text) {
    std::string out;
    for (char c : text) {
      if (c == '\n') {
        out += ' ';
      } else if (c == '|') {
        out += "\\|";
      } else {
        out += c;
      }
    }
    return out;
  };
  std::ostringstream out;
  out << "| flag / INI key | default | environment | meaning |\n|---|---|---|---|\n";
  for (const auto& s : specs_) {
    if (s.name == "help") continue;
    std::string flag = "`--" + s.name + (s.value_name.empty() ? "" : " " + s.value_name) + "`";
    std::string def = s.is_flag                 ? "false"
                      : s.default_value.empty() ? "none"
                                                : "`" + s.default_value + "`";
    std::string env;
    for (const auto& e : s.env) env += (env.empty() ? "" : ", ") + ("`" + e + "`");
    out << "| " << cell(flag) << " | " << cell(def) << " | " << env << " | " << cell(s.help)
        << " |\n";
  }
  return out.str();
}

std::string option_set::help() const {
  std::ostringstream out;
  out << "Usage: rsm " << command_ << " [options]\n\n"
      << summary_ << "\n\n"
      << desc_ << "\n"
      << "Precedence: command line > environment > --config file > defaults.\n"
      << "Durations take a unit (500ms, 10s, 2m); addresses are HOST:PORT or :PORT; lists are\n"
      << "comma-separated.\n";
  return out.str();
}

std::string values::text(const std::string& name) const {
  for (const auto& s : set_->specs()) {
    if (s.name != name || !s.is_secret) continue;
    // --NAME-file: the secret is the file's content (secret.hpp), never both.
    auto file = vm_.count(name + "-file") ? vm_[name + "-file"].as<std::string>() : std::string();
    if (file.empty()) break;
    if (vm_.count(name) && !vm_[name].as<std::string>().empty()) {
      throw usage_error("give --" + name + " or --" + name + "-file, not both");
    }
    auto secret = read_secret_file(file);
    if (!secret) throw usage_error("--" + name + "-file: " + secret.error().detail);
    return *secret;
  }
  if (!vm_.count(name)) return {};
  return vm_[name].as<std::string>();
}

bool values::flag(const std::string& name) const {
  return vm_.count(name) && vm_[name].as<bool>();
}

duration values::dur(const std::string& name) const {
  auto d = parse_duration(text(name));
  if (!d) throw usage_error("--" + name + ": " + d.error().detail);
  return *d;
}

long long values::integer(const std::string& name, long long min, long long max) const {
  auto s = text(name);
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (s.empty() || used != s.size() || n < min || n > max) {
    throw usage_error("--" + name + ": '" + s + "' is not a whole number from " +
                      std::to_string(min) + " to " + std::to_string(max));
  }
  return n;
}

std::optional<address> values::addr(const std::string& name) const {
  auto s = text(name);
  if (s.empty()) return std::nullopt;
  auto a = parse_address(s);
  if (!a) throw usage_error("--" + name + ": " + a.error().detail);
  return *a;
}

std::vector<address> values::addr_list(const std::string& name) const {
  auto l = parse_address_list(text(name));
  if (!l) throw usage_error("--" + name + ": " + l.error().detail);
  return *l;
}

std::string values::dump() const {
  std::ostringstream out;
  for (const auto& s : set_->specs()) {
    if (s.name == "help" || s.name == "print-config") continue;
    out << s.name << " = ";
    if (s.is_flag) {
      out << (flag(s.name) ? "true" : "false");
    } else if (s.is_secret) {
      out << (text(s.name).empty() ? "" : "<redacted>");
    } else {
      out << text(s.name);
    }
    out << '\n';
  }
  return out.str();
}

values parse(const option_set& set, const std::vector<std::string>& args, const env_lookup& env) {
  const auto& desc = set.description();
  po::variables_map vm;
  try {
    // 1. Command line: stored first, so it wins (program_options keeps the first value).
    po::store(parse_words(desc, args), vm);

    // 2. Environment: the first variable set in each option's list.
    std::vector<std::string> env_words;
    for (const auto& s : set.specs()) {
      for (const auto& name : s.env) {
        if (auto v = env(name)) {
          env_words.push_back("--" + s.name + "=" + *v);
          break;
        }
      }
    }
    try {
      po::store(parse_words(desc, env_words), vm);
    } catch (const po::error& e) {
      throw usage_error(std::string("environment: ") + e.what());
    }

    // 3. The INI file named by --config (itself from the command line or environment).
    if (vm.count("config") && !vm["config"].as<std::string>().empty()) {
      auto path = vm["config"].as<std::string>();
      try {
        po::store(parse_words(desc, ini_words(set, path)), vm);
      } catch (const po::error& e) {
        throw usage_error("config file '" + path + "': " + e.what());
      }
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw usage_error(e.what());
  }
  values v(set, std::move(vm));
  if (!log::parse_level(v.text("log-level"))) {
    throw usage_error("--log-level: '" + v.text("log-level") +
                      "' is not one of debug, info, warn, error, off");
  }
  if (!log::parse_format(v.text("log-format"))) {
    throw usage_error("--log-format: '" + v.text("log-format") + "' is not text or json");
  }
  return v;
}

}  // namespace rsm::cli
