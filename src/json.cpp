#include "rsm/json.hpp"

#include <rapidjson/error/en.h>

namespace rsm::json {

std::optional<std::size_t> too_deep(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, whatever it is
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

std::optional<std::string> parse(rapidjson::Document& doc, std::string_view text,
                                 std::size_t limit) {
  if (auto at = too_deep(text, limit)) {
    doc.SetNull();
    return "nested deeper than " + std::to_string(limit) + " levels at offset " +
           std::to_string(*at);
  }
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (!doc.HasParseError()) return std::nullopt;
  return std::string(rapidjson::GetParseError_En(doc.GetParseError())) + " at offset " +
         std::to_string(doc.GetErrorOffset());
}

}  // namespace rsm::json
