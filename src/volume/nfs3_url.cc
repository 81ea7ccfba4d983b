// Nfs3Address::Parse and ToUrl: the volume URL format is documented in nfs3_volume.h.
#include <cctype>
#include <charconv>
#include <map>
#include <string>
#include <vector>

#include "volume/nfs3_volume.h"

namespace manifold::volume {
namespace {

constexpr char kScheme[] = "nfs://";
constexpr char kUsage[] =
    "expected nfs://HOST[:PORT]/EXPORT[?dir=DIR&mountport=PORT&nfsport=PORT&uid=N&gid=N]";
// RFC 1813 leaves name length to the server; every server we know limits names to 255 bytes.
constexpr size_t kNameBytesMax = 255;
// RFC 1813 5.0: dirpath, the MOUNT argument, is at most MNTPATHLEN bytes.
constexpr size_t kExportPathBytesMax = 1024;

Status Bad(std::string_view url, const std::string& problem) {
  return Status(Code::kInvalid,
                "volume URL '" + std::string(url) + "': " + problem + "; " + kUsage);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes; false on a malformed escape or an encoded NUL.
bool PercentDecode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::string PercentEncode(std::string_view in, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    bool plain =
        std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

template <typename T>
bool ParseNumber(std::string_view s, T& value) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool ParsePort(std::string_view s, uint16_t& port) {
  uint32_t p = 0;
  if (!ParseNumber(s, p) || p == 0 || p > 65535) return false;
  port = static_cast<uint16_t>(p);
  return true;
}

// HOST[:PORT] or [IPV6][:PORT].
Status ParseAuthority(std::string_view url, std::string_view authority, Nfs3Address& a,
                      bool& explicit_port) {
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Bad(url, "unterminated '[' in the host");
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return Bad(url, "junk after ']' in the host");
    if (!rest.empty()) port = rest.substr(1);
    if (!rest.empty() && port.empty()) return Bad(url, "empty port after ':'");
  } else if (size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return Bad(url, "empty port after ':'");
  }
  if (host.empty()) return Bad(url, "no host");
  if (host.find_first_of("@%/") != std::string_view::npos)
    return Bad(url, "bad character in host '" + std::string(host) + "'");
  a.host = std::string(host);
  if (!port.empty() && !ParsePort(port, a.port))
    return Bad(url, "port '" + std::string(port) + "' is not a number from 1 to 65535");
  a.mount_port = a.port;
  explicit_port = !port.empty();
  return Status::Ok();
}

Status ParseExport(std::string_view url, std::string_view raw, Nfs3Address& a) {
  if (raw.empty()) return Bad(url, "no export path");
  if (!PercentDecode(raw, a.export_path)) return Bad(url, "bad %-escape in the export path");
  while (a.export_path.size() > 1 && a.export_path.back() == '/') a.export_path.pop_back();
  if (a.export_path.size() > kExportPathBytesMax)
    return Bad(url, "export path longer than " + std::to_string(kExportPathBytesMax) + " bytes");
  return Status::Ok();
}

Status ParseDataDir(std::string_view url, const std::string& value, Nfs3Address& a) {
  std::string dir;
  size_t start = 0;
  while (start <= value.size()) {
    size_t slash = value.find('/', start);
    if (slash == std::string::npos) slash = value.size();
    std::string part = value.substr(start, slash - start);
    start = slash + 1;
    if (part.empty()) continue;  // leading, trailing or doubled '/'
    if (part == "." || part == "..") return Bad(url, "dir may not contain '.' or '..'");
    if (part.size() > kNameBytesMax)
      return Bad(url, "dir component longer than " + std::to_string(kNameBytesMax) + " bytes");
    if (!dir.empty()) dir += '/';
    dir += part;
  }
  a.data_dir = std::move(dir);
  return Status::Ok();
}

Status ParseOption(std::string_view url, const std::string& key, const std::string& value,
                   Nfs3Address& a) {
  if (key == "dir") return ParseDataDir(url, value, a);
  if (key == "mountport") {
    if (!ParsePort(value, a.mount_port))
      return Bad(url, "mountport '" + value + "' is not a number from 1 to 65535");
    return Status::Ok();
  }
  if (key == "uid" || key == "gid") {
    uint32_t& id = key == "uid" ? a.uid : a.gid;
    if (!ParseNumber(std::string_view(value), id))
      return Bad(url, key + " '" + value + "' is not a number from 0 to 4294967295");
    return Status::Ok();
  }
  return Bad(url, "unknown option '" + key + "' (known: dir, mountport, nfsport, uid, gid)");
}

Status ParseQuery(std::string_view url, std::string_view query, bool explicit_port,
                  Nfs3Address& a) {
  std::map<std::string, std::string> seen;
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view item = query.substr(start, amp - start);
    start = amp + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      return Bad(url, "option '" + std::string(item) + "' has no '='");
    std::string key, value;
    if (!PercentDecode(item.substr(0, eq), key) || !PercentDecode(item.substr(eq + 1), value))
      return Bad(url, "bad %-escape in option '" + std::string(item) + "'");
    if (!seen.emplace(key, value).second) return Bad(url, "option '" + key + "' given twice");
  }
  // nfsport: libnfs's spelling of the NFS port (as in tools/local-cluster's DS URLs and the
  // nfs-cp/nfs-ls command lines). It must agree with a port in the authority, and sets the
  // mount port too unless mountport is given.
  if (auto np = seen.find("nfsport"); np != seen.end()) {
    uint16_t nfs_port = 0;
    if (!ParsePort(np->second, nfs_port))
      return Bad(url, "nfsport '" + np->second + "' is not a number from 1 to 65535");
    if (explicit_port && nfs_port != a.port)
      return Bad(url, "nfsport " + np->second + " disagrees with port " + std::to_string(a.port));
    a.port = a.mount_port = nfs_port;
    seen.erase(np);
  }
  // Applied in key order once all are known; mountport's default (the port) is already set.
  for (auto& [key, value] : seen) {
    if (Status s = ParseOption(url, key, value, a); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

Result<Nfs3Address> Nfs3Address::Parse(std::string_view url) {
  if (url.substr(0, sizeof(kScheme) - 1) != kScheme) return Bad(url, "not an nfs:// URL");
  if (url.find('#') != std::string_view::npos) return Bad(url, "fragments ('#') are not allowed");
  std::string_view rest = url.substr(sizeof(kScheme) - 1);
  size_t path_start = rest.find_first_of("/?");
  if (path_start == std::string_view::npos || rest[path_start] != '/')
    return Bad(url, "no export path");
  Nfs3Address a;
  bool explicit_port = false;
  if (Status s = ParseAuthority(url, rest.substr(0, path_start), a, explicit_port); !s.ok())
    return s;
  rest = rest.substr(path_start);
  size_t q = rest.find('?');
  std::string_view path = rest.substr(0, q);
  if (Status s = ParseExport(url, path, a); !s.ok()) return s;
  if (q != std::string_view::npos) {
    if (Status s = ParseQuery(url, rest.substr(q + 1), explicit_port, a); !s.ok()) return s;
  }
  return a;
}

std::string Nfs3Address::ToUrl() const {
  std::string url = kScheme;
  url += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  url += ":" + std::to_string(port) + PercentEncode(export_path, true);
  std::vector<std::string> options;
  if (!data_dir.empty()) options.push_back("dir=" + PercentEncode(data_dir, true));
  if (mount_port != port) options.push_back("mountport=" + std::to_string(mount_port));
  if (uid != 0) options.push_back("uid=" + std::to_string(uid));
  if (gid != 0) options.push_back("gid=" + std::to_string(gid));
  for (size_t i = 0; i < options.size(); ++i) url += (i == 0 ? "?" : "&") + options[i];
  return url;
}

}  // namespace manifold::volume
