#include "rsm/proxy/command_table.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <stdexcept>

namespace rsm::proxy {
namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool same_folded(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower_b[i]) return false;
  }
  return true;
}

std::uint64_t folded_hash(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (char c : s) {
    h ^= static_cast<unsigned char>(lower(c));
    h *= 1099511628211ULL;
  }
  return h;
}

std::vector<std::string_view> fields(std::string_view line, bool tabs_only) {
  std::vector<std::string_view> out;
  std::size_t p = 0;
  while (p < line.size()) {
    if (tabs_only) {
      auto t = line.find('\t', p);
      out.push_back(line.substr(p, t == std::string_view::npos ? std::string_view::npos : t - p));
      if (t == std::string_view::npos) break;
      p = t + 1;
      continue;
    }
    while (p < line.size() && (line[p] == ' ' || line[p] == '\t')) ++p;
    if (p >= line.size()) break;
    auto e = p;
    while (e < line.size() && line[e] != ' ' && line[e] != '\t') ++e;
    out.push_back(line.substr(p, e - p));
    p = e;
    // The last column (why) is the rest of the line.
    if (out.size() == 4) {
      while (p < line.size() && (line[p] == ' ' || line[p] == '\t')) ++p;
      out.push_back(line.substr(p));
      break;
    }
  }
  return out;
}

template <class F>
void each_line(std::string_view text, F f) {
  std::size_t n = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    ++n;
    if (!line.empty() && line[0] != '#') f(line, n);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

int to_int(std::string_view s, std::size_t line) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) {
    throw std::runtime_error("command table: line " + std::to_string(line) +
                             ": not a number: " + std::string(s));
  }
  return v;
}

std::string dash_empty(std::string_view s) {
  return s == "-" ? std::string() : std::string(s);
}

route parse_route(std::string_view s, std::size_t line) {
  if (s == "shared") return route::shared;
  if (s == "pin") return route::pin;
  if (s == "local") return route::local;
  if (s == "refuse") return route::refuse;
  throw std::runtime_error("command facts: line " + std::to_string(line) + ": bad route");
}

reply_count parse_replies(std::string_view s, std::size_t line) {
  if (s == "one") return reply_count::one;
  if (s == "none") return reply_count::none;
  if (s == "stream") return reply_count::stream;
  throw std::runtime_error("command facts: line " + std::to_string(line) + ": bad replies");
}

effect parse_effect(std::string_view s, std::size_t line) {
  static const std::map<std::string_view, effect> names = {
      {"-", effect::none},          {"multi", effect::multi},     {"watch", effect::watch},
      {"exec", effect::exec},       {"unwatch", effect::unwatch}, {"sticky", effect::sticky},
      {"setname", effect::setname}, {"getname", effect::getname}, {"id", effect::id},
      {"hello", effect::hello},     {"select", effect::select},   {"reset", effect::reset},
      {"auth", effect::auth},       {"quit", effect::quit},       {"secrets", effect::secrets},
      {"info", effect::info}};
  auto it = names.find(s);
  if (it == names.end()) {
    throw std::runtime_error("command facts: line " + std::to_string(line) + ": bad effect");
  }
  return it->second;
}

}  // namespace

std::string command_info::display_name() const {
  std::string out = name;
  for (auto& c : out) {
    if (c == '|') {
      c = ' ';
    } else if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return out;
}

command_table command_table::parse(std::string_view redis_tsv, std::string_view facts_tsv) {
  command_table t;
  std::map<std::string, command_info*, std::less<>> by_name;
  auto entry = [&](std::string_view name) -> command_info& {
    auto it = by_name.find(name);
    if (it != by_name.end()) return *it->second;
    t.all_.push_back(std::make_unique<command_info>());
    auto& e = *t.all_.back();
    e.name = std::string(name);
    by_name.emplace(e.name, &e);
    return e;
  };
  each_line(redis_tsv, [&](std::string_view line, std::size_t n) {
    auto f = fields(line, true);
    if (f.size() != 9) {
      throw std::runtime_error("command table: line " + std::to_string(n) + ": 9 columns expected");
    }
    auto& e = entry(f[0]);
    e.in_redis = true;
    e.arity = to_int(f[1], n);
    e.flags = dash_empty(f[2]);
    e.first_key = to_int(f[3], n);
    e.last_key = to_int(f[4], n);
    e.key_step = to_int(f[5], n);
    e.acl_categories = dash_empty(f[6]);
    e.group = dash_empty(f[7]);
    e.since = dash_empty(f[8]);
    // Redis flags the commands that may block their connection.
    if ((',' + e.flags + ',').find(",blocking,") != std::string::npos) e.how = route::pin;
    // What a fenced proxy refuses: Redis's write commands, and the script callers that may
    // write (EVAL_RO and FCALL_RO may not).
    e.writes = (',' + e.flags + ',').find(",write,") != std::string::npos || e.name == "eval" ||
               e.name == "evalsha" || e.name == "fcall";
  });
  std::map<std::string, bool, std::less<>> has_facts;
  each_line(facts_tsv, [&](std::string_view line, std::size_t n) {
    auto f = fields(line, false);
    if (f.size() != 5) {
      throw std::runtime_error("command facts: line " + std::to_string(n) + ": 5 columns expected");
    }
    auto& e = entry(f[0]);
    e.how = parse_route(f[1], n);
    e.replies = parse_replies(f[2], n);
    e.what = parse_effect(f[3], n);
    e.why = dash_empty(f[4]);
    has_facts[e.name] = true;
  });
  // Containers, and the facts a container's row gives its subcommands without one of their own.
  for (auto& p : t.all_) {
    auto bar = p->name.find('|');
    if (bar == std::string::npos) continue;
    auto& parent = entry(p->name.substr(0, bar));
    parent.container = true;
    if (!has_facts.contains(p->name) && has_facts.contains(parent.name)) {
      p->how = parent.how;
      p->replies = parent.replies;
      p->what = parent.what;
      p->why = parent.why;
    }
  }
  std::sort(t.all_.begin(), t.all_.end(),
            [](const auto& a, const auto& b) { return a->name < b->name; });
  t.index();
  return t;
}

void command_table::index() {
  std::size_t tops = 0;
  for (const auto& p : all_) tops += p->name.find('|') == std::string::npos;
  std::size_t size = 16;
  while (size < tops * 4) size *= 2;
  slots_.assign(size, nullptr);
  sub_index_.assign(size, -1);
  for (const auto& p : all_) {
    if (p->name.find('|') != std::string::npos) continue;
    auto i = folded_hash(p->name) & (size - 1);
    while (slots_[i] != nullptr) i = (i + 1) & (size - 1);
    slots_[i] = p.get();
    if (p->container) {
      subs s{p.get(),
             {},
             p->how != route::shared || p->replies != reply_count::one || p->what != effect::none};
      auto prefix = p->name + "|";
      for (const auto& q : all_) {
        if (q->name.starts_with(prefix)) s.list.push_back(q.get());
      }
      sub_index_[i] = static_cast<int>(subs_.size());
      subs_.push_back(std::move(s));
    }
  }
}

std::size_t command_table::find_top(std::string_view name) const {
  if (name.empty() || slots_.empty()) return npos;
  auto mask = slots_.size() - 1;
  for (auto i = folded_hash(name) & mask;; i = (i + 1) & mask) {
    auto* e = slots_[i];
    if (e == nullptr) return npos;
    if (same_folded(name, e->name)) return i;
  }
}

const command_info* command_table::find(std::string_view name, std::string_view first_arg) const {
  auto i = find_top(name);
  if (i == npos) return nullptr;
  auto* top = slots_[i];
  if (!top->container || first_arg.empty()) return top;
  const auto& s = subs_[static_cast<std::size_t>(sub_index_[i])];
  auto sub_len = top->name.size() + 1;
  for (auto* sub : s.list) {
    if (same_folded(first_arg, std::string_view(sub->name).substr(sub_len))) return sub;
  }
  return s.facts_cover_all ? top : nullptr;
}

const command_table& command_table::builtin() {
  static const command_table t = parse(builtin_redis_commands(), builtin_command_facts());
  return t;
}

}  // namespace rsm::proxy
