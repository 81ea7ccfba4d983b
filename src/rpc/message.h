// ONC RPC v2 messages (RFC 5531): call header parsing, credentials, and reply headers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace manifold::rpc {

inline constexpr uint32_t kRpcVersion = 2;
inline constexpr uint32_t kMsgCall = 0;
inline constexpr uint32_t kMsgReply = 1;

// RFC 5531 section 8.2: opaque_auth bodies are at most 400 bytes.
inline constexpr uint32_t kAuthBodyBytesMax = 400;
// RFC 5531 appendix A: authsys_parms machinename<255>, gids<16>.
inline constexpr uint32_t kAuthSysMachineNameMax = 255;
inline constexpr uint32_t kAuthSysGidsMax = 16;

enum class AuthFlavor : uint32_t { kNone = 0, kSys = 1, kShort = 2, kDh = 3, kRpcSecGss = 6 };

enum class AcceptStat : uint32_t {
  kSuccess = 0,
  kProgUnavail = 1,
  kProgMismatch = 2,
  kProcUnavail = 3,
  kGarbageArgs = 4,
  kSystemErr = 5,
};

enum class AuthStat : uint32_t {
  kOk = 0,
  kBadCred = 1,
  kRejectedCred = 2,
  kBadVerf = 3,
  kRejectedVerf = 4,
  kTooWeak = 5,
};

const char* AcceptStatName(AcceptStat s);

struct AuthSys {
  uint32_t stamp = 0;
  std::string machinename;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> gids;
};

struct Credential {
  AuthFlavor flavor = AuthFlavor::kNone;
  AuthSys sys;  // meaningful when flavor == kSys
};

struct CallHeader {
  size_t bytes = 0;  // the header's length on the wire, credential included (ParseCall)
  uint32_t xid = 0;
  uint32_t rpcvers = 0;
  uint32_t prog = 0;
  uint32_t vers = 0;
  uint32_t proc = 0;
  Credential cred;
};

enum class ParseOutcome {
  kOk,
  kNotACall,     // a REPLY (backchannel) or an unknown message type; see header.xid
  kRpcMismatch,  // rpcvers != 2: answer MSG_DENIED RPC_MISMATCH
  kBadCred,      // malformed or unsupported credential: answer AUTH_ERROR AUTH_BADCRED
  kGarbage,      // too short to be a call header: dropped, nothing sensible to answer
};

// Parses a call header from a whole record. On kOk, `args` is the procedure's argument bytes.
ParseOutcome ParseCall(std::span<const uint8_t> record, CallHeader& header,
                       std::span<const uint8_t>& args);

// Reply headers. Each appends to `out` (which the caller prefixes with a record mark).
void AppendAcceptedReply(std::vector<uint8_t>& out, uint32_t xid, AcceptStat stat);
void AppendProgMismatch(std::vector<uint8_t>& out, uint32_t xid, uint32_t low, uint32_t high);
void AppendRpcMismatch(std::vector<uint8_t>& out, uint32_t xid);
void AppendAuthError(std::vector<uint8_t>& out, uint32_t xid, AuthStat stat);
// Size of the accepted-SUCCESS header that AppendAcceptedReply writes.
inline constexpr size_t kAcceptedReplyHeaderBytes = 24;

// Builds a call header (client side) for AUTH_NONE or AUTH_SYS.
void AppendCall(std::vector<uint8_t>& out, uint32_t xid, uint32_t prog, uint32_t vers,
                uint32_t proc, const Credential& cred);

// Parses a reply header (client side). On success `results` is the result body.
struct ReplyHeader {
  uint32_t xid = 0;
  bool accepted = false;
  AcceptStat accept_stat = AcceptStat::kSuccess;
  uint32_t reject_stat = 0;  // 0 RPC_MISMATCH, 1 AUTH_ERROR when !accepted
  uint32_t auth_stat = 0;
  uint32_t mismatch_low = 0, mismatch_high = 0;
};
bool ParseReply(std::span<const uint8_t> record, ReplyHeader& header,
                std::span<const uint8_t>& results);

}  // namespace manifold::rpc
