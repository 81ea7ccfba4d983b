// The NFSv4 COMPOUND procedure (RFC 8881 section 16.2): decodes operations one at a time,
// applies the rules every operation shares (op table flags), runs each operation's handler
// and encodes its result before decoding the next, so that an unknown opcode gets OP_ILLEGAL
// and an over-long compound gets NFS4ERR_TOO_MANY_OPS instead of failing the whole decode.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/identity.h"
#include "meta/schema.h"
#include "rpc/program.h"
#include "xdr/nfs4.h"

namespace manifold::nfs4 {

// The hard limit on operations in one COMPOUND, before any session limit applies.
inline constexpr uint32_t kCompoundOpsMax = MANIFOLD_NFS4_COMPOUND_OPS_MAX;
// Bytes of a COMPOUND tag (utf8str_cs).
inline constexpr uint32_t kTagBytesMax = 1024;

class Mds;  // the services operations use (namespace, state, volumes); see mds.h

using FileHandle = std::string;  // opaque handle bytes (at most NFS4_FHSIZE)

// The session slot a compound runs in, as the loop sees it (the state module implements it).
// After the last operation the loop hands the encoded COMPOUND4res to Complete, which caches
// it for retries of the same slot and sequence id (RFC 8881 2.10.6.1.3).
class SessionSlot {
 public:
  virtual ~SessionSlot() = default;
  virtual void Complete(std::span<const uint8_t> compound_reply) = 0;
  // ca_maxresponsesize of the session: a larger reply is NFS4ERR_REP_TOO_BIG.
  virtual uint64_t max_response_bytes() const = 0;
  // sa_cachethis and ca_maxresponsesize_cached: a reply that must be cached but is larger
  // than this is NFS4ERR_REP_TOO_BIG_TO_CACHE (RFC 8881 18.46.3).
  virtual uint64_t max_cached_response_bytes() const = 0;
  virtual uint32_t max_operations() const = 0;
};

// State carried from one operation of a COMPOUND to the next.
struct ExportRule;  // export_rules.h

struct CompoundContext {
  CompoundContext(const rpc::CallContext& call_in, Mds& mds_in, rpc::Arena& arena_in)
      : call(call_in), mds(mds_in), arena(arena_in) {}

  const rpc::CallContext& call;
  Mds& mds;
  rpc::Arena& arena;  // memory for results until they are encoded
  const ExportRule* export_rule = nullptr;  // the caller's (set before any operation runs)
  Identity id;  // the caller under its export rule
  uint32_t minorversion = 0;
  size_t op_index = 0;  // of the operation running now
  size_t op_count = 0;  // as the client declared
  uint64_t request_bytes = 0;  // of the whole call
  // Of the reply so far (the RPC reply header, the COMPOUND header and the results before this
  // operation's): with the slot's max_response_bytes, what room an operation's result has
  // (GETXATTR, LISTXATTRS, READ_PLUS, READDIR).
  uint64_t reply_bytes = 0;
  // Set by an operation that knows how many bytes its result encodes to (READDIR): the result
  // is then encoded in one pass (rpc::XdrEncode with a room guess). Reset after each operation.
  size_t result_bytes = 0;
  std::optional<FileHandle> current_fh;
  std::optional<FileHandle> saved_fh;
  // RFC 8881 16.2.3.1.2: the current stateid, set by operations that return a stateid.
  std::optional<stateid4> current_stateid;
  std::optional<stateid4> saved_stateid;
  // The inode LOOKUP or LOOKUPP just read for the new current filehandle. Only the operation
  // right after it may use it instead of reading it again (GETATTR after LOOKUP: a stat), as
  // if it had run a moment earlier; nothing else can have changed it within the compound.
  std::optional<meta::Inode> looked_up;
  size_t looked_up_op = 0;  // op_index of the LOOKUP that set it
  FileHandle looked_up_fh;  // its handle: an operation that puts another one does not use it
  // Set by SEQUENCE: the slot this compound runs in, and its session's client.
  std::unique_ptr<SessionSlot> slot;
  uint64_t clientid = 0;
  std::array<uint8_t, NFS4_SESSIONID_SIZE> sessionid{};
  // Set by SEQUENCE when the request is a retry of the slot's last one: the loop answers
  // with these bytes, byte for byte, and runs nothing.
  std::optional<std::vector<uint8_t>> replay;
};

// A handler fills `res` (its arm of nfs_resop4, status included) and returns the status.
using OpHandler = nfsstat4 (*)(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res);

enum OpFlags : uint32_t {
  kNeedsCurrentFh = 1u << 0,  // NFS4ERR_NOFILEHANDLE without a current filehandle
  kSessionless = 1u << 1,     // may start a compound without SEQUENCE (and then be alone)
  kMinor2 = 1u << 2,          // introduced in NFSv4.2
  kMinor0Only = 1u << 3,      // NFSv4.0 operations that 4.1 made illegal (RFC 8881 16.2.3)
  // Reads cached namespace or in-memory state only: no sync, no volume I/O, no wait on a
  // client. A COMPOUND of such operations alone runs on the I/O thread (CompoundRunsInline).
  kInline = 1u << 4,
  // Commits namespace changes but touches no volume and waits on no client: runs on the I/O
  // thread too when commits do not wait for their sync (deferred durability; the reply waits
  // for it instead, rpc::ReplyGate).
  kCommits = 1u << 5,
  // Changes state (the namespace, opens, locks, delegations, data): under sa_cachethis it runs
  // only if its result surely fits the cached reply size, since NFS4ERR_REP_TOO_BIG_TO_CACHE
  // must mean it was not done (RFC 8881 2.10.6.4). Its result is small (under
  // kStateChangeResultBytesMax); results that can be large (READ, READDIR, GETATTR) only read.
  kChangesState = 1u << 6,
  // Its result rests on the current filehandle and on in-memory state only (sessions, opens,
  // locks, delegations), never on a namespace record, and it grants no state: a COMPOUND of
  // only such operations that succeeds is answered without waiting for the namespace's next
  // sync (rpc::ReplyGate), since it tells the client of no change a crash could take back. A
  // failed one waits as every other reply does: an error may rest on such a change. OPEN and
  // LOCK grant state and wait: a grant may rest on a client record dropped or marked unable to
  // reclaim (lease expiry, the end of grace, RFC 8881 8.4.3), which must be durable before a
  // conflicting grant is told, or a restart would let the old owner reclaim over it.
  kStateOnly = 1u << 7,
  // Changes nothing in the namespace, and its result rests only on namespace records it reads
  // (through the Kv, which notes the last change to each: meta::ReadMarks), on volume data it
  // reached through such records (READ; docs/schema.md, "Change marks"), on its arguments,
  // the compound's filehandles, the session and state that tells of no namespace change (a
  // GETATTR's NFS4ERR_DELAY while a delegation is recalled): a COMPOUND of only such operations
  // waits for the changes to what it read, not for every change made before it. One that fails
  // in an operation that also carries kStateOnly (SEQUENCE, PUTFH, GETFH, ...) waits for
  // everything, as before.
  kReadOnly = 1u << 8,
};

// The most bytes the result of a kChangesState operation takes (OPEN with a delegation and an
// attribute bitmap is under 200).
inline constexpr size_t kStateChangeResultBytesMax = 512;

struct OpInfo {
  const char* name = nullptr;  // nullptr: not an operation number
  OpHandler handler = nullptr;  // nullptr: NFS4ERR_NOTSUPP (see docs/protocol.md)
  uint32_t flags = 0;
};

// Whether a COMPOUND may run on the I/O thread that read it: every one of its operations
// carries kInline, or kCommits while the namespace defers durability (and GETATTR only while
// no client holds a write delegation, which may need a CB_GETATTR answer that arrives on an
// I/O thread; OPEN and SETATTR only without a size, which cuts data on a volume). Decodes the
// operations to look at them and changes nothing; anything it cannot decode goes to the
// worker pool, which answers it.
bool CompoundRunsInline(std::span<const uint8_t> args, const Mds& mds);

// The op table; entries by nfs_opnum4 (3..75).
const OpInfo* FindOp(uint32_t opnum);
const char* OpName(uint32_t opnum);

// RFC 8881 16.2.3.1.2: the special stateid "current" (seqid 1, other all zero) means the
// compound's current stateid; replaces it in place (NFS4ERR_BAD_STATEID when there is none).
nfsstat4 ResolveCurrentStateid(const CompoundContext& ctx, stateid4& stateid);

// Sets the status of any result arm: every nfs_resop4 arm starts with its nfsstat4.
void SetResultStatus(nfs_resop4& res, nfsstat4 status);

// Runs a whole COMPOUND call: `args` are the procedure's argument bytes, the COMPOUND4res is
// appended to `out`. Returns kGarbageArgs only when not even the header decodes.
rpc::AcceptStat RunCompound(const rpc::CallContext& call, Mds& mds,
                            std::span<const uint8_t> args, std::vector<uint8_t>& out);

}  // namespace manifold::nfs4
