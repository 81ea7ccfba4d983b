// CompoundResult: the decoded COMPOUND4res and typed access to each op's result.
#include <cstring>

#include "nfs4client/compound.h"
#include "nfs4client/names.h"

namespace manifold::nfs4client {

// READDIR entries are a linked list; a hostile reply could be very long. The record bound
// (rpc::Client's record_bytes_max) limits it first; this is a second, explicit bound.
inline constexpr size_t kReaddirEntriesMax = 1 << 20;

nfsstat4 ResopStatus(const nfs_resop4& r) {
  // Every arm of the union is a struct whose first member is the op's nfsstat4, so the first
  // bytes of the union are the status whichever arm the decoder filled.
  nfsstat4 status;
  std::memcpy(&status, &r.nfs_resop4_u, sizeof status);
  return status;
}

Result<CompoundResult> CompoundResult::Decode(std::span<const uint8_t> results) {
  CompoundResult r;
  r.res_ = std::make_unique<rpc::XdrDecoded<COMPOUND4res>>(xdrproc_t(xdr_COMPOUND4res));
  if (!r.res_->Decode(results)) {
    return Status(Code::kCorruption,
                  "cannot decode COMPOUND4res (" + std::to_string(results.size()) + " bytes)");
  }
  return r;
}

nfsstat4 CompoundResult::op_status(size_t i) const { return ResopStatus(at(i)); }

std::string CompoundResult::tag() const {
  return std::string(res().tag.utf8string_val, res().tag.utf8string_len);
}

const nfs_resop4* CompoundResult::Find(nfs_opnum4 op, size_t nth) const {
  for (size_t i = 0; i < size(); i++) {
    if (at(i).resop == op && nth-- == 0) return &at(i);
  }
  return nullptr;
}

std::optional<nfsstat4> CompoundResult::StatusOf(nfs_opnum4 op, size_t nth) const {
  const nfs_resop4* r = Find(op, nth);
  if (!r) return std::nullopt;
  return ResopStatus(*r);
}

nfsstat4 CompoundResult::FirstError() const {
  for (size_t i = 0; i < size(); i++) {
    if (op_status(i) != NFS4_OK) return op_status(i);
  }
  return status();
}

const nfs_resop4* CompoundResult::FindOk(nfs_opnum4 op, size_t nth) const {
  const nfs_resop4* r = Find(op, nth);
  return r && ResopStatus(*r) == NFS4_OK ? r : nullptr;
}

// One line per typed accessor: the union arm and the path to its success body.
#define RESULT(Type, Name, OP, path)                   \
  const Type* CompoundResult::Name(size_t nth) const { \
    const nfs_resop4* r = FindOk(OP, nth);             \
    return r ? &r->nfs_resop4_u.path : nullptr;        \
  }
RESULT(SEQUENCE4resok, Sequence, OP_SEQUENCE, opsequence.SEQUENCE4res_u.sr_resok4)
RESULT(EXCHANGE_ID4resok, ExchangeId, OP_EXCHANGE_ID, opexchange_id.EXCHANGE_ID4res_u.eir_resok4)
RESULT(CREATE_SESSION4resok, CreateSession, OP_CREATE_SESSION,
       opcreate_session.CREATE_SESSION4res_u.csr_resok4)
RESULT(BIND_CONN_TO_SESSION4resok, BindConnToSession, OP_BIND_CONN_TO_SESSION,
       opbind_conn_to_session.BIND_CONN_TO_SESSION4res_u.bctsr_resok4)
RESULT(TEST_STATEID4resok, TestStateid, OP_TEST_STATEID,
       optest_stateid.TEST_STATEID4res_u.tsr_resok4)
RESULT(GETFH4resok, GetFh, OP_GETFH, opgetfh.GETFH4res_u.resok4)
RESULT(GETATTR4resok, GetAttr, OP_GETATTR, opgetattr.GETATTR4res_u.resok4)
RESULT(ACCESS4resok, Access, OP_ACCESS, opaccess.ACCESS4res_u.resok4)
RESULT(SECINFO4resok, Secinfo, OP_SECINFO, opsecinfo.SECINFO4res_u.resok4)
RESULT(SECINFO4resok, SecinfoNoName, OP_SECINFO_NO_NAME, opsecinfo_no_name.SECINFO4res_u.resok4)
RESULT(CREATE4resok, Create, OP_CREATE, opcreate.CREATE4res_u.resok4)
RESULT(REMOVE4resok, Remove, OP_REMOVE, opremove.REMOVE4res_u.resok4)
RESULT(RENAME4resok, Rename, OP_RENAME, oprename.RENAME4res_u.resok4)
RESULT(LINK4resok, Link, OP_LINK, oplink.LINK4res_u.resok4)
RESULT(READDIR4resok, Readdir, OP_READDIR, opreaddir.READDIR4res_u.resok4)
RESULT(READLINK4resok, Readlink, OP_READLINK, opreadlink.READLINK4res_u.resok4)
RESULT(OPEN4resok, Open, OP_OPEN, opopen.OPEN4res_u.resok4)
RESULT(OPEN_DOWNGRADE4resok, OpenDowngrade, OP_OPEN_DOWNGRADE,
       opopen_downgrade.OPEN_DOWNGRADE4res_u.resok4)
RESULT(stateid4, Close, OP_CLOSE, opclose.CLOSE4res_u.open_stateid)
RESULT(LOCK4resok, Lock, OP_LOCK, oplock.LOCK4res_u.resok4)
RESULT(stateid4, LockU, OP_LOCKU, oplocku.LOCKU4res_u.lock_stateid)
RESULT(READ4resok, Read, OP_READ, opread.READ4res_u.resok4)
RESULT(WRITE4resok, Write, OP_WRITE, opwrite.WRITE4res_u.resok4)
RESULT(COMMIT4resok, Commit, OP_COMMIT, opcommit.COMMIT4res_u.resok4)
RESULT(LAYOUTGET4resok, LayoutGet, OP_LAYOUTGET, oplayoutget.LAYOUTGET4res_u.logr_resok4)
RESULT(GETDEVICEINFO4resok, GetDeviceInfo, OP_GETDEVICEINFO,
       opgetdeviceinfo.GETDEVICEINFO4res_u.gdir_resok4)
RESULT(layoutreturn_stateid, LayoutReturn, OP_LAYOUTRETURN,
       oplayoutreturn.LAYOUTRETURN4res_u.lorr_stateid)
RESULT(LAYOUTCOMMIT4resok, LayoutCommit, OP_LAYOUTCOMMIT,
       oplayoutcommit.LAYOUTCOMMIT4res_u.locr_resok4)
RESULT(seek_res4, Seek, OP_SEEK, opseek.SEEK4res_u.resok4)
RESULT(COPY4resok, Copy, OP_COPY, opcopy.COPY4res_u.cr_resok4)
RESULT(read_plus_res4, ReadPlus, OP_READ_PLUS, opread_plus.READ_PLUS4res_u.rp_resok4)
RESULT(xattrvalue4, GetXattr, OP_GETXATTR, opgetxattr.GETXATTR4res_u.gxr_value)
RESULT(change_info4, SetXattr, OP_SETXATTR, opsetxattr.SETXATTR4res_u.sxr_info)
RESULT(LISTXATTRS4resok, ListXattrs, OP_LISTXATTRS, oplistxattrs.LISTXATTRS4res_u.lxr_value)
RESULT(change_info4, RemoveXattr, OP_REMOVEXATTR, opremovexattr.REMOVEXATTR4res_u.rxr_info)
#undef RESULT

const SETATTR4res* CompoundResult::SetAttr(size_t nth) const {
  const nfs_resop4* r = Find(OP_SETATTR, nth);
  return r ? &r->nfs_resop4_u.opsetattr : nullptr;
}

const LOCK4denied* CompoundResult::LockDenied(size_t nth) const {
  const nfs_resop4* r = Find(OP_LOCK, nth);
  if (!r || ResopStatus(*r) != NFS4ERR_DENIED) return nullptr;
  return &r->nfs_resop4_u.oplock.LOCK4res_u.denied;
}

const LOCK4denied* CompoundResult::LockTDenied(size_t nth) const {
  const nfs_resop4* r = Find(OP_LOCKT, nth);
  if (!r || ResopStatus(*r) != NFS4ERR_DENIED) return nullptr;
  return &r->nfs_resop4_u.oplockt.LOCKT4res_u.denied;
}

FileHandle CompoundResult::Fh(size_t nth) const {
  const GETFH4resok* r = GetFh(nth);
  if (!r) return {};
  auto* p = reinterpret_cast<const uint8_t*>(r->object.nfs_fh4_val);
  return FileHandle(p, p + r->object.nfs_fh4_len);
}

std::optional<Attrs> CompoundResult::Attributes(size_t nth) const {
  const GETATTR4resok* r = GetAttr(nth);
  if (!r) return std::nullopt;
  return DecodeAttrs(r->obj_attributes);
}

std::vector<uint8_t> CompoundResult::ReadData(size_t nth) const {
  const READ4resok* r = Read(nth);
  if (!r) return {};
  auto* p = reinterpret_cast<const uint8_t*>(r->data.data_val);
  return std::vector<uint8_t>(p, p + r->data.data_len);
}

std::vector<DirEntry> CompoundResult::Entries(size_t nth) const {
  std::vector<DirEntry> out;
  const READDIR4resok* r = Readdir(nth);
  if (!r) return out;
  for (const entry4* e = r->reply.entries; e && out.size() < kReaddirEntriesMax; e = e->nextentry) {
    DirEntry d;
    d.cookie = e->cookie;
    d.name.assign(e->name.utf8string_val, e->name.utf8string_len);
    d.attrs = DecodeAttrs(e->attrs);
    out.push_back(std::move(d));
  }
  return out;
}

std::string CompoundResult::Describe() const {
  std::string out;
  for (size_t i = 0; i < size(); i++) {
    if (!out.empty()) out += ", ";
    out += Nfs4OpName(op(i));
    out += ' ';
    out += op_status(i) == NFS4_OK ? "OK" : Nfs4StatName(op_status(i));
  }
  // RFC 8881 15.2: the compound status is the last op's; say so when it is not (for example
  // NFS4ERR_MINOR_VERS_MISMATCH with no results).
  if (size() == 0 || op_status(size() - 1) != status()) {
    if (!out.empty()) out += ", ";
    out += std::string("COMPOUND ") + Nfs4StatName(status());
  }
  return out;
}

}  // namespace manifold::nfs4client
