// OPEN (RFC 8881 18.16), OPEN_DOWNGRADE (18.18), CLOSE (18.2). Share reservations and open
// stateids live in state::StateManager; the namespace work (lookup, create, truncate) here.
// A file whose last name is removed while open stays until its last open goes (orphans.cc).
#include <cstring>
#include <optional>

#include <spdlog/spdlog.h>

#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"
#include "nfs4/status_map.h"

namespace manifold::nfs4::ops {

namespace {

uint64_t VerifierU64(const verifier4 v) {
  uint64_t x = 0;
  for (int i = 0; i < NFS4_VERIFIER_SIZE; ++i) x = (x << 8) | uint8_t(v[i]);
  return x == 0 ? 1 : x;  // 0 means "no verifier" in the namespace
}

struct OpenTarget {
  meta::Inode inode;
  bool created = false;
  // UNCHECKED4 of an existing file with a size: applied once the open holds its share
  // reservation, so that another open's DENY_WRITE is honoured first.
  std::optional<uint64_t> truncate_to;
  meta::DirChange dir;
  AttrBitmap attrset;
};

// Regular files only (RFC 8881 18.16.4 for 4.1: NFS4ERR_ISDIR, NFS4ERR_SYMLINK, else
// NFS4ERR_WRONG_TYPE).
nfsstat4 CheckRegular(const meta::Inode& inode) {
  if (inode.is_dir()) return NFS4ERR_ISDIR;
  if (inode.type == meta::FileType::kSymlink) return NFS4ERR_SYMLINK;
  return inode.type == meta::FileType::kReg ? NFS4_OK : NFS4ERR_WRONG_TYPE;
}

// OPEN4_CREATE in a directory: UNCHECKED4, GUARDED4, EXCLUSIVE4, EXCLUSIVE4_1.
nfsstat4 CreateFile(CompoundContext& ctx, const meta::Inode& dir, std::string_view name,
                    const createhow4& how, OpenTarget& out) {
  meta::CreateArgs args;
  args.type = meta::FileType::kReg;
  SetAttrs want;
  const fattr4* attrs = nullptr;
  SetAttrsFor purpose = SetAttrsFor::kCreate;
  switch (how.mode) {
    case UNCHECKED4: args.how = meta::CreateMode::kUnchecked; attrs = &how.createhow4_u.createattrs; break;
    case GUARDED4: args.how = meta::CreateMode::kGuarded; attrs = &how.createhow4_u.createattrs; break;
    case EXCLUSIVE4:
      args.how = meta::CreateMode::kExclusive;
      args.verifier = VerifierU64(how.createhow4_u.createverf);
      break;
    case EXCLUSIVE4_1:
      args.how = meta::CreateMode::kExclusive;
      args.verifier = VerifierU64(how.createhow4_u.ch_createboth.cva_verf);
      attrs = &how.createhow4_u.ch_createboth.cva_attrs;
      purpose = SetAttrsFor::kExclusiveCreate;
      break;
    default:
      return NFS4ERR_INVAL;
  }
  if (attrs) {
    AttrDecodeOptions options;
    options.minor_version = ctx.minorversion;
    nfsstat4 s = DecodeSetAttrs(*attrs, purpose, options, want, out.attrset);
    if (s != NFS4_OK) return s;
  }
  if (nfsstat4 s = CheckDirWrite(ctx, dir); s != NFS4_OK) return s;
  args.mode = want.mode.value_or(0644);
  args.uid = ctx.id.uid;
  args.gid = (dir.mode & meta::kModeSetGid) ? dir.gid : ctx.id.gid;
  if (want.uid && *want.uid != args.uid && !ctx.id.is_root()) return NFS4ERR_PERM;
  if (want.gid && *want.gid != args.gid && !ctx.id.is_root() && !ctx.id.InGroup(*want.gid)) {
    return NFS4ERR_PERM;
  }
  if (want.uid) args.uid = *want.uid;
  if (want.gid) args.gid = *want.gid;
  args.mode = NewObjectMode(ctx, dir, meta::FileType::kReg, args.mode, args.gid);
  auto made = ctx.mds.ns().Create(dir.fileid, name, args);
  if (!made.ok()) return ToNfs4(made.status());
  out.inode = made->inode;
  out.created = made->created;
  out.dir = made->dir;
  meta::SetAttrArgs later;
  if (!out.created) {
    // An existing file: only UNCHECKED4's size is applied (RFC 8881 18.16.3), and only with
    // write permission; the rest of createattrs is ignored, and attrset says so.
    out.attrset = AttrBitmap();
    if (how.mode == UNCHECKED4 && want.size_bytes) {
      if (nfsstat4 s = CheckRegular(out.inode); s != NFS4_OK) return s;
      if (!MayAccessInode(ctx, out.inode, kMayWrite)) return NFS4ERR_ACCESS;
      out.truncate_to = want.size_bytes;
      out.attrset.Set(FATTR4_SIZE);
    }
  } else {
    later.size_bytes = want.size_bytes;
    if (want.atime) later.atime = meta::SetTime{want.atime->server_time, {want.atime->time.sec, want.atime->time.nsec}};
    if (want.mtime) later.mtime = meta::SetTime{want.mtime->server_time, {want.mtime->time.sec, want.mtime->time.nsec}};
    if (want.crtime) later.crtime = meta::Timespec{want.crtime->sec, want.crtime->nsec};
  }
  if (later.size_bytes || later.atime || later.mtime || later.crtime) {
    auto done = ctx.mds.SetAttr(out.inode.fileid, later);
    if (!done.ok()) return ToNfs4(done.status());
    out.inode = done->after;
  }
  return NFS4_OK;
}

// Permission for the access asked (RFC 8881 18.16.3); a file this OPEN created may be opened
// whatever its new mode, as with open(2) and O_CREAT.
nfsstat4 CheckOpenAccess(const CompoundContext& ctx, const OpenTarget& t, uint32_t access) {
  if (t.created) return NFS4_OK;
  if ((access & OPEN4_SHARE_ACCESS_READ) && !MayAccessInode(ctx, t.inode, kMayRead)) {
    return NFS4ERR_ACCESS;
  }
  if (access & OPEN4_SHARE_ACCESS_WRITE) {
    if (ctx.export_rule->read_only) return NFS4ERR_ROFS;
    if (!MayAccessInode(ctx, t.inode, kMayWrite)) return NFS4ERR_ACCESS;
  }
  return NFS4_OK;
}

// Where the OPEN's file is, by claim (RFC 8881 18.16.3). `req` gets the claim's state: a
// reclaim and the delegation it held, or the delegation the open is made under.
nfsstat4 FindTarget(CompoundContext& ctx, const OPEN4args& a, OpenTarget& t,
                    state::OpenRequest& req) {
  const open_claim4& claim = a.claim;
  bool create = a.openhow.opentype == OPEN4_CREATE;
  switch (claim.claim) {
    case CLAIM_NULL:
    case CLAIM_DELEGATE_CUR: {
      const bool by_deleg = claim.claim == CLAIM_DELEGATE_CUR;
      const component4& file =
          by_deleg ? claim.open_claim4_u.delegate_cur_info.file : claim.open_claim4_u.file;
      if (by_deleg) {
        if (create) return NFS4ERR_INVAL;
        req.delegation = claim.open_claim4_u.delegate_cur_info.delegate_stateid;
      }
      meta::Inode dir;
      std::string_view name;
      nfsstat4 s = CurrentDir(ctx, dir, NFS4ERR_SYMLINK);
      if (s == NFS4_OK) s = CheckName(file, name);
      if (s == NFS4_OK && !MayAccessInode(ctx, dir, kMayExec)) s = NFS4ERR_ACCESS;
      if (s != NFS4_OK) return s;
      // RFC 8881 8.4.2: no new state while clients may still reclaim.
      if (ctx.mds.state().InGrace()) return NFS4ERR_GRACE;
      if (create) return CreateFile(ctx, dir, name, a.openhow.openflag4_u.how, t);
      auto found = ctx.mds.ns().LookupChild(dir.fileid, name);
      if (!found.ok()) return ToNfs4(found.status());
      t.inode = *found;
      return NFS4_OK;
    }
    case CLAIM_FH:
    case CLAIM_PREVIOUS:
    case CLAIM_DELEG_CUR_FH:
      if (create) return NFS4ERR_INVAL;
      req.reclaim = claim.claim == CLAIM_PREVIOUS;
      if (req.reclaim) req.reclaim_delegation = claim.open_claim4_u.delegate_type;
      if (claim.claim == CLAIM_DELEG_CUR_FH) req.delegation = claim.open_claim4_u.oc_delegate_stateid;
      if (!req.reclaim && ctx.mds.state().InGrace()) return NFS4ERR_GRACE;
      return CurrentInode(ctx, t.inode);
    default:
      return NFS4ERR_NOTSUPP;  // CLAIM_DELEGATE_PREV, CLAIM_DELEG_PREV_FH (RFC 8881 18.16.3)
  }
}

// The file may have lost its last name since FindTarget read it: then it is an orphan, kept for
// its opens, and this one joins them. Or it may be gone: a REMOVE, RENAME or purge committed
// first. The caller holds the file's open guard (Mds::GuardOpen), which those hold exclusive
// from asking whether the file is open until their commit, so after this read either they see
// this open or the file is gone here. Gone: by name the name went first (NFS4ERR_NOENT), by
// filehandle the handle is dead (NFS4ERR_STALE).
nfsstat4 StillThere(CompoundContext& ctx, open_claim_type4 claim, OpenTarget& t) {
  auto now = ctx.mds.ns().GetAttr(t.inode.fileid, t.inode.generation);
  if (now.ok()) {
    t.inode = std::move(*now);
    return NFS4_OK;
  }
  if (now.status().code() != Code::kStale) return ToNfs4(now.status());
  return claim == CLAIM_NULL || claim == CLAIM_DELEGATE_CUR ? NFS4ERR_NOENT : NFS4ERR_STALE;
}

// open_delegation4 from the state module's decision. The ACE grants nothing: the client asks
// ACCESS before opening locally (10.4.1); a write delegation has no space limit.
void FillDelegation(const state::DelegationGrant& g, open_delegation4& out) {
  out.delegation_type = g.type;
  nfsace4 no_permissions{ACE4_ACCESS_ALLOWED_ACE_TYPE, 0, 0, {0, nullptr}};
  switch (g.type) {
    case OPEN_DELEGATE_READ:
      out.open_delegation4_u.read = {g.stateid, g.recall, no_permissions};
      break;
    case OPEN_DELEGATE_WRITE: {
      nfs_space_limit4 limit{};
      limit.limitby = NFS_LIMIT_SIZE;
      limit.nfs_space_limit4_u.filesize = UINT64_MAX;
      out.open_delegation4_u.write = {g.stateid, g.recall, limit, no_permissions};
      break;
    }
    case OPEN_DELEGATE_NONE_EXT:
      out.open_delegation4_u.od_whynone.ond_why = g.why;
      break;
    default:
      break;
  }
}

}  // namespace

nfsstat4 Open(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opopen;
  const OPEN4args& a = arg.nfs_argop4_u.opopen;
  OpenTarget t;
  state::OpenRequest req;
  out.status = FindTarget(ctx, a, t, req);
  if (out.status == NFS4_OK) out.status = CheckRegular(t.inode);
  if (out.status == NFS4_OK) out.status = CheckOpenAccess(ctx, t, a.share_access);
  // Setting the size of an existing file is a write: the open must be for writing (as Linux
  // nfsd answers), so that its share reservation meets other opens' DENY_WRITE.
  if (out.status == NFS4_OK && t.truncate_to && !(a.share_access & OPEN4_SHARE_ACCESS_WRITE)) {
    out.status = NFS4ERR_INVAL;
  }
  // Refused before any state is made: the size step below cannot fail for this reason then.
  if (out.status == NFS4_OK && t.truncate_to && *t.truncate_to > ctx.mds.data().file_bytes_max()) {
    out.status = NFS4ERR_FBIG;
  }
  if (out.status != NFS4_OK) return out.status;
  auto guard = ctx.mds.GuardOpen(t.inode.fileid);  // until the open is recorded
  out.status = StillThere(ctx, a.claim.claim, t);
  if (out.status != NFS4_OK) return out.status;
  req.clientid = ctx.clientid;
  req.owner = std::string_view(a.owner.owner.owner_val, a.owner.owner.owner_len);
  req.fileid = t.inode.fileid;
  req.share_access = a.share_access;
  req.share_deny = a.share_deny;
  req.may_delegate = ctx.mds.state().HasBackchannel(ctx.clientid);
  auto opened = ctx.mds.state().Open(req);
  guard.unlock();
  if (opened.status != NFS4_OK) return out.status = opened.status;
  if (t.truncate_to) {
    meta::SetAttrArgs size;
    size.size_bytes = t.truncate_to;
    size.caller = &ctx.id;  // a truncate without privilege drops the set-id bits
    auto done = ctx.mds.SetAttr(t.inode.fileid, size);
    if (!done.ok()) {
      // The OPEN fails as a whole: a new open goes again, with a delegation it brought (the
      // client never learns its stateid, so could never return it); an upgraded one is put
      // back as it was, so that the stateid the client holds is current again and the open
      // holds no access the client does not know of.
      if (opened.delegation.type == OPEN_DELEGATE_READ ||
          opened.delegation.type == OPEN_DELEGATE_WRITE) {
        ctx.mds.state().RemoveRecallable(ctx.clientid, opened.delegation.stateid);
      }
      if (opened.upgraded) {
        if (!ctx.mds.state().UndoUpgrade(ctx.clientid, t.inode.fileid, opened.stateid,
                                         opened.before)) {
          // Another OPEN or OPEN_DOWNGRADE of the owner changed the open since; it is current.
          spdlog::info("OPEN of file {}: the upgrade could not be undone, the open changed since",
                       t.inode.fileid);
        }
      } else {
        CLOSE4args close{opened.stateid.seqid, opened.stateid};
        ctx.mds.state().Close(ctx.clientid, t.inode.fileid, close);
        ctx.mds.ReapIfOrphan(t.inode.fileid);
      }
      return out.status = ToNfs4(done.status());
    }
    t.inode = done->after;
  }
  SetCurrentFh(ctx, t.inode);
  ctx.current_stateid = opened.stateid;
  auto& ok = out.OPEN4res_u.resok4;
  ok.stateid = opened.stateid;
  FillChangeInfo(t.dir, ok.cinfo);
  // RFC 8881 18.16.4: the file outlives the removal of its last name while this open lasts,
  // so the client need not rename it aside ("silly rename") to keep using it.
  ok.rflags = OPEN4_RESULT_LOCKTYPE_POSIX | OPEN4_RESULT_PRESERVE_UNLINKED;
  ToBitmap4(t.attrset, [&ctx](size_t n) { return ArenaAlloc(ctx, n); }, ok.attrset);
  FillDelegation(opened.delegation, ok.delegation);
  return NFS4_OK;
}

nfsstat4 OpenDowngrade(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opopen_downgrade;
  auto& a = arg.nfs_argop4_u.opopen_downgrade;
  uint64_t fileid = 0;
  out.status = CurrentFileId(ctx, fileid);
  if (out.status == NFS4_OK) out.status = ResolveCurrentStateid(ctx, a.open_stateid);
  if (out.status != NFS4_OK) return out.status;
  auto r = ctx.mds.state().OpenDowngrade(ctx.clientid, fileid, a);
  out.status = r.status;
  if (r.status == NFS4_OK) {
    out.OPEN_DOWNGRADE4res_u.resok4.open_stateid = r.stateid;
    ctx.current_stateid = r.stateid;
  }
  return r.status;
}

nfsstat4 Close(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opclose;
  auto& a = arg.nfs_argop4_u.opclose;
  uint64_t fileid = 0;
  out.status = CurrentFileId(ctx, fileid);
  if (out.status == NFS4_OK) out.status = ResolveCurrentStateid(ctx, a.open_stateid);
  if (out.status != NFS4_OK) return out.status;
  auto r = ctx.mds.state().Close(ctx.clientid, fileid, a);
  out.status = r.status;
  if (r.status == NFS4_OK) {
    out.CLOSE4res_u.open_stateid = r.stateid;
    ctx.current_stateid = r.stateid;
    ctx.mds.ReapIfOrphan(fileid);  // the last open of a removed file: it goes now
  }
  return r.status;
}

}  // namespace manifold::nfs4::ops
