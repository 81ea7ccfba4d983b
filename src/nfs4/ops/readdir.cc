// READDIR (RFC 8881 18.23). Cookies are the namespace's per-directory entry cookies (stable
// while the directory changes), shifted past 0, 1 and 2, which RFC 8881 18.23.3 reserves.
// The cookie verifier is constant: a cookie never expires, so it never needs checking.
#include <algorithm>
#include <cstring>

#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"
#include "nfs4/status_map.h"

namespace manifold::nfs4::ops {

namespace {

constexpr uint64_t kCookieShift = 2;
// READDIR4resok's fixed part: cookieverf, "no more entries", eof.
constexpr size_t kFixedBytes = NFS4_VERIFIER_SIZE + 4 + 4;

size_t Pad4(size_t n) { return (n + 3) & ~size_t(3); }

// Per-object attributes that need the inode; the rest of what GETATTR encodes per object (type,
// fileid, mounted_on_fileid, fsid) is in the directory entry itself, so a listing that asks for
// no more reads no inode.
const AttrBitmap kInodeAttrs = {FATTR4_CHANGE,      FATTR4_SIZE,        FATTR4_FILEHANDLE,
                                FATTR4_MODE,        FATTR4_NUMLINKS,    FATTR4_OWNER,
                                FATTR4_OWNER_GROUP, FATTR4_RAWDEV,      FATTR4_SPACE_USED,
                                FATTR4_TIME_ACCESS, FATTR4_TIME_CREATE, FATTR4_TIME_METADATA,
                                FATTR4_TIME_MODIFY};

struct Filler {
  CompoundContext& ctx;
  const READDIR4args& args;
  size_t maxcount;  // args.maxcount, or less when the session's reply has less room (18.23.3)
  FsAttrs fs;
  AttrBitmap requested;
  bool with_inodes = true;
  size_t used_bytes = kFixedBytes;
  size_t dir_bytes = 0;
  entry4* head = nullptr;
  entry4** tail = &head;
  size_t count = 0;
  EncodedAttrs attrs{};  // one buffer for every entry's values

  // Adds one entry if it fits in maxcount and dircount; false when the reply is full.
  bool Add(const meta::DirEntry& e, nfsstat4& error) {
    AttrEncodeOptions options;
    options.minor_version = ctx.minorversion;
    options.readdir = true;
    std::string fh;
    ObjectAttrs obj;
    if (e.attrs) {
      fh = EncodeHandle(e.attrs->fileid, e.attrs->generation);
      obj = ToObjectAttrs(*e.attrs);
    } else if (!with_inodes) {
      obj = DirentAttrs(e.fileid, e.type);
    } else {
      options.rdattr_error = NFS4ERR_STALE;  // removed between the listing and its attributes
    }
    error = EncodeAttrValues(requested, obj, fs,
                             {reinterpret_cast<const uint8_t*>(fh.data()), fh.size()}, options,
                             attrs);
    if (error != NFS4_OK) return false;
    size_t entry_dir_bytes = 8 + 4 + Pad4(e.name.size());
    size_t bytes = 4 + entry_dir_bytes + 4 + 4 * attrs.mask.WordCount() + 4 + Pad4(attrs.vals.size());
    if (used_bytes + bytes > maxcount || (args.dircount && dir_bytes + entry_dir_bytes > args.dircount)) {
      return false;
    }
    used_bytes += bytes;
    dir_bytes += entry_dir_bytes;
    auto* out = ctx.arena.Make<entry4>();
    out->cookie = e.cookie + kCookieShift;
    out->name.utf8string_len = u_int(e.name.size());
    out->name.utf8string_val = ctx.arena.CopyString(e.name);
    auto alloc = [this](size_t n) { return ctx.arena.Alloc(n); };
    ToBitmap4(attrs.mask, alloc, out->attrs.attrmask);
    out->attrs.attr_vals.attrlist4_len = u_int(attrs.vals.size());
    out->attrs.attr_vals.attrlist4_val = static_cast<char*>(ctx.arena.Alloc(attrs.vals.size()));
    std::memcpy(out->attrs.attr_vals.attrlist4_val, attrs.vals.data(), attrs.vals.size());
    *tail = out;
    tail = &out->nextentry;
    ++count;
    return true;
  }
};

}  // namespace

nfsstat4 ReadDir(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opreaddir;
  const READDIR4args& a = arg.nfs_argop4_u.opreaddir;
  meta::Inode dir;
  out.status = CurrentDir(ctx, dir);
  if (out.status != NFS4_OK) return out.status;
  if (a.cookie == 1 || a.cookie == 2) return out.status = NFS4ERR_BAD_COOKIE;
  if (!MayAccessInode(ctx, dir, kMayRead)) return out.status = NFS4ERR_ACCESS;
  // A reply the session cannot carry is not built: the listing stops where the room ends
  // (the server may return fewer entries than maxcount allows, 18.23.3).
  const uint64_t room = ResultBytesLeft(ctx, /*within_cache=*/true);
  const size_t maxcount = size_t(std::min<uint64_t>(a.maxcount, room));
  Filler filler{ctx, a, maxcount, ctx.mds.fs_attrs(), AttrBitmap::FromWire(a.attr_request)};
  filler.with_inodes = !(filler.requested & kInodeAttrs).Empty();
  // Below the first cookie the namespace issues lie only positions before the first entry: a
  // client that seeks a directory to one (lseek(2) to any offset, as on a local file system)
  // gets the listing from the start, not NFS4ERR_BAD_COOKIE (which the Linux client takes for
  // the end of the directory).
  uint64_t cookie = a.cookie < meta::kFirstDirCookie + kCookieShift ? 0 : a.cookie - kCookieShift;
  // One pass over the directory that stops at the first entry the reply has no room for.
  nfsstat4 error = NFS4_OK;
  auto add = [&](meta::DirEntry& e) { return filler.Add(e, error); };
  bool eof = false;
  Status scanned = ctx.mds.ns().ScanDir(dir.fileid, cookie, filler.with_inodes, add, &eof);
  if (!scanned.ok()) {
    // A cookie this directory never issued (RFC 8881 18.23.3).
    out.status = scanned.code() == Code::kInvalid ? NFS4ERR_BAD_COOKIE : ToNfs4(scanned);
    return out.status;
  }
  if (error != NFS4_OK) return out.status = error;
  if (filler.count == 0 && !eof) {
    // Not one entry fit: the client's maxcount is too small, or the session's reply is.
    return out.status = room < a.maxcount ? NFS4ERR_REP_TOO_BIG : NFS4ERR_TOOSMALL;
  }
  auto& ok = out.READDIR4res_u.resok4;
  std::memset(ok.cookieverf, 0, NFS4_VERIFIER_SIZE);
  ok.reply.entries = filler.head;
  ok.reply.eof = eof;
  ctx.result_bytes = 4 + filler.used_bytes;  // status, then what maxcount counts
  return NFS4_OK;
}

}  // namespace manifold::nfs4::ops
