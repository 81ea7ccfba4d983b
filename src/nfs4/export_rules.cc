#include "nfs4/export_rules.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/check.h"

namespace manifold::nfs4 {

namespace {

// ::ffff:a.b.c.d: an IPv4 client on a dual-stack socket.
constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

uint32_t MaxPrefix(const IpAddress& a) { return a.v6 ? 128 : 32; }

// Bit `i` (0 = the most significant of the first byte) of the address.
bool Bit(const IpAddress& a, uint32_t i) { return (a.bytes[i / 8] >> (7 - i % 8)) & 1; }

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  std::string s(text.substr(0, text.find('%')));  // a zone ("%eth0") does not change the network
  IpAddress a;
  if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
  a.v6 = true;
  if (std::memcmp(a.bytes.data(), kV4MappedPrefix, sizeof kV4MappedPrefix) == 0) {
    IpAddress v4;
    std::memcpy(v4.bytes.data(), a.bytes.data() + 12, 4);
    return v4;
  }
  return a;
}

std::optional<IpAddress> IpAddress::FromPeer(std::string_view peer) {
  size_t colon = peer.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = peer.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return Parse(host);
}

Result<Network> Network::Parse(std::string_view cidr) {
  const std::string quoted = "'" + std::string(cidr) + "'";
  size_t slash = cidr.find('/');
  auto address = IpAddress::Parse(cidr.substr(0, slash));
  if (!address || cidr.substr(0, slash).find('%') != std::string_view::npos) {
    return Status(Code::kInvalid,
                  quoted + " is not an IPv4 or IPv6 network (10.0.0.0/8, fd00::/8)");
  }
  Network n;
  n.address = *address;
  n.prefix_bits = MaxPrefix(n.address);
  if (slash != std::string_view::npos) {
    std::string_view digits = cidr.substr(slash + 1);
    uint32_t bits = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
        bits > MaxPrefix(n.address)) {
      return Status(Code::kInvalid, quoted + ": the prefix length must be 0.." +
                                        std::to_string(MaxPrefix(n.address)));
    }
    n.prefix_bits = bits;
  }
  for (uint32_t i = n.prefix_bits; i < MaxPrefix(n.address); ++i) {
    if (!Bit(n.address, i)) continue;
    Network fixed = n;
    for (uint32_t j = n.prefix_bits; j < MaxPrefix(n.address); ++j) {
      fixed.address.bytes[j / 8] &= uint8_t(~(0x80u >> (j % 8)));
    }
    return Status(Code::kInvalid, quoted + " has address bits set past its /" +
                                      std::to_string(n.prefix_bits) + " prefix; write '" +
                                      fixed.ToString() + "'");
  }
  return n;
}

bool Network::Contains(const IpAddress& a) const {
  if (a.v6 != address.v6) return false;
  for (uint32_t i = 0; i < prefix_bits; ++i) {
    if (Bit(a, i) != Bit(address, i)) return false;
  }
  return true;
}

std::string Network::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(address.v6 ? AF_INET6 : AF_INET, address.bytes.data(), text, sizeof text);
  return std::string(text) + "/" + std::to_string(prefix_bits);
}

bool ExportRule::Allows(rpc::AuthFlavor flavor) const {
  return std::find(flavors.begin(), flavors.end(), flavor) != flavors.end();
}

ExportRules ExportRules::Everyone(bool read_only, bool root_squash, bool allow_auth_none) {
  std::vector<ExportRule> rules;
  for (const char* all : {"0.0.0.0/0", "::/0"}) {
    ExportRule r;
    r.network = Network::Parse(all).value();
    r.read_only = read_only;
    r.root_squash = root_squash;
    if (allow_auth_none) r.flavors.push_back(rpc::AuthFlavor::kNone);
    rules.push_back(std::move(r));
  }
  return ExportRules(std::move(rules));
}

ExportRules::ExportRules(std::vector<ExportRule> rules) : rules_(std::move(rules)) {
  MANIFOLD_CHECK(rules_.size() <= kExportRulesMax);
  std::stable_sort(rules_.begin(), rules_.end(), [](const ExportRule& a, const ExportRule& b) {
    return a.network.prefix_bits > b.network.prefix_bits;
  });
}

const ExportRule* ExportRules::Match(std::string_view peer) const {
  auto address = IpAddress::FromPeer(peer);
  if (!address) return nullptr;
  for (const ExportRule& r : rules_) {
    if (r.network.Contains(*address)) return &r;
  }
  return nullptr;
}

}  // namespace manifold::nfs4
