// Small value types shared by the state tables.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "xdr/nfs4.h"

namespace manifold::state {

// The caller's name for one transport connection (one TCP connection of the RPC layer). The state
// module never looks inside; the MDS uses it to find the connection to send callbacks on.
using ConnectionId = uint64_t;

// A sessionid4 as a value type (the XDR type is a C array).
using SessionId = std::array<uint8_t, NFS4_SESSIONID_SIZE>;

inline SessionId ToSessionId(const sessionid4 id) {
  SessionId out;
  std::memcpy(out.data(), id, out.size());
  return out;
}
inline void CopySessionId(const SessionId& id, sessionid4 out) {
  std::memcpy(out, id.data(), id.size());
}

// A verifier4 as a value type.
using Verifier = std::array<uint8_t, NFS4_VERIFIER_SIZE>;

inline Verifier ToVerifier(const verifier4 v) {
  Verifier out;
  std::memcpy(out.data(), v, out.size());
  return out;
}

// The value of an XDR enum field as the decoder stored it. xdr_enum writes any 32-bit value a
// peer sends; reading one outside the C++ enum's range through the enum type is undefined
// behaviour, so fields a peer controls are read as integers.
template <typename E>
inline uint32_t RawEnum(const E& field) {
  static_assert(sizeof(E) == sizeof(uint32_t));
  uint32_t v;
  std::memcpy(&v, &field, sizeof v);
  return v;
}

// Opaque bytes of an XDR variable-length opaque as a string_view (no copy).
inline std::string_view OpaqueView(const char* val, u_int len) {
  return len == 0 ? std::string_view() : std::string_view(val, len);
}

// An open-owner or lock-owner (RFC 8881 9.1.1): the client ID and the owner bytes. In NFSv4.1
// the client ID is the session's, never the one inside the XDR owner (18.16.3, 18.10.3).
struct OwnerKey {
  clientid4 clientid = 0;
  std::string owner;
  friend bool operator==(const OwnerKey&, const OwnerKey&) = default;
  friend auto operator<=>(const OwnerKey&, const OwnerKey&) = default;
};

// channel_attrs4 without the ca_rdma_ird pointer (RDMA is not supported: always empty).
struct ChannelAttrs {
  uint32_t ca_headerpadsize = 0;
  uint32_t ca_maxrequestsize = 0;
  uint32_t ca_maxresponsesize = 0;
  uint32_t ca_maxresponsesize_cached = 0;
  uint32_t ca_maxoperations = 0;
  uint32_t ca_maxrequests = 0;
};

inline ChannelAttrs FromXdr(const channel_attrs4& a) {
  return ChannelAttrs{a.ca_headerpadsize,          a.ca_maxrequestsize, a.ca_maxresponsesize,
                      a.ca_maxresponsesize_cached, a.ca_maxoperations,  a.ca_maxrequests};
}
inline channel_attrs4 ToXdr(const ChannelAttrs& a) {
  channel_attrs4 out{};
  out.ca_headerpadsize = a.ca_headerpadsize;
  out.ca_maxrequestsize = a.ca_maxrequestsize;
  out.ca_maxresponsesize = a.ca_maxresponsesize;
  out.ca_maxresponsesize_cached = a.ca_maxresponsesize_cached;
  out.ca_maxoperations = a.ca_maxoperations;
  out.ca_maxrequests = a.ca_maxrequests;
  out.ca_rdma_ird.ca_rdma_ird_len = 0;
  out.ca_rdma_ird.ca_rdma_ird_val = nullptr;
  return out;
}

// One callback_sec_parms4 the server can use (AUTH_NONE or AUTH_SYS), owned.
struct CallbackSec {
  uint32_t cb_secflavor = 0;  // AUTH_NONE (0) or AUTH_SYS (1)
  std::string machine_name;   // AUTH_SYS fields
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> gids;
};

}  // namespace manifold::state
