#pragma once
/// Incremental, bounded, zero-copy RESP frame parsers for the proxy's data path (sans-io).
///
/// They find frame boundaries — they never build values and never re-encode: the proxy forwards
/// the bytes as they came. `parse(input)` looks at the bytes not consumed yet and answers how
/// many of them belong to the current frame (`consumed`) and whether the frame ended there.
/// Consumed bytes may be forwarded and dropped at once, so a value larger than any buffer
/// streams through; state (partial headers, remaining bulk bytes, nesting) lives in the parser.
/// No allocation per frame: the command name and first argument are kept in fixed buffers.
///
/// request_parser: what clients send — arrays of bulk strings, or inline commands — with
/// Redis's own limits and its exact `-ERR Protocol error: ...` texts.
/// reply_parser: what Redis sends — every RESP2 and RESP3 type, nested within a bound — and
/// whether a frame is an out-of-band push (RESP3 `>`), an error, and its first bytes.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rsm::resp {

/// A short string kept inline (command names, first arguments, error prefixes).
class short_text {
 public:
  static constexpr std::size_t capacity = 64;
  void clear() {
    size_ = 0;
    truncated_ = false;
  }
  void append(std::string_view s);
  std::string_view view() const { return {data_.data(), size_}; }
  /// Whether more bytes were offered than fit.
  bool truncated() const { return truncated_; }
  /// Case-insensitive comparison with an upper-case name.
  bool equals_upper(std::string_view upper) const;

 private:
  std::array<char, capacity> data_{};
  std::size_t size_ = 0;
  bool truncated_ = false;
};

struct parse_step {
  enum class kind {
    need_more,  // everything offered was consumed; the frame continues
    frame_end,  // `consumed` bytes complete the current frame
    error,      // a protocol error: see error_message(); close after replying
  };
  kind what = kind::need_more;
  std::size_t consumed = 0;
};

class request_parser {
 public:
  struct limits {
    std::size_t max_bulk = 512 * 1024 * 1024;  // proto-max-bulk-len
    /// Arguments per command: Redis 7 accepts up to INT_MAX (older versions 1M); the parser
    /// holds no per-argument state, so the bound costs nothing.
    std::size_t max_multibulk = 2147483647;
    std::size_t max_inline = 64 * 1024;  // PROTO_INLINE_MAX_SIZE
  };

  request_parser() : request_parser(limits{}) {}
  explicit request_parser(limits l) : limits_(l) {}

  parse_step parse(std::string_view input);
  /// A client that has not authenticated (the proxy has --requirepass) may send at most 10
  /// arguments of at most 16 KiB each, as Redis 7 allows (CVE-2021-32675): more is the
  /// protocol error Redis replies ("unauthenticated multibulk length", "... bulk length").
  /// Set between frames.
  void set_unauthenticated(bool u) { unauthenticated_ = u; }
  static constexpr long long k_unauthenticated_multibulk = 10;
  static constexpr long long k_unauthenticated_bulk = 16384;

  /// About the frame being parsed or just ended.
  const short_text& name() const { return name_; }       // first argument, as sent
  const short_text& first_arg() const { return arg1_; }  // second argument, as sent
  std::size_t argc() const { return argc_; }
  /// True for an inline command (the proxy re-frames those: Redis accepts them as they are).
  bool is_inline() const { return inline_; }
  /// True when the frame was empty (`*0`, `*-1`, a blank inline line): Redis ignores it.
  bool is_empty() const { return argc_ == 0; }
  /// Inline commands: the arguments (allocated; inline commands are rare and short).
  const std::vector<std::string>& inline_args() const { return inline_args_; }
  /// The exact error Redis would reply, without the leading '-' and CRLF.
  const std::string& error_message() const { return error_; }
  /// Total bytes of the current frame so far.
  std::size_t frame_bytes() const { return frame_bytes_; }

 private:
  enum class state {
    start,
    mbulk_count,
    bulk_header,
    bulk_count,
    bulk_data,
    bulk_cr,
    bulk_lf,
    inline_line
  };
  parse_step fail(std::string msg, std::size_t consumed);
  void begin_frame();
  bool parse_whole(std::string_view in, std::size_t& pos);

  limits limits_;
  state st_ = state::start;
  std::string header_;  // digits of a count (bounded by the header limit)
  std::size_t argc_ = 0;
  std::size_t args_left_ = 0;
  std::size_t arg_index_ = 0;
  std::size_t bulk_left_ = 0;
  std::size_t frame_bytes_ = 0;
  bool inline_ = false;
  std::string inline_line_;
  std::vector<std::string> inline_args_;
  short_text name_;
  short_text arg1_;
  std::string error_;
  bool failed_ = false;
  bool unauthenticated_ = false;
};

class reply_parser {
 public:
  struct limits {
    std::size_t max_bulk = 512 * 1024 * 1024;
    /// Length and count lines ($, *, ...). Simple values (+, -, :, ...) have no bound: only
    /// their first bytes are kept.
    std::size_t max_line = 1024 * 1024;
    /// Nesting (9 bytes of state per level). Redis's scripts reach a few thousand at most.
    std::size_t max_depth = 1 << 16;
    std::size_t max_aggregate = 1LL << 32;
  };

  reply_parser() : reply_parser(limits{}) {}
  explicit reply_parser(limits l) : limits_(l) {}

  parse_step parse(std::string_view input);

  /// The current (or just ended) top-level frame's type byte: '+', '-', ':', '$', '*', '>', ...
  char type() const { return top_type_; }
  bool is_push() const { return top_type_ == '>'; }
  bool is_error() const { return top_type_ == '-' || top_type_ == '!'; }
  /// The first bytes of a top-level simple error ("READONLY You can't write...").
  const short_text& error_prefix() const { return error_prefix_; }
  const std::string& error_message() const { return error_; }

 private:
  enum class state { type, line, length, bulk_data, bulk_cr, bulk_lf };
  parse_step fail(std::string msg, std::size_t consumed);
  /// A complete value at the current depth: returns true when the top-level frame ended.
  bool value_done();
  bool parse_whole(std::string_view in, std::size_t& pos);

  limits limits_;
  state st_ = state::type;
  char cur_type_ = 0;
  char top_type_ = 0;
  std::string line_;  // a line being read (bounded by max_line; short in practice)
  std::size_t line_len_ = 0;
  std::size_t bulk_left_ = 0;
  std::vector<std::uint64_t> stack_;  // elements left per open aggregate
  std::vector<char> stack_types_;
  short_text error_prefix_;
  std::string error_;
  bool failed_ = false;
};

}  // namespace rsm::resp
