// The op table: one row per NFSv4.1/4.2 operation (RFC 8881 section 18, RFC 7862 section 15,
// RFC 8276). A null handler answers NFS4ERR_NOTSUPP; docs/protocol.md says why for each.
#include "nfs4/compound.h"
#include "nfs4/ops/ops.h"

namespace manifold::nfs4 {

namespace {

constexpr uint32_t kFh = kNeedsCurrentFh;
constexpr uint32_t kIn = kInline;
constexpr uint32_t kCo = kCommits | kChangesState;
constexpr uint32_t kCh = kChangesState;
constexpr uint32_t kSt = kStateOnly;
constexpr uint32_t kRo = kReadOnly;

struct Row {
  uint32_t opnum;
  OpInfo info;
};

// Sorted by opnum; FindOp indexes a dense array built from it.
constexpr Row kRows[] = {
    {OP_ACCESS, {"ACCESS", ops::Access, kFh | kIn | kRo}},
    {OP_CLOSE, {"CLOSE", ops::Close, kFh | kCo | kSt}},
    {OP_COMMIT, {"COMMIT", ops::Commit, kFh}},
    {OP_CREATE, {"CREATE", ops::Create, kFh | kCo}},
    {OP_DELEGPURGE, {"DELEGPURGE", nullptr, 0}},  // no CLAIM_DELEGATE_PREV (RFC 8881 18.5)
    {OP_DELEGRETURN, {"DELEGRETURN", ops::DelegReturn, kFh | kIn | kCh | kSt}},
    {OP_GETATTR, {"GETATTR", ops::GetAttr, kFh | kIn | kRo}},
    {OP_GETFH, {"GETFH", ops::GetFh, kFh | kIn | kSt | kRo}},
    {OP_LINK, {"LINK", ops::Link, kFh | kCo}},
    {OP_LOCK, {"LOCK", ops::Lock, kFh | kIn | kCh}},
    {OP_LOCKT, {"LOCKT", ops::LockT, kFh | kIn | kSt}},
    {OP_LOCKU, {"LOCKU", ops::LockU, kFh | kIn | kCh | kSt}},
    {OP_LOOKUP, {"LOOKUP", ops::Lookup, kFh | kIn | kRo}},
    {OP_LOOKUPP, {"LOOKUPP", ops::LookupP, kFh | kIn | kRo}},
    {OP_NVERIFY, {"NVERIFY", ops::NVerify, kFh | kIn | kRo}},
    {OP_OPEN, {"OPEN", ops::Open, kFh | kCo}},
    {OP_OPENATTR, {"OPENATTR", nullptr, 0}},  // no named attributes (RFC 8881 5.3)
    {OP_OPEN_CONFIRM, {"OPEN_CONFIRM", nullptr, kMinor0Only}},
    {OP_OPEN_DOWNGRADE, {"OPEN_DOWNGRADE", ops::OpenDowngrade, kFh | kIn | kCh | kSt}},
    {OP_PUTFH, {"PUTFH", ops::PutFh, kIn | kSt | kRo}},
    // The public filehandle is the root (RFC 8881 18.20).
    {OP_PUTPUBFH, {"PUTPUBFH", ops::PutRootFh, kIn | kSt | kRo}},
    {OP_PUTROOTFH, {"PUTROOTFH", ops::PutRootFh, kIn | kSt | kRo}},
    {OP_READ, {"READ", ops::Read, kFh | kRo}},
    {OP_READDIR, {"READDIR", ops::ReadDir, kFh | kIn | kRo}},
    {OP_READLINK, {"READLINK", ops::ReadLink, kFh | kIn | kRo}},
    {OP_REMOVE, {"REMOVE", ops::Remove, kFh | kCo}},
    {OP_RENAME, {"RENAME", ops::Rename, kFh | kCo}},
    {OP_RENEW, {"RENEW", nullptr, kMinor0Only}},
    {OP_RESTOREFH, {"RESTOREFH", ops::RestoreFh, kIn | kSt | kRo}},
    {OP_SAVEFH, {"SAVEFH", ops::SaveFh, kFh | kIn | kSt | kRo}},
    {OP_SECINFO, {"SECINFO", ops::SecInfo, kFh | kIn | kRo}},
    {OP_SETATTR, {"SETATTR", ops::SetAttr, kFh | kCo}},
    {OP_SETCLIENTID, {"SETCLIENTID", nullptr, kMinor0Only}},
    {OP_SETCLIENTID_CONFIRM, {"SETCLIENTID_CONFIRM", nullptr, kMinor0Only}},
    {OP_VERIFY, {"VERIFY", ops::Verify, kFh | kIn | kRo}},
    {OP_WRITE, {"WRITE", ops::Write, kFh | kCh}},
    {OP_RELEASE_LOCKOWNER, {"RELEASE_LOCKOWNER", nullptr, kMinor0Only}},
    {OP_BACKCHANNEL_CTL, {"BACKCHANNEL_CTL", ops::BackchannelCtl, 0}},
    {OP_BIND_CONN_TO_SESSION, {"BIND_CONN_TO_SESSION", ops::BindConnToSession, kSessionless}},
    {OP_EXCHANGE_ID, {"EXCHANGE_ID", ops::ExchangeId, kSessionless}},
    {OP_CREATE_SESSION, {"CREATE_SESSION", ops::CreateSession, kSessionless}},
    {OP_DESTROY_SESSION, {"DESTROY_SESSION", ops::DestroySession, kSessionless}},
    {OP_FREE_STATEID, {"FREE_STATEID", ops::FreeStateid, kIn | kCh | kSt}},
    {OP_GET_DIR_DELEGATION, {"GET_DIR_DELEGATION", nullptr, 0}},  // optional (RFC 8881 18.39)
    // pNFS layout operations arrive with the layout issue (DESIGN.md section 4).
    {OP_GETDEVICEINFO, {"GETDEVICEINFO", nullptr, 0}},
    {OP_GETDEVICELIST, {"GETDEVICELIST", nullptr, kFh}},
    {OP_LAYOUTCOMMIT, {"LAYOUTCOMMIT", nullptr, kFh}},
    {OP_LAYOUTGET, {"LAYOUTGET", nullptr, kFh}},
    {OP_LAYOUTRETURN, {"LAYOUTRETURN", nullptr, 0}},
    {OP_SECINFO_NO_NAME, {"SECINFO_NO_NAME", ops::SecInfoNoName, kFh | kIn | kRo}},
    {OP_SEQUENCE, {"SEQUENCE", ops::Sequence, kIn | kSt | kRo}},
    {OP_SET_SSV, {"SET_SSV", nullptr, 0}},  // SP4_SSV is not offered (RFC 8881 18.47)
    {OP_TEST_STATEID, {"TEST_STATEID", ops::TestStateid, kIn | kSt}},
    {OP_WANT_DELEGATION, {"WANT_DELEGATION", nullptr, 0}},  // optional (RFC 8881 18.49)
    {OP_DESTROY_CLIENTID, {"DESTROY_CLIENTID", ops::DestroyClientId, kSessionless}},
    {OP_RECLAIM_COMPLETE, {"RECLAIM_COMPLETE", ops::ReclaimComplete, kCh}},
    // NFSv4.2 (RFC 7862): COPY within this server, synchronous (ops/copy.cc); asynchronous
    // and inter-server copies, advice, WRITE_SAME and CLONE are not served.
    {OP_ALLOCATE, {"ALLOCATE", ops::Allocate, kFh | kMinor2 | kCh}},
    {OP_COPY, {"COPY", ops::Copy, kFh | kMinor2 | kCh}},
    {OP_COPY_NOTIFY, {"COPY_NOTIFY", nullptr, kFh | kMinor2}},  // no inter-server copy
    {OP_DEALLOCATE, {"DEALLOCATE", ops::Deallocate, kFh | kMinor2 | kCh}},
    {OP_IO_ADVISE, {"IO_ADVISE", nullptr, kFh | kMinor2}},
    {OP_LAYOUTERROR, {"LAYOUTERROR", nullptr, kFh | kMinor2}},
    {OP_LAYOUTSTATS, {"LAYOUTSTATS", nullptr, kFh | kMinor2}},
    {OP_OFFLOAD_CANCEL, {"OFFLOAD_CANCEL", nullptr, kFh | kMinor2}},
    {OP_OFFLOAD_STATUS, {"OFFLOAD_STATUS", nullptr, kFh | kMinor2}},
    {OP_READ_PLUS, {"READ_PLUS", ops::ReadPlus, kFh | kMinor2 | kRo}},
    {OP_SEEK, {"SEEK", ops::Seek, kFh | kMinor2 | kRo}},
    {OP_WRITE_SAME, {"WRITE_SAME", nullptr, kFh | kMinor2}},
    {OP_CLONE, {"CLONE", nullptr, kFh | kMinor2}},
    // RFC 8276 extended attributes.
    {OP_GETXATTR, {"GETXATTR", ops::GetXattr, kFh | kMinor2 | kIn | kRo}},
    {OP_SETXATTR, {"SETXATTR", ops::SetXattr, kFh | kMinor2 | kCo}},
    {OP_LISTXATTRS, {"LISTXATTRS", ops::ListXattrs, kFh | kMinor2 | kIn | kRo}},
    {OP_REMOVEXATTR, {"REMOVEXATTR", ops::RemoveXattr, kFh | kMinor2 | kCo}},
};

constexpr uint32_t kOpnumMax = OP_REMOVEXATTR;

struct Table {
  OpInfo by_opnum[kOpnumMax + 1] = {};
  constexpr Table() {
    for (const Row& row : kRows) by_opnum[row.opnum] = row.info;
  }
};

constexpr Table kTable;

}  // namespace

const OpInfo* FindOp(uint32_t opnum) {
  if (opnum > kOpnumMax || kTable.by_opnum[opnum].name == nullptr) return nullptr;
  return &kTable.by_opnum[opnum];
}

const char* OpName(uint32_t opnum) {
  const OpInfo* info = FindOp(opnum);
  return info ? info->name : "ILLEGAL";
}

}  // namespace manifold::nfs4
