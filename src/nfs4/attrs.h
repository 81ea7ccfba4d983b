// NFSv4 file attributes (RFC 8881 section 5; RFC 7862 section 12.2 for NFSv4.2; RFC 8275
// mode_umask; RFC 8276 xattr_support), independent of storage:
//   - AttrTable(): one row per attribute number, the single source of what Manifold supports;
//   - EncodeAttrs(): GETATTR and READDIR entries (fattr4 out);
//   - DecodeSetAttrs(): SETATTR, CREATE and OPEN (fattr4 in -> SetAttrs);
//   - AttrsMatch() / VerifyAttrs() / NverifyAttrs(): VERIFY and NVERIFY.
// The op code fills ObjectAttrs and FsAttrs from the namespace and applies SetAttrs to it.
//
// XDR: every attribute value is encoded and decoded by the rpcgen routine of its type
// (xdr_fattr4_<name>, generated from src/xdr/nfs4.x) over a libtirpc xdrmem stream. Nothing here
// hand-rolls an XDR primitive that libtirpc or rpcgen already provides.
//
// Thread safety: everything is a pure function of its arguments; AttrTable() and the derived
// bitmaps are built once, on first use, and never change.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xdr/nfs4.h"

namespace manifold::nfs4 {

// ---- limits ---------------------------------------------------------------------------------

// A bitmap4 holds at most this many words (the wire bound of nfs4.x); attribute numbers at or
// above kAttrBitsMax cannot be named.
inline constexpr uint32_t kAttrBitmapWordsMax = MANIFOLD_NFS4_BITMAP_WORDS_MAX;
inline constexpr uint32_t kAttrBitsMax = kAttrBitmapWordsMax * 32;
// Attribute numbers defined by RFC 8881, RFC 7862, RFC 8275, RFC 8276 and RFC 9754: 0..86, no
// gaps.
inline constexpr uint32_t kAttrCount = FATTR4_OPEN_ARGUMENTS + 1;
// Encoded attribute values of one object (attrlist4's wire bound).
inline constexpr size_t kAttrValueBytesMax = MANIFOLD_NFS4_ATTR_BYTES_MAX;
// Minor versions this module knows (the server speaks 4.1 and 4.2; 4.0 never gets here).
inline constexpr uint32_t kMinorVersionMax = 2;

// ---- bitmaps --------------------------------------------------------------------------------

// A set of attribute numbers, value type, no allocation. Bit n is bit (n % 32) of word n / 32,
// as in bitmap4 (RFC 8881 3.3.7).
class AttrBitmap {
 public:
  AttrBitmap() = default;
  AttrBitmap(std::initializer_list<uint32_t> bits);

  // From the wire. Set bits at or above kAttrBitsMax (only possible in a bitmap4 built in code;
  // the decoder bounds the word count) are dropped and reported through *dropped.
  static AttrBitmap FromWire(const bitmap4& in, bool* dropped = nullptr);

  bool Test(uint32_t bit) const;  // false for any bit >= kAttrBitsMax
  void Set(uint32_t bit);         // a bit >= kAttrBitsMax is a bug
  void Clear(uint32_t bit);
  bool Empty() const { return WordCount() == 0; }
  // The lowest set bit >= from, or kAttrBitsMax when there is none. Iterate in wire order with
  //   for (uint32_t a = m.Next(0); a < kAttrBitsMax; a = m.Next(a + 1))
  uint32_t Next(uint32_t from) const;
  uint32_t Count() const;

  // Words up to the last non-zero one: what goes on the wire (RFC 8881 3.3.7 allows trailing
  // zero words; Manifold never sends them).
  uint32_t WordCount() const;
  std::span<const uint32_t> Words() const { return {words_.data(), WordCount()}; }

  AttrBitmap operator&(const AttrBitmap& o) const;
  AttrBitmap operator|(const AttrBitmap& o) const;
  AttrBitmap Minus(const AttrBitmap& o) const;  // this & ~o
  bool IsSubsetOf(const AttrBitmap& o) const { return Minus(o).Empty(); }
  bool operator==(const AttrBitmap& o) const = default;

 private:
  std::array<uint32_t, kAttrBitmapWordsMax> words_{};
};

// Memory for the pointers of an rpcgen result (bitmap words, attribute bytes) that must live
// until the reply is encoded; returns storage aligned for uint32_t. rpc::Arena qualifies:
//   AttrAlloc alloc = [&arena](size_t n) { return arena.Alloc(n); };
using AttrAlloc = std::function<void*(size_t bytes)>;

// Fills `out` with the words of `bits`; out.bitmap4_val points into memory from `alloc`.
void ToBitmap4(const AttrBitmap& bits, const AttrAlloc& alloc, bitmap4& out);
// Tests one bit of a wire bitmap4 directly (false beyond its words).
bool BitmapTest(const bitmap4& bits, uint32_t bit);

// ---- the attribute table --------------------------------------------------------------------

// Access as the RFC defines it: R (read-only), R/W, or W (write-only: time_access_set,
// time_modify_set, layout_hint, mode_set_masked, mode_umask...).
enum class AttrAccess : uint8_t { kRead, kReadWrite, kWrite };
// RFC 8881 5.1 / 5.2: REQUIRED attributes every server supports, RECOMMENDED the rest (the
// NFSv4.2 and extension attributes are classed RECOMMENDED here too).
enum class AttrLevel : uint8_t { kRequired, kRecommended };

struct AttrInfo {
  uint32_t number;       // FATTR4_*; AttrTable()[n].number == n
  const char* name;      // as the RFC spells it: "time_modify_set"
  const char* xdr_type;  // the value's type as nfs4.x spells it: "settime4"
  AttrAccess access;
  AttrLevel level;
  uint32_t minor_version;  // first minor version that defines it (RFC 8275/8276: 2)
  bool supported;          // served by Manifold (for sessions of at least minor_version)
  bool exclcreat;          // in suppattr_exclcreat: settable by OPEN EXCLUSIVE4_1
  const char* note;        // how it is served, or why it is not (the docs are generated from it)
  xdrproc_t xdr;           // the rpcgen routine of the value: xdr_fattr4_<name>
  size_t value_size;       // sizeof(fattr4_<name>), the C type xdr decodes into
};

// Every attribute number 0..kAttrCount-1, in order.
const std::vector<AttrInfo>& AttrTable();
// nullptr for a number no RFC defines.
const AttrInfo* FindAttr(uint32_t number);

// The supported_attrs value for a session of `minor_version` (1 or 2): every supported row
// whose minor_version is not newer.
const AttrBitmap& SupportedAttrs(uint32_t minor_version);
// The suppattr_exclcreat value (RFC 8881 5.8.1.14): supported attributes OPEN EXCLUSIVE4_1 may
// set in cva_attrs.
const AttrBitmap& SuppattrExclcreat(uint32_t minor_version);
// Supported attributes the client may set (R/W and W) and those it may only set (W).
const AttrBitmap& WritableAttrs(uint32_t minor_version);
const AttrBitmap& WriteOnlyAttrs(uint32_t minor_version);

// ---- owner and owner_group strings ----------------------------------------------------------

// Maps uid/gid to the owner / owner_group strings and back (RFC 8881 5.9). The default,
// NumericIdMapper(), is what the Linux client uses with AUTH_SYS and no idmapd
// (nfs4_disable_idmapping=1, its default): decimal strings both ways, "1000" <-> 1000.
// A name mapper ("alice@example.com") should fall back to numeric strings for ids it does not
// know, as Linux nfsd does.
class IdMapper {
 public:
  virtual ~IdMapper() = default;
  virtual std::string UidToOwner(uint32_t uid) const = 0;
  virtual std::string GidToGroup(uint32_t gid) const = 0;
  // nullopt: the string names nobody this server knows (NFS4ERR_BADOWNER).
  virtual std::optional<uint32_t> OwnerToUid(std::string_view owner) const = 0;
  virtual std::optional<uint32_t> GroupToGid(std::string_view group) const = 0;
};

// Numeric-only: decimal strings of 1 to 10 digits whose value fits in 32 bits.
const IdMapper& NumericIdMapper();
std::optional<uint32_t> ParseNumericId(std::string_view s);

// ---- what the op code knows about an object and its file system -----------------------------

struct Timestamp {
  int64_t sec = 0;
  uint32_t nsec = 0;  // < 1e9
  bool operator==(const Timestamp&) const = default;
};

// Protocol-neutral facts about one object, filled by the op code from the namespace.
struct ObjectAttrs {
  nfs_ftype4 type = NF4REG;
  uint32_t mode = 0;  // permission, setuid/setgid and sticky bits (07777); the type is `type`
  uint32_t nlink = 1;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size_bytes = 0;
  uint64_t space_used_bytes = 0;
  uint64_t fileid = 0;
  uint64_t mounted_on_fileid = 0;  // == fileid except for the root of a mounted file system
  uint64_t fsid_major = 0;
  uint64_t fsid_minor = 0;
  uint32_t rdev_major = 0;  // NF4BLK / NF4CHR only
  uint32_t rdev_minor = 0;
  Timestamp atime, mtime, ctime, crtime;
  uint64_t change = 0;  // the inode's change counter (only grows)
};

// Facts about the file system the object lives in. Defaults are Manifold's answers; the op code
// fills the space and file counts and whatever its configuration changes.
struct FsAttrs {
  uint32_t lease_time_s = 90;
  uint64_t maxread_bytes = MANIFOLD_NFS4_IO_MAX;
  uint64_t maxwrite_bytes = MANIFOLD_NFS4_IO_MAX;
  uint32_t maxname_bytes = MANIFOLD_NFS4_NAME_MAX;
  uint32_t maxlink = 65000;  // hard links per inode (meta::kLinksMax)
  uint64_t maxfilesize_bytes = INT64_MAX;
  std::vector<layouttype4> layout_types = {LAYOUT4_FLEX_FILES};  // fs_layout_types
  uint32_t layout_blksize_bytes = 1u << 20;  // preferred I/O size through a layout
  uint64_t space_avail_bytes = 0;            // to this user
  uint64_t space_free_bytes = 0;
  uint64_t space_total_bytes = 0;
  uint64_t files_avail = 0;
  uint64_t files_free = 0;
  uint64_t files_total = 0;
  Timestamp time_delta = {0, 1};  // timestamps are kept to the nanosecond
  uint32_t fh_expire_type = FH4_PERSISTENT;
  uint32_t aclsupport = 0;  // no ACE types: there is no acl attribute
  change_attr_type4 change_attr_type = NFS4_CHANGE_TYPE_IS_UNDEFINED;  // attr_table.cc says why
  bool link_support = true;
  bool symlink_support = true;
  bool named_attr = false;  // no OPENATTR; extended attributes are RFC 8276 xattrs
  bool unique_handles = true;
  bool case_insensitive = false;
  bool case_preserving = true;
  bool chown_restricted = true;
  bool no_trunc = true;  // a name over maxname is NFS4ERR_NAMETOOLONG, never truncated
  bool homogeneous = true;
  bool cansettime = true;
  bool xattr_support = true;  // NFSv4.2 only
};

// ---- GETATTR / READDIR ----------------------------------------------------------------------

struct AttrEncodeOptions {
  uint32_t minor_version = 2;           // of the session: newer attributes are unsupported
  const IdMapper* id_mapper = nullptr;  // nullptr: NumericIdMapper()
  // rdattr_error (RFC 8881 5.8.1.12) exists only for READDIR entries; GETATTR omits it.
  bool readdir = false;
  // READDIR: the error getting this entry's attributes (NFS4_OK when there was none).
  nfsstat4 rdattr_error = NFS4_OK;
};

// Attribute values encoded into owned buffers.
struct EncodedAttrs {
  AttrBitmap mask;            // what was encoded
  std::vector<uint8_t> vals;  // their XDR values, in increasing attribute number
};

// GETATTR (RFC 8881 18.7) and READDIR entries (18.23): encodes every requested attribute that
// is supported for options.minor_version, in increasing attribute number, and says in the
// returned mask which ones; a requested attribute that is not supported is simply omitted
// (RFC 8881 18.7.3). `filehandle` is the value of the filehandle attribute (1..NFS4_FHSIZE
// bytes; may be empty when that attribute is not requested).
// Returns:
//   NFS4ERR_INVAL        a write-only attribute (time_access_set, time_modify_set, mode_umask)
//                        was requested; Linux nfsd answers the same;
//   options.rdattr_error READDIR entry whose attributes could not be read, when rdattr_error
//                        was not requested (RFC 8881 18.23.3: the READDIR fails with it). When it
//                        was requested, only rdattr_error is encoded, holding that error;
//   NFS4ERR_SERVERFAULT  a value cannot be encoded (over attrlist4's bound, or a mapper name
//                        over MANIFOLD_NFS4_UTF8_MAX): a server bug, not the client's fault.
// `out`'s pointers point into memory from `alloc`.
nfsstat4 EncodeAttrs(const bitmap4& requested, const ObjectAttrs& obj, const FsAttrs& fs,
                     std::span<const uint8_t> filehandle, const AttrEncodeOptions& options,
                     fattr4& out, const AttrAlloc& alloc);
// The same into owned buffers (READDIR sizing, VERIFY, tests).
nfsstat4 EncodeAttrValues(const AttrBitmap& requested, const ObjectAttrs& obj, const FsAttrs& fs,
                          std::span<const uint8_t> filehandle, const AttrEncodeOptions& options,
                          EncodedAttrs& out);

// ---- SETATTR / CREATE / OPEN ----------------------------------------------------------------

// Where the fattr4 comes from; the rules differ.
enum class SetAttrsFor {
  kSetattr,          // SETATTR obj_attributes
  kCreate,           // CREATE createattrs, OPEN UNCHECKED4 / GUARDED4 createattrs
  kExclusiveCreate,  // OPEN EXCLUSIVE4_1 cva_attrs: only suppattr_exclcreat
};

struct SetTime {
  bool server_time = false;  // SET_TO_SERVER_TIME4: the server's clock at the time of the op
  Timestamp time;            // SET_TO_CLIENT_TIME4
  bool operator==(const SetTime&) const = default;
};

// The attributes to set, each present only if the client sent it.
struct SetAttrs {
  std::optional<uint64_t> size_bytes;
  // Permission bits (07777). From mode, or from mode_umask as mu_mode & ~mu_umask (RFC 8275:
  // with no ACLs there are never inheritable ACEs, so the umask always applies).
  std::optional<uint32_t> mode;
  std::optional<uint32_t> uid;      // from owner, through the IdMapper
  std::optional<uint32_t> gid;      // from owner_group
  std::optional<SetTime> atime;     // time_access_set
  std::optional<SetTime> mtime;     // time_modify_set
  std::optional<Timestamp> crtime;  // time_create
};

struct AttrDecodeOptions {
  uint32_t minor_version = 2;
  const IdMapper* id_mapper = nullptr;  // nullptr: NumericIdMapper()
};

// Decodes the attributes a client asks to set. On NFS4_OK, `attrsset` is the mask that was
// decoded (SETATTR's attrsset once the op has applied them); on error `out` and `attrsset` are
// empty. Checks, in this order (the first that fails decides):
//   NFS4ERR_ATTRNOTSUPP  a bit for an attribute not supported at this minor version, or that no
//                        RFC defines (acl among them: Manifold has no ACLs);
//   NFS4ERR_INVAL        a read-only attribute (RFC 8881 18.30.3); for kExclusiveCreate an
//                        attribute outside suppattr_exclcreat (RFC 8881 18.16.3); mode_umask
//                        outside CREATE/OPEN, or together with mode (RFC 8275 3);
//   NFS4ERR_BADXDR       attr_vals is not exactly the mask's values (truncated, trailing bytes,
//                        a time_how4 that is neither SET_TO_SERVER_TIME4 nor SET_TO_CLIENT_TIME4);
//   NFS4ERR_INVAL        nseconds >= 1e9; mode bits outside 07777 (RFC 8881 6.2.4);
//   NFS4ERR_BADOWNER     owner / owner_group the IdMapper cannot map.
// Size against maxfilesize, type-specific rules (size of a directory) and permissions are the
// op's business.
nfsstat4 DecodeSetAttrs(const fattr4& in, SetAttrsFor purpose, const AttrDecodeOptions& options,
                        SetAttrs& out, AttrBitmap& attrsset);

// ---- CB_GETATTR ----------------------------------------------------------------------------

// What a client holding a write delegation reports for the file (RFC 8881 20.1, 10.4.3).
struct DelegatedAttrs {
  std::optional<uint64_t> change;
  std::optional<uint64_t> size_bytes;
};

// Decodes a CB_GETATTR result's attributes: change and size are taken, any other attribute
// defined by an RFC is decoded and skipped. NFS4ERR_BADXDR for values that do not decode or
// an attribute number no RFC defines.
nfsstat4 DecodeDelegatedAttrs(const fattr4& in, DelegatedAttrs& out);

// ---- VERIFY / NVERIFY -----------------------------------------------------------------------

// Compares the client's attributes with the server's encoding of the same attributes of the
// object (RFC 8881 18.31.3: the comparison is of the attribute values as encoded). Each client
// value is decoded with its rpcgen routine and re-encoded first, so only the value counts (a
// bitmap's trailing zero words, a bool sent as 2). *match is set on NFS4_OK. Errors:
//   NFS4ERR_ATTRNOTSUPP  an attribute that is not supported;
//   NFS4ERR_INVAL        rdattr_error or a write-only attribute in the mask (RFC 8881 18.31.3,
//                        as Linux nfsd), a mode with bits outside 07777 (RFC 8881 6.2.4);
//   NFS4ERR_BADXDR       attr_vals is not exactly the mask's values;
//   and EncodeAttrValues' errors.
nfsstat4 AttrsMatch(const fattr4& in, const ObjectAttrs& obj, const FsAttrs& fs,
                    std::span<const uint8_t> filehandle, const AttrEncodeOptions& options,
                    bool& match);
// VERIFY (18.31): NFS4_OK when every attribute matches, else NFS4ERR_NOT_SAME.
nfsstat4 VerifyAttrs(const fattr4& in, const ObjectAttrs& obj, const FsAttrs& fs,
                     std::span<const uint8_t> filehandle, const AttrEncodeOptions& options);
// NVERIFY (18.15): NFS4ERR_SAME when every attribute matches, else NFS4_OK.
nfsstat4 NverifyAttrs(const fattr4& in, const ObjectAttrs& obj, const FsAttrs& fs,
                      std::span<const uint8_t> filehandle, const AttrEncodeOptions& options);

}  // namespace manifold::nfs4
