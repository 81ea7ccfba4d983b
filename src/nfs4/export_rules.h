// Export rules per client network. Each rule names a client network in CIDR form (IPv4 or IPv6),
// whether clients there may write, whether their root is squashed, and the RPC auth flavors they
// may use. A call is judged by the address of the connection it came on: the rule with the most
// specific network that holds the address applies, and a client in no rule's network is refused
// (docs/protocol.md, "Export rules"). Immutable once built; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "rpc/message.h"

namespace manifold::nfs4 {

// Rules in one configuration: each is matched against every call, one after another.
inline constexpr size_t kExportRulesMax = 1024;

// An IPv4 or IPv6 address. IPv4 clients on a dual-stack socket (::ffff:a.b.c.d) are IPv4.
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4: the first 4

  // "address:port" as rpc::CallContext::peer gives it ("10.1.2.3:700", "fd00::1:700",
  // "[fd00::1]:700", "fe80::1%eth0:700"); nullopt when it is not one.
  static std::optional<IpAddress> FromPeer(std::string_view peer);
  static std::optional<IpAddress> Parse(std::string_view text);  // without a port
  bool operator==(const IpAddress&) const = default;
};

// A client network, "10.0.0.0/8" or "fd00::/8"; an address alone is a network of one host.
struct Network {
  IpAddress address;  // no bits set past the prefix
  uint32_t prefix_bits = 0;

  // Errors (kInvalid) say what is wrong and, for host bits past the prefix, what to write.
  static Result<Network> Parse(std::string_view cidr);
  bool Contains(const IpAddress& a) const;
  std::string ToString() const;
  bool operator==(const Network&) const = default;
};

struct ExportRule {
  Network network;
  bool read_only = false;
  bool root_squash = false;
  // In order of preference, as SECINFO lists them. Only AUTH_SYS and AUTH_NONE are served.
  std::vector<rpc::AuthFlavor> flavors{rpc::AuthFlavor::kSys};

  bool Allows(rpc::AuthFlavor flavor) const;
};

class ExportRules {
 public:
  // One rule for every address (0.0.0.0/0 and ::/0) with these settings: what a configuration
  // without [[export.client]] tables means.
  static ExportRules Everyone(bool read_only, bool root_squash, bool allow_auth_none);
  // `rules` are valid and their networks distinct (the configuration checks both).
  explicit ExportRules(std::vector<ExportRule> rules);

  // The rule for a call from `peer` ("address:port"): the longest prefix that holds the
  // address. nullptr: no rule does, and the client is refused.
  const ExportRule* Match(std::string_view peer) const;
  const std::vector<ExportRule>& rules() const { return rules_; }

 private:
  std::vector<ExportRule> rules_;  // longest prefix first
};

}  // namespace manifold::nfs4
