#include "rsm/lainlet/watch_decoder.hpp"

#include <charconv>

namespace rsm::lainlet {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string preview(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 40))
    out += (c < 0x20 || c >= 0x7f) ? '?' : static_cast<char>(c);
  if (s.size() > 40) out += "...";
  return out;
}

}  // namespace

error watch_decoder::fail(std::string why) {
  failed_ = true;
  failure_ = error(errc::protocol_error, "lainlet watch stream: " + why);
  return failure_;
}

result<void> watch_decoder::feed(std::string_view bytes, std::vector<event>& out) {
  if (failed_) return failure_;
  while (!bytes.empty()) {
    auto nl = bytes.find('\n');
    auto part = bytes.substr(0, nl);
    if (line_.size() + part.size() > limits_.max_line) {
      return fail("line longer than " + std::to_string(limits_.max_line) + " bytes");
    }
    if (nl == std::string_view::npos) {
      line_.append(part);
      return {};
    }
    std::string_view line;
    if (line_.empty()) {
      line = part;
    } else {
      line_.append(part);
      line = line_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto r = on_line(line, out);
    line_.clear();
    if (!r) return r;
    bytes.remove_prefix(nl + 1);
  }
  return {};
}

result<void> watch_decoder::on_line(std::string_view line, std::vector<event>& out) {
  if (line.empty()) {
    if (in_event_) out.push_back(std::move(current_));
    current_ = event{};
    in_event_ = false;
    event_bytes_ = 0;
    return {};
  }
  if (line.front() == ':') return {};  // a comment
  event_bytes_ += line.size();
  if (event_bytes_ > limits_.max_event) {
    return fail("event larger than " + std::to_string(limits_.max_event) + " bytes");
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return fail("line without ':': '" + preview(line) + "'");
  auto key = trim(line.substr(0, colon));
  auto value = trim(line.substr(colon + 1));
  in_event_ = true;
  if (key == "id") {
    std::uint64_t id = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), id);
    if (value.empty() || ec != std::errc() || p != value.data() + value.size()) {
      return fail("id is not a number: '" + preview(value) + "'");
    }
    current_.id = id;
  } else if (key == "event") {
    current_.type = std::string(value);
  } else if (key == "data") {
    if (current_.has_data) current_.data += '\n';
    current_.data.append(value);
    current_.has_data = true;
  }
  return {};
}

}  // namespace rsm::lainlet
