// COMPOUND builder and result view for the project's NFSv4.1/4.2 client (protocol tests, the
// benchmark tool, the CLI).
//
//   CompoundBuilder c;
//   c.PutFh(dir).Open(OpenArgs::Create(owner, "f", AttrSet{.mode = 0644})).GetFh();
//   auto res = client.Run(c);                 // Nfs4Client prepends SEQUENCE
//   EXPECT_TRUE(res->ok()) << res->Describe();  // "SEQUENCE OK, PUTFH OK, OPEN NFS4ERR_EXIST"
//
// Ownership: the builder copies every argument (names, handles, data) into its own Arena, so
// the caller's buffers may go away once a helper returns. The rpcgen structs it holds point
// into that arena and stay valid for the builder's lifetime. Raw() is the exception: the op is
// copied shallowly, so whatever it points to must outlive the builder (allocate it from
// arena() to be safe).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "nfs4client/arena.h"
#include "nfs4client/attrs.h"
#include "rpc/xdr_codec.h"
#include "xdr/nfs4.h"

namespace manifold::nfs4client {

// RFC 8881 16.2.3: a COMPOUND carries at most this many ops in our XDR (and the server may
// advertise fewer in ca_maxoperations).
inline constexpr size_t kCompoundOpsMax = MANIFOLD_NFS4_COMPOUND_OPS_MAX;

using FileHandle = std::vector<uint8_t>;
using Verifier = std::array<uint8_t, NFS4_VERIFIER_SIZE>;
using SessionId = std::array<uint8_t, NFS4_SESSIONID_SIZE>;
using DeviceId = std::array<uint8_t, NFS4_DEVICEID4_SIZE>;

// RFC 8881 8.2.3 special stateids.
stateid4 AnonymousStateid();  // all zeros
stateid4 BypassStateid();     // all ones: READ may bypass locks and share reservations
stateid4 CurrentStateid();    // seqid 1, other zero: "the current stateid" (16.2.3.1.2)
bool SameStateid(const stateid4& a, const stateid4& b);
std::string StateidString(const stateid4& s);  // "seqid:hex-other" for messages

// An open-owner or lock-owner (state_owner4).
struct StateOwner {
  clientid4 clientid = 0;
  std::string owner{};
};

// OPEN's openflag4: no create, or one of the four create modes (RFC 8881 18.16.3).
struct OpenHow {
  opentype4 type = OPEN4_NOCREATE;
  createmode4 mode = UNCHECKED4;
  AttrSet attrs{};      // UNCHECKED4, GUARDED4, EXCLUSIVE4_1
  Verifier verifier{};  // EXCLUSIVE4, EXCLUSIVE4_1

  static OpenHow NoCreate() { return {}; }
  static OpenHow Unchecked(AttrSet a) { return {OPEN4_CREATE, UNCHECKED4, std::move(a), {}}; }
  static OpenHow Guarded(AttrSet a) { return {OPEN4_CREATE, GUARDED4, std::move(a), {}}; }
  static OpenHow Exclusive(Verifier v) { return {OPEN4_CREATE, EXCLUSIVE4, {}, v}; }
  static OpenHow Exclusive41(Verifier v, AttrSet a) {
    return {OPEN4_CREATE, EXCLUSIVE4_1, std::move(a), v};
  }
};

// OPEN's open_claim4: every claim type of RFC 8881 18.16.
struct OpenClaim {
  open_claim_type4 type = CLAIM_NULL;
  std::string name{};                                        // NULL, DELEGATE_CUR, DELEGATE_PREV
  open_delegation_type4 delegate_type = OPEN_DELEGATE_NONE;  // PREVIOUS
  stateid4 delegate_stateid{};                               // DELEGATE_CUR, DELEG_CUR_FH

  static OpenClaim Null(std::string n) { return {CLAIM_NULL, std::move(n), {}, {}}; }
  static OpenClaim Previous(open_delegation_type4 t) { return {CLAIM_PREVIOUS, {}, t, {}}; }
  static OpenClaim DelegateCur(stateid4 s, std::string n) {
    return {CLAIM_DELEGATE_CUR, std::move(n), {}, s};
  }
  static OpenClaim DelegatePrev(std::string n) {
    return {CLAIM_DELEGATE_PREV, std::move(n), {}, {}};
  }
  static OpenClaim Fh() { return {CLAIM_FH, {}, {}, {}}; }
  static OpenClaim DelegCurFh(stateid4 s) { return {CLAIM_DELEG_CUR_FH, {}, {}, s}; }
  static OpenClaim DelegPrevFh() { return {CLAIM_DELEG_PREV_FH, {}, {}, {}}; }
};

struct OpenArgs {
  seqid4 seqid = 0;  // RFC 8881 18.16.3: ignored by NFSv4.1 servers
  uint32_t share_access = OPEN4_SHARE_ACCESS_BOTH;
  uint32_t share_deny = OPEN4_SHARE_DENY_NONE;
  StateOwner owner{};
  OpenHow how{};
  OpenClaim claim{};

  // CLAIM_NULL of an existing `name` in the current filehandle (a directory).
  static OpenArgs Existing(StateOwner owner, std::string name,
                           uint32_t access = OPEN4_SHARE_ACCESS_BOTH);
  // CLAIM_NULL, OPEN4_CREATE UNCHECKED4 with `attrs`.
  static OpenArgs Create(StateOwner owner, std::string name, AttrSet attrs);
};

// fore/back channel attributes of CREATE_SESSION (RFC 8881 18.36).
struct ChannelAttrs {
  uint32_t headerpadsize = 0;
  uint32_t maxrequestsize = 0;
  uint32_t maxresponsesize = 0;
  uint32_t maxresponsesize_cached = 0;
  uint32_t maxoperations = 0;
  uint32_t maxrequests = 0;
};

struct ExchangeIdArgs {
  std::string owner_id{};  // co_ownerid
  Verifier verifier{};     // co_verifier: changes when the client "reboots"
  uint32_t flags = 0;      // EXCHGID4_FLAG_*
  // nfs_impl_id4 (RFC 8881 18.35.3); sent when name is not empty.
  std::string impl_domain = "manifold.invalid";
  std::string impl_name = "manifold-nfs4client";
};

struct CreateSessionArgs {
  clientid4 clientid = 0;
  sequenceid4 sequence = 0;  // eir_sequenceid from EXCHANGE_ID
  uint32_t flags = 0;        // CREATE_SESSION4_FLAG_*
  ChannelAttrs fore{};
  ChannelAttrs back{};
  uint32_t cb_program = NFS4_CALLBACK;
  // Callback security: AUTH_SYS with these ids when set, else AUTH_NONE.
  std::optional<std::pair<uint32_t, uint32_t>> cb_sys_uid_gid{};
  std::string cb_machine_name = "manifold";
};

struct ReaddirArgs {
  nfs_cookie4 cookie = 0;
  Verifier cookieverf{};
  uint32_t dircount = 8192;
  uint32_t maxcount = 32768;
  Bitmap attrs{};
};

struct LayoutGetArgs {
  bool signal_layout_avail = false;
  layouttype4 layout_type = LAYOUT4_FLEX_FILES;
  layoutiomode4 iomode = LAYOUTIOMODE4_READ;
  uint64_t offset = 0;
  uint64_t length = NFS4_UINT64_MAX;
  uint64_t minlength = 0;
  stateid4 stateid{};
  uint32_t maxcount = 65536;
};

struct LayoutReturnArgs {
  bool reclaim = false;
  layouttype4 layout_type = LAYOUT4_FLEX_FILES;
  layoutiomode4 iomode = LAYOUTIOMODE4_ANY;
  layoutreturn_type4 return_type = LAYOUTRETURN4_FILE;
  uint64_t offset = 0;                // LAYOUTRETURN4_FILE only
  uint64_t length = NFS4_UINT64_MAX;  // LAYOUTRETURN4_FILE only
  stateid4 stateid{};                 // LAYOUTRETURN4_FILE only
  std::vector<uint8_t> body{};        // lrf_body (flexfile: ff_layoutreturn4)
};

struct LayoutCommitArgs {
  uint64_t offset = 0;
  uint64_t length = NFS4_UINT64_MAX;
  bool reclaim = false;
  stateid4 stateid{};
  std::optional<uint64_t> last_write_offset{};
  std::optional<nfstime4> time_modify{};
  layouttype4 layout_type = LAYOUT4_FLEX_FILES;
  std::vector<uint8_t> update_body{};  // lou_body
};

class CompoundBuilder {
 public:
  explicit CompoundBuilder(std::string_view tag = {});
  CompoundBuilder(CompoundBuilder&&) = default;
  CompoundBuilder& operator=(CompoundBuilder&&) = default;

  // Session and client ops (RFC 8881 18.35-18.51).
  CompoundBuilder& Sequence(const SessionId& id, sequenceid4 seq, slotid4 slot,
                            slotid4 highest_slot, bool cachethis = false);
  CompoundBuilder& ExchangeId(const ExchangeIdArgs& a);
  CompoundBuilder& CreateSession(const CreateSessionArgs& a);
  CompoundBuilder& DestroySession(const SessionId& id);
  CompoundBuilder& DestroyClientid(clientid4 id);
  CompoundBuilder& BindConnToSession(const SessionId& id, channel_dir_from_client4 dir,
                                     bool rdma = false);
  CompoundBuilder& ReclaimComplete(bool one_fs = false);
  CompoundBuilder& TestStateid(std::span<const stateid4> stateids);
  CompoundBuilder& FreeStateid(const stateid4& s);

  // Filehandles and names.
  CompoundBuilder& PutRootFh();
  CompoundBuilder& PutPubFh();
  CompoundBuilder& PutFh(std::span<const uint8_t> fh);
  CompoundBuilder& GetFh();
  CompoundBuilder& SaveFh();
  CompoundBuilder& RestoreFh();
  CompoundBuilder& Lookup(std::string_view name);
  CompoundBuilder& LookupP();
  CompoundBuilder& GetAttr(const Bitmap& attrs);
  CompoundBuilder& SetAttr(const stateid4& s, const AttrSet& attrs);
  CompoundBuilder& Verify(const AttrSet& attrs);
  CompoundBuilder& NVerify(const AttrSet& attrs);
  CompoundBuilder& Access(uint32_t access);
  CompoundBuilder& Secinfo(std::string_view name);
  CompoundBuilder& SecinfoNoName(secinfo_style4 style = SECINFO_STYLE4_CURRENT_FH);

  // Namespace changes. CREATE makes everything but regular files (use OPEN for those).
  CompoundBuilder& CreateDir(std::string_view name, const AttrSet& attrs = {});
  CompoundBuilder& CreateSymlink(std::string_view name, std::string_view target,
                                 const AttrSet& attrs = {});
  // NF4BLK and NF4CHR use `dev`; NF4SOCK and NF4FIFO ignore it.
  CompoundBuilder& CreateDevice(std::string_view name, nfs_ftype4 type, specdata4 dev = {},
                                const AttrSet& attrs = {});
  CompoundBuilder& Remove(std::string_view name);
  CompoundBuilder& Rename(std::string_view oldname, std::string_view newname);  // SAVEFH = src
  CompoundBuilder& Link(std::string_view newname);  // SAVEFH = the object, current = dir
  CompoundBuilder& Readdir(const ReaddirArgs& a);
  CompoundBuilder& Readlink();

  // Opens, locks and I/O.
  CompoundBuilder& Open(const OpenArgs& a);
  CompoundBuilder& OpenDowngrade(const stateid4& s, uint32_t share_access, uint32_t share_deny,
                                 seqid4 seqid = 0);
  CompoundBuilder& Close(const stateid4& s, seqid4 seqid = 0);
  CompoundBuilder& DelegReturn(const stateid4& s);
  // LOCK by a new lock-owner (open_to_lock_owner4) or by an existing lock stateid.
  CompoundBuilder& LockNew(nfs_lock_type4 type, uint64_t offset, uint64_t length,
                           const stateid4& open_stateid, const StateOwner& lock_owner,
                           bool reclaim = false);
  CompoundBuilder& LockExisting(nfs_lock_type4 type, uint64_t offset, uint64_t length,
                                const stateid4& lock_stateid, bool reclaim = false);
  CompoundBuilder& LockT(nfs_lock_type4 type, uint64_t offset, uint64_t length,
                         const StateOwner& lock_owner);
  CompoundBuilder& LockU(nfs_lock_type4 type, const stateid4& lock_stateid, uint64_t offset,
                         uint64_t length, seqid4 seqid = 0);
  CompoundBuilder& Read(const stateid4& s, uint64_t offset, uint32_t count);
  CompoundBuilder& Write(const stateid4& s, uint64_t offset, std::span<const uint8_t> data,
                         stable_how4 stable = FILE_SYNC4);
  CompoundBuilder& Commit(uint64_t offset = 0, uint32_t count = 0);

  // pNFS (RFC 8881 18.40-18.44).
  CompoundBuilder& LayoutGet(const LayoutGetArgs& a);
  CompoundBuilder& GetDeviceInfo(const DeviceId& id, layouttype4 type, uint32_t maxcount = 65536,
                                 const Bitmap& notify = {});
  CompoundBuilder& LayoutReturn(const LayoutReturnArgs& a);
  CompoundBuilder& LayoutCommit(const LayoutCommitArgs& a);

  // NFSv4.2 (RFC 7862) and extended attributes (RFC 8276).
  CompoundBuilder& Seek(const stateid4& s, uint64_t offset, data_content4 what);
  CompoundBuilder& Allocate(const stateid4& s, uint64_t offset, uint64_t length);
  // COPY within the server (no source server): from the saved filehandle to the current one.
  CompoundBuilder& Copy(const stateid4& src, const stateid4& dst, uint64_t src_offset,
                        uint64_t dst_offset, uint64_t count, bool synchronous = true);
  CompoundBuilder& Deallocate(const stateid4& s, uint64_t offset, uint64_t length);
  CompoundBuilder& ReadPlus(const stateid4& s, uint64_t offset, uint32_t count);
  CompoundBuilder& GetXattr(std::string_view name);
  CompoundBuilder& SetXattr(std::string_view name, std::span<const uint8_t> value,
                            setxattr_option4 option = SETXATTR4_EITHER);
  CompoundBuilder& ListXattrs(nfs_cookie4 cookie = 0, uint32_t maxcount = 65536);
  CompoundBuilder& RemoveXattr(std::string_view name);

  // Escape hatch: any op, as the caller filled it (see the ownership note above).
  CompoundBuilder& Raw(const nfs_argop4& op);
  Arena& arena() { return *arena_; }

  // Overrides the minor version the sender would use (e.g. to provoke
  // NFS4ERR_MINOR_VERS_MISMATCH).
  void set_minor_version(uint32_t v) { minor_version_ = v; }
  std::optional<uint32_t> minor_version() const { return minor_version_; }

  size_t size() const { return ops_.size(); }
  nfs_opnum4 op(size_t i) const { return ops_[i].argop; }
  const nfs_argop4& at(size_t i) const { return ops_[i]; }
  const std::string& tag() const { return tag_; }

  // Appends the XDR of COMPOUND4args {tag, minor_version, [first,] ops...} to `out`. `first`
  // (may be null) goes before the builder's ops: Nfs4Client passes its SEQUENCE there.
  // Errors: kInvalid when the result cannot be encoded (over an XDR bound: too many ops, a
  // name or WRITE over its limit).
  Status Encode(std::vector<uint8_t>& out, uint32_t minor_version,
                const nfs_argop4* first = nullptr) const;

 private:
  nfs_argop4& Add(nfs_opnum4 op);
  component4 Component(std::string_view s);
  fattr4 Fattr(const AttrSet& attrs);
  bitmap4 BitmapArg(const Bitmap& b);
  CompoundBuilder& Create(std::string_view name, const createtype4& type, const AttrSet& attrs);
  void FillOpenHow(openflag4& flag, const OpenHow& how);
  void FillOpenClaim(open_claim4& claim, const OpenClaim& c);

  std::string tag_;
  std::optional<uint32_t> minor_version_;
  std::vector<nfs_argop4> ops_;
  std::unique_ptr<Arena> arena_;  // boxed: ops_ point into it and the builder is movable
};

struct DirEntry {
  nfs_cookie4 cookie = 0;
  std::string name{};
  Attrs attrs;
};

// The decoded COMPOUND4res. Movable, not copyable; owns the decoded memory.
class CompoundResult {
 public:
  CompoundResult(CompoundResult&&) = default;
  CompoundResult& operator=(CompoundResult&&) = default;

  // Decodes a COMPOUND4res from RPC results. Errors: kCorruption.
  static Result<CompoundResult> Decode(std::span<const uint8_t> results);

  nfsstat4 status() const { return res().status; }
  bool ok() const { return status() == NFS4_OK; }
  size_t size() const { return res().resarray.resarray_len; }
  const nfs_resop4& at(size_t i) const { return res().resarray.resarray_val[i]; }
  nfs_opnum4 op(size_t i) const { return at(i).resop; }
  nfsstat4 op_status(size_t i) const;
  std::string tag() const;

  // The nth result (0 = first) of `op`, or null if the compound did not get that far.
  const nfs_resop4* Find(nfs_opnum4 op, size_t nth = 0) const;
  // The status of the nth `op`; nullopt if the compound did not get that far.
  std::optional<nfsstat4> StatusOf(nfs_opnum4 op, size_t nth = 0) const;
  // The first failed op's status, or NFS4_OK.
  nfsstat4 FirstError() const;

  // Typed results: null unless the nth such op is present and returned NFS4_OK.
  const SEQUENCE4resok* Sequence(size_t nth = 0) const;
  const EXCHANGE_ID4resok* ExchangeId(size_t nth = 0) const;
  const CREATE_SESSION4resok* CreateSession(size_t nth = 0) const;
  const BIND_CONN_TO_SESSION4resok* BindConnToSession(size_t nth = 0) const;
  const TEST_STATEID4resok* TestStateid(size_t nth = 0) const;
  const GETFH4resok* GetFh(size_t nth = 0) const;
  const GETATTR4resok* GetAttr(size_t nth = 0) const;
  const SETATTR4res* SetAttr(size_t nth = 0) const;  // attrsset is meaningful on failure too
  const ACCESS4resok* Access(size_t nth = 0) const;
  const SECINFO4resok* Secinfo(size_t nth = 0) const;
  const SECINFO4resok* SecinfoNoName(size_t nth = 0) const;
  const CREATE4resok* Create(size_t nth = 0) const;
  const REMOVE4resok* Remove(size_t nth = 0) const;
  const RENAME4resok* Rename(size_t nth = 0) const;
  const LINK4resok* Link(size_t nth = 0) const;
  const READDIR4resok* Readdir(size_t nth = 0) const;
  const READLINK4resok* Readlink(size_t nth = 0) const;
  const OPEN4resok* Open(size_t nth = 0) const;
  const OPEN_DOWNGRADE4resok* OpenDowngrade(size_t nth = 0) const;
  const stateid4* Close(size_t nth = 0) const;
  const LOCK4resok* Lock(size_t nth = 0) const;
  const LOCK4denied* LockDenied(size_t nth = 0) const;   // LOCK that got NFS4ERR_DENIED
  const LOCK4denied* LockTDenied(size_t nth = 0) const;  // LOCKT that got NFS4ERR_DENIED
  const stateid4* LockU(size_t nth = 0) const;
  const READ4resok* Read(size_t nth = 0) const;
  const WRITE4resok* Write(size_t nth = 0) const;
  const COMMIT4resok* Commit(size_t nth = 0) const;
  const LAYOUTGET4resok* LayoutGet(size_t nth = 0) const;
  const GETDEVICEINFO4resok* GetDeviceInfo(size_t nth = 0) const;
  const layoutreturn_stateid* LayoutReturn(size_t nth = 0) const;
  const LAYOUTCOMMIT4resok* LayoutCommit(size_t nth = 0) const;
  const seek_res4* Seek(size_t nth = 0) const;
  const COPY4resok* Copy(size_t nth = 0) const;
  const read_plus_res4* ReadPlus(size_t nth = 0) const;
  const xattrvalue4* GetXattr(size_t nth = 0) const;
  const change_info4* SetXattr(size_t nth = 0) const;
  const LISTXATTRS4resok* ListXattrs(size_t nth = 0) const;
  const change_info4* RemoveXattr(size_t nth = 0) const;

  // Copies out of the typed results: empty/nullopt when absent.
  FileHandle Fh(size_t nth = 0) const;
  std::optional<Attrs> Attributes(size_t nth = 0) const;
  std::vector<uint8_t> ReadData(size_t nth = 0) const;
  std::vector<DirEntry> Entries(size_t nth = 0) const;

  // "SEQUENCE OK, PUTFH OK, OPEN NFS4ERR_SHARE_DENIED"; an empty result array shows the
  // compound status alone.
  std::string Describe() const;

 private:
  CompoundResult() = default;
  const COMPOUND4res& res() const { return **res_; }
  const nfs_resop4* FindOk(nfs_opnum4 op, size_t nth) const;
  std::unique_ptr<rpc::XdrDecoded<COMPOUND4res>> res_;
};

// The status in any nfs_resop4: every resN4res begins with an nfsstat4 (RFC 8881 16.2.2).
nfsstat4 ResopStatus(const nfs_resop4& r);

}  // namespace manifold::nfs4client
