#pragma once
/// Command-line options with rsm's precedence: command line > environment > INI file
/// (`--config FILE`) > defaults.
///
/// Every option reads `RSM_<NAME>` from the environment (upper case, '-' → '_'), plus any
/// LAIN variables named for it (LAINLET_ADDR, LAIN_APPNAME, ...); when several are set, the
/// first in the option's list wins. The INI file holds `key = value` lines: keys before any
/// section or under `[rsm]` apply to every command that has them; keys under `[<command>]`
/// (e.g. `[proxy]`) must be options of that command.
///
/// Typed values (durations, addresses) are kept as strings by the parser and converted by the
/// accessors, so every bad value gets one clear line naming the option.
#include "rsm/address.hpp"
#include "rsm/duration.hpp"

#include <boost/program_options.hpp>

#include <functional>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rsm::cli {

namespace po = boost::program_options;

/// A bad command line or configuration: the message is one line, shown with a usage hint.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads an environment variable (tests pass their own map).
using env_lookup = std::function<std::optional<std::string>(std::string_view)>;
env_lookup process_env();

class option_set {
 public:
  option_set(std::string command, std::string summary);

  /// A string-valued option with a default ("" for none).
  option_set& text(std::string name, std::string default_value, std::string help,
                   std::vector<std::string> env = {}, std::string value_name = "TEXT");
  /// A boolean flag: `--name`, `--name=false`; env values true/false/1/0/yes/no.
  option_set& flag(std::string name, std::string help, std::vector<std::string> env = {});
  /// An option that holds a secret: never printed by --print-config or logged.
  option_set& secret(std::string name, std::string help, std::vector<std::string> env = {});

  const std::string& command() const { return command_; }
  const std::string& summary() const { return summary_; }
  const po::options_description& description() const { return desc_; }
  /// The full `rsm <command> --help` text.
  std::string help() const;
  /// This command's options as a Markdown table (docs/configuration.md is made of these).
  std::string markdown() const;

  struct spec {
    std::string name;
    std::string default_value;
    std::vector<std::string> env;
    bool is_flag = false;
    bool is_secret = false;
    std::string help;
    std::string value_name;
  };
  const std::vector<spec>& specs() const { return specs_; }

 private:
  std::string command_;
  std::string summary_;
  po::options_description desc_;
  std::vector<spec> specs_;
};

/// The parsed values of one command.
class values {
 public:
  values(const option_set& set, po::variables_map vm) : set_(&set), vm_(std::move(vm)) {}

  bool help() const { return flag("help"); }
  bool has(const std::string& name) const { return vm_.count(name) != 0; }
  /// Given on the command line, in the environment or in the config file (not a default).
  bool explicitly_set(const std::string& name) const {
    auto it = vm_.find(name);
    return it != vm_.end() && !it->second.defaulted();
  }
  std::string text(const std::string& name) const;
  bool flag(const std::string& name) const;
  /// Throw usage_error naming the option when the value does not parse.
  duration dur(const std::string& name) const;
  long long integer(const std::string& name, long long min, long long max) const;
  std::optional<address> addr(const std::string& name) const;  // nothing when empty
  std::vector<address> addr_list(const std::string& name) const;

  /// "name = value" lines of every option, secrets shown as <redacted> when set.
  std::string dump() const;

 private:
  const option_set* set_;
  po::variables_map vm_;
};

/// Parses `args` (the words after the command name). Throws usage_error.
values parse(const option_set& set, const std::vector<std::string>& args, const env_lookup& env);

}  // namespace rsm::cli
