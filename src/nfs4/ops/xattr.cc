// Extended attributes (RFC 8276 8.4): GETXATTR, SETXATTR, LISTXATTRS and REMOVEXATTR on the
// current filehandle, NFSv4.2 only (the op table says so).
//
// Names are opaque to the server: the Linux client sends its user.* names without the prefix,
// other clients send what they like. Rights and file types follow Linux's user xattrs
// (xattr_permission), which is what programs on a Linux client expect: read permission to get
// and list, write permission to set and remove (ownership too on a sticky directory), and only
// regular files and directories may carry them; on other types there is nothing to get or list,
// and SETXATTR/REMOVEXATTR are NFS4ERR_PERM (EPERM).
#include <algorithm>
#include <cstring>
#include <vector>

#include "meta/limits.h"
#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"
#include "nfs4/status_map.h"

namespace manifold::nfs4::ops {

namespace {

// Names asked of the namespace per page while filling one LISTXATTRS reply.
constexpr uint32_t kNamesPerPage = 128;
// LISTXATTRS4resok's fixed part: lxr_cookie, the names' count, lxr_eof.
constexpr uint64_t kListFixedBytes = 8 + 4 + 4;
// Every name of an inode fits one reply's array bound (the XDR encoder would refuse more).
static_assert(meta::kXattrsPerInodeMax <= MANIFOLD_NFS4_XATTR_NAMES_MAX);

uint64_t Pad4(uint64_t n) { return (n + 3) & ~uint64_t(3); }

// RFC 8276 8.3: a key is a component4. Empty, NUL or not UTF-8 (RFC 8881 14.4): NFS4ERR_INVAL;
// over the 255-byte bound: NFS4ERR_NAMETOOLONG.
nfsstat4 CheckXattrName(const xattrkey4& key, std::string_view& out) {
  out = std::string_view(key.utf8string_val, key.utf8string_len);
  if (out.empty()) return NFS4ERR_INVAL;
  if (out.size() > meta::kXattrNameBytesMax) return NFS4ERR_NAMETOOLONG;
  if (out.find('\0') != std::string_view::npos || !IsUtf8(out)) return NFS4ERR_INVAL;
  return NFS4_OK;
}

// The namespace's answer in RFC 8276's words: an xattr that is not there is NFS4ERR_NOXATTR,
// not NFS4ERR_NOENT (which would say the file is gone).
nfsstat4 XattrStatus(const Status& s) {
  return s.code() == Code::kNotFound ? NFS4ERR_NOXATTR : ToNfs4(s);
}

// May the caller change the xattrs of `inode` now? The change moves the file's change
// attribute, so other clients' delegations are recalled first (RFC 8881 10.4: NFS4ERR_DELAY).
nfsstat4 ReadyXattrChange(const CompoundContext& ctx, const meta::Inode& inode) {
  if (ctx.export_rule->read_only) return NFS4ERR_ROFS;
  if (!XattrTypeAllowed(inode)) return NFS4ERR_PERM;
  if (!MayAccessInode(ctx, inode, kMayWrite)) return NFS4ERR_ACCESS;
  if (!MayWriteXattrs(ctx, inode)) return NFS4ERR_PERM;  // a sticky directory's
  return ctx.mds.state().BreakDelegations(ctx.clientid, inode.fileid, true);
}

Result<meta::XattrSetMode> ToSetMode(setxattr_option4 option) {
  switch (option) {
    case SETXATTR4_EITHER: return meta::XattrSetMode::kEither;
    case SETXATTR4_CREATE: return meta::XattrSetMode::kCreate;
    case SETXATTR4_REPLACE: return meta::XattrSetMode::kReplace;
  }
  return Status(Code::kInvalid, "unknown setxattr_option4");
}

// The names of one LISTXATTRS reply: whole names only, within `room` bytes of resok.
struct NameFiller {
  uint64_t room;
  uint64_t used = kListFixedBytes;
  uint64_t cookie;  // of the last name taken: the reply's lxr_cookie
  std::vector<meta::XattrName> names;

  bool Add(meta::XattrName& n) {
    uint64_t bytes = 4 + Pad4(n.name.size());
    if (used + bytes > room) return false;
    used += bytes;
    cookie = n.cookie;
    names.push_back(std::move(n));
    return true;
  }
};

// Fills `filler` from the namespace from its cookie on; `eof` when the names ran out.
nfsstat4 FillNames(CompoundContext& ctx, uint64_t fileid, NameFiller& filler, bool& eof) {
  bool full = false;
  eof = false;
  while (!full && !eof) {
    auto page = ctx.mds.ns().ListXattrs(fileid, filler.cookie, kNamesPerPage);
    if (!page.ok()) {
      // RFC 8276 8.4.3: a cookie this file never issued.
      return page.status().code() == Code::kInvalid ? NFS4ERR_BAD_COOKIE
                                                    : ToNfs4(page.status());
    }
    for (meta::XattrName& n : page->names) {
      if (!filler.Add(n)) {
        full = true;
        break;
      }
    }
    // An empty page ends the listing whatever it says, so this loop always ends.
    eof = !full && (page->eof || page->names.empty());
  }
  return NFS4_OK;
}

}  // namespace

nfsstat4 GetXattr(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opgetxattr;
  meta::Inode inode;
  std::string_view name;
  out.gxr_status = CurrentInode(ctx, inode);
  if (out.gxr_status == NFS4_OK) {
    out.gxr_status = CheckXattrName(arg.nfs_argop4_u.opgetxattr.gxa_name, name);
  }
  if (out.gxr_status == NFS4_OK && !MayReadXattrs(ctx, inode)) out.gxr_status = NFS4ERR_ACCESS;
  if (out.gxr_status != NFS4_OK) return out.gxr_status;
  auto value = ctx.mds.ns().GetXattr(inode.fileid, name);
  if (!value.ok()) return out.gxr_status = XattrStatus(value.status());
  // RFC 8276 8.4.1: a value the reply cannot carry within the session's ca_maxresponsesize is
  // NFS4ERR_XATTR2BIG (the Linux client makes it E2BIG), not a reply cut short.
  if (4 + Pad4(value->size()) > ResultBytesLeft(ctx)) return out.gxr_status = NFS4ERR_XATTR2BIG;
  auto* bytes = static_cast<char*>(ArenaAlloc(ctx, std::max<size_t>(value->size(), 1)));
  std::memcpy(bytes, value->data(), value->size());
  out.GETXATTR4res_u.gxr_value = xattrvalue4{u_int(value->size()), bytes};
  return NFS4_OK;
}

nfsstat4 SetXattr(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opsetxattr;
  const SETXATTR4args& a = arg.nfs_argop4_u.opsetxattr;
  meta::Inode inode;
  std::string_view name;
  Result<meta::XattrSetMode> mode = ToSetMode(a.sxa_option);
  out.sxr_status = CurrentInode(ctx, inode);
  if (out.sxr_status == NFS4_OK) out.sxr_status = CheckXattrName(a.sxa_key, name);
  if (out.sxr_status == NFS4_OK && !mode.ok()) out.sxr_status = NFS4ERR_INVAL;
  // RFC 8276 8.4.2: a value over the server's limit (Linux's XATTR_SIZE_MAX) is XATTR2BIG.
  if (out.sxr_status == NFS4_OK && a.sxa_value.xattrvalue4_len > meta::kXattrValueBytesMax) {
    out.sxr_status = NFS4ERR_XATTR2BIG;
  }
  if (out.sxr_status == NFS4_OK) out.sxr_status = ReadyXattrChange(ctx, inode);
  if (out.sxr_status != NFS4_OK) return out.sxr_status;
  std::string_view value(a.sxa_value.xattrvalue4_val, a.sxa_value.xattrvalue4_len);
  // Over the per-inode count or bytes: kNoSpace, NFS4ERR_NOSPC.
  auto done = ctx.mds.ns().SetXattr(inode.fileid, name, value, *mode);
  if (!done.ok()) return out.sxr_status = XattrStatus(done.status());
  FillChangeInfo(*done, out.SETXATTR4res_u.sxr_info);
  return NFS4_OK;
}

nfsstat4 ListXattrs(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.oplistxattrs;
  const LISTXATTRS4args& a = arg.nfs_argop4_u.oplistxattrs;
  meta::Inode inode;
  out.lxr_status = CurrentInode(ctx, inode);
  if (out.lxr_status == NFS4_OK && !MayReadXattrs(ctx, inode)) out.lxr_status = NFS4ERR_ACCESS;
  if (out.lxr_status != NFS4_OK) return out.lxr_status;
  // RFC 8276 8.4.3: lxa_maxcount bounds the whole LISTXATTRS4resok, XDR included; so does
  // the room the session leaves the reply.
  NameFiller filler{std::min<uint64_t>(a.lxa_maxcount, ResultBytesLeft(ctx)), kListFixedBytes,
                    a.lxa_cookie, {}};
  if (filler.room < kListFixedBytes) return out.lxr_status = NFS4ERR_TOOSMALL;
  bool eof = false;
  out.lxr_status = FillNames(ctx, inode.fileid, filler, eof);
  if (out.lxr_status != NFS4_OK) return out.lxr_status;
  // Not even one name fits (RFC 8276 8.4.3).
  if (filler.names.empty() && !eof) return out.lxr_status = NFS4ERR_TOOSMALL;
  auto& ok = out.LISTXATTRS4res_u.lxr_value;
  ok.lxr_cookie = filler.cookie;
  ok.lxr_eof = eof;
  ok.lxr_names.lxr_names_len = u_int(filler.names.size());
  ok.lxr_names.lxr_names_val = static_cast<xattrkey4*>(
      ArenaAlloc(ctx, sizeof(xattrkey4) * std::max<size_t>(filler.names.size(), 1)));
  for (size_t i = 0; i < filler.names.size(); ++i) {
    const std::string& n = filler.names[i].name;
    ok.lxr_names.lxr_names_val[i] = xattrkey4{u_int(n.size()), ctx.arena.CopyString(n)};
  }
  return NFS4_OK;
}

nfsstat4 RemoveXattr(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opremovexattr;
  meta::Inode inode;
  std::string_view name;
  out.rxr_status = CurrentInode(ctx, inode);
  if (out.rxr_status == NFS4_OK) {
    out.rxr_status = CheckXattrName(arg.nfs_argop4_u.opremovexattr.rxa_name, name);
  }
  if (out.rxr_status == NFS4_OK) out.rxr_status = ReadyXattrChange(ctx, inode);
  if (out.rxr_status != NFS4_OK) return out.rxr_status;
  auto done = ctx.mds.ns().RemoveXattr(inode.fileid, name);
  if (!done.ok()) return out.rxr_status = XattrStatus(done.status());
  FillChangeInfo(*done, out.REMOVEXATTR4res_u.rxr_info);
  return NFS4_OK;
}

}  // namespace manifold::nfs4::ops
