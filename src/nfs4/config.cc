#include "nfs4/config.h"

#define TOML_EXCEPTIONS 1
#include <toml++/toml.h>

#include <algorithm>
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

// One [[export.client]] table: network (required), access "rw" | "ro" (default rw),
// root_squash (default false), auth: flavors in order of preference (default ["sys"]).
Status ParseClientRule(const toml::table& t, ExportRule& rule, const std::string& where) {
  if (Status s = Unknown(t, {"network", "access", "root_squash", "auth"}, where); !s.ok()) return s;
  std::string network, access = "rw";
  if (Status s = Get(t, "network", network, where); !s.ok()) return s;
  if (network.empty()) return Status(Code::kInvalid, where + ": 'network' is required");
  auto parsed = Network::Parse(network);
  if (!parsed.ok()) return Status(Code::kInvalid, where + ": network " + parsed.status().message());
  rule.network = *parsed;
  if (Status s = Get(t, "access", access, where); !s.ok()) return s;
  if (access != "rw" && access != "ro") {
    return Status(Code::kInvalid, where + ": access is \"rw\" or \"ro\", not \"" + access + "\"");
  }
  rule.read_only = access == "ro";
  if (Status s = Get(t, "root_squash", rule.root_squash, where); !s.ok()) return s;
  if (const toml::node* auth = t.get("auth")) {
    const toml::array* list = auth->as_array();
    if (list == nullptr || list->empty()) {
      return Status(Code::kInvalid,
                    where + ": auth is a list of flavors: [\"sys\"], [\"sys\", \"none\"]");
    }
    rule.flavors.clear();
    for (const toml::node& n : *list) {
      std::optional<std::string> name = n.value<std::string>();
      rpc::AuthFlavor flavor;
      if (name == "sys") {
        flavor = rpc::AuthFlavor::kSys;
      } else if (name == "none") {
        flavor = rpc::AuthFlavor::kNone;
      } else {
        return Status(Code::kInvalid, where + ": auth flavor \"" + name.value_or("?") +
                                          "\" is not served (\"sys\" or \"none\")");
      }
      if (rule.Allows(flavor)) return Status(Code::kInvalid, where + ": auth lists a flavor twice");
      rule.flavors.push_back(flavor);
    }
  }
  return Status::Ok();
}

// [export]: either [[export.client]] tables, or the three keys that apply to every client.
Status ParseExport(const toml::table& exp, MdsConfig& c, const std::string& source) {
  std::string where = source + " [export]";
  if (Status s = Unknown(exp, {"root_squash", "read_only", "allow_auth_none", "client"}, where);
      !s.ok()) {
    return s;
  }
  const toml::node* clients = exp.get("client");
  if (clients == nullptr) {
    bool root_squash = false, read_only = false, allow_auth_none = true;
    Status s = Get(exp, "root_squash", root_squash, where);
    if (s.ok()) s = Get(exp, "read_only", read_only, where);
    if (s.ok()) s = Get(exp, "allow_auth_none", allow_auth_none, where);
    if (!s.ok()) return s;
    c.export_rules = ExportRules::Everyone(read_only, root_squash, allow_auth_none).rules();
    return Status::Ok();
  }
  static constexpr std::pair<const char*, const char*> kInstead[] = {
      {"root_squash", "root_squash = true"},
      {"read_only", "access = \"ro\""},
      {"allow_auth_none", "auth = [\"sys\", \"none\"]"}};
  for (auto [key, instead] : kInstead) {
    if (exp.get(key) != nullptr) {
      return Status(Code::kInvalid, where + ": '" + key + "' applies to every client and cannot " +
                                        "be combined with [[export.client]] tables; write " +
                                        instead + " in each table that needs it instead");
    }
  }
  const toml::array* list = clients->as_array();
  if (list == nullptr || list->empty() || !list->is_array_of_tables()) {
    return Status(Code::kInvalid, where + ": client must be [[export.client]] tables");
  }
  if (list->size() > kExportRulesMax) {
    return Status(Code::kInvalid, where + ": more than " + std::to_string(kExportRulesMax) +
                                      " [[export.client]] tables");
  }
  c.export_rules.clear();
  for (size_t i = 0; i < list->size(); ++i) {
    std::string at = source + " [[export.client]] #" + std::to_string(i + 1);
    ExportRule rule;
    if (Status s = ParseClientRule(*(*list)[i].as_table(), rule, at); !s.ok()) return s;
    auto same = [&](const ExportRule& r) { return r.network == rule.network; };
    if (std::any_of(c.export_rules.begin(), c.export_rules.end(), same)) {
      return Status(Code::kInvalid, at + ": network " + rule.network.ToString() +
                                        " has a rule already");
    }
    c.export_rules.push_back(std::move(rule));
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
                                 "log_file", "log_level", "commit", "io_spin_us"}, where);
    int64_t lease = c.lease_time_s, extent = int64_t(c.extent_size_bytes);
    int64_t spin = c.io_spin_us;
    if (s.ok()) s = Get(*server, "listen", c.listen, where);
    if (s.ok()) s = Get(*server, "meta_dir", c.meta_dir, where);
    if (s.ok()) s = Get(*server, "lease_time_s", lease, where);
    if (s.ok()) s = Get(*server, "extent_size_bytes", extent, where);
    if (s.ok()) s = Get(*server, "log_file", c.log_file, where);
    if (s.ok()) s = Get(*server, "log_level", c.log_level, where);
    std::string commit = c.commit_deferred ? "deferred" : "synced";
    if (s.ok()) s = Get(*server, "commit", commit, where);
    if (s.ok()) s = Get(*server, "io_spin_us", spin, where);
    if (!s.ok()) return s;
    if (commit != "deferred" && commit != "synced") {
      return Status(Code::kInvalid, where + ": commit must be \"deferred\" or \"synced\"");
    }
    c.commit_deferred = commit == "deferred";
    if (lease < 5 || lease > 3600) return Status(Code::kInvalid, where + ": lease_time_s must be 5..3600");
    if (extent < (1 << 20)) return Status(Code::kInvalid, where + ": extent_size_bytes must be >= 1 MiB");
    if (spin < 0 || spin > int64_t(rpc::kIoSpinUsMax)) {
      return Status(Code::kInvalid,
                    where + ": io_spin_us must be 0.." + std::to_string(rpc::kIoSpinUsMax));
    }
    c.lease_time_s = uint32_t(lease);
    c.io_spin_us = uint32_t(spin);
    c.extent_size_bytes = uint64_t(extent);
  }
  c.export_rules = ExportRules::Everyone(false, false, true).rules();
  if (const toml::node* exp = root.get("export")) {
    if (!exp->is_table()) return Status(Code::kInvalid, source + ": export must be a table");
    if (Status s = ParseExport(*exp->as_table(), c, source); !s.ok()) return s;
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
