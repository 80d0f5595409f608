#include "rsm/lainlet/procwatcher.hpp"

#include "rsm/json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>

namespace rsm::lainlet {
namespace {

const char* type_name(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "a boolean";
    case rapidjson::kObjectType:
      return "an object";
    case rapidjson::kArrayType:
      return "an array";
    case rapidjson::kStringType:
      return "a string";
    case rapidjson::kNumberType:
      return "a number";
  }
  return "?";
}

error shape(const std::string& where, const std::string& want, const rapidjson::Value& got) {
  return error(errc::invalid_argument,
               "procwatcher data: " + where + " should be " + want + ", got " + type_name(got));
}

}  // namespace

result<std::vector<proc>> parse_procwatcher(std::string_view json) {
  rapidjson::Document doc;
  if (auto bad = rsm::json::parse(doc, json))
    return error(errc::invalid_argument, "procwatcher data is not JSON: " + *bad);
  if (!doc.IsArray()) return shape("the document", "an array of pod groups", doc);
  std::vector<proc> out;
  for (rapidjson::SizeType g = 0; g < doc.Size(); ++g) {
    const auto& group = doc[g];
    std::string where = "pod group " + std::to_string(g);
    if (!group.IsObject()) return shape(where, "an object", group);
    auto procs = group.FindMember("proc");
    if (procs == group.MemberEnd()) continue;  // a pod group without procs yet
    if (!procs->value.IsArray()) return shape(where + " \"proc\"", "an array", procs->value);
    for (rapidjson::SizeType i = 0; i < procs->value.Size(); ++i) {
      const auto& p = procs->value[i];
      std::string pw = where + " proc " + std::to_string(i);
      if (!p.IsObject()) return shape(pw, "an object", p);
      proc item;
      if (auto m = p.FindMember("ProcName"); m != p.MemberEnd()) {
        if (!m->value.IsString()) return shape(pw + " ProcName", "a string", m->value);
        item.name.assign(m->value.GetString(), m->value.GetStringLength());
      }
      if (auto m = p.FindMember("InstanceNo"); m != p.MemberEnd()) {
        if (!m->value.IsInt()) return shape(pw + " InstanceNo", "an integer", m->value);
        item.instance = m->value.GetInt();
      }
      if (auto m = p.FindMember("IP"); m != p.MemberEnd() && !m->value.IsNull()) {
        if (!m->value.IsString()) return shape(pw + " IP", "a string", m->value);
        item.ip.assign(m->value.GetString(), m->value.GetStringLength());
      }
      if (auto m = p.FindMember("Port"); m != p.MemberEnd() && !m->value.IsNull()) {
        if (!m->value.IsInt()) return shape(pw + " Port", "an integer", m->value);
        item.port = m->value.GetInt();
      }
      out.push_back(std::move(item));
    }
  }
  return out;
}

std::string to_procwatcher_json(const std::vector<proc>& procs) {
  std::map<std::string, std::vector<const proc*>> groups;
  for (const auto& p : procs) groups[p.name].push_back(&p);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartArray();
  for (const auto& [name, members] : groups) {
    w.StartObject();
    w.Key("proc");
    w.StartArray();
    for (const auto* p : members) {
      w.StartObject();
      w.Key("InstanceNo");
      w.Int(p->instance);
      w.Key("IP");
      w.String(p->ip.c_str(), static_cast<rapidjson::SizeType>(p->ip.size()));
      w.Key("Port");
      w.Int(p->port);
      w.Key("ProcName");
      w.String(p->name.c_str(), static_cast<rapidjson::SizeType>(p->name.size()));
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace rsm::lainlet
