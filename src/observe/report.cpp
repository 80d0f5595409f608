#include "rsm/observe/report.hpp"

#include "rsm/metrics/graphite.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <ctime>

namespace rsm::observe {
namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void str(json_writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void key(json_writer& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}

void str_or_null(json_writer& w, std::string_view s) {
  if (s.empty()) {
    w.Null();
  } else {
    str(w, s);
  }
}

std::string role_name(const node_state& n) {
  if (!n.reachable) return "unreachable";
  return std::string(redis::to_string(n.role.type));
}

const replica_lag* lag_of(const assessment& a, int instance) {
  for (const auto& l : a.lags) {
    if (l.instance == instance) return &l;
  }
  return nullptr;
}

std::string iso_time(std::chrono::system_clock::time_point t) {
  auto tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string human_bytes(long long b) {
  char buf[32];
  if (b >= 1LL << 30) {
    std::snprintf(buf, sizeof buf, "%.1fG", b / double(1LL << 30));
  } else if (b >= 1LL << 20) {
    std::snprintf(buf, sizeof buf, "%.1fM", b / double(1LL << 20));
  } else if (b >= 1LL << 10) {
    std::snprintf(buf, sizeof buf, "%.1fK", b / 1024.0);
  } else {
    std::snprintf(buf, sizeof buf, "%lldB", b);
  }
  return buf;
}

std::string human_duration(long long s) {
  if (s >= 86400) return std::to_string(s / 86400) + "d";
  if (s >= 3600) return std::to_string(s / 3600) + "h";
  if (s >= 60) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

std::string pad(std::string s, std::size_t w) {
  if (s.size() < w) s.resize(w, ' ');
  return s + " ";
}

}  // namespace

std::string to_json(const group_state& g, const assessment& a, const report_context& c) {
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  w.StartObject();
  key(w, "schema");
  w.Int(1);
  key(w, "observed_at");
  str(w, iso_time(g.observed_at));
  key(w, "health");
  str(w, to_string(a.level));
  key(w, "exit_code");
  w.Int(static_cast<int>(a.level));
  key(w, "reasons");
  w.StartArray();
  for (const auto& r : a.reasons) str(w, r);
  w.EndArray();
  key(w, "master_name");
  str(w, g.master_name);
  key(w, "master");
  if (a.master) {
    w.StartObject();
    key(w, "address");
    str(w, a.master->to_string());
    key(w, "instance");
    if (a.master_instance) {
      w.Int(*a.master_instance);
    } else {
      w.Null();
    }
    key(w, "source");
    str(w, a.master_source);
    key(w, "sentinels_agreeing");
    w.Int(a.sentinels_agreeing);
    w.EndObject();
  } else {
    w.Null();
  }
  key(w, "sentinels_known");
  w.Int(a.sentinels_known);
  key(w, "majority");
  w.Int(a.majority);
  key(w, "discovery");
  w.StartObject();
  key(w, "source");
  str(w, c.discovery);
  key(w, "error");
  str_or_null(w, c.discovery_error);
  w.EndObject();

  key(w, "nodes");
  w.StartArray();
  for (const auto& n : g.nodes) {
    w.StartObject();
    key(w, "instance");
    w.Int(n.instance);
    key(w, "address");
    str(w, n.addr.to_string());
    key(w, "reachable");
    w.Bool(n.reachable);
    key(w, "error");
    str_or_null(w, n.error);
    key(w, "role");
    str(w, role_name(n));
    if (n.reachable) {
      key(w, "master");
      if (n.role.is_replica()) {
        str(w, n.role.master.to_string());
      } else {
        w.Null();
      }
      key(w, "link");
      str_or_null(w, n.role.is_replica() ? n.link_status : "");
      key(w, "offset");
      w.Int64(n.repl_offset);
      const auto* lag = lag_of(a, n.instance);
      key(w, "lag_bytes");
      if (lag) {
        w.Int64(lag->bytes);
      } else {
        w.Null();
      }
      key(w, "lag_seconds");
      if (lag) {
        w.Int64(lag->seconds);
      } else {
        w.Null();
      }
      key(w, "keys");
      w.Int64(n.keys);
      key(w, "used_memory");
      w.Int64(n.used_memory);
      key(w, "clients");
      w.Int64(n.clients);
      key(w, "uptime_seconds");
      w.Int64(n.uptime_seconds);
      key(w, "run_id");
      str(w, n.run_id);
    }
    w.EndObject();
  }
  w.EndArray();

  key(w, "sentinels");
  w.StartArray();
  for (const auto& s : g.sentinels) {
    w.StartObject();
    key(w, "instance");
    w.Int(s.instance);
    key(w, "address");
    str(w, s.addr.to_string());
    key(w, "reachable");
    w.Bool(s.reachable);
    key(w, "error");
    str_or_null(w, s.error);
    if (s.reachable) {
      key(w, "monitors");
      if (s.master) {
        str(w, s.master->addr.to_string());
      } else {
        w.Null();
      }
      if (s.master) {
        key(w, "config_epoch");
        w.Int64(s.master->config_epoch);
        key(w, "quorum");
        w.Int64(s.master->quorum);
        key(w, "flags");
        w.StartArray();
        for (const auto& f : s.master->flags) str(w, f);
        w.EndArray();
        key(w, "known_replicas");
        w.Int64(static_cast<long long>(s.replicas.size()));
        key(w, "known_sentinels");
        w.Int64(static_cast<long long>(s.sentinels.size()));
      }
      key(w, "quorum_ok");
      w.Bool(s.quorum_ok);
      key(w, "quorum_text");
      str(w, s.quorum_text);
    }
    w.EndObject();
  }
  w.EndArray();

  if (!c.ctl_address.empty()) {
    key(w, "controller");
    w.StartObject();
    key(w, "address");
    str(w, c.ctl_address);
    key(w, "error");
    str_or_null(w, c.ctl_error);
    key(w, "paused");
    w.Bool(c.ctl_paused);
    key(w, "dry_run");
    w.Bool(c.ctl_dry_run);
    key(w, "last_rule");
    str(w, c.ctl_last_rule);
    w.EndObject();
  }
  if (!c.proxy_address.empty()) {
    key(w, "proxy");
    w.StartObject();
    key(w, "address");
    str(w, c.proxy_address);
    key(w, "error");
    str_or_null(w, c.proxy_error);
    key(w, "metrics");
    w.StartObject();
    if (c.proxy) {
      for (const auto& smp : c.proxy->samples) {
        if (smp.name.rfind("rsm_proxy_", 0) != 0 || !smp.labels.empty()) continue;
        key(w, smp.name);
        w.Double(smp.value);
      }
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

std::string to_table(const group_state& g, const assessment& a, const report_context& c,
                     bool color) {
  auto paint = [color](std::string s, const char* code) {
    return color ? std::string("\033[") + code + "m" + s + "\033[0m" : s;
  };
  auto health_text = std::string(to_string(a.level));
  const char* health_color = a.level == health::healthy    ? "32"
                             : a.level == health::degraded ? "33"
                                                           : "31";
  std::string out;
  out += "group " + g.master_name + ": " + paint(health_text, health_color);
  if (a.master) {
    out += "   master " + a.master->to_string();
    if (a.master_instance) out += " (instance " + std::to_string(*a.master_instance) + ")";
    out += " via " + a.master_source;
  } else {
    out += "   no master";
  }
  out += "\n";
  for (const auto& r : a.reasons) out += "  - " + r + "\n";
  out += "discovery: " + c.discovery +
         (c.discovery_error.empty() ? "" : " (" + c.discovery_error + ")") + "\n\n";

  out += pad("REDIS", 6) + pad("ADDRESS", 21) + pad("ROLE", 11) + pad("LINK", 5) +
         pad("OFFSET", 12) + pad("LAG", 12) + pad("KEYS", 9) + pad("MEMORY", 8) +
         pad("CLIENTS", 7) + "UPTIME\n";
  for (const auto& n : g.nodes) {
    std::string role = role_name(n);
    if (!n.reachable) {
      out += pad(std::to_string(n.instance), 6) + pad(n.addr.to_string(), 21) +
             paint(pad(role, 11), "31") + n.error + "\n";
      continue;
    }
    const auto* lag = lag_of(a, n.instance);
    std::string lag_text =
        lag ? std::to_string(lag->bytes) + "B/" + std::to_string(lag->seconds) + "s" : "-";
    out += pad(std::to_string(n.instance), 6) + pad(n.addr.to_string(), 21) + pad(role, 11) +
           pad(n.role.is_replica() ? n.link_status : "-", 5) +
           pad(std::to_string(n.repl_offset), 12) + pad(lag_text, 12) +
           pad(std::to_string(n.keys), 9) + pad(human_bytes(n.used_memory), 8) +
           pad(std::to_string(n.clients), 7) + human_duration(n.uptime_seconds) + "\n";
  }
  out += "\n" + pad("SENT.", 6) + pad("ADDRESS", 21) + pad("MONITORS", 21) + pad("EPOCH", 6) +
         pad("QUORUM", 7) + "FLAGS\n";
  for (const auto& s : g.sentinels) {
    if (!s.reachable) {
      out += pad(std::to_string(s.instance), 6) + pad(s.addr.to_string(), 21) +
             paint(pad("unreachable", 21), "31") + s.error + "\n";
      continue;
    }
    std::string flags;
    if (s.master) {
      for (const auto& f : s.master->flags) flags += (flags.empty() ? "" : ",") + f;
    }
    out += pad(std::to_string(s.instance), 6) + pad(s.addr.to_string(), 21) +
           pad(s.master ? s.master->addr.to_string() : "-", 21) +
           pad(s.master ? std::to_string(s.master->config_epoch) : "-", 6) +
           pad(s.quorum_ok ? "ok" : "NO", 7) + flags + "\n";
  }
  if (!c.ctl_address.empty()) {
    out += "\ncontroller " + c.ctl_address + ": ";
    if (!c.ctl_error.empty()) {
      out += c.ctl_error;
    } else {
      out += c.ctl_paused ? paint("PAUSED", "33") : std::string("running");
      if (c.ctl_dry_run) out += " (dry run)";
    }
    out += "\n";
  }
  if (!c.proxy_address.empty()) {
    out += "\nproxy " + c.proxy_address + ": ";
    if (!c.proxy_error.empty()) {
      out += c.proxy_error + "\n";
    } else if (c.proxy) {
      for (const auto& smp : c.proxy->samples) {
        if (smp.name.rfind("rsm_proxy_", 0) == 0 && smp.labels.empty()) {
          out += "\n  " + smp.name + " " + std::to_string(static_cast<long long>(smp.value));
        }
      }
      out += "\n";
    }
  }
  return out;
}

std::string graphite_payload(const group_state& g, std::string_view prefix,
                             std::chrono::system_clock::time_point now) {
  auto ts = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::string payload;
  for (const auto& n : g.nodes) {
    if (n.reachable) payload += metrics::graphite_lines(prefix, n.instance, n.info, ts);
  }
  return payload;
}

void add_metrics(metrics::exposition& e, const group_state& g, const assessment& a) {
  for (const auto& n : g.nodes) {
    metrics::labels l = {{"instance", std::to_string(n.instance)},
                         {"addr", n.addr.to_string()},
                         {"role", role_name(n)}};
    e.gauge("redis_up", "Whether the node answered ROLE and INFO", l, n.reachable ? 1 : 0);
    if (!n.reachable) continue;
    e.gauge("redis_connected_clients", "Connected clients", l, double(n.clients));
    e.gauge("redis_connected_slaves", "Connected replicas", l, double(n.connected_replicas));
    e.gauge("redis_master_repl_offset", "master_repl_offset", l,
            double(n.info.get_int("replication", "master_repl_offset").value_or(n.repl_offset)));
    e.gauge("redis_memory_used_bytes", "used_memory", l, double(n.used_memory));
    e.counter("redis_commands_processed_total", "total_commands_processed", l,
              double(n.commands_processed));
    e.gauge("redis_uptime_in_seconds", "uptime_in_seconds", l, double(n.uptime_seconds));
    e.gauge("redis_db_keys_total", "Keys in every database", l, double(n.keys));
    if (n.role.is_replica()) {
      e.gauge("redis_master_link_up", "Whether the replication link is up", l,
              n.link_status == "up" ? 1 : 0);
      e.gauge("redis_slave_repl_offset", "slave_repl_offset", l, double(n.repl_offset));
    }
  }
  for (const auto& s : g.sentinels) {
    metrics::labels l = {{"instance", std::to_string(s.instance)}, {"addr", s.addr.to_string()}};
    e.gauge("rsm_sentinel_up", "Whether the sentinel answered", l, s.reachable ? 1 : 0);
    if (s.reachable) {
      e.gauge("rsm_sentinel_monitoring", "Whether the sentinel monitors the master name", l,
              s.master ? 1 : 0);
      e.gauge("rsm_sentinel_quorum_ok", "SENTINEL CKQUORUM succeeded", l, s.quorum_ok ? 1 : 0);
    }
  }
  e.gauge("rsm_group_healthy", "1 when the group is healthy", {},
          a.level == health::healthy ? 1 : 0);
  e.gauge("rsm_group_health", "0 healthy, 1 degraded, 2 down", {},
          double(static_cast<int>(a.level)));
  e.gauge("rsm_group_master_known", "1 when a master is known", {}, a.master ? 1 : 0);
  e.gauge("rsm_group_sentinels_agreeing", "Sentinels naming the master", {}, a.sentinels_agreeing);
  e.gauge("rsm_group_sentinels_known", "Sentinels discovered", {}, a.sentinels_known);
  e.gauge("rsm_group_foreign_nodes",
          "Discovered nodes holding data of another group, left alone (docs/ctl.md)", {},
          a.foreign_nodes);
}

}  // namespace rsm::observe
