#pragma once
/// Parsing JSON that comes from outside (lainlet, the emulator's files, a controller's /status)
/// without letting its shape hurt: RapidJSON's default parser recurses once per nesting level,
/// so 1 MB of `[` overflows the stack (a SIGSEGV, found by issue 16). Here the nesting is
/// checked first, by a flat scan, and the parse is RapidJSON's iterative one.
#include <rapidjson/document.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace rsm::json {

/// Deeper than any document rsm reads (lainlet's are 4 levels deep) and far below what a
/// recursive walk of the result (a Writer, say) could not take.
inline constexpr std::size_t k_max_depth = 64;

/// How deep `text` nests arrays and objects (brackets inside strings do not count), and
/// whether it goes past `limit`: the offset of the bracket that does, or none.
std::optional<std::size_t> too_deep(std::string_view text, std::size_t limit = k_max_depth);

/// Parses `text` into `doc`: none, or why it is not a document rsm takes ("nested deeper than
/// 64 levels at offset 64", "Invalid value. at offset 0").
std::optional<std::string> parse(rapidjson::Document& doc, std::string_view text,
                                 std::size_t limit = k_max_depth);

}  // namespace rsm::json
