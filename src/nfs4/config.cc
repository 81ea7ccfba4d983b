#include "nfs4/config.h"

#define TOML_EXCEPTIONS 1
#include <toml++/toml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace manifold::nfs4 {

namespace {

Status Unknown(const toml::table& t, const std::set<std::string>& known, const std::string& where) {
  for (auto&& [k, v] : t) {
    if (!known.count(std::string(k.str()))) {
      return Status(Code::kInvalid, where + ": unknown key '" + std::string(k.str()) + "'");
    }
  }
  return Status::Ok();
}

template <typename T>
Status Get(const toml::table& t, const char* key, T& out, const std::string& where) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::Ok();
  auto v = n->value<T>();
  if (!v) return Status(Code::kInvalid, where + ": '" + key + "' has the wrong type");
  out = *v;
  return Status::Ok();
}

Status ParseVolume(const toml::table& t, VolumeConfig& v, const std::string& where) {
  if (Status s = Unknown(t, {"id", "url", "labels"}, where); !s.ok()) return s;
  int64_t id = 0;
  if (Status s = Get(t, "id", id, where); !s.ok()) return s;
  if (id <= 0) return Status(Code::kInvalid, where + ": 'id' must be a positive integer");
  v.id = uint64_t(id);
  if (Status s = Get(t, "url", v.url, where); !s.ok()) return s;
  if (v.url.empty()) return Status(Code::kInvalid, where + ": 'url' is required");
  if (const toml::table* labels = t["labels"].as_table()) {
    for (auto&& [k, val] : *labels) {
      auto s = val.value<std::string>();
      if (!s) return Status(Code::kInvalid, where + ": label values are strings");
      v.labels.emplace_back(std::string(k.str()), *s);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<MdsConfig> ParseConfig(std::string_view text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << source << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return Status(Code::kInvalid, msg.str());
  }
  MdsConfig c;
  if (Status s = Unknown(root, {"server", "export", "volume"}, source); !s.ok()) return s;
  if (const toml::table* server = root["server"].as_table()) {
    std::string where = source + " [server]";
    Status s = Unknown(*server, {"listen", "meta_dir", "lease_time_s", "extent_size_bytes",
                                 "log_file", "log_level"}, where);
    int64_t lease = c.lease_time_s, extent = int64_t(c.extent_size_bytes);
    if (s.ok()) s = Get(*server, "listen", c.listen, where);
    if (s.ok()) s = Get(*server, "meta_dir", c.meta_dir, where);
    if (s.ok()) s = Get(*server, "lease_time_s", lease, where);
    if (s.ok()) s = Get(*server, "extent_size_bytes", extent, where);
    if (s.ok()) s = Get(*server, "log_file", c.log_file, where);
    if (s.ok()) s = Get(*server, "log_level", c.log_level, where);
    if (!s.ok()) return s;
    if (lease < 5 || lease > 3600) return Status(Code::kInvalid, where + ": lease_time_s must be 5..3600");
    if (extent < (1 << 20)) return Status(Code::kInvalid, where + ": extent_size_bytes must be >= 1 MiB");
    c.lease_time_s = uint32_t(lease);
    c.extent_size_bytes = uint64_t(extent);
  }
  if (const toml::table* exp = root["export"].as_table()) {
    std::string where = source + " [export]";
    Status s = Unknown(*exp, {"root_squash", "read_only", "allow_auth_none"}, where);
    if (s.ok()) s = Get(*exp, "root_squash", c.root_squash, where);
    if (s.ok()) s = Get(*exp, "read_only", c.read_only, where);
    if (s.ok()) s = Get(*exp, "allow_auth_none", c.allow_auth_none, where);
    if (!s.ok()) return s;
  }
  if (const toml::array* vols = root["volume"].as_array()) {
    std::set<uint64_t> ids;
    for (size_t i = 0; i < vols->size(); ++i) {
      std::string where = source + " [[volume]] #" + std::to_string(i + 1);
      const toml::table* t = (*vols)[i].as_table();
      if (t == nullptr) return Status(Code::kInvalid, where + ": must be a table");
      VolumeConfig v;
      if (Status s = ParseVolume(*t, v, where); !s.ok()) return s;
      if (!ids.insert(v.id).second) return Status(Code::kInvalid, where + ": duplicate id");
      c.volumes.push_back(std::move(v));
    }
  }
  if (c.meta_dir.empty()) return Status(Code::kInvalid, source + ": [server] meta_dir is required");
  return c;
}

Result<MdsConfig> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status(Code::kNotFound, "cannot read config " + path);
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

}  // namespace manifold::nfs4
