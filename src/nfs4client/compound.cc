#include "nfs4client/compound.h"

#include <cstdio>
#include <cstring>

#include "nfs4client/names.h"

namespace manifold::nfs4client {

stateid4 AnonymousStateid() { return stateid4{}; }

stateid4 BypassStateid() {
  stateid4 s;
  s.seqid = NFS4_UINT32_MAX;
  std::memset(s.other, 0xff, sizeof s.other);
  return s;
}

stateid4 CurrentStateid() {
  stateid4 s{};
  s.seqid = 1;
  return s;
}

bool SameStateid(const stateid4& a, const stateid4& b) {
  return a.seqid == b.seqid && std::memcmp(a.other, b.other, sizeof a.other) == 0;
}

std::string StateidString(const stateid4& s) {
  std::string out = std::to_string(s.seqid) + ":";
  char hex[3];
  for (char c : s.other) {
    std::snprintf(hex, sizeof hex, "%02x", uint8_t(c));
    out += hex;
  }
  return out;
}

OpenArgs OpenArgs::Existing(StateOwner owner, std::string name, uint32_t access) {
  OpenArgs a;
  a.share_access = access;
  a.owner = std::move(owner);
  a.claim = OpenClaim::Null(std::move(name));
  return a;
}

OpenArgs OpenArgs::Create(StateOwner owner, std::string name, AttrSet attrs) {
  OpenArgs a;
  a.owner = std::move(owner);
  a.how = OpenHow::Unchecked(std::move(attrs));
  a.claim = OpenClaim::Null(std::move(name));
  return a;
}

// ---- builder: storage helpers ---------------------------------------------------------------

CompoundBuilder::CompoundBuilder(std::string_view tag)
    : tag_(tag), arena_(std::make_unique<Arena>()) {}

nfs_argop4& CompoundBuilder::Add(nfs_opnum4 op) {
  nfs_argop4& a = ops_.emplace_back();
  std::memset(&a, 0, sizeof a);
  a.argop = op;
  return a;
}

component4 CompoundBuilder::Component(std::string_view s) {
  return component4{u_int(s.size()), arena_->Copy(s)};
}

bitmap4 CompoundBuilder::BitmapArg(const Bitmap& b) {
  uint32_t* words = arena_->Array<uint32_t>(b.size());
  std::copy(b.begin(), b.end(), words);
  return bitmap4{u_int(b.size()), words};
}

fattr4 CompoundBuilder::Fattr(const AttrSet& attrs) {
  std::vector<uint8_t> vals;
  Bitmap mask = attrs.Encode(vals);
  fattr4 f;
  f.attrmask = BitmapArg(mask);
  f.attr_vals = attrlist4{u_int(vals.size()), arena_->Copy(vals)};
  return f;
}

CompoundBuilder& CompoundBuilder::Raw(const nfs_argop4& op) {
  ops_.push_back(op);
  return *this;
}

Status CompoundBuilder::Encode(std::vector<uint8_t>& out, uint32_t minor_version,
                               const nfs_argop4* first) const {
  std::vector<nfs_argop4> all;  // shallow copies: the encoder only reads them
  all.reserve(ops_.size() + 1);
  if (first) all.push_back(*first);
  all.insert(all.end(), ops_.begin(), ops_.end());
  COMPOUND4args args;
  args.tag = utf8str_cs{u_int(tag_.size()), const_cast<char*>(tag_.data())};
  args.minorversion = minor_version_.value_or(minor_version);
  args.argarray.argarray_len = u_int(all.size());
  args.argarray.argarray_val = all.data();
  if (!rpc::XdrEncode(out, xdrproc_t(xdr_COMPOUND4args), &args, rpc::kXdrBytesGuess)) {
    return Status(Code::kInvalid, "cannot encode COMPOUND of " + std::to_string(all.size()) +
                                      " ops (an item over its XDR bound?)");
  }
  return Status::Ok();
}

// ---- session and client ops -----------------------------------------------------------------

CompoundBuilder& CompoundBuilder::Sequence(const SessionId& id, sequenceid4 seq, slotid4 slot,
                                           slotid4 highest_slot, bool cachethis) {
  SEQUENCE4args& a = Add(OP_SEQUENCE).nfs_argop4_u.opsequence;
  std::memcpy(a.sa_sessionid, id.data(), id.size());
  a.sa_sequenceid = seq;
  a.sa_slotid = slot;
  a.sa_highest_slotid = highest_slot;
  a.sa_cachethis = cachethis;
  return *this;
}

CompoundBuilder& CompoundBuilder::ExchangeId(const ExchangeIdArgs& in) {
  EXCHANGE_ID4args& a = Add(OP_EXCHANGE_ID).nfs_argop4_u.opexchange_id;
  std::memcpy(a.eia_clientowner.co_verifier, in.verifier.data(), in.verifier.size());
  a.eia_clientowner.co_ownerid.co_ownerid_len = u_int(in.owner_id.size());
  a.eia_clientowner.co_ownerid.co_ownerid_val = arena_->Copy(in.owner_id);
  a.eia_flags = in.flags;
  a.eia_state_protect.spa_how = SP4_NONE;
  if (!in.impl_name.empty()) {
    nfs_impl_id4* id = arena_->Array<nfs_impl_id4>(1);
    id->nii_domain = Component(in.impl_domain);
    id->nii_name = Component(in.impl_name);
    a.eia_client_impl_id.eia_client_impl_id_len = 1;
    a.eia_client_impl_id.eia_client_impl_id_val = id;
  }
  return *this;
}

namespace {

channel_attrs4 ToChannelAttrs(const ChannelAttrs& c) {
  channel_attrs4 a{};
  a.ca_headerpadsize = c.headerpadsize;
  a.ca_maxrequestsize = c.maxrequestsize;
  a.ca_maxresponsesize = c.maxresponsesize;
  a.ca_maxresponsesize_cached = c.maxresponsesize_cached;
  a.ca_maxoperations = c.maxoperations;
  a.ca_maxrequests = c.maxrequests;
  return a;
}

}  // namespace

CompoundBuilder& CompoundBuilder::CreateSession(const CreateSessionArgs& in) {
  CREATE_SESSION4args& a = Add(OP_CREATE_SESSION).nfs_argop4_u.opcreate_session;
  a.csa_clientid = in.clientid;
  a.csa_sequence = in.sequence;
  a.csa_flags = in.flags;
  a.csa_fore_chan_attrs = ToChannelAttrs(in.fore);
  a.csa_back_chan_attrs = ToChannelAttrs(in.back);
  a.csa_cb_program = in.cb_program;
  callback_sec_parms4* sec = arena_->Array<callback_sec_parms4>(1);
  sec->cb_secflavor = AUTH_NONE;
  if (in.cb_sys_uid_gid) {
    sec->cb_secflavor = AUTH_SYS;
    authsys_parms& p = sec->callback_sec_parms4_u.cbsp_sys_cred;
    p.aup_machname = arena_->CString(in.cb_machine_name);
    p.aup_uid = in.cb_sys_uid_gid->first;
    p.aup_gid = in.cb_sys_uid_gid->second;
    p.aup_gids = arena_->Array<gid_t>(0);
  }
  a.csa_sec_parms.csa_sec_parms_len = 1;
  a.csa_sec_parms.csa_sec_parms_val = sec;
  return *this;
}

CompoundBuilder& CompoundBuilder::DestroySession(const SessionId& id) {
  std::memcpy(Add(OP_DESTROY_SESSION).nfs_argop4_u.opdestroy_session.dsa_sessionid, id.data(),
              id.size());
  return *this;
}

CompoundBuilder& CompoundBuilder::DestroyClientid(clientid4 id) {
  Add(OP_DESTROY_CLIENTID).nfs_argop4_u.opdestroy_clientid.dca_clientid = id;
  return *this;
}

CompoundBuilder& CompoundBuilder::BindConnToSession(const SessionId& id,
                                                    channel_dir_from_client4 dir, bool rdma) {
  BIND_CONN_TO_SESSION4args& a = Add(OP_BIND_CONN_TO_SESSION).nfs_argop4_u.opbind_conn_to_session;
  std::memcpy(a.bctsa_sessid, id.data(), id.size());
  a.bctsa_dir = dir;
  a.bctsa_use_conn_in_rdma_mode = rdma;
  return *this;
}

CompoundBuilder& CompoundBuilder::ReclaimComplete(bool one_fs) {
  Add(OP_RECLAIM_COMPLETE).nfs_argop4_u.opreclaim_complete.rca_one_fs = one_fs;
  return *this;
}

CompoundBuilder& CompoundBuilder::TestStateid(std::span<const stateid4> stateids) {
  stateid4* copy = arena_->Array<stateid4>(stateids.size());
  std::copy(stateids.begin(), stateids.end(), copy);
  auto& list = Add(OP_TEST_STATEID).nfs_argop4_u.optest_stateid.ts_stateids;
  list.ts_stateids_len = u_int(stateids.size());
  list.ts_stateids_val = copy;
  return *this;
}

CompoundBuilder& CompoundBuilder::FreeStateid(const stateid4& s) {
  Add(OP_FREE_STATEID).nfs_argop4_u.opfree_stateid.fsa_stateid = s;
  return *this;
}

// ---- filehandles, names, attributes ---------------------------------------------------------

CompoundBuilder& CompoundBuilder::PutRootFh() {
  Add(OP_PUTROOTFH);
  return *this;
}

CompoundBuilder& CompoundBuilder::PutPubFh() {
  Add(OP_PUTPUBFH);
  return *this;
}

CompoundBuilder& CompoundBuilder::PutFh(std::span<const uint8_t> fh) {
  char* copy = arena_->Copy(fh);
  Add(OP_PUTFH).nfs_argop4_u.opputfh.object = nfs_fh4{u_int(fh.size()), copy};
  return *this;
}

CompoundBuilder& CompoundBuilder::GetFh() {
  Add(OP_GETFH);
  return *this;
}

CompoundBuilder& CompoundBuilder::SaveFh() {
  Add(OP_SAVEFH);
  return *this;
}

CompoundBuilder& CompoundBuilder::RestoreFh() {
  Add(OP_RESTOREFH);
  return *this;
}

CompoundBuilder& CompoundBuilder::Lookup(std::string_view name) {
  component4 c = Component(name);
  Add(OP_LOOKUP).nfs_argop4_u.oplookup.objname = c;
  return *this;
}

CompoundBuilder& CompoundBuilder::LookupP() {
  Add(OP_LOOKUPP);
  return *this;
}

CompoundBuilder& CompoundBuilder::GetAttr(const Bitmap& attrs) {
  bitmap4 b = BitmapArg(attrs);
  Add(OP_GETATTR).nfs_argop4_u.opgetattr.attr_request = b;
  return *this;
}

CompoundBuilder& CompoundBuilder::SetAttr(const stateid4& s, const AttrSet& attrs) {
  fattr4 f = Fattr(attrs);
  SETATTR4args& a = Add(OP_SETATTR).nfs_argop4_u.opsetattr;
  a.stateid = s;
  a.obj_attributes = f;
  return *this;
}

CompoundBuilder& CompoundBuilder::Verify(const AttrSet& attrs) {
  fattr4 f = Fattr(attrs);
  Add(OP_VERIFY).nfs_argop4_u.opverify.obj_attributes = f;
  return *this;
}

CompoundBuilder& CompoundBuilder::NVerify(const AttrSet& attrs) {
  fattr4 f = Fattr(attrs);
  Add(OP_NVERIFY).nfs_argop4_u.opnverify.obj_attributes = f;
  return *this;
}

CompoundBuilder& CompoundBuilder::Access(uint32_t access) {
  Add(OP_ACCESS).nfs_argop4_u.opaccess.access = access;
  return *this;
}

CompoundBuilder& CompoundBuilder::Secinfo(std::string_view name) {
  component4 c = Component(name);
  Add(OP_SECINFO).nfs_argop4_u.opsecinfo.name = c;
  return *this;
}

CompoundBuilder& CompoundBuilder::SecinfoNoName(secinfo_style4 style) {
  Add(OP_SECINFO_NO_NAME).nfs_argop4_u.opsecinfo_no_name = style;
  return *this;
}

// ---- namespace changes ----------------------------------------------------------------------

CompoundBuilder& CompoundBuilder::Create(std::string_view name, const createtype4& type,
                                         const AttrSet& attrs) {
  component4 c = Component(name);
  fattr4 f = Fattr(attrs);
  CREATE4args& a = Add(OP_CREATE).nfs_argop4_u.opcreate;
  a.objtype = type;
  a.objname = c;
  a.createattrs = f;
  return *this;
}

CompoundBuilder& CompoundBuilder::CreateDir(std::string_view name, const AttrSet& attrs) {
  createtype4 t{};
  t.type = NF4DIR;
  return Create(name, t, attrs);
}

CompoundBuilder& CompoundBuilder::CreateSymlink(std::string_view name, std::string_view target,
                                                const AttrSet& attrs) {
  createtype4 t{};
  t.type = NF4LNK;
  t.createtype4_u.linkdata = linktext4{u_int(target.size()), arena_->Copy(target)};
  return Create(name, t, attrs);
}

CompoundBuilder& CompoundBuilder::CreateDevice(std::string_view name, nfs_ftype4 type,
                                               specdata4 dev, const AttrSet& attrs) {
  createtype4 t{};
  t.type = type;
  if (type == NF4BLK || type == NF4CHR) t.createtype4_u.devdata = dev;
  return Create(name, t, attrs);
}

CompoundBuilder& CompoundBuilder::Remove(std::string_view name) {
  component4 c = Component(name);
  Add(OP_REMOVE).nfs_argop4_u.opremove.target = c;
  return *this;
}

CompoundBuilder& CompoundBuilder::Rename(std::string_view oldname, std::string_view newname) {
  component4 o = Component(oldname), n = Component(newname);
  RENAME4args& a = Add(OP_RENAME).nfs_argop4_u.oprename;
  a.oldname = o;
  a.newname = n;
  return *this;
}

CompoundBuilder& CompoundBuilder::Link(std::string_view newname) {
  component4 c = Component(newname);
  Add(OP_LINK).nfs_argop4_u.oplink.newname = c;
  return *this;
}

CompoundBuilder& CompoundBuilder::Readdir(const ReaddirArgs& in) {
  bitmap4 b = BitmapArg(in.attrs);
  READDIR4args& a = Add(OP_READDIR).nfs_argop4_u.opreaddir;
  a.cookie = in.cookie;
  std::memcpy(a.cookieverf, in.cookieverf.data(), in.cookieverf.size());
  a.dircount = in.dircount;
  a.maxcount = in.maxcount;
  a.attr_request = b;
  return *this;
}

CompoundBuilder& CompoundBuilder::Readlink() {
  Add(OP_READLINK);
  return *this;
}

// ---- opens, locks, I/O ----------------------------------------------------------------------

void CompoundBuilder::FillOpenHow(openflag4& flag, const OpenHow& how) {
  flag.opentype = how.type;
  if (how.type != OPEN4_CREATE) return;
  createhow4& h = flag.openflag4_u.how;
  h.mode = how.mode;
  switch (how.mode) {
    case UNCHECKED4:
    case GUARDED4:
      h.createhow4_u.createattrs = Fattr(how.attrs);
      break;
    case EXCLUSIVE4:
      std::memcpy(h.createhow4_u.createverf, how.verifier.data(), how.verifier.size());
      break;
    case EXCLUSIVE4_1:
      std::memcpy(h.createhow4_u.ch_createboth.cva_verf, how.verifier.data(), how.verifier.size());
      h.createhow4_u.ch_createboth.cva_attrs = Fattr(how.attrs);
      break;
  }
}

void CompoundBuilder::FillOpenClaim(open_claim4& claim, const OpenClaim& c) {
  claim.claim = c.type;
  auto& u = claim.open_claim4_u;
  switch (c.type) {
    case CLAIM_NULL:
      u.file = Component(c.name);
      break;
    case CLAIM_PREVIOUS:
      u.delegate_type = c.delegate_type;
      break;
    case CLAIM_DELEGATE_CUR:
      u.delegate_cur_info.delegate_stateid = c.delegate_stateid;
      u.delegate_cur_info.file = Component(c.name);
      break;
    case CLAIM_DELEGATE_PREV:
      u.file_delegate_prev = Component(c.name);
      break;
    case CLAIM_DELEG_CUR_FH:
      u.oc_delegate_stateid = c.delegate_stateid;
      break;
    case CLAIM_FH:
    case CLAIM_DELEG_PREV_FH:
      break;  // void arms: the current filehandle is the file
  }
}

CompoundBuilder& CompoundBuilder::Open(const OpenArgs& in) {
  OPEN4args a{};
  a.seqid = in.seqid;
  a.share_access = in.share_access;
  a.share_deny = in.share_deny;
  a.owner.clientid = in.owner.clientid;
  a.owner.owner.owner_len = u_int(in.owner.owner.size());
  a.owner.owner.owner_val = arena_->Copy(in.owner.owner);
  FillOpenHow(a.openhow, in.how);
  FillOpenClaim(a.claim, in.claim);
  Add(OP_OPEN).nfs_argop4_u.opopen = a;
  return *this;
}

CompoundBuilder& CompoundBuilder::OpenDowngrade(const stateid4& s, uint32_t share_access,
                                                uint32_t share_deny, seqid4 seqid) {
  OPEN_DOWNGRADE4args& a = Add(OP_OPEN_DOWNGRADE).nfs_argop4_u.opopen_downgrade;
  a.open_stateid = s;
  a.seqid = seqid;
  a.share_access = share_access;
  a.share_deny = share_deny;
  return *this;
}

CompoundBuilder& CompoundBuilder::Close(const stateid4& s, seqid4 seqid) {
  CLOSE4args& a = Add(OP_CLOSE).nfs_argop4_u.opclose;
  a.seqid = seqid;
  a.open_stateid = s;
  return *this;
}

CompoundBuilder& CompoundBuilder::DelegReturn(const stateid4& s) {
  Add(OP_DELEGRETURN).nfs_argop4_u.opdelegreturn.deleg_stateid = s;
  return *this;
}

CompoundBuilder& CompoundBuilder::LockNew(nfs_lock_type4 type, uint64_t offset, uint64_t length,
                                          const stateid4& open_stateid,
                                          const StateOwner& lock_owner, bool reclaim) {
  char* owner = arena_->Copy(lock_owner.owner);
  LOCK4args& a = Add(OP_LOCK).nfs_argop4_u.oplock;
  a.locktype = type;
  a.reclaim = reclaim;
  a.offset = offset;
  a.length = length;
  a.locker.new_lock_owner = TRUE;
  open_to_lock_owner4& o = a.locker.locker4_u.open_owner;
  o.open_stateid = open_stateid;  // open_seqid and lock_seqid: 0, ignored in NFSv4.1
  o.lock_owner.clientid = lock_owner.clientid;
  o.lock_owner.owner = {u_int(lock_owner.owner.size()), owner};
  return *this;
}

CompoundBuilder& CompoundBuilder::LockExisting(nfs_lock_type4 type, uint64_t offset,
                                               uint64_t length, const stateid4& lock_stateid,
                                               bool reclaim) {
  LOCK4args& a = Add(OP_LOCK).nfs_argop4_u.oplock;
  a.locktype = type;
  a.reclaim = reclaim;
  a.offset = offset;
  a.length = length;
  a.locker.new_lock_owner = FALSE;
  a.locker.locker4_u.lock_owner.lock_stateid = lock_stateid;
  return *this;
}

CompoundBuilder& CompoundBuilder::LockT(nfs_lock_type4 type, uint64_t offset, uint64_t length,
                                        const StateOwner& lock_owner) {
  char* owner = arena_->Copy(lock_owner.owner);
  LOCKT4args& a = Add(OP_LOCKT).nfs_argop4_u.oplockt;
  a.locktype = type;
  a.offset = offset;
  a.length = length;
  a.owner.clientid = lock_owner.clientid;
  a.owner.owner = {u_int(lock_owner.owner.size()), owner};
  return *this;
}

CompoundBuilder& CompoundBuilder::LockU(nfs_lock_type4 type, const stateid4& lock_stateid,
                                        uint64_t offset, uint64_t length, seqid4 seqid) {
  LOCKU4args& a = Add(OP_LOCKU).nfs_argop4_u.oplocku;
  a.locktype = type;
  a.seqid = seqid;
  a.lock_stateid = lock_stateid;
  a.offset = offset;
  a.length = length;
  return *this;
}

CompoundBuilder& CompoundBuilder::Read(const stateid4& s, uint64_t offset, uint32_t count) {
  READ4args& a = Add(OP_READ).nfs_argop4_u.opread;
  a.stateid = s;
  a.offset = offset;
  a.count = count;
  return *this;
}

CompoundBuilder& CompoundBuilder::Write(const stateid4& s, uint64_t offset,
                                        std::span<const uint8_t> data, stable_how4 stable) {
  char* copy = arena_->Copy(data);
  WRITE4args& a = Add(OP_WRITE).nfs_argop4_u.opwrite;
  a.stateid = s;
  a.offset = offset;
  a.stable = stable;
  a.data.data_len = u_int(data.size());
  a.data.data_val = copy;
  return *this;
}

CompoundBuilder& CompoundBuilder::Commit(uint64_t offset, uint32_t count) {
  COMMIT4args& a = Add(OP_COMMIT).nfs_argop4_u.opcommit;
  a.offset = offset;
  a.count = count;
  return *this;
}

// ---- pNFS -----------------------------------------------------------------------------------

CompoundBuilder& CompoundBuilder::LayoutGet(const LayoutGetArgs& in) {
  LAYOUTGET4args& a = Add(OP_LAYOUTGET).nfs_argop4_u.oplayoutget;
  a.loga_signal_layout_avail = in.signal_layout_avail;
  a.loga_layout_type = in.layout_type;
  a.loga_iomode = in.iomode;
  a.loga_offset = in.offset;
  a.loga_length = in.length;
  a.loga_minlength = in.minlength;
  a.loga_stateid = in.stateid;
  a.loga_maxcount = in.maxcount;
  return *this;
}

CompoundBuilder& CompoundBuilder::GetDeviceInfo(const DeviceId& id, layouttype4 type,
                                                uint32_t maxcount, const Bitmap& notify) {
  bitmap4 b = BitmapArg(notify);
  GETDEVICEINFO4args& a = Add(OP_GETDEVICEINFO).nfs_argop4_u.opgetdeviceinfo;
  std::memcpy(a.gdia_device_id, id.data(), id.size());
  a.gdia_layout_type = type;
  a.gdia_maxcount = maxcount;
  a.gdia_notify_types = b;
  return *this;
}

CompoundBuilder& CompoundBuilder::LayoutReturn(const LayoutReturnArgs& in) {
  char* body = arena_->Copy(in.body);
  LAYOUTRETURN4args& a = Add(OP_LAYOUTRETURN).nfs_argop4_u.oplayoutreturn;
  a.lora_reclaim = in.reclaim;
  a.lora_layout_type = in.layout_type;
  a.lora_iomode = in.iomode;
  a.lora_layoutreturn.lr_returntype = in.return_type;
  if (in.return_type == LAYOUTRETURN4_FILE) {
    layoutreturn_file4& f = a.lora_layoutreturn.layoutreturn4_u.lr_layout;
    f.lrf_offset = in.offset;
    f.lrf_length = in.length;
    f.lrf_stateid = in.stateid;
    f.lrf_body.lrf_body_len = u_int(in.body.size());
    f.lrf_body.lrf_body_val = body;
  }
  return *this;
}

CompoundBuilder& CompoundBuilder::LayoutCommit(const LayoutCommitArgs& in) {
  char* body = arena_->Copy(in.update_body);
  LAYOUTCOMMIT4args& a = Add(OP_LAYOUTCOMMIT).nfs_argop4_u.oplayoutcommit;
  a.loca_offset = in.offset;
  a.loca_length = in.length;
  a.loca_reclaim = in.reclaim;
  a.loca_stateid = in.stateid;
  a.loca_last_write_offset.no_newoffset = in.last_write_offset.has_value();
  if (in.last_write_offset) a.loca_last_write_offset.newoffset4_u.no_offset = *in.last_write_offset;
  a.loca_time_modify.nt_timechanged = in.time_modify.has_value();
  if (in.time_modify) a.loca_time_modify.newtime4_u.nt_time = *in.time_modify;
  a.loca_layoutupdate.lou_type = in.layout_type;
  a.loca_layoutupdate.lou_body.lou_body_len = u_int(in.update_body.size());
  a.loca_layoutupdate.lou_body.lou_body_val = body;
  return *this;
}

// ---- NFSv4.2 and xattrs ---------------------------------------------------------------------

CompoundBuilder& CompoundBuilder::Seek(const stateid4& s, uint64_t offset, data_content4 what) {
  SEEK4args& a = Add(OP_SEEK).nfs_argop4_u.opseek;
  a.sa_stateid = s;
  a.sa_offset = offset;
  a.sa_what = what;
  return *this;
}

CompoundBuilder& CompoundBuilder::Allocate(const stateid4& s, uint64_t offset, uint64_t length) {
  ALLOCATE4args& a = Add(OP_ALLOCATE).nfs_argop4_u.opallocate;
  a.aa_stateid = s;
  a.aa_offset = offset;
  a.aa_length = length;
  return *this;
}

CompoundBuilder& CompoundBuilder::Copy(const stateid4& src, const stateid4& dst,
                                       uint64_t src_offset, uint64_t dst_offset, uint64_t count,
                                       bool synchronous) {
  COPY4args& a = Add(OP_COPY).nfs_argop4_u.opcopy;
  a.ca_src_stateid = src;
  a.ca_dst_stateid = dst;
  a.ca_src_offset = src_offset;
  a.ca_dst_offset = dst_offset;
  a.ca_count = count;
  a.ca_consecutive = true;
  a.ca_synchronous = synchronous;
  return *this;
}

CompoundBuilder& CompoundBuilder::Deallocate(const stateid4& s, uint64_t offset, uint64_t length) {
  DEALLOCATE4args& a = Add(OP_DEALLOCATE).nfs_argop4_u.opdeallocate;
  a.da_stateid = s;
  a.da_offset = offset;
  a.da_length = length;
  return *this;
}

CompoundBuilder& CompoundBuilder::ReadPlus(const stateid4& s, uint64_t offset, uint32_t count) {
  READ_PLUS4args& a = Add(OP_READ_PLUS).nfs_argop4_u.opread_plus;
  a.rpa_stateid = s;
  a.rpa_offset = offset;
  a.rpa_count = count;
  return *this;
}

CompoundBuilder& CompoundBuilder::GetXattr(std::string_view name) {
  component4 c = Component(name);
  Add(OP_GETXATTR).nfs_argop4_u.opgetxattr.gxa_name = c;
  return *this;
}

CompoundBuilder& CompoundBuilder::SetXattr(std::string_view name, std::span<const uint8_t> value,
                                           setxattr_option4 option) {
  component4 c = Component(name);
  char* v = arena_->Copy(value);
  SETXATTR4args& a = Add(OP_SETXATTR).nfs_argop4_u.opsetxattr;
  a.sxa_option = option;
  a.sxa_key = c;
  a.sxa_value = xattrvalue4{u_int(value.size()), v};
  return *this;
}

CompoundBuilder& CompoundBuilder::ListXattrs(nfs_cookie4 cookie, uint32_t maxcount) {
  LISTXATTRS4args& a = Add(OP_LISTXATTRS).nfs_argop4_u.oplistxattrs;
  a.lxa_cookie = cookie;
  a.lxa_maxcount = maxcount;
  return *this;
}

CompoundBuilder& CompoundBuilder::RemoveXattr(std::string_view name) {
  component4 c = Component(name);
  Add(OP_REMOVEXATTR).nfs_argop4_u.opremovexattr.rxa_name = c;
  return *this;
}

}  // namespace manifold::nfs4client
