// NFSv4 attributes (src/nfs4/attrs.h): the table, fattr4 encoding checked value by value with the
// rpcgen decoders, the Linux client's mount-time GETATTR, SETATTR/CREATE/OPEN decoding and its
// errors, VERIFY/NVERIFY. The expected lists here are written out by hand from RFC 8881 and the
// table's decisions, not derived from the table, so a change to what is supported shows up here.

#include "nfs4/attrs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace manifold::nfs4 {
namespace {

// Every attribute Manifold supports for NFSv4.2 sessions, in attribute number order.
const std::vector<uint32_t> kSupported42 = {
    FATTR4_SUPPORTED_ATTRS,
    FATTR4_TYPE,
    FATTR4_FH_EXPIRE_TYPE,
    FATTR4_CHANGE,
    FATTR4_SIZE,
    FATTR4_LINK_SUPPORT,
    FATTR4_SYMLINK_SUPPORT,
    FATTR4_NAMED_ATTR,
    FATTR4_FSID,
    FATTR4_UNIQUE_HANDLES,
    FATTR4_LEASE_TIME,
    FATTR4_RDATTR_ERROR,
    FATTR4_ACLSUPPORT,
    FATTR4_CANSETTIME,
    FATTR4_CASE_INSENSITIVE,
    FATTR4_CASE_PRESERVING,
    FATTR4_CHOWN_RESTRICTED,
    FATTR4_FILEHANDLE,
    FATTR4_FILEID,
    FATTR4_FILES_AVAIL,
    FATTR4_FILES_FREE,
    FATTR4_FILES_TOTAL,
    FATTR4_HOMOGENEOUS,
    FATTR4_MAXFILESIZE,
    FATTR4_MAXLINK,
    FATTR4_MAXNAME,
    FATTR4_MAXREAD,
    FATTR4_MAXWRITE,
    FATTR4_MODE,
    FATTR4_NO_TRUNC,
    FATTR4_NUMLINKS,
    FATTR4_OWNER,
    FATTR4_OWNER_GROUP,
    FATTR4_RAWDEV,
    FATTR4_SPACE_AVAIL,
    FATTR4_SPACE_FREE,
    FATTR4_SPACE_TOTAL,
    FATTR4_SPACE_USED,
    FATTR4_TIME_ACCESS,
    FATTR4_TIME_ACCESS_SET,
    FATTR4_TIME_CREATE,
    FATTR4_TIME_DELTA,
    FATTR4_TIME_METADATA,
    FATTR4_TIME_MODIFY,
    FATTR4_TIME_MODIFY_SET,
    FATTR4_MOUNTED_ON_FILEID,
    FATTR4_FS_LAYOUT_TYPES,
    FATTR4_LAYOUT_BLKSIZE,
    FATTR4_SUPPATTR_EXCLCREAT,
    FATTR4_CHANGE_ATTR_TYPE,
    FATTR4_MODE_UMASK,
    FATTR4_XATTR_SUPPORT,
    FATTR4_OPEN_ARGUMENTS,
};
// NFSv4.1 sessions: the same without the NFSv4.2 / RFC 8275 / RFC 8276 attributes.
const std::vector<uint32_t> kNewIn42 = {FATTR4_CHANGE_ATTR_TYPE, FATTR4_MODE_UMASK,
                                        FATTR4_XATTR_SUPPORT, FATTR4_OPEN_ARGUMENTS};
const std::vector<uint32_t> kExclcreat42 = {FATTR4_SIZE,        FATTR4_MODE,
                                            FATTR4_OWNER,       FATTR4_OWNER_GROUP,
                                            FATTR4_TIME_CREATE, FATTR4_MODE_UMASK};
const std::vector<uint32_t> kWriteOnly = {FATTR4_TIME_ACCESS_SET, FATTR4_TIME_MODIFY_SET,
                                          FATTR4_MODE_UMASK};

AttrBitmap BitmapOf(const std::vector<uint32_t>& bits) {
  AttrBitmap b;
  for (uint32_t bit : bits) b.Set(bit);
  return b;
}

std::vector<uint32_t> BitsOf(const AttrBitmap& b) {
  std::vector<uint32_t> out;
  for (uint32_t a = b.Next(0); a < kAttrBitsMax; a = b.Next(a + 1)) out.push_back(a);
  return out;
}

const std::vector<uint8_t> kHandle = {
    0x4d, 0x46, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x30, 0x39, 0x00, 0x00, 0x00, 0x07, 0xaa};  // 21 bytes: exercises XDR padding

ObjectAttrs SampleObject() {
  ObjectAttrs o;
  o.type = NF4REG;
  o.mode = 04751;
  o.nlink = 3;
  o.uid = 1000;
  o.gid = 100;
  o.size_bytes = 0x123456789ull;
  o.space_used_bytes = 0x200000;
  o.fileid = 0xabcdef0123ull;
  o.mounted_on_fileid = 0xabcdef0124ull;
  o.fsid_major = 7;
  o.fsid_minor = 9;
  o.rdev_major = 8;
  o.rdev_minor = 17;
  o.atime = {1700000001, 11};
  o.mtime = {1700000002, 22};
  o.ctime = {1700000003, 33};
  o.crtime = {-5, 999999999};
  o.change = 0x1122334455667788ull;
  return o;
}

FsAttrs SampleFs() {
  FsAttrs f;
  f.lease_time_s = 45;
  f.maxread_bytes = 524288;
  f.maxwrite_bytes = 262144;
  f.maxname_bytes = 255;
  f.maxlink = 65000;
  f.maxfilesize_bytes = 1ull << 50;
  f.layout_blksize_bytes = 4u << 20;
  f.space_avail_bytes = 1001;
  f.space_free_bytes = 1002;
  f.space_total_bytes = 1003;
  f.files_avail = 2001;
  f.files_free = 2002;
  f.files_total = 2003;
  return f;
}

// ---- decoding what the server encoded, with the rpcgen routines -----------------------------

template <typename T>
T Read(XDR* x, bool_t (*proc)(XDR*, T*)) {
  T v;
  std::memset(static_cast<void*>(&v), 0, sizeof(v));
  EXPECT_TRUE(proc(x, &v));
  return v;
}

std::string ReadString(XDR* x, bool_t (*proc)(XDR*, utf8string*)) {
  utf8string v{};
  EXPECT_TRUE(proc(x, &v));
  std::string s(v.utf8string_val == nullptr ? "" : v.utf8string_val, v.utf8string_len);
  xdr_free(reinterpret_cast<xdrproc_t>(proc), reinterpret_cast<char*>(&v));
  return s;
}

std::vector<uint32_t> ReadBitmapBits(XDR* x, bool_t (*proc)(XDR*, bitmap4*)) {
  bitmap4 v{};
  EXPECT_TRUE(proc(x, &v));
  const AttrBitmap b = AttrBitmap::FromWire(v);
  xdr_free(reinterpret_cast<xdrproc_t>(proc), reinterpret_cast<char*>(&v));
  return BitsOf(b);
}

void ExpectTime(XDR* x, bool_t (*proc)(XDR*, nfstime4*), const Timestamp& want) {
  const nfstime4 t = Read(x, proc);
  EXPECT_EQ(t.seconds, want.sec);
  EXPECT_EQ(t.nseconds, want.nsec);
}

// Decodes the value of `attr` at x's position and checks it against what was encoded.
// False for an attribute this test has no check for.
bool CheckValue(uint32_t attr, XDR* x, const ObjectAttrs& o, const FsAttrs& f,
                uint32_t minor_version, nfsstat4 rdattr_error) {
  SCOPED_TRACE("attribute " + std::to_string(attr));
  switch (attr) {
    case FATTR4_SUPPORTED_ATTRS: {
      std::vector<uint32_t> want = kSupported42;
      if (minor_version < 2)
        std::erase_if(
            want, [](uint32_t a) { return std::count(kNewIn42.begin(), kNewIn42.end(), a) > 0; });
      EXPECT_EQ(ReadBitmapBits(x, xdr_fattr4_supported_attrs), want);
      return true;
    }
    case FATTR4_TYPE:
      EXPECT_EQ(Read(x, xdr_fattr4_type), o.type);
      return true;
    case FATTR4_FH_EXPIRE_TYPE:
      EXPECT_EQ(Read(x, xdr_fattr4_fh_expire_type), uint32_t{FH4_PERSISTENT});
      return true;
    case FATTR4_CHANGE:
      EXPECT_EQ(Read(x, xdr_fattr4_change), o.change);
      return true;
    case FATTR4_SIZE:
      EXPECT_EQ(Read(x, xdr_fattr4_size), o.size_bytes);
      return true;
    case FATTR4_LINK_SUPPORT:
      EXPECT_TRUE(Read(x, xdr_fattr4_link_support));
      return true;
    case FATTR4_SYMLINK_SUPPORT:
      EXPECT_TRUE(Read(x, xdr_fattr4_symlink_support));
      return true;
    case FATTR4_NAMED_ATTR:
      EXPECT_FALSE(Read(x, xdr_fattr4_named_attr));
      return true;
    case FATTR4_FSID: {
      const fsid4 v = Read(x, xdr_fattr4_fsid);
      EXPECT_EQ(v.major, o.fsid_major);
      EXPECT_EQ(v.minor, o.fsid_minor);
      return true;
    }
    case FATTR4_UNIQUE_HANDLES:
      EXPECT_TRUE(Read(x, xdr_fattr4_unique_handles));
      return true;
    case FATTR4_LEASE_TIME:
      EXPECT_EQ(Read(x, xdr_fattr4_lease_time), f.lease_time_s);
      return true;
    case FATTR4_RDATTR_ERROR:
      EXPECT_EQ(Read(x, xdr_fattr4_rdattr_error), rdattr_error);
      return true;
    case FATTR4_ACLSUPPORT:
      EXPECT_EQ(Read(x, xdr_fattr4_aclsupport), 0u);
      return true;
    case FATTR4_CANSETTIME:
      EXPECT_TRUE(Read(x, xdr_fattr4_cansettime));
      return true;
    case FATTR4_CASE_INSENSITIVE:
      EXPECT_FALSE(Read(x, xdr_fattr4_case_insensitive));
      return true;
    case FATTR4_CASE_PRESERVING:
      EXPECT_TRUE(Read(x, xdr_fattr4_case_preserving));
      return true;
    case FATTR4_CHOWN_RESTRICTED:
      EXPECT_TRUE(Read(x, xdr_fattr4_chown_restricted));
      return true;
    case FATTR4_FILEHANDLE: {
      nfs_fh4 v = Read(x, xdr_fattr4_filehandle);
      EXPECT_EQ(std::vector<uint8_t>(v.nfs_fh4_val, v.nfs_fh4_val + v.nfs_fh4_len), kHandle);
      xdr_free(reinterpret_cast<xdrproc_t>(xdr_fattr4_filehandle), reinterpret_cast<char*>(&v));
      return true;
    }
    case FATTR4_FILEID:
      EXPECT_EQ(Read(x, xdr_fattr4_fileid), o.fileid);
      return true;
    case FATTR4_FILES_AVAIL:
      EXPECT_EQ(Read(x, xdr_fattr4_files_avail), f.files_avail);
      return true;
    case FATTR4_FILES_FREE:
      EXPECT_EQ(Read(x, xdr_fattr4_files_free), f.files_free);
      return true;
    case FATTR4_FILES_TOTAL:
      EXPECT_EQ(Read(x, xdr_fattr4_files_total), f.files_total);
      return true;
    case FATTR4_HOMOGENEOUS:
      EXPECT_TRUE(Read(x, xdr_fattr4_homogeneous));
      return true;
    case FATTR4_MAXFILESIZE:
      EXPECT_EQ(Read(x, xdr_fattr4_maxfilesize), f.maxfilesize_bytes);
      return true;
    case FATTR4_MAXLINK:
      EXPECT_EQ(Read(x, xdr_fattr4_maxlink), f.maxlink);
      return true;
    case FATTR4_MAXNAME:
      EXPECT_EQ(Read(x, xdr_fattr4_maxname), f.maxname_bytes);
      return true;
    case FATTR4_MAXREAD:
      EXPECT_EQ(Read(x, xdr_fattr4_maxread), f.maxread_bytes);
      return true;
    case FATTR4_MAXWRITE:
      EXPECT_EQ(Read(x, xdr_fattr4_maxwrite), f.maxwrite_bytes);
      return true;
    case FATTR4_MODE:
      EXPECT_EQ(Read(x, xdr_fattr4_mode), o.mode);
      return true;
    case FATTR4_NO_TRUNC:
      EXPECT_TRUE(Read(x, xdr_fattr4_no_trunc));
      return true;
    case FATTR4_NUMLINKS:
      EXPECT_EQ(Read(x, xdr_fattr4_numlinks), o.nlink);
      return true;
    case FATTR4_OWNER:
      EXPECT_EQ(ReadString(x, xdr_fattr4_owner), "1000");
      return true;
    case FATTR4_OWNER_GROUP:
      EXPECT_EQ(ReadString(x, xdr_fattr4_owner_group), "100");
      return true;
    case FATTR4_RAWDEV: {
      const specdata4 v = Read(x, xdr_fattr4_rawdev);
      EXPECT_EQ(v.specdata1, o.rdev_major);
      EXPECT_EQ(v.specdata2, o.rdev_minor);
      return true;
    }
    case FATTR4_SPACE_AVAIL:
      EXPECT_EQ(Read(x, xdr_fattr4_space_avail), f.space_avail_bytes);
      return true;
    case FATTR4_SPACE_FREE:
      EXPECT_EQ(Read(x, xdr_fattr4_space_free), f.space_free_bytes);
      return true;
    case FATTR4_SPACE_TOTAL:
      EXPECT_EQ(Read(x, xdr_fattr4_space_total), f.space_total_bytes);
      return true;
    case FATTR4_SPACE_USED:
      EXPECT_EQ(Read(x, xdr_fattr4_space_used), o.space_used_bytes);
      return true;
    case FATTR4_TIME_ACCESS:
      ExpectTime(x, xdr_fattr4_time_access, o.atime);
      return true;
    case FATTR4_TIME_CREATE:
      ExpectTime(x, xdr_fattr4_time_create, o.crtime);
      return true;
    case FATTR4_TIME_DELTA:
      ExpectTime(x, xdr_fattr4_time_delta, {0, 1});
      return true;
    case FATTR4_TIME_METADATA:
      ExpectTime(x, xdr_fattr4_time_metadata, o.ctime);
      return true;
    case FATTR4_TIME_MODIFY:
      ExpectTime(x, xdr_fattr4_time_modify, o.mtime);
      return true;
    case FATTR4_MOUNTED_ON_FILEID:
      EXPECT_EQ(Read(x, xdr_fattr4_mounted_on_fileid), o.mounted_on_fileid);
      return true;
    case FATTR4_FS_LAYOUT_TYPES: {
      fattr4_fs_layout_types v = Read(x, xdr_fattr4_fs_layout_types);
      EXPECT_EQ(v.fattr4_fs_layout_types_len, 1u);
      if (v.fattr4_fs_layout_types_len == 1) {
        EXPECT_EQ(v.fattr4_fs_layout_types_val[0], LAYOUT4_FLEX_FILES);
      }
      xdr_free(reinterpret_cast<xdrproc_t>(xdr_fattr4_fs_layout_types),
               reinterpret_cast<char*>(&v));
      return true;
    }
    case FATTR4_LAYOUT_BLKSIZE:
      EXPECT_EQ(Read(x, xdr_fattr4_layout_blksize), f.layout_blksize_bytes);
      return true;
    case FATTR4_SUPPATTR_EXCLCREAT: {
      std::vector<uint32_t> want = kExclcreat42;
      if (minor_version < 2) std::erase(want, FATTR4_MODE_UMASK);
      EXPECT_EQ(ReadBitmapBits(x, xdr_fattr4_suppattr_exclcreat), want);
      return true;
    }
    case FATTR4_CHANGE_ATTR_TYPE:
      EXPECT_EQ(Read(x, xdr_fattr4_change_attr_type), NFS4_CHANGE_TYPE_IS_UNDEFINED);
      return true;
    case FATTR4_XATTR_SUPPORT:
      EXPECT_TRUE(Read(x, xdr_fattr4_xattr_support));
      return true;
    case FATTR4_OPEN_ARGUMENTS: {
      fattr4_open_arguments v{};
      EXPECT_TRUE(xdr_fattr4_open_arguments(x, &v));
      auto bits = [](const bitmap4& b) { return BitsOf(AttrBitmap::FromWire(b)); };
      EXPECT_EQ(bits(v.oa_share_access), (std::vector<uint32_t>{1, 2, 3}));
      EXPECT_EQ(bits(v.oa_share_deny), (std::vector<uint32_t>{0, 1, 2, 3}));
      EXPECT_EQ(bits(v.oa_share_access_want), (std::vector<uint32_t>{1, 2, 3, 4, 5}));
      EXPECT_EQ(bits(v.oa_open_claim), (std::vector<uint32_t>{0, 1, 2, 4, 5}));
      EXPECT_EQ(bits(v.oa_create_mode), (std::vector<uint32_t>{0, 1, 2, 3}));
      xdr_free(reinterpret_cast<xdrproc_t>(xdr_fattr4_open_arguments), reinterpret_cast<char*>(&v));
      return true;
    }
  }
  return false;
}

// Walks attr_vals in mask order with CheckValue; every byte must be consumed.
void CheckEncoded(const EncodedAttrs& enc, const ObjectAttrs& o, const FsAttrs& f,
                  uint32_t minor_version = 2, nfsstat4 rdattr_error = NFS4_OK) {
  XDR x;
  xdrmem_create(&x, reinterpret_cast<char*>(const_cast<uint8_t*>(enc.vals.data())),
                static_cast<u_int>(enc.vals.size()), XDR_DECODE);
  for (uint32_t a : BitsOf(enc.mask)) {
    EXPECT_TRUE(CheckValue(a, &x, o, f, minor_version, rdattr_error))
        << "no check for attribute " << a;
  }
  EXPECT_EQ(xdr_getpos(&x), enc.vals.size()) << "bytes left after the last attribute";
  xdr_destroy(&x);
}

nfsstat4 Encode(const AttrBitmap& requested, EncodedAttrs& out, AttrEncodeOptions options = {}) {
  return EncodeAttrValues(requested, SampleObject(), SampleFs(), kHandle, options, out);
}

// ---- what a client sends ----------------------------------------------------------------------

// A client's fattr4: values appended (in increasing attribute order) with the rpcgen routines.
class ClientAttrs {
 public:
  template <typename T>
  ClientAttrs& Add(uint32_t attr, bool_t (*proc)(XDR*, T*), std::type_identity_t<T> value) {
    mask_.Set(attr);
    std::vector<char> buf(8192);
    XDR x;
    xdrmem_create(&x, buf.data(), static_cast<u_int>(buf.size()), XDR_ENCODE);
    EXPECT_TRUE(proc(&x, &value));
    vals_.insert(vals_.end(), buf.begin(), buf.begin() + xdr_getpos(&x));
    xdr_destroy(&x);
    return *this;
  }
  ClientAttrs& AddString(uint32_t attr, bool_t (*proc)(XDR*, utf8string*), std::string s) {
    strings_.push_back(std::make_unique<std::string>(std::move(s)));
    std::string& kept = *strings_.back();
    return Add(attr, proc, utf8string{static_cast<u_int>(kept.size()), kept.data()});
  }
  ClientAttrs& SetBit(uint32_t attr) {  // a bit with no value behind it
    mask_.Set(attr);
    return *this;
  }
  ClientAttrs& AppendBytes(std::vector<char> bytes) {
    vals_.insert(vals_.end(), bytes.begin(), bytes.end());
    return *this;
  }
  ClientAttrs& DropLastBytes(size_t n) {
    vals_.resize(vals_.size() - n);
    return *this;
  }
  // Replaces the mask by raw words (bits beyond the server's bound, trailing zero words).
  ClientAttrs& RawWords(std::vector<uint32_t> words) {
    raw_words_ = std::move(words);
    return *this;
  }

  const fattr4& Get() {
    if (raw_words_.empty()) raw_words_.assign(mask_.Words().begin(), mask_.Words().end());
    f_.attrmask = {static_cast<u_int>(raw_words_.size()), raw_words_.data()};
    f_.attr_vals = {static_cast<u_int>(vals_.size()), vals_.data()};
    return f_;
  }

 private:
  AttrBitmap mask_;
  std::vector<uint32_t> raw_words_;
  std::vector<char> vals_;
  std::vector<std::unique_ptr<std::string>> strings_;
  fattr4 f_{};
};

settime4 ClientTime(int64_t sec, uint32_t nsec) {
  settime4 s{};
  s.set_it = SET_TO_CLIENT_TIME4;
  s.settime4_u.time = {sec, nsec};
  return s;
}

nfsstat4 DecodeSet(const fattr4& in, SetAttrs& out, SetAttrsFor purpose = SetAttrsFor::kSetattr,
                   AttrDecodeOptions options = {}) {
  AttrBitmap attrsset;
  const nfsstat4 status = DecodeSetAttrs(in, purpose, options, out, attrsset);
  if (status == NFS4_OK) {
    EXPECT_EQ(attrsset, AttrBitmap::FromWire(in.attrmask));
  } else {
    EXPECT_TRUE(attrsset.Empty());
  }
  return status;
}

nfsstat4 DecodeSet(const fattr4& in, SetAttrsFor purpose = SetAttrsFor::kSetattr,
                   AttrDecodeOptions options = {}) {
  SetAttrs ignored;
  return DecodeSet(in, ignored, purpose, options);
}

// Maps exactly alice@example <-> 1001 and nothing else (an IdMapper other than the default).
class AliceMapper final : public IdMapper {
 public:
  std::string UidToOwner(uint32_t uid) const override {
    return uid == 1001 ? "alice@example" : std::to_string(uid);
  }
  std::string GidToGroup(uint32_t gid) const override { return std::to_string(gid); }
  std::optional<uint32_t> OwnerToUid(std::string_view owner) const override {
    if (owner == "alice@example") return 1001;
    return std::nullopt;
  }
  std::optional<uint32_t> GroupToGid(std::string_view) const override { return std::nullopt; }
};

// ---- the table --------------------------------------------------------------------------------

TEST(AttrTable, HasOneRowPerAttributeNumberWithItsRpcgenRoutine) {
  const auto& t = AttrTable();
  ASSERT_EQ(t.size(), 87u);
  for (uint32_t n = 0; n < t.size(); ++n) {
    EXPECT_EQ(t[n].number, n);
    EXPECT_NE(t[n].name, nullptr);
    EXPECT_NE(t[n].xdr, nullptr);
    EXPECT_GT(t[n].value_size, 0u);
    if (!t[n].supported) {
      EXPECT_STRNE(t[n].note, "") << t[n].name << ": say why not";
    }
    if (t[n].exclcreat) {
      EXPECT_NE(t[n].access, AttrAccess::kRead) << t[n].name;
    }
  }
  EXPECT_STREQ(t[FATTR4_TIME_MODIFY_SET].name, "time_modify_set");
  EXPECT_STREQ(t[FATTR4_XATTR_SUPPORT].name, "xattr_support");
  EXPECT_EQ(FindAttr(87), nullptr);
  // RFC 8881 5.6: every REQUIRED attribute is supported.
  for (const AttrInfo& a : t) {
    if (a.level == AttrLevel::kRequired) {
      EXPECT_TRUE(a.supported) << a.name;
    }
  }
}

TEST(AttrTable, SupportedAttrsAreExactlyTheDecidedSetPerMinorVersion) {
  EXPECT_EQ(BitsOf(SupportedAttrs(2)), kSupported42);
  std::vector<uint32_t> want41 = kSupported42;
  std::erase_if(want41,
                [](uint32_t a) { return std::count(kNewIn42.begin(), kNewIn42.end(), a) > 0; });
  EXPECT_EQ(BitsOf(SupportedAttrs(1)), want41);
  EXPECT_EQ(BitsOf(SuppattrExclcreat(2)), kExclcreat42);
  EXPECT_EQ(BitsOf(WriteOnlyAttrs(2)), kWriteOnly);
  // What the Linux client looks for but Manifold does not claim.
  for (uint32_t a : {FATTR4_ACL, FATTR4_FS_LOCATIONS, FATTR4_MDSTHRESHOLD, FATTR4_CLONE_BLKSIZE,
                     FATTR4_SEC_LABEL, FATTR4_LAYOUT_ALIGNMENT, FATTR4_MODE_SET_MASKED}) {
    EXPECT_FALSE(SupportedAttrs(2).Test(a)) << a;
  }
}

TEST(AttrBitmap, SetTestNextAndWireWordsRespectTheBound) {
  AttrBitmap b{0, 31, 32, 82};
  EXPECT_TRUE(b.Test(31));
  EXPECT_TRUE(b.Test(32));
  EXPECT_FALSE(b.Test(33));
  EXPECT_FALSE(b.Test(kAttrBitsMax + 5));
  EXPECT_EQ(b.WordCount(), 3u);
  EXPECT_EQ(b.Count(), 4u);
  EXPECT_EQ(BitsOf(b), (std::vector<uint32_t>{0, 31, 32, 82}));
  b.Clear(82);
  EXPECT_EQ(b.WordCount(), 2u);  // no trailing zero word on the wire
  b.Set(kAttrBitsMax - 1);
  EXPECT_EQ(b.WordCount(), kAttrBitmapWordsMax);
  EXPECT_EQ(b.Next(33), kAttrBitsMax - 1);

  // From the wire: trailing zero words are fine, set bits past the bound are reported.
  std::vector<uint32_t> words(kAttrBitmapWordsMax + 2, 0);
  words[0] = 1;
  bitmap4 wire{static_cast<u_int>(words.size()), words.data()};
  bool dropped = true;
  EXPECT_EQ(AttrBitmap::FromWire(wire, &dropped), AttrBitmap{0});
  EXPECT_FALSE(dropped);
  words.back() = 1;
  EXPECT_EQ(AttrBitmap::FromWire(wire, &dropped), AttrBitmap{0});
  EXPECT_TRUE(dropped);
  EXPECT_TRUE(BitmapTest(wire, 0));
  EXPECT_FALSE(BitmapTest(wire, 1));
  EXPECT_TRUE(BitmapTest(wire, (kAttrBitmapWordsMax + 1) * 32));
  EXPECT_FALSE(BitmapTest(wire, 100000));
}

// ---- GETATTR / READDIR ------------------------------------------------------------------------

TEST(EncodeAttrs, EverySupportedReadableAttributeRoundTripsThroughItsRpcgenRoutine) {
  std::set<uint32_t> checked;
  for (uint32_t a : kSupported42) {
    if (std::count(kWriteOnly.begin(), kWriteOnly.end(), a) > 0) continue;
    SCOPED_TRACE(AttrTable()[a].name);
    EncodedAttrs enc;
    AttrEncodeOptions options;
    options.readdir = a == FATTR4_RDATTR_ERROR;
    ASSERT_EQ(Encode(AttrBitmap{a}, enc, options), NFS4_OK);
    EXPECT_EQ(BitsOf(enc.mask), std::vector<uint32_t>{a});
    EXPECT_EQ(enc.vals.size() % 4, 0u);
    CheckEncoded(enc, SampleObject(), SampleFs());
    checked.insert(a);
  }
  EXPECT_EQ(checked.size(), kSupported42.size() - kWriteOnly.size());
}

TEST(EncodeAttrs, LinuxMountTimeGetattrYieldsExactlyTheSupportedSubsetInOrder) {
  // The union of what the Linux client asks while mounting: server capabilities, fsinfo,
  // pathconf, statfs and the GETATTR of the root (fs/nfs/nfs4proc.c), including attributes
  // Manifold does not support (mdsthreshold, clone_blksize, sec_label) and one it does not know
  // (86, open_arguments, newer than RFC 8276).
  const std::vector<uint32_t> asked = {FATTR4_SUPPORTED_ATTRS,
                                       FATTR4_TYPE,
                                       FATTR4_FH_EXPIRE_TYPE,
                                       FATTR4_CHANGE,
                                       FATTR4_SIZE,
                                       FATTR4_LINK_SUPPORT,
                                       FATTR4_SYMLINK_SUPPORT,
                                       FATTR4_FSID,
                                       FATTR4_LEASE_TIME,
                                       FATTR4_ACLSUPPORT,
                                       FATTR4_CASE_INSENSITIVE,
                                       FATTR4_CASE_PRESERVING,
                                       FATTR4_FILEID,
                                       FATTR4_FILES_AVAIL,
                                       FATTR4_FILES_FREE,
                                       FATTR4_FILES_TOTAL,
                                       FATTR4_MAXFILESIZE,
                                       FATTR4_MAXLINK,
                                       FATTR4_MAXNAME,
                                       FATTR4_MAXREAD,
                                       FATTR4_MAXWRITE,
                                       FATTR4_MODE,
                                       FATTR4_NUMLINKS,
                                       FATTR4_OWNER,
                                       FATTR4_OWNER_GROUP,
                                       FATTR4_RAWDEV,
                                       FATTR4_SPACE_AVAIL,
                                       FATTR4_SPACE_FREE,
                                       FATTR4_SPACE_TOTAL,
                                       FATTR4_SPACE_USED,
                                       FATTR4_TIME_ACCESS,
                                       FATTR4_TIME_DELTA,
                                       FATTR4_TIME_METADATA,
                                       FATTR4_TIME_MODIFY,
                                       FATTR4_MOUNTED_ON_FILEID,
                                       FATTR4_FS_LAYOUT_TYPES,
                                       FATTR4_LAYOUT_BLKSIZE,
                                       FATTR4_MDSTHRESHOLD,
                                       FATTR4_SUPPATTR_EXCLCREAT,
                                       FATTR4_CLONE_BLKSIZE,
                                       FATTR4_CHANGE_ATTR_TYPE,
                                       FATTR4_SEC_LABEL,
                                       FATTR4_XATTR_SUPPORT,
                                       86};
  std::vector<uint32_t> want = asked;
  std::erase_if(want, [](uint32_t a) {
    return a == FATTR4_MDSTHRESHOLD || a == FATTR4_CLONE_BLKSIZE || a == FATTR4_SEC_LABEL;
  });

  // Through the fattr4 entry point, with memory from an arena as the op code will do.
  std::vector<std::unique_ptr<uint8_t[]>> arena;
  AttrAlloc alloc = [&arena](size_t n) -> void* {
    arena.push_back(std::make_unique<uint8_t[]>(n));
    return arena.back().get();
  };
  const AttrBitmap asked_bits = BitmapOf(asked);
  bitmap4 requested;
  ToBitmap4(asked_bits, alloc, requested);
  ASSERT_EQ(requested.bitmap4_len, 3u);
  fattr4 out;
  ASSERT_EQ(
      EncodeAttrs(requested, SampleObject(), SampleFs(), kHandle, AttrEncodeOptions{}, out, alloc),
      NFS4_OK);
  const AttrBitmap got = AttrBitmap::FromWire(out.attrmask);
  EXPECT_EQ(BitsOf(got), want);
  EXPECT_EQ(out.attrmask.bitmap4_len, 3u);

  // The whole fattr4 survives its own rpcgen routine, then each value decodes in order.
  std::vector<char> wire(kAttrValueBytesMax + 64);
  XDR x;
  xdrmem_create(&x, wire.data(), static_cast<u_int>(wire.size()), XDR_ENCODE);
  ASSERT_TRUE(xdr_fattr4(&x, &out));
  xdr_destroy(&x);
  EncodedAttrs enc{got,
                   std::vector<uint8_t>(out.attr_vals.attrlist4_val,
                                        out.attr_vals.attrlist4_val + out.attr_vals.attrlist4_len)};
  CheckEncoded(enc, SampleObject(), SampleFs());
}

TEST(EncodeAttrs, NfsV41SessionsDoNotSeeNfsV42Attributes) {
  AttrEncodeOptions options;
  options.minor_version = 1;
  EncodedAttrs enc;
  ASSERT_EQ(Encode(AttrBitmap{FATTR4_SUPPORTED_ATTRS, FATTR4_SUPPATTR_EXCLCREAT,
                              FATTR4_CHANGE_ATTR_TYPE, FATTR4_XATTR_SUPPORT},
                   enc, options),
            NFS4_OK);
  EXPECT_EQ(BitsOf(enc.mask),
            (std::vector<uint32_t>{FATTR4_SUPPORTED_ATTRS, FATTR4_SUPPATTR_EXCLCREAT}));
  CheckEncoded(enc, SampleObject(), SampleFs(), 1);
}

TEST(EncodeAttrs, ModeNeverCarriesBitsOutsideTheProtocolsTwelve) {
  ObjectAttrs o = SampleObject();
  o.mode = 0100644;  // S_IFREG leaking in from a stat()
  EncodedAttrs enc;
  ASSERT_EQ(EncodeAttrValues(AttrBitmap{FATTR4_MODE}, o, SampleFs(), kHandle, {}, enc), NFS4_OK);
  o.mode = 0644;
  CheckEncoded(enc, o, SampleFs());
}

TEST(EncodeAttrs, WriteOnlyAttributeRequestedIsInval) {
  for (uint32_t a : kWriteOnly) {
    EncodedAttrs enc;
    EXPECT_EQ(Encode(AttrBitmap{FATTR4_SIZE, a}, enc), NFS4ERR_INVAL) << a;
    EXPECT_TRUE(enc.vals.empty());
  }
}

TEST(EncodeAttrs, RdattrErrorOnlyInReaddirEntries) {
  EncodedAttrs enc;
  ASSERT_EQ(Encode(AttrBitmap{FATTR4_SIZE, FATTR4_RDATTR_ERROR}, enc), NFS4_OK);
  EXPECT_EQ(BitsOf(enc.mask), std::vector<uint32_t>{FATTR4_SIZE});  // GETATTR omits it

  AttrEncodeOptions readdir;
  readdir.readdir = true;
  ASSERT_EQ(Encode(AttrBitmap{FATTR4_SIZE, FATTR4_RDATTR_ERROR}, enc, readdir), NFS4_OK);
  EXPECT_EQ(BitsOf(enc.mask), (std::vector<uint32_t>{FATTR4_SIZE, FATTR4_RDATTR_ERROR}));
  CheckEncoded(enc, SampleObject(), SampleFs());

  // An entry whose attributes could not be read: just the error, or the READDIR fails.
  readdir.rdattr_error = NFS4ERR_ACCESS;
  ASSERT_EQ(Encode(AttrBitmap{FATTR4_SIZE, FATTR4_RDATTR_ERROR, FATTR4_FILEID}, enc, readdir),
            NFS4_OK);
  EXPECT_EQ(BitsOf(enc.mask), std::vector<uint32_t>{FATTR4_RDATTR_ERROR});
  CheckEncoded(enc, SampleObject(), SampleFs(), 2, NFS4ERR_ACCESS);
  EXPECT_EQ(Encode(AttrBitmap{FATTR4_SIZE, FATTR4_FILEID}, enc, readdir), NFS4ERR_ACCESS);
}

TEST(EncodeAttrs, OwnerStringsAreNumericByDefaultAndNamesThroughAMapper) {
  ObjectAttrs o = SampleObject();
  o.uid = 1001;
  EncodedAttrs enc;
  ASSERT_EQ(EncodeAttrValues(AttrBitmap{FATTR4_OWNER}, o, SampleFs(), kHandle, {}, enc), NFS4_OK);
  XDR x;
  xdrmem_create(&x, reinterpret_cast<char*>(enc.vals.data()), enc.vals.size(), XDR_DECODE);
  EXPECT_EQ(ReadString(&x, xdr_fattr4_owner), "1001");
  xdr_destroy(&x);

  AliceMapper alice;
  AttrEncodeOptions options;
  options.id_mapper = &alice;
  ASSERT_EQ(EncodeAttrValues(AttrBitmap{FATTR4_OWNER}, o, SampleFs(), kHandle, options, enc),
            NFS4_OK);
  xdrmem_create(&x, reinterpret_cast<char*>(enc.vals.data()), enc.vals.size(), XDR_DECODE);
  EXPECT_EQ(ReadString(&x, xdr_fattr4_owner), "alice@example");
  xdr_destroy(&x);
}

TEST(EncodeAttrs, AnOwnerNameOverTheUtf8BoundIsServerfaultNotACrash) {
  class LongMapper final : public IdMapper {
   public:
    std::string UidToOwner(uint32_t) const override {
      return std::string(MANIFOLD_NFS4_UTF8_MAX + 1, 'a');
    }
    std::string GidToGroup(uint32_t) const override { return "0"; }
    std::optional<uint32_t> OwnerToUid(std::string_view) const override { return 0; }
    std::optional<uint32_t> GroupToGid(std::string_view) const override { return 0; }
  } long_mapper;
  AttrEncodeOptions options;
  options.id_mapper = &long_mapper;
  EncodedAttrs enc;
  EXPECT_EQ(Encode(AttrBitmap{FATTR4_SIZE, FATTR4_OWNER}, enc, options), NFS4ERR_SERVERFAULT);
  EXPECT_TRUE(enc.vals.empty());
  EXPECT_TRUE(enc.mask.Empty());
}

// ---- SETATTR / CREATE / OPEN ----------------------------------------------------------------

TEST(DecodeSetAttrs, EverySettableAttributeDecodes) {
  ClientAttrs c;
  c.Add(FATTR4_SIZE, xdr_fattr4_size, 4096)
      .Add(FATTR4_MODE, xdr_fattr4_mode, 04755)
      .AddString(FATTR4_OWNER, xdr_fattr4_owner, "1000")
      .AddString(FATTR4_OWNER_GROUP, xdr_fattr4_owner_group, "100")
      .Add(FATTR4_TIME_ACCESS_SET, xdr_fattr4_time_access_set, ClientTime(1700000000, 5))
      .Add(FATTR4_TIME_CREATE, xdr_fattr4_time_create, nfstime4{-1, 999999999})
      .Add(FATTR4_TIME_MODIFY_SET, xdr_fattr4_time_modify_set, settime4{SET_TO_SERVER_TIME4, {}});
  SetAttrs s;
  ASSERT_EQ(DecodeSet(c.Get(), s), NFS4_OK);
  EXPECT_EQ(s.size_bytes, 4096u);
  EXPECT_EQ(s.mode, 04755u);
  EXPECT_EQ(s.uid, 1000u);  // "1000" -> uid 1000
  EXPECT_EQ(s.gid, 100u);
  EXPECT_EQ(s.atime, (SetTime{.time = {1700000000, 5}}));
  EXPECT_EQ(s.mtime, (SetTime{.server_time = true, .time = {}}));
  EXPECT_EQ(s.crtime, (Timestamp{-1, 999999999}));

  // Every writable attribute of the table has a decoder (else DecodeSetAttrs would abort).
  const std::vector<uint32_t> settable = {FATTR4_SIZE,
                                          FATTR4_MODE,
                                          FATTR4_OWNER,
                                          FATTR4_OWNER_GROUP,
                                          FATTR4_TIME_ACCESS_SET,
                                          FATTR4_TIME_CREATE,
                                          FATTR4_TIME_MODIFY_SET,
                                          FATTR4_MODE_UMASK};
  EXPECT_EQ(BitsOf(WritableAttrs(2)), settable);
}

TEST(DecodeSetAttrs, EmptyMaskSetsNothing) {
  ClientAttrs c;
  SetAttrs s;
  ASSERT_EQ(DecodeSet(c.Get(), s), NFS4_OK);
  EXPECT_FALSE(s.size_bytes || s.mode || s.uid || s.gid || s.atime || s.mtime || s.crtime);
}

TEST(DecodeSetAttrs, OwnerNameWithTheNumericMapperIsBadowner) {
  ClientAttrs c;
  c.AddString(FATTR4_OWNER, xdr_fattr4_owner, "alice@example");
  EXPECT_EQ(DecodeSet(c.Get()), NFS4ERR_BADOWNER);

  // The same string through a mapper that knows alice.
  AliceMapper alice;
  AttrDecodeOptions options;
  options.id_mapper = &alice;
  SetAttrs s;
  ASSERT_EQ(DecodeSet(c.Get(), s, SetAttrsFor::kSetattr, options), NFS4_OK);
  EXPECT_EQ(s.uid, 1001u);

  for (const char* bad : {"", "-1", "+5", "10a", "4294967295", "99999999999", "1000 "}) {
    ClientAttrs g;
    g.AddString(FATTR4_OWNER_GROUP, xdr_fattr4_owner_group, bad);
    EXPECT_EQ(DecodeSet(g.Get()), NFS4ERR_BADOWNER) << '"' << bad << '"';
  }
  EXPECT_EQ(ParseNumericId("0"), 0u);
  EXPECT_EQ(ParseNumericId("4294967294"), 4294967294u);
}

TEST(DecodeSetAttrs, ReadOnlyAttributeIsInval) {
  for (uint32_t a : {FATTR4_TYPE, FATTR4_CHANGE, FATTR4_FILEID, FATTR4_TIME_MODIFY}) {
    ClientAttrs c;
    c.Add(FATTR4_SIZE, xdr_fattr4_size, 1).SetBit(a);  // the check comes before the values
    EXPECT_EQ(DecodeSet(c.Get()), NFS4ERR_INVAL) << a;
  }
}

TEST(DecodeSetAttrs, UnknownOrUnsupportedBitIsAttrnotsupp) {
  for (uint32_t a : {83u, 200u, uint32_t{FATTR4_ACL}, uint32_t{FATTR4_HIDDEN},
                     uint32_t{FATTR4_MODE_SET_MASKED}}) {
    ClientAttrs c;
    c.Add(FATTR4_SIZE, xdr_fattr4_size, 1).SetBit(a);
    EXPECT_EQ(DecodeSet(c.Get()), NFS4ERR_ATTRNOTSUPP) << a;
  }
  // A bit past the server's bitmap bound (a bitmap4 built in code).
  ClientAttrs far;
  std::vector<uint32_t> words(kAttrBitmapWordsMax + 1, 0);
  words.back() = 1;
  far.RawWords(words);
  EXPECT_EQ(DecodeSet(far.Get()), NFS4ERR_ATTRNOTSUPP);
  // ATTRNOTSUPP is checked before INVAL (as Linux nfsd).
  ClientAttrs both;
  both.SetBit(FATTR4_TYPE).SetBit(FATTR4_ACL);
  EXPECT_EQ(DecodeSet(both.Get()), NFS4ERR_ATTRNOTSUPP);
}

TEST(DecodeSetAttrs, MalformedAttrlistIsBadxdr) {
  ClientAttrs truncated;
  truncated.Add(FATTR4_SIZE, xdr_fattr4_size, 1)
      .Add(FATTR4_MODE, xdr_fattr4_mode, 0644)
      .DropLastBytes(2);
  EXPECT_EQ(DecodeSet(truncated.Get()), NFS4ERR_BADXDR);

  ClientAttrs missing;  // a mask bit with no value at all
  missing.Add(FATTR4_SIZE, xdr_fattr4_size, 1).SetBit(FATTR4_MODE);
  EXPECT_EQ(DecodeSet(missing.Get()), NFS4ERR_BADXDR);

  ClientAttrs trailing;
  trailing.Add(FATTR4_MODE, xdr_fattr4_mode, 0644).AppendBytes({0, 0, 0, 0});
  EXPECT_EQ(DecodeSet(trailing.Get()), NFS4ERR_BADXDR);

  ClientAttrs values_without_mask;
  values_without_mask.AppendBytes({0, 0, 0, 1});
  EXPECT_EQ(DecodeSet(values_without_mask.Get()), NFS4ERR_BADXDR);

  ClientAttrs long_owner;  // a string length past the bytes that follow
  long_owner.AppendBytes({0, 0, 0x10, 0, '1', '0', '0', '0'}).SetBit(FATTR4_OWNER);
  EXPECT_EQ(DecodeSet(long_owner.Get()), NFS4ERR_BADXDR);

  ClientAttrs bad_how;  // time_how4 is 0 or 1
  bad_how.Add(FATTR4_TIME_MODIFY_SET, xdr_fattr4_time_modify_set, settime4{time_how4(2), {}});
  EXPECT_EQ(DecodeSet(bad_how.Get()), NFS4ERR_BADXDR);

  // BADXDR wins over a bad value earlier in the list: the whole list is decoded first.
  ClientAttrs bad_then_truncated;
  bad_then_truncated.Add(FATTR4_MODE, xdr_fattr4_mode, 0100644)
      .Add(FATTR4_TIME_MODIFY_SET, xdr_fattr4_time_modify_set, ClientTime(1, 0))
      .DropLastBytes(4);
  EXPECT_EQ(DecodeSet(bad_then_truncated.Get()), NFS4ERR_BADXDR);
}

TEST(DecodeSetAttrs, NsecondsOfOneBillionIsInval) {
  ClientAttrs at;
  at.Add(FATTR4_TIME_ACCESS_SET, xdr_fattr4_time_access_set, ClientTime(5, 1000000000));
  EXPECT_EQ(DecodeSet(at.Get()), NFS4ERR_INVAL);
  ClientAttrs mt;
  mt.Add(FATTR4_TIME_MODIFY_SET, xdr_fattr4_time_modify_set, ClientTime(5, 1000000000));
  EXPECT_EQ(DecodeSet(mt.Get()), NFS4ERR_INVAL);
  ClientAttrs ct;
  ct.Add(FATTR4_TIME_CREATE, xdr_fattr4_time_create, nfstime4{5, 1000000000});
  EXPECT_EQ(DecodeSet(ct.Get()), NFS4ERR_INVAL);
  ClientAttrs ok;
  ok.Add(FATTR4_TIME_MODIFY_SET, xdr_fattr4_time_modify_set, ClientTime(5, 999999999));
  SetAttrs s;
  ASSERT_EQ(DecodeSet(ok.Get(), s), NFS4_OK);
  EXPECT_EQ(s.mtime, (SetTime{.time = {5, 999999999}}));
}

TEST(DecodeSetAttrs, ModeBitsOutsideTheProtocolsTwelveAreInval) {
  ClientAttrs c;
  c.Add(FATTR4_MODE, xdr_fattr4_mode, 0100644);
  EXPECT_EQ(DecodeSet(c.Get()), NFS4ERR_INVAL);
}

TEST(DecodeSetAttrs, ModeUmaskAppliesTheMaskOnCreateOnly) {
  ClientAttrs c;
  c.Add(FATTR4_MODE_UMASK, xdr_fattr4_mode_umask, mode_umask4{0666, 022});
  SetAttrs s;
  ASSERT_EQ(DecodeSet(c.Get(), s, SetAttrsFor::kCreate), NFS4_OK);
  EXPECT_EQ(s.mode, 0644u);
  ASSERT_EQ(DecodeSet(c.Get(), s, SetAttrsFor::kExclusiveCreate), NFS4_OK);
  EXPECT_EQ(s.mode, 0644u);

  EXPECT_EQ(DecodeSet(c.Get(), SetAttrsFor::kSetattr), NFS4ERR_INVAL);  // RFC 8275 3
  AttrDecodeOptions v41;
  v41.minor_version = 1;
  EXPECT_EQ(DecodeSet(c.Get(), SetAttrsFor::kCreate, v41), NFS4ERR_ATTRNOTSUPP);

  ClientAttrs with_mode;
  with_mode.Add(FATTR4_MODE, xdr_fattr4_mode, 0600)
      .Add(FATTR4_MODE_UMASK, xdr_fattr4_mode_umask, mode_umask4{0666, 022});
  EXPECT_EQ(DecodeSet(with_mode.Get(), SetAttrsFor::kCreate), NFS4ERR_INVAL);

  ClientAttrs bad_bits;
  bad_bits.Add(FATTR4_MODE_UMASK, xdr_fattr4_mode_umask, mode_umask4{0100666, 022});
  EXPECT_EQ(DecodeSet(bad_bits.Get(), SetAttrsFor::kCreate), NFS4ERR_INVAL);
}

TEST(DecodeSetAttrs, ExclusiveCreateTakesOnlySuppattrExclcreat) {
  ClientAttrs times;
  times.Add(FATTR4_MODE, xdr_fattr4_mode, 0644)
      .Add(FATTR4_TIME_MODIFY_SET, xdr_fattr4_time_modify_set, settime4{SET_TO_SERVER_TIME4, {}});
  EXPECT_EQ(DecodeSet(times.Get(), SetAttrsFor::kExclusiveCreate), NFS4ERR_INVAL);
  EXPECT_EQ(DecodeSet(times.Get(), SetAttrsFor::kCreate), NFS4_OK);

  ClientAttrs mode_owner;
  mode_owner.Add(FATTR4_MODE, xdr_fattr4_mode, 0644).AddString(FATTR4_OWNER, xdr_fattr4_owner, "0");
  EXPECT_EQ(DecodeSet(mode_owner.Get(), SetAttrsFor::kExclusiveCreate), NFS4_OK);
}

// ---- VERIFY / NVERIFY -------------------------------------------------------------------------

nfsstat4 Verify(const fattr4& in, AttrEncodeOptions options = {}) {
  return VerifyAttrs(in, SampleObject(), SampleFs(), kHandle, options);
}
nfsstat4 Nverify(const fattr4& in, AttrEncodeOptions options = {}) {
  return NverifyAttrs(in, SampleObject(), SampleFs(), kHandle, options);
}

TEST(VerifyAttrs, SameAndNotSame) {
  const ObjectAttrs o = SampleObject();
  ClientAttrs same;
  same.Add(FATTR4_SIZE, xdr_fattr4_size, o.size_bytes)
      .Add(FATTR4_FILEHANDLE, xdr_fattr4_filehandle,
           nfs_fh4{static_cast<u_int>(kHandle.size()),
                   reinterpret_cast<char*>(const_cast<uint8_t*>(kHandle.data()))})
      .Add(FATTR4_MODE, xdr_fattr4_mode, o.mode)
      .AddString(FATTR4_OWNER, xdr_fattr4_owner, "1000")
      .Add(FATTR4_TIME_MODIFY, xdr_fattr4_time_modify, nfstime4{o.mtime.sec, o.mtime.nsec});
  EXPECT_EQ(Verify(same.Get()), NFS4_OK);
  EXPECT_EQ(Nverify(same.Get()), NFS4ERR_SAME);

  ClientAttrs differs;  // one attribute of several differs
  differs.Add(FATTR4_SIZE, xdr_fattr4_size, o.size_bytes)
      .Add(FATTR4_TIME_MODIFY, xdr_fattr4_time_modify, nfstime4{o.mtime.sec, o.mtime.nsec + 1});
  EXPECT_EQ(Verify(differs.Get()), NFS4ERR_NOT_SAME);
  EXPECT_EQ(Nverify(differs.Get()), NFS4_OK);

  ClientAttrs other_owner;
  other_owner.AddString(FATTR4_OWNER, xdr_fattr4_owner, "1001");
  EXPECT_EQ(Verify(other_owner.Get()), NFS4ERR_NOT_SAME);
}

TEST(VerifyAttrs, ComparesValuesNotTheirSpelling) {
  // supported_attrs sent with a trailing zero word, as some clients do.
  std::vector<uint32_t> words(SupportedAttrs(2).Words().begin(), SupportedAttrs(2).Words().end());
  words.push_back(0);
  ClientAttrs c;
  c.Add(FATTR4_SUPPORTED_ATTRS, xdr_fattr4_supported_attrs,
        bitmap4{static_cast<u_int>(words.size()), words.data()});
  EXPECT_EQ(Verify(c.Get()), NFS4_OK);
  // link_support (true) sent as 2.
  ClientAttrs b;
  b.SetBit(FATTR4_LINK_SUPPORT).AppendBytes({0, 0, 0, 2});
  EXPECT_EQ(Verify(b.Get()), NFS4_OK);
}

TEST(VerifyAttrs, RdattrErrorWriteOnlyUnsupportedAndMalformed) {
  ClientAttrs rdattr;
  rdattr.Add(FATTR4_RDATTR_ERROR, xdr_fattr4_rdattr_error, NFS4_OK);
  EXPECT_EQ(Verify(rdattr.Get()), NFS4ERR_INVAL);
  EXPECT_EQ(Nverify(rdattr.Get()), NFS4ERR_INVAL);

  ClientAttrs write_only;
  write_only.Add(FATTR4_TIME_MODIFY_SET, xdr_fattr4_time_modify_set,
                 settime4{SET_TO_SERVER_TIME4, {}});
  EXPECT_EQ(Verify(write_only.Get()), NFS4ERR_INVAL);

  ClientAttrs acl;
  acl.SetBit(FATTR4_ACL).AppendBytes({0, 0, 0, 0});
  EXPECT_EQ(Verify(acl.Get()), NFS4ERR_ATTRNOTSUPP);
  EXPECT_EQ(Nverify(acl.Get()), NFS4ERR_ATTRNOTSUPP);

  ClientAttrs v42_only;  // xattr_support is not an attribute of an NFSv4.1 session
  v42_only.Add(FATTR4_XATTR_SUPPORT, xdr_fattr4_xattr_support, TRUE);
  EXPECT_EQ(Verify(v42_only.Get()), NFS4_OK);
  AttrEncodeOptions v41;
  v41.minor_version = 1;
  EXPECT_EQ(Verify(v42_only.Get(), v41), NFS4ERR_ATTRNOTSUPP);

  ClientAttrs truncated;
  truncated.Add(FATTR4_SIZE, xdr_fattr4_size, 1).DropLastBytes(4);
  EXPECT_EQ(Verify(truncated.Get()), NFS4ERR_BADXDR);
  ClientAttrs trailing;
  trailing.Add(FATTR4_SIZE, xdr_fattr4_size, 1).AppendBytes({0, 0, 0, 0});
  EXPECT_EQ(Nverify(trailing.Get()), NFS4ERR_BADXDR);

  ClientAttrs bad_mode;
  bad_mode.Add(FATTR4_MODE, xdr_fattr4_mode, 0100751);
  EXPECT_EQ(Verify(bad_mode.Get()), NFS4ERR_INVAL);
}

// RFC 8881 20.1: a CB_GETATTR answer carries change and size, possibly with other attributes
// (delegated times) that are decoded and skipped; garbage is NFS4ERR_BADXDR.
TEST(DelegatedAttrs, ChangeAndSizeAreTakenOthersSkipped) {
  ObjectAttrs obj = SampleObject();
  obj.change = 77;
  obj.size_bytes = 5;
  EncodedAttrs enc;
  ASSERT_EQ(EncodeAttrValues(BitmapOf({FATTR4_TYPE, FATTR4_CHANGE, FATTR4_SIZE, FATTR4_MODE}), obj,
                             SampleFs(), kHandle, AttrEncodeOptions{}, enc),
            NFS4_OK);
  std::vector<uint8_t> vals = enc.vals;
  // A delegated access time after them (RFC 9754 attribute 84: nfstime4, 12 bytes).
  for (int i = 0; i < 12; ++i) vals.push_back(uint8_t(i == 7 ? 9 : 0));
  AttrBitmap mask = enc.mask;
  mask.Set(FATTR4_TIME_DELEG_ACCESS);
  std::vector<uint32_t> words(mask.Words().begin(), mask.Words().end());
  fattr4 in{{u_int(words.size()), words.data()}, {u_int(vals.size()), reinterpret_cast<char*>(vals.data())}};
  DelegatedAttrs got;
  ASSERT_EQ(DecodeDelegatedAttrs(in, got), NFS4_OK);
  EXPECT_EQ(got.change, 77u);
  EXPECT_EQ(got.size_bytes, 5u);

  in.attr_vals.attrlist4_len -= 4;  // truncated
  EXPECT_EQ(DecodeDelegatedAttrs(in, got), NFS4ERR_BADXDR);
  in.attr_vals.attrlist4_len += 8;  // trailing bytes
  vals.resize(vals.size() + 4);
  in.attr_vals.attrlist4_val = reinterpret_cast<char*>(vals.data());
  EXPECT_EQ(DecodeDelegatedAttrs(in, got), NFS4ERR_BADXDR);
  uint32_t unknown[4] = {0, 0, 0, 1u << (100 - 96)};  // attribute 100: no RFC defines it
  fattr4 odd{{4, unknown}, {0, nullptr}};
  EXPECT_EQ(DecodeDelegatedAttrs(odd, got), NFS4ERR_BADXDR);
}

}  // namespace
}  // namespace manifold::nfs4
