#include "rsm/resp/frame_parser.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace rsm::resp {

void short_text::append(std::string_view s) {
  auto room = capacity - size_;
  auto n = std::min(room, s.size());
  std::copy_n(s.data(), n, data_.data() + size_);
  size_ += n;
  if (n < s.size()) truncated_ = true;
}

bool short_text::equals_upper(std::string_view upper) const {
  if (truncated_ || size_ != upper.size()) return false;
  for (std::size_t i = 0; i < size_; ++i) {
    if (std::toupper(static_cast<unsigned char>(data_[i])) != upper[i]) return false;
  }
  return true;
}

namespace {

// Redis's string2ll: optional '-', no '+', no leading zeros, no spaces, no overflow.
bool redis_string2ll(std::string_view s, long long& out) {
  if (s.empty() || s.size() > 20) return false;
  if (s.size() == 1 && s[0] == '0') {
    out = 0;
    return true;
  }
  bool negative = false;
  std::size_t i = 0;
  if (s[0] == '-') {
    negative = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  if (s[i] < '1' || s[i] > '9') return false;
  unsigned long long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    unsigned long long d = static_cast<unsigned long long>(s[i] - '0');
    if (v > (std::numeric_limits<unsigned long long>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  if (negative) {
    if (v > static_cast<unsigned long long>(std::numeric_limits<long long>::max()) + 1)
      return false;
    out = static_cast<long long>(0 - v);
  } else {
    if (v > static_cast<unsigned long long>(std::numeric_limits<long long>::max())) return false;
    out = static_cast<long long>(v);
  }
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Redis 7's sdssplitargs, step for step: false where it fails ("unbalanced quotes"). It reads
// a C string, so a NUL ends the line (what follows it is ignored) and reading past the end gives
// NUL. Blanks between arguments are isspace() (' ', \t, \n, \v, \f, \r), but an unquoted
// argument ends only at ' ', \n, \r, \t or NUL: "\vSELECT 5" is SELECT 5, "A\vB" one argument.
bool split_inline(std::string_view line, std::vector<std::string>& out) {
  auto at = [&line](std::size_t i) -> char { return i < line.size() ? line[i] : '\0'; };
  auto blank = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
  };
  std::size_t p = 0;
  for (;;) {
    while (at(p) != '\0' && blank(at(p))) ++p;
    if (at(p) == '\0') return true;
    std::string cur;
    bool inq = false, insq = false, done = false;
    while (!done) {
      char c = at(p);
      if (inq) {
        if (c == '\\' && at(p + 1) == 'x' && hex_digit(at(p + 2)) >= 0 &&
            hex_digit(at(p + 3)) >= 0) {
          cur += static_cast<char>(hex_digit(at(p + 2)) * 16 + hex_digit(at(p + 3)));
          p += 3;
        } else if (c == '\\' && at(p + 1) != '\0') {
          ++p;
          switch (at(p)) {
            case 'n':
              cur += '\n';
              break;
            case 'r':
              cur += '\r';
              break;
            case 't':
              cur += '\t';
              break;
            case 'b':
              cur += '\b';
              break;
            case 'a':
              cur += '\a';
              break;
            default:
              cur += at(p);
              break;
          }
        } else if (c == '"') {
          // A closing quote must be followed by a blank or nothing at all.
          if (at(p + 1) != '\0' && !blank(at(p + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;  // unterminated quotes
        } else {
          cur += c;
        }
      } else if (insq) {
        if (c == '\\' && at(p + 1) == '\'') {
          ++p;
          cur += '\'';
        } else if (c == '\'') {
          if (at(p + 1) != '\0' && !blank(at(p + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          cur += c;
        }
      } else {
        switch (c) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            inq = true;
            break;
          case '\'':
            insq = true;
            break;
          default:
            cur += c;
            break;
        }
      }
      if (at(p) != '\0') ++p;
    }
    out.push_back(std::move(cur));
  }
}

}  // namespace

// ---- requests ---------------------------------------------------------------------------

parse_step request_parser::fail(std::string msg, std::size_t consumed) {
  failed_ = true;
  error_ = "ERR Protocol error: " + std::move(msg);
  return {parse_step::kind::error, consumed};
}

void request_parser::begin_frame() {
  header_.clear();
  argc_ = args_left_ = arg_index_ = bulk_left_ = frame_bytes_ = 0;
  inline_ = false;
  inline_line_.clear();
  inline_args_.clear();
  name_.clear();
  arg1_.clear();
}

// The common case in one pass: a multibulk frame that is whole in `in` from `pos` (at its '*')
// and well-formed. Taken only when it ends exactly as the state machine below would end it;
// anything else (a frame cut short, an empty or malformed one, a limit reached) is left to the
// state machine, from the frame's first byte, for its exact errors and partial frames.
bool request_parser::parse_whole(std::string_view in, std::size_t& pos) {
  std::size_t p = pos + 1;
  // "<digits>\r?" at p: the byte after '\r' is taken for '\n' unseen, as Redis does.
  auto count = [&](long long& n) {
    auto cr = in.find('\r', p);
    if (cr == std::string_view::npos || cr + 1 >= in.size() || cr - p + 1 > limits_.max_inline)
      return false;
    if (!redis_string2ll(in.substr(p, cr - p), n)) return false;
    p = cr + 2;
    return true;
  };
  long long args = 0;
  if (!count(args) || args <= 0 || args > static_cast<long long>(limits_.max_multibulk))
    return false;
  if (unauthenticated_ && args > k_unauthenticated_multibulk) return false;
  for (long long i = 0; i < args; ++i) {
    if (p >= in.size() || in[p] != '$') return false;
    ++p;
    long long len = 0;
    if (!count(len) || len < 0 || len > static_cast<long long>(limits_.max_bulk)) return false;
    if (unauthenticated_ && len > k_unauthenticated_bulk) return false;
    auto size = static_cast<std::size_t>(len);
    if (in.size() - p < size + 2) return false;
    if (i == 0) name_.append(in.substr(p, size));
    if (i == 1) arg1_.append(in.substr(p, size));
    p += size + 2;  // the data, and the two bytes after it unseen
  }
  argc_ = static_cast<std::size_t>(args);
  frame_bytes_ = p - pos;
  pos = p;
  return true;
}

parse_step request_parser::parse(std::string_view in) {
  if (failed_) return {parse_step::kind::error, 0};
  std::size_t pos = 0;
  auto step_end = [&](parse_step::kind k) {
    st_ = state::start;
    return parse_step{k, pos};
  };
  while (pos < in.size()) {
    switch (st_) {
      case state::start: {
        begin_frame();
        if (in[pos] == '*') {
          if (parse_whole(in, pos)) return step_end(parse_step::kind::frame_end);
          name_.clear();
          arg1_.clear();
          ++pos;
          ++frame_bytes_;
          st_ = state::mbulk_count;
        } else {
          inline_ = true;
          st_ = state::inline_line;
        }
        break;
      }
      case state::mbulk_count:
      case state::bulk_count: {
        bool mbulk = st_ == state::mbulk_count;
        // The digits end at '\r'; the byte after it is taken for '\n' unseen, as Redis does.
        if (!header_.empty() && header_.back() == '\r') {
          ++pos;
          ++frame_bytes_;
          header_.pop_back();
          long long n = 0;
          bool ok = redis_string2ll(header_, n);
          header_.clear();
          if (mbulk) {
            if (!ok || n > static_cast<long long>(limits_.max_multibulk))
              return fail("invalid multibulk length", pos);
            if (unauthenticated_ && n > k_unauthenticated_multibulk)
              return fail("unauthenticated multibulk length", pos);
            if (n <= 0) return step_end(parse_step::kind::frame_end);  // ignored by Redis
            argc_ = args_left_ = static_cast<std::size_t>(n);
            st_ = state::bulk_header;
          } else {
            if (!ok || n < 0 || n > static_cast<long long>(limits_.max_bulk))
              return fail("invalid bulk length", pos);
            if (unauthenticated_ && n > k_unauthenticated_bulk)
              return fail("unauthenticated bulk length", pos);
            bulk_left_ = static_cast<std::size_t>(n);
            st_ = state::bulk_data;
          }
          break;
        }
        auto cr = in.find('\r', pos);
        auto end = cr == std::string_view::npos ? in.size() : cr + 1;
        header_.append(in.substr(pos, end - pos));
        frame_bytes_ += end - pos;
        pos = end;
        if (header_.size() > limits_.max_inline) {
          return fail(mbulk ? "too big mbulk count string" : "too big bulk count string", pos);
        }
        break;
      }
      case state::bulk_header: {
        if (in[pos] != '$') {
          return fail(std::string("expected '$', got '") + in[pos] + "'", pos);
        }
        ++pos;
        ++frame_bytes_;
        st_ = state::bulk_count;
        break;
      }
      case state::bulk_data: {
        auto n = std::min(bulk_left_, in.size() - pos);
        if (arg_index_ == 0) name_.append(in.substr(pos, n));
        if (arg_index_ == 1) arg1_.append(in.substr(pos, n));
        pos += n;
        frame_bytes_ += n;
        bulk_left_ -= n;
        if (bulk_left_ == 0) st_ = state::bulk_cr;
        break;
      }
      case state::bulk_cr: {
        ++pos;  // Redis skips the two bytes after the data without looking at them
        ++frame_bytes_;
        st_ = state::bulk_lf;
        break;
      }
      case state::bulk_lf: {
        ++pos;
        ++frame_bytes_;
        ++arg_index_;
        if (--args_left_ == 0) return step_end(parse_step::kind::frame_end);
        st_ = state::bulk_header;
        break;
      }
      case state::inline_line: {
        auto nl = in.find('\n', pos);
        auto end = nl == std::string_view::npos ? in.size() : nl;
        if (inline_line_.find('\0') != std::string::npos ||
            in.substr(pos, end - pos).find('\0') != std::string_view::npos) {
          // Redis looks for the line's end with strchr(), which stops at a NUL: a line with one
          // never ends, and everything after it waits in the buffer until the inline limit.
          // Only this client waits (nothing of it is forwarded), and as long as Redis would.
          if (inline_line_.find('\0') == std::string::npos) inline_line_.push_back('\0');
          frame_bytes_ += in.size() - pos;
          pos = in.size();
          if (frame_bytes_ > limits_.max_inline) return fail("too big inline request", pos);
          break;
        }
        inline_line_.append(in.substr(pos, end - pos));
        frame_bytes_ += end - pos;
        pos = end;
        // Bounded whether or not the newline has arrived: Redis checks only a buffer without
        // one, so its answer to a long line depends on how the bytes were read; ours does not.
        if (inline_line_.size() > limits_.max_inline) return fail("too big inline request", pos);
        if (nl == std::string_view::npos) break;
        ++pos;  // the '\n'
        ++frame_bytes_;
        std::string_view line = inline_line_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!split_inline(line, inline_args_)) return fail("unbalanced quotes in request", pos);
        argc_ = inline_args_.size();
        if (argc_ > 0) name_.append(inline_args_[0]);
        if (argc_ > 1) arg1_.append(inline_args_[1]);
        return step_end(parse_step::kind::frame_end);
      }
    }
  }
  return {parse_step::kind::need_more, pos};
}

// ---- replies ----------------------------------------------------------------------------

parse_step reply_parser::fail(std::string msg, std::size_t consumed) {
  failed_ = true;
  error_ = "reply protocol error: " + std::move(msg);
  return {parse_step::kind::error, consumed};
}

bool reply_parser::value_done() {
  for (;;) {
    if (stack_.empty()) return true;
    if (--stack_.back() > 0) return false;
    char t = stack_types_.back();
    stack_.pop_back();
    stack_types_.pop_back();
    // An attribute is not a value: the value it annotates follows at the same level.
    if (t == '|') return false;
  }
}

// The common case in one pass: a top-level reply whole in `in` from `pos` (at its type byte)
// that is a simple value (+ - : , # _ ( lines; $ ! = bulks) or an array of such values, and
// well-formed. Taken only when it ends exactly as the state machine below would end it; anything
// else (a frame cut short, a nested or RESP3 aggregate, a malformed one, a limit reached) is left
// to the state machine, from the frame's first byte, for its exact errors and partial frames.
bool reply_parser::parse_whole(std::string_view in, std::size_t& pos) {
  std::size_t p = pos;
  // A line ending in CRLF at p, bounded as the state machine bounds it: [p, cr).
  auto line = [&](std::string_view& out) {
    auto cr = in.find('\r', p);
    if (cr == std::string_view::npos || cr + 1 >= in.size() || in[cr + 1] != '\n' ||
        cr - p + 1 > limits_.max_line) {
      return false;
    }
    out = in.substr(p, cr - p);
    p = cr + 2;
    return true;
  };
  // One simple value at p; `top`: the frame's own type byte (a lone value, not an element).
  auto value = [&](bool top) {
    if (p >= in.size()) return false;
    char t = in[p++];
    std::string_view l;
    switch (t) {
      case '+':
      case '-':
      case ':':
      case ',':
      case '#':
      case '_':
      case '(':
        if (!line(l)) return false;
        if (top && t == '-') error_prefix_.append(l);
        return true;
      case '$':
      case '!':
      case '=': {
        long long n = 0;
        if (!line(l) || !redis_string2ll(l, n)) return false;
        if (n == -1 && t == '$') return true;
        if (n < 0 || static_cast<unsigned long long>(n) > limits_.max_bulk) return false;
        auto size = static_cast<std::size_t>(n);
        if (in.size() - p < size + 2 || in[p + size] != '\r' || in[p + size + 1] != '\n')
          return false;
        if (top && t == '!') error_prefix_.append(in.substr(p, size));
        p += size + 2;
        return true;
      }
      default:
        return false;
    }
  };
  char t = in[pos];
  error_prefix_.clear();  // as the state machine does at a top-level type byte
  if (t == '*') {
    ++p;
    std::string_view l;
    long long n = 0;
    if (!line(l) || !redis_string2ll(l, n)) return false;
    if (n < -1) return false;
    if (n > 0 &&
        (static_cast<unsigned long long>(n) > limits_.max_aggregate || limits_.max_depth == 0))
      return false;
    for (long long i = 0; i < n; ++i) {
      if (!value(false)) return false;
    }
  } else if (!value(true)) {
    return false;
  }
  top_type_ = cur_type_ = t;
  pos = p;
  return true;
}

parse_step reply_parser::parse(std::string_view in) {
  if (failed_) return {parse_step::kind::error, 0};
  std::size_t pos = 0;
  while (pos < in.size()) {
    switch (st_) {
      case state::type: {
        if (stack_.empty() && parse_whole(in, pos)) return {parse_step::kind::frame_end, pos};
        char t = in[pos++];
        if (stack_.empty() && t != '|') {
          top_type_ = t;  // the value an attribute may have annotated keeps its place
          error_prefix_.clear();
        }
        cur_type_ = t;
        line_.clear();
        switch (t) {
          case '+':
          case '-':
          case ':':
          case ',':
          case '#':
          case '_':
          case '(':
            st_ = state::line;
            break;
          case '$':
          case '!':
          case '=':
          case '*':
          case '%':
          case '~':
          case '>':
          case '|':
            st_ = state::length;
            break;
          default: {
            std::string shown = (t >= 0x20 && t < 0x7f)
                                    ? std::string(1, t)
                                    : "\\x" + std::to_string(static_cast<unsigned char>(t));
            return fail("unexpected type byte '" + shown + "'", pos);
          }
        }
        break;
      }
      case state::line:
      case state::length: {
        // Collect up to CRLF (strict: Redis always sends it).
        if (!line_.empty() && line_.back() == '\r') {
          if (in[pos] != '\n') return fail("expected LF after CR", pos);
          ++pos;
          line_.pop_back();
          if (st_ == state::line) {
            if (cur_type_ == '-' && stack_.empty()) error_prefix_.append(line_);
            st_ = state::type;
            if (value_done()) return {parse_step::kind::frame_end, pos};
            break;
          }
          long long n = 0;
          if (!redis_string2ll(line_, n))
            return fail("invalid length '" + line_.substr(0, 20) + "'", pos);
          bool aggregate = cur_type_ == '*' || cur_type_ == '%' || cur_type_ == '~' ||
                           cur_type_ == '>' || cur_type_ == '|';
          if (n == -1 && (cur_type_ == '$' || cur_type_ == '*')) {  // RESP2 nulls
            st_ = state::type;
            if (value_done()) return {parse_step::kind::frame_end, pos};
            break;
          }
          if (n < 0) return fail("negative length", pos);
          if (!aggregate) {
            if (static_cast<unsigned long long>(n) > limits_.max_bulk)
              return fail("bulk too large", pos);
            bulk_left_ = static_cast<std::size_t>(n);
            st_ = state::bulk_data;
            break;
          }
          unsigned long long count = static_cast<unsigned long long>(n);
          if (cur_type_ == '%' || cur_type_ == '|') count *= 2;
          if (count > limits_.max_aggregate) return fail("aggregate too large", pos);
          st_ = state::type;
          if (count == 0) {
            if (cur_type_ == '|') break;  // an empty attribute: the value still follows
            if (value_done()) return {parse_step::kind::frame_end, pos};
            break;
          }
          if (stack_.size() >= limits_.max_depth)
            return fail("nesting deeper than " + std::to_string(limits_.max_depth), pos);
          stack_.push_back(count);
          stack_types_.push_back(cur_type_);
          break;
        }
        auto cr = in.find('\r', pos);
        auto end = cr == std::string_view::npos ? in.size() : cr + 1;
        line_.append(in.substr(pos, end - pos));
        pos = end;
        if (st_ == state::line) {
          // A simple value may be as long as Redis makes it (a 2 MB error from a script): only
          // its first bytes classify it (error_prefix), so keep those and the last byte (the
          // CR test above), one more than the prefix holds so that it knows it was cut.
          constexpr std::size_t keep = short_text::capacity + 1;
          if (line_.size() > keep + 1) {
            char last = line_.back();
            line_.resize(keep);
            line_.push_back(last);
          }
          break;
        }
        if (line_.size() > limits_.max_line)
          return fail("line longer than " + std::to_string(limits_.max_line) + " bytes", pos);
        break;
      }
      case state::bulk_data: {
        auto n = std::min(bulk_left_, in.size() - pos);
        if (cur_type_ == '!' && stack_.empty()) error_prefix_.append(in.substr(pos, n));
        pos += n;
        bulk_left_ -= n;
        if (bulk_left_ == 0) st_ = state::bulk_cr;
        break;
      }
      case state::bulk_cr: {
        if (in[pos++] != '\r') return fail("bulk data not followed by CRLF", pos);
        st_ = state::bulk_lf;
        break;
      }
      case state::bulk_lf: {
        if (in[pos++] != '\n') return fail("bulk data not followed by CRLF", pos);
        st_ = state::type;
        if (value_done()) return {parse_step::kind::frame_end, pos};
        break;
      }
    }
  }
  return {parse_step::kind::need_more, pos};
}

}  // namespace rsm::resp
