#include "nfs4client/attrs.h"

#include "rpc/xdr_codec.h"

namespace manifold::nfs4client {

using rpc::XdrReader;
using rpc::XdrWriter;

Bitmap MakeBitmap(std::initializer_list<uint32_t> attrs) {
  Bitmap b;
  for (uint32_t a : attrs) BitmapSet(b, a);
  return b;
}

bool BitmapHas(std::span<const uint32_t> bitmap, uint32_t attr) {
  size_t word = attr / 32;
  return word < bitmap.size() && (bitmap[word] & (1u << (attr % 32))) != 0;
}

void BitmapSet(Bitmap& bitmap, uint32_t attr) {
  size_t word = attr / 32;
  if (bitmap.size() <= word) bitmap.resize(word + 1, 0);
  bitmap[word] |= 1u << (attr % 32);
}

settime4 SetToServerTime() {
  settime4 t{};
  t.set_it = SET_TO_SERVER_TIME4;
  return t;
}

settime4 SetToClientTime(int64_t seconds, uint32_t nseconds) {
  settime4 t{};
  t.set_it = SET_TO_CLIENT_TIME4;
  t.settime4_u.time = {seconds, nseconds};
  return t;
}

bool AttrSet::empty() const {
  return !type && !change && !size && !fileid && !mode && !owner && !owner_group &&
         !time_access_set && !time_modify_set && !mode_umask;
}

namespace {

void WriteSettime(XdrWriter& w, const settime4& t) {
  w.U32(t.set_it);
  if (t.set_it == SET_TO_CLIENT_TIME4) {
    w.U64(uint64_t(t.settime4_u.time.seconds));
    w.U32(t.settime4_u.time.nseconds);
  }
}

}  // namespace

// Written in increasing attribute number, as RFC 8881 5.7 requires.
Bitmap AttrSet::Encode(std::vector<uint8_t>& vals) const {
  Bitmap mask;
  XdrWriter w(vals);
  auto put = [&](uint32_t attr) { BitmapSet(mask, attr); };
  if (type) put(FATTR4_TYPE), w.U32(*type);
  if (change) put(FATTR4_CHANGE), w.U64(*change);
  if (size) put(FATTR4_SIZE), w.U64(*size);
  if (fileid) put(FATTR4_FILEID), w.U64(*fileid);
  if (mode) put(FATTR4_MODE), w.U32(*mode);
  if (owner) put(FATTR4_OWNER), w.String(*owner);
  if (owner_group) put(FATTR4_OWNER_GROUP), w.String(*owner_group);
  if (time_access_set) put(FATTR4_TIME_ACCESS_SET), WriteSettime(w, *time_access_set);
  if (time_modify_set) put(FATTR4_TIME_MODIFY_SET), WriteSettime(w, *time_modify_set);
  if (mode_umask) put(FATTR4_MODE_UMASK), w.U32(mode_umask->mu_mode), w.U32(mode_umask->mu_umask);
  return mask;
}

namespace {

constexpr uint32_t kStringBytesMax = MANIFOLD_NFS4_UTF8_MAX;
constexpr uint32_t kArrayCountMax = 1024;

// Marks `r` failed (XdrReader has no setter: reading past the end is how it fails).
void Fail(XdrReader& r) {
  while (r.ok()) r.U32();
}

nfstime4 ReadTime(XdrReader& r) {
  nfstime4 t;
  t.seconds = int64_t(r.U64());
  t.nseconds = r.U32();
  return t;
}

std::vector<uint32_t> ReadU32Array(XdrReader& r) {
  uint32_t n = r.U32();
  std::vector<uint32_t> v;
  if (n > kArrayCountMax || n * 4 > r.remaining()) {
    Fail(r);
    return v;
  }
  for (uint32_t i = 0; i < n; i++) v.push_back(r.U32());
  return v;
}

std::vector<uint8_t> ReadOpaque(XdrReader& r, uint32_t max) {
  auto s = r.Opaque(max);
  return {s.begin(), s.end()};
}

// The attributes Attrs keeps. Returns false for any other attribute.
bool ReadKept(uint32_t attr, XdrReader& r, Attrs& a) {
  // Assigns only a value that was read in full: a truncated attribute stays unset.
  auto set = [&r](auto& field, auto value) {
    if (r.ok()) field = std::move(value);
  };
  // clang-format off
  switch (attr) {
    case FATTR4_SUPPORTED_ATTRS: set(a.supported_attrs, ReadU32Array(r)); return true;
    case FATTR4_TYPE: set(a.type, nfs_ftype4(r.U32())); return true;
    case FATTR4_FH_EXPIRE_TYPE: set(a.fh_expire_type, r.U32()); return true;
    case FATTR4_CHANGE: set(a.change, r.U64()); return true;
    case FATTR4_SIZE: set(a.size, r.U64()); return true;
    case FATTR4_LINK_SUPPORT: set(a.link_support, r.U32() != 0); return true;
    case FATTR4_SYMLINK_SUPPORT: set(a.symlink_support, r.U32() != 0); return true;
    case FATTR4_FSID: set(a.fsid, fsid4{r.U64(), r.U64()}); return true;
    case FATTR4_LEASE_TIME: set(a.lease_time, r.U32()); return true;
    case FATTR4_RDATTR_ERROR: set(a.rdattr_error, nfsstat4(r.U32())); return true;
    case FATTR4_FILEHANDLE: set(a.filehandle, ReadOpaque(r, NFS4_FHSIZE)); return true;
    case FATTR4_FILEID: set(a.fileid, r.U64()); return true;
    case FATTR4_MAXFILESIZE: set(a.maxfilesize, r.U64()); return true;
    case FATTR4_MAXNAME: set(a.maxname, r.U32()); return true;
    case FATTR4_MAXREAD: set(a.maxread, r.U64()); return true;
    case FATTR4_MAXWRITE: set(a.maxwrite, r.U64()); return true;
    case FATTR4_MODE: set(a.mode, r.U32()); return true;
    case FATTR4_NUMLINKS: set(a.numlinks, r.U32()); return true;
    case FATTR4_OWNER: set(a.owner, r.String(kStringBytesMax)); return true;
    case FATTR4_OWNER_GROUP: set(a.owner_group, r.String(kStringBytesMax)); return true;
    case FATTR4_RAWDEV: set(a.rawdev, specdata4{r.U32(), r.U32()}); return true;
    case FATTR4_SPACE_USED: set(a.space_used, r.U64()); return true;
    case FATTR4_TIME_ACCESS: set(a.time_access, ReadTime(r)); return true;
    case FATTR4_TIME_CREATE: set(a.time_create, ReadTime(r)); return true;
    case FATTR4_TIME_METADATA: set(a.time_metadata, ReadTime(r)); return true;
    case FATTR4_TIME_MODIFY: set(a.time_modify, ReadTime(r)); return true;
    case FATTR4_MOUNTED_ON_FILEID: set(a.mounted_on_fileid, r.U64()); return true;
    case FATTR4_FS_LAYOUT_TYPES: set(a.fs_layout_types, ReadU32Array(r)); return true;
    case FATTR4_LAYOUT_BLKSIZE: set(a.layout_blksize, r.U32()); return true;
    case FATTR4_SUPPATTR_EXCLCREAT: set(a.suppattr_exclcreat, ReadU32Array(r)); return true;
    case FATTR4_CLONE_BLKSIZE: set(a.clone_blksize, r.U32()); return true;
    case FATTR4_CHANGE_ATTR_TYPE: set(a.change_attr_type, r.U32()); return true;
    case FATTR4_XATTR_SUPPORT: set(a.xattr_support, r.U32() != 0); return true;
  }
  // clang-format on
  return false;
}

void SkipAces(XdrReader& r) {
  uint32_t n = r.U32();
  if (n > kArrayCountMax) return Fail(r);
  for (uint32_t i = 0; i < n && r.ok(); i++) {
    r.U32(), r.U32(), r.U32();
    r.Opaque(kStringBytesMax);
  }
}

// Skips a value Attrs does not keep, by the shape of its fattr4_* type. Returns false for an
// attribute whose shape this decoder does not know (fs_locations, fs_status, mdsthreshold...).
bool SkipOther(uint32_t attr, XdrReader& r) {
  // clang-format off
  switch (attr) {
    case FATTR4_NAMED_ATTR: case FATTR4_UNIQUE_HANDLES: case FATTR4_ACLSUPPORT:
    case FATTR4_ARCHIVE: case FATTR4_CANSETTIME: case FATTR4_CASE_INSENSITIVE:
    case FATTR4_CASE_PRESERVING: case FATTR4_CHOWN_RESTRICTED: case FATTR4_HIDDEN:
    case FATTR4_HOMOGENEOUS: case FATTR4_MAXLINK: case FATTR4_NO_TRUNC: case FATTR4_SYSTEM:
    case FATTR4_LAYOUT_ALIGNMENT: case FATTR4_FS_CHARSET_CAP:
      r.U32(); return true;
    case FATTR4_FILES_AVAIL: case FATTR4_FILES_FREE: case FATTR4_FILES_TOTAL:
    case FATTR4_QUOTA_AVAIL_HARD: case FATTR4_QUOTA_AVAIL_SOFT: case FATTR4_QUOTA_USED:
    case FATTR4_SPACE_AVAIL: case FATTR4_SPACE_FREE: case FATTR4_SPACE_TOTAL:
    case FATTR4_RETENTION_HOLD: case FATTR4_SPACE_FREED: case FATTR4_MODE_SET_MASKED:
    case FATTR4_MODE_UMASK:
      r.U64(); return true;
    case FATTR4_TIME_BACKUP: case FATTR4_TIME_DELTA: case FATTR4_DIR_NOTIF_DELAY:
    case FATTR4_DIRENT_NOTIF_DELAY:
      ReadTime(r); return true;
    case FATTR4_CHANGE_POLICY: r.U64(), r.U64(); return true;
    case FATTR4_MIMETYPE: r.Opaque(kStringBytesMax); return true;
    case FATTR4_LAYOUT_TYPES: ReadU32Array(r); return true;
    case FATTR4_LAYOUT_HINT: r.U32(), r.Opaque(MANIFOLD_NFS4_BODY_MAX); return true;
    case FATTR4_SEC_LABEL: r.U32(), r.U32(), r.Opaque(MANIFOLD_NFS4_LABEL_MAX); return true;
    case FATTR4_ACL: SkipAces(r); return true;
    case FATTR4_DACL: case FATTR4_SACL: r.U32(), SkipAces(r); return true;
  }
  // clang-format on
  return false;
}

}  // namespace

Attrs DecodeAttrs(std::span<const uint32_t> mask, std::span<const uint8_t> vals) {
  Attrs a;
  a.returned.assign(mask.begin(), mask.end());
  XdrReader r(vals);
  for (uint32_t attr = 0; attr < mask.size() * 32; attr++) {
    if (!BitmapHas(mask, attr)) continue;
    bool known = ReadKept(attr, r, a) || SkipOther(attr, r);
    if (!known || !r.ok()) {
      a.complete = false;
      a.stopped_at = attr;
      break;
    }
  }
  return a;
}

Attrs DecodeAttrs(const fattr4& attrs) {
  return DecodeAttrs(std::span(attrs.attrmask.bitmap4_val, attrs.attrmask.bitmap4_len),
                     std::span(reinterpret_cast<const uint8_t*>(attrs.attr_vals.attrlist4_val),
                               attrs.attr_vals.attrlist4_len));
}

}  // namespace manifold::nfs4client
