#pragma once
/// Parsing INFO output (sans-io): sections of `field:value` lines.
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace rsm::redis {

class info {
 public:
  using fields = std::map<std::string, std::string, std::less<>>;

  /// Section names are lower-cased ("# Replication" → "replication").
  const std::map<std::string, fields, std::less<>>& sections() const { return sections_; }
  bool has_section(std::string_view section) const;

  /// A field of a section, or of any section when `section` is empty.
  std::optional<std::string_view> get(std::string_view section, std::string_view field) const;
  std::optional<long long> get_int(std::string_view section, std::string_view field) const;
  std::optional<double> get_double(std::string_view section, std::string_view field) const;

  /// Sum of `keys=` over every db line of the keyspace section (0 when empty).
  long long total_keys() const;

  /// The section, created empty if missing.
  fields& section(std::string_view name);
  void erase_section(std::string_view name);

 private:
  std::map<std::string, fields, std::less<>> sections_;
};

/// Parses INFO text. Lines without a ':' outside comments are ignored; CRLF or LF.
info parse_info(std::string_view text);

/// Splits a compound value "ip=127.0.0.1,port=6380,state=online" into its pairs.
std::map<std::string, std::string, std::less<>> parse_info_pairs(std::string_view value);

}  // namespace rsm::redis
