// NFSv4 attributes: bitmaps, id mapping, fattr4 encoding (GETATTR/READDIR), SETATTR/CREATE/OPEN
// decoding and VERIFY/NVERIFY. What is supported is decided in attr_table.cc.
//
// Every attribute value goes through the rpcgen routine of its type (xdr_fattr4_<name>) over a
// libtirpc xdrmem stream; xdr_sizeof sizes it first. No XDR primitive is hand-rolled here.

#include "nfs4/attrs.h"

#include <bit>
#include <climits>
#include <cstdio>
#include <cstring>
#include <type_traits>
#include <utility>

#include "common/check.h"

namespace manifold::nfs4 {
namespace {

// RFC 8881 6.2.4: the mode bits the protocol defines (MODE4_SUID .. MODE4_XOTH).
constexpr uint32_t kModeBits = 07777;
constexpr uint32_t kNsecPerSec = 1000000000;
// Room for the C value of any attribute the server decodes generically (VERIFY/NVERIFY).
constexpr size_t kValueStorageBytes = 128;

const IdMapper& MapperOr(const IdMapper* mapper) {
  return mapper != nullptr ? *mapper : NumericIdMapper();
}

// ---- XDR streams over attrlist4 bytes -------------------------------------------------------

// Appends attribute values to a byte vector, each with its rpcgen routine.
class AttrWriter {
 public:
  explicit AttrWriter(std::vector<uint8_t>& out) : out_(out) {}

  // False when the value cannot be encoded (over an XDR bound, or past attrlist4's bound).
  bool PutRaw(xdrproc_t proc, void* value) {
    const u_long n = xdr_sizeof(proc, value);  // 0: the routine failed
    const size_t pos = out_.size();
    if (n == 0 || n > kAttrValueBytesMax - pos) return false;
    out_.resize(pos + n);
    XDR x;
    xdrmem_create(&x, reinterpret_cast<char*>(out_.data() + pos), static_cast<u_int>(n),
                  XDR_ENCODE);
    const bool ok = proc(&x, value) && xdr_getpos(&x) == n;
    xdr_destroy(&x);
    if (!ok) out_.resize(pos);
    return ok;
  }

  template <typename T>
  bool Put(bool_t (*proc)(XDR*, T*), std::type_identity_t<T> value) {
    return PutRaw(reinterpret_cast<xdrproc_t>(proc), &value);
  }

  bool PutString(bool_t (*proc)(XDR*, utf8string*), const std::string& s) {
    if (s.size() > UINT_MAX) return false;
    return Put(proc, utf8string{static_cast<u_int>(s.size()), const_cast<char*>(s.data())});
  }

  bool PutBitmap(bool_t (*proc)(XDR*, bitmap4*), const AttrBitmap& bits) {
    const auto words = bits.Words();
    return Put(proc,
               bitmap4{static_cast<u_int>(words.size()), const_cast<uint32_t*>(words.data())});
  }

 private:
  std::vector<uint8_t>& out_;
};

// Reads a client's attribute values in order; AtEnd() says whether all bytes were consumed.
class AttrReader {
 public:
  explicit AttrReader(const attrlist4& in) : len_(in.attrlist4_len) {
    xdrmem_create(&xdr_, in.attrlist4_val, in.attrlist4_len, XDR_DECODE);
  }
  ~AttrReader() { xdr_destroy(&xdr_); }
  AttrReader(const AttrReader&) = delete;
  AttrReader& operator=(const AttrReader&) = delete;

  XDR* xdr() { return &xdr_; }
  bool AtEnd() { return xdr_getpos(&xdr_) == len_; }

 private:
  XDR xdr_;
  u_int len_;
};

nfstime4 ToNfstime(const Timestamp& t) { return nfstime4{t.sec, t.nsec}; }

// ---- GETATTR / READDIR: one attribute value ------------------------------------------------

struct EncodeContext {
  const ObjectAttrs& obj;
  const FsAttrs& fs;
  std::span<const uint8_t> filehandle;
  const AttrEncodeOptions& options;
  const IdMapper& mapper;
};

// RFC 9754 open_arguments: what OPEN accepts (src/nfs4/ops/open.cc, src/state).
const fattr4_open_arguments& OpenArguments() {
  static uint32_t access[1] = {(1u << OPEN_ARGS_SHARE_ACCESS_READ) |
                               (1u << OPEN_ARGS_SHARE_ACCESS_WRITE) |
                               (1u << OPEN_ARGS_SHARE_ACCESS_BOTH)};
  static uint32_t deny[1] = {(1u << OPEN_ARGS_SHARE_DENY_NONE) | (1u << OPEN_ARGS_SHARE_DENY_READ) |
                             (1u << OPEN_ARGS_SHARE_DENY_WRITE) |
                             (1u << OPEN_ARGS_SHARE_DENY_BOTH)};
  static uint32_t want[1] = {(1u << OPEN_ARGS_SHARE_ACCESS_WANT_READ_DELEG) |
                             (1u << OPEN_ARGS_SHARE_ACCESS_WANT_WRITE_DELEG) |
                             (1u << OPEN_ARGS_SHARE_ACCESS_WANT_ANY_DELEG) |
                             (1u << OPEN_ARGS_SHARE_ACCESS_WANT_NO_DELEG) |
                             (1u << OPEN_ARGS_SHARE_ACCESS_WANT_CANCEL)};
  static uint32_t claim[1] = {(1u << OPEN_ARGS_OPEN_CLAIM_NULL) |
                              (1u << OPEN_ARGS_OPEN_CLAIM_PREVIOUS) |
                              (1u << OPEN_ARGS_OPEN_CLAIM_DELEGATE_CUR) |
                              (1u << OPEN_ARGS_OPEN_CLAIM_FH) |
                              (1u << OPEN_ARGS_OPEN_CLAIM_DELEG_CUR_FH)};
  static uint32_t create[1] = {(1u << OPEN_ARGS_CREATEMODE_UNCHECKED4) |
                               (1u << OPEN_ARGS_CREATE_MODE_GUARDED) |
                               (1u << OPEN_ARGS_CREATEMODE_EXCLUSIVE4) |
                               (1u << OPEN_ARGS_CREATE_MODE_EXCLUSIVE4_1)};
  static const fattr4_open_arguments value{
      {1, access}, {1, deny}, {1, want}, {1, claim}, {1, create}};
  return value;
}

// What the server and the file system can do: flags, bitmaps, the lease, rdattr_error.
bool EncodeFsProperty(uint32_t attr, const EncodeContext& c, AttrWriter& w) {
  const FsAttrs& f = c.fs;
  const uint32_t minor = c.options.minor_version;
  switch (attr) {
    case FATTR4_SUPPORTED_ATTRS:
      return w.PutBitmap(xdr_fattr4_supported_attrs, SupportedAttrs(minor));
    case FATTR4_FH_EXPIRE_TYPE:
      return w.Put(xdr_fattr4_fh_expire_type, f.fh_expire_type);
    case FATTR4_LINK_SUPPORT:
      return w.Put(xdr_fattr4_link_support, f.link_support);
    case FATTR4_SYMLINK_SUPPORT:
      return w.Put(xdr_fattr4_symlink_support, f.symlink_support);
    case FATTR4_NAMED_ATTR:
      return w.Put(xdr_fattr4_named_attr, f.named_attr);
    case FATTR4_UNIQUE_HANDLES:
      return w.Put(xdr_fattr4_unique_handles, f.unique_handles);
    case FATTR4_LEASE_TIME:
      return w.Put(xdr_fattr4_lease_time, f.lease_time_s);
    case FATTR4_RDATTR_ERROR:
      return w.Put(xdr_fattr4_rdattr_error, c.options.rdattr_error);
    case FATTR4_ACLSUPPORT:
      return w.Put(xdr_fattr4_aclsupport, f.aclsupport);
    case FATTR4_CANSETTIME:
      return w.Put(xdr_fattr4_cansettime, f.cansettime);
    case FATTR4_CASE_INSENSITIVE:
      return w.Put(xdr_fattr4_case_insensitive, f.case_insensitive);
    case FATTR4_CASE_PRESERVING:
      return w.Put(xdr_fattr4_case_preserving, f.case_preserving);
    case FATTR4_CHOWN_RESTRICTED:
      return w.Put(xdr_fattr4_chown_restricted, f.chown_restricted);
    case FATTR4_HOMOGENEOUS:
      return w.Put(xdr_fattr4_homogeneous, f.homogeneous);
    case FATTR4_NO_TRUNC:
      return w.Put(xdr_fattr4_no_trunc, f.no_trunc);
    case FATTR4_SUPPATTR_EXCLCREAT:
      return w.PutBitmap(xdr_fattr4_suppattr_exclcreat, SuppattrExclcreat(minor));
    case FATTR4_CHANGE_ATTR_TYPE:
      return w.Put(xdr_fattr4_change_attr_type, f.change_attr_type);
    case FATTR4_XATTR_SUPPORT:
      return w.Put(xdr_fattr4_xattr_support, f.xattr_support);
    case FATTR4_OPEN_ARGUMENTS:
      return w.Put(xdr_fattr4_open_arguments, OpenArguments());
  }
  // A row marked supported in attr_table.cc with no encoder here.
  std::fprintf(stderr, "nfs4 attrs: no encoder for supported attribute %u\n", attr);
  MANIFOLD_CHECK(false);
  return false;
}

// The file system's sizes, counts and layouts; the rest go to EncodeFsProperty.
bool EncodeFsLimit(uint32_t attr, const EncodeContext& c, AttrWriter& w) {
  const FsAttrs& f = c.fs;
  switch (attr) {
    case FATTR4_FILES_AVAIL:
      return w.Put(xdr_fattr4_files_avail, f.files_avail);
    case FATTR4_FILES_FREE:
      return w.Put(xdr_fattr4_files_free, f.files_free);
    case FATTR4_FILES_TOTAL:
      return w.Put(xdr_fattr4_files_total, f.files_total);
    case FATTR4_MAXFILESIZE:
      return w.Put(xdr_fattr4_maxfilesize, f.maxfilesize_bytes);
    case FATTR4_MAXLINK:
      return w.Put(xdr_fattr4_maxlink, f.maxlink);
    case FATTR4_MAXNAME:
      return w.Put(xdr_fattr4_maxname, f.maxname_bytes);
    case FATTR4_MAXREAD:
      return w.Put(xdr_fattr4_maxread, f.maxread_bytes);
    case FATTR4_MAXWRITE:
      return w.Put(xdr_fattr4_maxwrite, f.maxwrite_bytes);
    case FATTR4_SPACE_AVAIL:
      return w.Put(xdr_fattr4_space_avail, f.space_avail_bytes);
    case FATTR4_SPACE_FREE:
      return w.Put(xdr_fattr4_space_free, f.space_free_bytes);
    case FATTR4_SPACE_TOTAL:
      return w.Put(xdr_fattr4_space_total, f.space_total_bytes);
    case FATTR4_TIME_DELTA:
      return w.Put(xdr_fattr4_time_delta, ToNfstime(f.time_delta));
    case FATTR4_FS_LAYOUT_TYPES:
      return w.Put(xdr_fattr4_fs_layout_types, {static_cast<u_int>(f.layout_types.size()),
                                                const_cast<layouttype4*>(f.layout_types.data())});
    case FATTR4_LAYOUT_BLKSIZE:
      return w.Put(xdr_fattr4_layout_blksize, f.layout_blksize_bytes);
    default:
      return EncodeFsProperty(attr, c, w);
  }
}

// Per-object attributes; the rest go to EncodeFsLimit.
bool EncodeAttr(uint32_t attr, const EncodeContext& c, AttrWriter& w) {
  const ObjectAttrs& o = c.obj;
  switch (attr) {
    case FATTR4_TYPE:
      return w.Put(xdr_fattr4_type, o.type);
    case FATTR4_CHANGE:
      return w.Put(xdr_fattr4_change, o.change);
    case FATTR4_SIZE:
      return w.Put(xdr_fattr4_size, o.size_bytes);
    case FATTR4_FSID:
      return w.Put(xdr_fattr4_fsid, fsid4{o.fsid_major, o.fsid_minor});
    case FATTR4_FILEHANDLE:
      // The caller passes the handle whenever it may be requested; an empty one is a bug.
      MANIFOLD_CHECK(!c.filehandle.empty());
      return w.Put(xdr_fattr4_filehandle,
                   {static_cast<u_int>(c.filehandle.size()),
                    reinterpret_cast<char*>(const_cast<uint8_t*>(c.filehandle.data()))});
    case FATTR4_FILEID:
      return w.Put(xdr_fattr4_fileid, o.fileid);
    // RFC 8881 6.2.4: a server MUST NOT return bits other than MODE4_*.
    case FATTR4_MODE:
      return w.Put(xdr_fattr4_mode, o.mode & kModeBits);
    case FATTR4_NUMLINKS:
      return w.Put(xdr_fattr4_numlinks, o.nlink);
    case FATTR4_OWNER:
      return w.PutString(xdr_fattr4_owner, c.mapper.UidToOwner(o.uid));
    case FATTR4_OWNER_GROUP:
      return w.PutString(xdr_fattr4_owner_group, c.mapper.GidToGroup(o.gid));
    case FATTR4_RAWDEV:
      return w.Put(xdr_fattr4_rawdev, specdata4{o.rdev_major, o.rdev_minor});
    case FATTR4_SPACE_USED:
      return w.Put(xdr_fattr4_space_used, o.space_used_bytes);
    case FATTR4_TIME_ACCESS:
      return w.Put(xdr_fattr4_time_access, ToNfstime(o.atime));
    case FATTR4_TIME_CREATE:
      return w.Put(xdr_fattr4_time_create, ToNfstime(o.crtime));
    case FATTR4_TIME_METADATA:
      return w.Put(xdr_fattr4_time_metadata, ToNfstime(o.ctime));
    case FATTR4_TIME_MODIFY:
      return w.Put(xdr_fattr4_time_modify, ToNfstime(o.mtime));
    case FATTR4_MOUNTED_ON_FILEID:
      return w.Put(xdr_fattr4_mounted_on_fileid, o.mounted_on_fileid);
    default:
      return EncodeFsLimit(attr, c, w);
  }
}

// ---- SETATTR / CREATE / OPEN ----------------------------------------------------------------

// The attribute values as decoded, before any check of their meaning.
struct RawSetAttrs {
  fattr4_size size = 0;
  fattr4_mode mode = 0;
  std::string owner;
  std::string owner_group;
  fattr4_time_access_set atime_set{};
  fattr4_time_modify_set mtime_set{};
  fattr4_time_create crtime{};
  fattr4_mode_umask mode_umask{};
};

nfsstat4 CheckSettable(const AttrBitmap& mask, bool dropped, SetAttrsFor purpose, uint32_t minor) {
  if (dropped || !mask.IsSubsetOf(SupportedAttrs(minor))) return NFS4ERR_ATTRNOTSUPP;
  // RFC 8881 18.30.3: setting a read-only attribute is NFS4ERR_INVAL.
  if (!mask.IsSubsetOf(WritableAttrs(minor))) return NFS4ERR_INVAL;
  // RFC 8881 18.16.3: EXCLUSIVE4_1 cva_attrs outside suppattr_exclcreat is NFS4ERR_INVAL.
  if (purpose == SetAttrsFor::kExclusiveCreate && !mask.IsSubsetOf(SuppattrExclcreat(minor))) {
    return NFS4ERR_INVAL;
  }
  if (mask.Test(FATTR4_MODE_UMASK)) {
    // RFC 8275 3: mode_umask only where objects are created, and never together with mode.
    if (purpose == SetAttrsFor::kSetattr || mask.Test(FATTR4_MODE)) return NFS4ERR_INVAL;
  }
  return NFS4_OK;
}

bool ReadString(XDR* x, bool_t (*proc)(XDR*, utf8string*), std::string& out) {
  utf8string v{};
  const bool ok = proc(x, &v);
  if (ok) out.assign(v.utf8string_val == nullptr ? "" : v.utf8string_val, v.utf8string_len);
  xdr_free(reinterpret_cast<xdrproc_t>(proc), reinterpret_cast<char*>(&v));
  return ok;
}

// time_how4 is an enum: a value outside it is malformed XDR, as Linux nfsd treats it.
bool ReadSetTime(XDR* x, bool_t (*proc)(XDR*, settime4*), settime4& out) {
  return proc(x, &out) && (out.set_it == SET_TO_SERVER_TIME4 || out.set_it == SET_TO_CLIENT_TIME4);
}

bool ReadSettable(uint32_t attr, XDR* x, RawSetAttrs& raw) {
  switch (attr) {
    case FATTR4_SIZE:
      return xdr_fattr4_size(x, &raw.size);
    case FATTR4_MODE:
      return xdr_fattr4_mode(x, &raw.mode);
    case FATTR4_OWNER:
      return ReadString(x, xdr_fattr4_owner, raw.owner);
    case FATTR4_OWNER_GROUP:
      return ReadString(x, xdr_fattr4_owner_group, raw.owner_group);
    case FATTR4_TIME_ACCESS_SET:
      return ReadSetTime(x, xdr_fattr4_time_access_set, raw.atime_set);
    case FATTR4_TIME_CREATE:
      return xdr_fattr4_time_create(x, &raw.crtime);
    case FATTR4_TIME_MODIFY_SET:
      return ReadSetTime(x, xdr_fattr4_time_modify_set, raw.mtime_set);
    case FATTR4_MODE_UMASK:
      return xdr_fattr4_mode_umask(x, &raw.mode_umask);
  }
  // A row marked writable and supported in attr_table.cc with no decoder here.
  std::fprintf(stderr, "nfs4 attrs: no decoder for settable attribute %u\n", attr);
  MANIFOLD_CHECK(false);
  return false;
}

// False when attr_vals is not exactly the mask's values.
bool ReadSetAttrs(const attrlist4& vals, const AttrBitmap& mask, RawSetAttrs& raw) {
  AttrReader r(vals);
  for (uint32_t a = mask.Next(0); a < kAttrBitsMax; a = mask.Next(a + 1)) {
    if (!ReadSettable(a, r.xdr(), raw)) return false;
  }
  return r.AtEnd();
}

bool ValidTime(const nfstime4& t) { return t.nseconds < kNsecPerSec; }

std::optional<SetTime> ToSetTime(const settime4& s) {
  if (s.set_it == SET_TO_SERVER_TIME4) return SetTime{.server_time = true, .time = {}};
  return SetTime{.time = {s.settime4_u.time.seconds, s.settime4_u.time.nseconds}};
}

// Mode and times: NFS4ERR_INVAL for values the RFCs rule out.
nfsstat4 ConvertModeAndTimes(const RawSetAttrs& raw, const AttrBitmap& mask, SetAttrs& out) {
  if (mask.Test(FATTR4_MODE)) {
    if ((raw.mode & ~kModeBits) != 0) return NFS4ERR_INVAL;  // RFC 8881 6.2.4
    out.mode = raw.mode;
  }
  if (mask.Test(FATTR4_MODE_UMASK)) {
    const mode_umask4& mu = raw.mode_umask;
    if (((mu.mu_mode | mu.mu_umask) & ~kModeBits) != 0) return NFS4ERR_INVAL;
    out.mode = mu.mu_mode & ~mu.mu_umask;  // RFC 8275 3: no ACLs, so no inheritable ACEs
  }
  const bool atime = mask.Test(FATTR4_TIME_ACCESS_SET);
  const bool mtime = mask.Test(FATTR4_TIME_MODIFY_SET);
  if (atime && raw.atime_set.set_it == SET_TO_CLIENT_TIME4 &&
      !ValidTime(raw.atime_set.settime4_u.time)) {
    return NFS4ERR_INVAL;
  }
  if (mtime && raw.mtime_set.set_it == SET_TO_CLIENT_TIME4 &&
      !ValidTime(raw.mtime_set.settime4_u.time)) {
    return NFS4ERR_INVAL;
  }
  if (mask.Test(FATTR4_TIME_CREATE) && !ValidTime(raw.crtime)) return NFS4ERR_INVAL;
  if (atime) out.atime = ToSetTime(raw.atime_set);
  if (mtime) out.mtime = ToSetTime(raw.mtime_set);
  if (mask.Test(FATTR4_TIME_CREATE))
    out.crtime = Timestamp{raw.crtime.seconds, raw.crtime.nseconds};
  if (mask.Test(FATTR4_SIZE)) out.size_bytes = raw.size;
  return NFS4_OK;
}

nfsstat4 ConvertOwners(const RawSetAttrs& raw, const AttrBitmap& mask, const IdMapper& mapper,
                       SetAttrs& out) {
  if (mask.Test(FATTR4_OWNER)) {
    out.uid = mapper.OwnerToUid(raw.owner);
    if (!out.uid) return NFS4ERR_BADOWNER;
  }
  if (mask.Test(FATTR4_OWNER_GROUP)) {
    out.gid = mapper.GroupToGid(raw.owner_group);
    if (!out.gid) return NFS4ERR_BADOWNER;
  }
  return NFS4_OK;
}

// ---- VERIFY / NVERIFY -----------------------------------------------------------------------

// Decodes one client value with the attribute's rpcgen routine and appends its re-encoding.
nfsstat4 AppendCanonical(const AttrInfo& info, XDR* in, AttrWriter& w) {
  alignas(std::max_align_t) unsigned char value[kValueStorageBytes];
  MANIFOLD_CHECK(info.value_size <= sizeof(value));
  std::memset(value, 0, sizeof(value));
  nfsstat4 status = NFS4_OK;
  if (!info.xdr(in, value)) {
    status = NFS4ERR_BADXDR;
  } else if (info.number == FATTR4_MODE &&
             (*reinterpret_cast<fattr4_mode*>(value) & ~kModeBits) != 0) {
    status = NFS4ERR_INVAL;  // RFC 8881 6.2.4 names VERIFY and NVERIFY too
  } else {
    if (info.number == FATTR4_SUPPORTED_ATTRS || info.number == FATTR4_SUPPATTR_EXCLCREAT) {
      // A bitmap's value does not include its trailing zero words.
      auto* b = reinterpret_cast<bitmap4*>(value);
      while (b->bitmap4_len > 0 && b->bitmap4_val[b->bitmap4_len - 1] == 0) --b->bitmap4_len;
    }
    // Re-encoding a decoded value never grows it, so this cannot pass attrlist4's bound.
    if (!w.PutRaw(info.xdr, value)) status = NFS4ERR_SERVERFAULT;
  }
  xdr_free(info.xdr, reinterpret_cast<char*>(value));
  return status;
}

nfsstat4 CanonicalClientValues(const attrlist4& vals, const AttrBitmap& mask,
                               std::vector<uint8_t>& out) {
  AttrReader r(vals);
  AttrWriter w(out);
  for (uint32_t a = mask.Next(0); a < kAttrBitsMax; a = mask.Next(a + 1)) {
    const nfsstat4 status = AppendCanonical(AttrTable()[a], r.xdr(), w);
    if (status != NFS4_OK) return status;
  }
  return r.AtEnd() ? NFS4_OK : NFS4ERR_BADXDR;
}

}  // namespace

// ---- AttrBitmap -----------------------------------------------------------------------------

AttrBitmap::AttrBitmap(std::initializer_list<uint32_t> bits) {
  for (uint32_t b : bits) Set(b);
}

AttrBitmap AttrBitmap::FromWire(const bitmap4& in, bool* dropped) {
  AttrBitmap out;
  bool lost = false;
  for (u_int i = 0; i < in.bitmap4_len; ++i) {
    if (i < kAttrBitmapWordsMax) {
      out.words_[i] = in.bitmap4_val[i];
    } else if (in.bitmap4_val[i] != 0) {
      lost = true;
    }
  }
  if (dropped != nullptr) *dropped = lost;
  return out;
}

bool AttrBitmap::Test(uint32_t bit) const {
  return bit < kAttrBitsMax && (words_[bit / 32] >> (bit % 32) & 1u) != 0;
}

void AttrBitmap::Set(uint32_t bit) {
  MANIFOLD_CHECK(bit < kAttrBitsMax);
  words_[bit / 32] |= 1u << (bit % 32);
}

void AttrBitmap::Clear(uint32_t bit) {
  if (bit < kAttrBitsMax) words_[bit / 32] &= ~(1u << (bit % 32));
}

uint32_t AttrBitmap::Next(uint32_t from) const {
  for (uint32_t i = from / 32; i < kAttrBitmapWordsMax && from < kAttrBitsMax; ++i) {
    const uint32_t shift = i == from / 32 ? from % 32 : 0;
    const uint32_t word = words_[i] >> shift << shift;
    if (word != 0) return i * 32 + static_cast<uint32_t>(std::countr_zero(word));
  }
  return kAttrBitsMax;
}

uint32_t AttrBitmap::Count() const {
  uint32_t n = 0;
  for (uint32_t w : words_) n += static_cast<uint32_t>(std::popcount(w));
  return n;
}

uint32_t AttrBitmap::WordCount() const {
  uint32_t n = kAttrBitmapWordsMax;
  while (n > 0 && words_[n - 1] == 0) --n;
  return n;
}

AttrBitmap AttrBitmap::operator&(const AttrBitmap& o) const {
  AttrBitmap r;
  for (uint32_t i = 0; i < kAttrBitmapWordsMax; ++i) r.words_[i] = words_[i] & o.words_[i];
  return r;
}

AttrBitmap AttrBitmap::operator|(const AttrBitmap& o) const {
  AttrBitmap r;
  for (uint32_t i = 0; i < kAttrBitmapWordsMax; ++i) r.words_[i] = words_[i] | o.words_[i];
  return r;
}

AttrBitmap AttrBitmap::Minus(const AttrBitmap& o) const {
  AttrBitmap r;
  for (uint32_t i = 0; i < kAttrBitmapWordsMax; ++i) r.words_[i] = words_[i] & ~o.words_[i];
  return r;
}

void ToBitmap4(const AttrBitmap& bits, const AttrAlloc& alloc, bitmap4& out) {
  const auto words = bits.Words();
  out.bitmap4_len = static_cast<u_int>(words.size());
  out.bitmap4_val = nullptr;
  if (words.empty()) return;
  out.bitmap4_val = static_cast<uint32_t*>(alloc(words.size_bytes()));
  std::memcpy(out.bitmap4_val, words.data(), words.size_bytes());
}

bool BitmapTest(const bitmap4& bits, uint32_t bit) {
  return bit / 32 < bits.bitmap4_len && (bits.bitmap4_val[bit / 32] >> (bit % 32) & 1u) != 0;
}

// ---- id mapping -----------------------------------------------------------------------------

std::optional<uint32_t> ParseNumericId(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(ch - '0');
  }
  // 4294967295 is (uid_t)-1, chown's "leave unchanged": never a real owner.
  if (v >= UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

namespace {
class NumericMapper final : public IdMapper {
 public:
  std::string UidToOwner(uint32_t uid) const override { return std::to_string(uid); }
  std::string GidToGroup(uint32_t gid) const override { return std::to_string(gid); }
  std::optional<uint32_t> OwnerToUid(std::string_view owner) const override {
    return ParseNumericId(owner);
  }
  std::optional<uint32_t> GroupToGid(std::string_view group) const override {
    return ParseNumericId(group);
  }
};
}  // namespace

const IdMapper& NumericIdMapper() {
  static const NumericMapper mapper;
  return mapper;
}

// ---- GETATTR / READDIR ----------------------------------------------------------------------

nfsstat4 EncodeAttrValues(const AttrBitmap& requested, const ObjectAttrs& obj, const FsAttrs& fs,
                          std::span<const uint8_t> filehandle, const AttrEncodeOptions& options,
                          EncodedAttrs& out) {
  out.mask = {};
  out.vals.clear();  // keeps its capacity: READDIR encodes every entry into one
  const uint32_t minor = options.minor_version;
  // Write-only attributes have no value to return; Linux nfsd also answers NFS4ERR_INVAL.
  if (!(requested & WriteOnlyAttrs(minor)).Empty()) return NFS4ERR_INVAL;
  AttrBitmap todo = requested & SupportedAttrs(minor);
  if (!options.readdir) {
    todo.Clear(FATTR4_RDATTR_ERROR);
  } else if (options.rdattr_error != NFS4_OK) {
    // RFC 8881 18.23.3: with rdattr_error requested, the entry carries just the error;
    // without it, the whole READDIR fails with that error.
    if (!todo.Test(FATTR4_RDATTR_ERROR)) return options.rdattr_error;
    todo = AttrBitmap{FATTR4_RDATTR_ERROR};
  }
  const EncodeContext ctx{obj, fs, filehandle, options, MapperOr(options.id_mapper)};
  AttrWriter w(out.vals);
  for (uint32_t a = todo.Next(0); a < kAttrBitsMax; a = todo.Next(a + 1)) {
    if (!EncodeAttr(a, ctx, w)) {
      out.vals.clear();
      return NFS4ERR_SERVERFAULT;
    }
  }
  out.mask = todo;
  return NFS4_OK;
}

nfsstat4 EncodeAttrs(const bitmap4& requested, const ObjectAttrs& obj, const FsAttrs& fs,
                     std::span<const uint8_t> filehandle, const AttrEncodeOptions& options,
                     fattr4& out, const AttrAlloc& alloc) {
  std::memset(static_cast<void*>(&out), 0, sizeof(out));
  EncodedAttrs enc;
  const nfsstat4 status =
      EncodeAttrValues(AttrBitmap::FromWire(requested), obj, fs, filehandle, options, enc);
  if (status != NFS4_OK) return status;
  ToBitmap4(enc.mask, alloc, out.attrmask);
  out.attr_vals.attrlist4_len = static_cast<u_int>(enc.vals.size());
  if (!enc.vals.empty()) {
    out.attr_vals.attrlist4_val = static_cast<char*>(alloc(enc.vals.size()));
    std::memcpy(out.attr_vals.attrlist4_val, enc.vals.data(), enc.vals.size());
  }
  return NFS4_OK;
}

// ---- SETATTR / CREATE / OPEN ----------------------------------------------------------------

nfsstat4 DecodeSetAttrs(const fattr4& in, SetAttrsFor purpose, const AttrDecodeOptions& options,
                        SetAttrs& out, AttrBitmap& attrsset) {
  out = {};
  attrsset = {};
  bool dropped = false;
  const AttrBitmap mask = AttrBitmap::FromWire(in.attrmask, &dropped);
  nfsstat4 status = CheckSettable(mask, dropped, purpose, options.minor_version);
  if (status != NFS4_OK) return status;
  RawSetAttrs raw;
  if (!ReadSetAttrs(in.attr_vals, mask, raw)) return NFS4ERR_BADXDR;
  SetAttrs result;
  status = ConvertModeAndTimes(raw, mask, result);
  if (status == NFS4_OK) status = ConvertOwners(raw, mask, MapperOr(options.id_mapper), result);
  if (status != NFS4_OK) return status;
  out = std::move(result);
  attrsset = mask;
  return NFS4_OK;
}

// ---- VERIFY / NVERIFY -----------------------------------------------------------------------

nfsstat4 AttrsMatch(const fattr4& in, const ObjectAttrs& obj, const FsAttrs& fs,
                    std::span<const uint8_t> filehandle, const AttrEncodeOptions& options,
                    bool& match) {
  match = false;
  const uint32_t minor = options.minor_version;
  bool dropped = false;
  const AttrBitmap mask = AttrBitmap::FromWire(in.attrmask, &dropped);
  if (dropped || !mask.IsSubsetOf(SupportedAttrs(minor))) return NFS4ERR_ATTRNOTSUPP;
  // RFC 8881 18.31.3: rdattr_error is not a property of the object; write-only attributes
  // have no value to compare.
  if (mask.Test(FATTR4_RDATTR_ERROR) || !(mask & WriteOnlyAttrs(minor)).Empty()) {
    return NFS4ERR_INVAL;
  }
  std::vector<uint8_t> theirs;
  nfsstat4 status = CanonicalClientValues(in.attr_vals, mask, theirs);
  if (status != NFS4_OK) return status;
  AttrEncodeOptions ours_options = options;
  ours_options.readdir = false;
  ours_options.rdattr_error = NFS4_OK;
  EncodedAttrs ours;
  status = EncodeAttrValues(mask, obj, fs, filehandle, ours_options, ours);
  if (status != NFS4_OK) return status;
  // Both are the same attributes in the same order, each value self-delimiting, so comparing
  // the concatenations compares attribute by attribute.
  match = ours.vals == theirs;
  return NFS4_OK;
}

nfsstat4 VerifyAttrs(const fattr4& in, const ObjectAttrs& obj, const FsAttrs& fs,
                     std::span<const uint8_t> filehandle, const AttrEncodeOptions& options) {
  bool match = false;
  const nfsstat4 status = AttrsMatch(in, obj, fs, filehandle, options, match);
  if (status != NFS4_OK) return status;
  return match ? NFS4_OK : NFS4ERR_NOT_SAME;
}

nfsstat4 NverifyAttrs(const fattr4& in, const ObjectAttrs& obj, const FsAttrs& fs,
                      std::span<const uint8_t> filehandle, const AttrEncodeOptions& options) {
  bool match = false;
  const nfsstat4 status = AttrsMatch(in, obj, fs, filehandle, options, match);
  if (status != NFS4_OK) return status;
  return match ? NFS4ERR_SAME : NFS4_OK;
}

nfsstat4 DecodeDelegatedAttrs(const fattr4& in, DelegatedAttrs& out) {
  out = {};
  bool dropped = false;
  const AttrBitmap mask = AttrBitmap::FromWire(in.attrmask, &dropped);
  if (dropped) return NFS4ERR_BADXDR;
  AttrReader r(in.attr_vals);
  for (uint32_t a = mask.Next(0); a < kAttrBitsMax; a = mask.Next(a + 1)) {
    if (a >= kAttrCount) return NFS4ERR_BADXDR;  // no RFC defines it: its size is unknown
    const AttrInfo& info = AttrTable()[a];
    alignas(std::max_align_t) unsigned char value[kValueStorageBytes];
    MANIFOLD_CHECK(info.value_size <= sizeof(value));
    std::memset(value, 0, sizeof(value));
    if (!info.xdr(r.xdr(), value)) {
      xdr_free(info.xdr, reinterpret_cast<char*>(value));
      return NFS4ERR_BADXDR;
    }
    if (a == FATTR4_CHANGE) out.change = *reinterpret_cast<fattr4_change*>(value);
    if (a == FATTR4_SIZE) out.size_bytes = *reinterpret_cast<fattr4_size*>(value);
    xdr_free(info.xdr, reinterpret_cast<char*>(value));
  }
  return r.AtEnd() ? NFS4_OK : NFS4ERR_BADXDR;
}

}  // namespace manifold::nfs4
