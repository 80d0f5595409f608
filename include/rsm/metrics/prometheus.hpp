#pragma once
/// Prometheus text exposition (format 0.0.4): a writer, and a parser (for `rsm status --proxy`
/// and for the tests that check rsm's own output).
#include "rsm/error.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rsm::metrics {

using labels = std::vector<std::pair<std::string, std::string>>;

/// Builds one exposition: families in the order first added, each with HELP and TYPE once.
class exposition {
 public:
  enum class type { gauge, counter };
  /// Adds a sample; the family's help and type are taken from its first sample.
  void add(std::string_view name, type t, std::string_view help, const labels& l, double value);
  void gauge(std::string_view name, std::string_view help, const labels& l, double v) {
    add(name, type::gauge, help, l, v);
  }
  void counter(std::string_view name, std::string_view help, const labels& l, double v) {
    add(name, type::counter, help, l, v);
  }
  std::string text() const;

 private:
  struct family {
    std::string name;
    type kind;
    std::string help;
    std::vector<std::string> lines;
  };
  std::vector<family> families_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

struct sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct parsed_exposition {
  std::vector<sample> samples;
  std::map<std::string, std::string> types;  // family → gauge, counter, ...
  std::map<std::string, std::string> help;

  /// The first sample with this name and these labels (a subset match).
  const sample* find(std::string_view name, const std::map<std::string, std::string>& l = {}) const;
};

/// Parses and validates the text format: metric and label names, escaping, values, one TYPE and
/// HELP per family before its samples, no duplicate series. Errors say which line.
result<parsed_exposition> parse_exposition(std::string_view text);

}  // namespace rsm::metrics
