// Key and value encodings of docs/schema.md: round trips, key order, and that damaged or
// foreign records are rejected as corruption instead of being misread.
#include "meta/schema.h"

#include <gtest/gtest.h>

#include <iterator>

#include "meta/limits.h"
#include "test_util.h"

namespace manifold::meta {
namespace {

Inode SampleDir() {
  Inode n;
  n.fileid = 42;
  n.type = FileType::kDir;
  n.mode = 0755;
  n.uid = 1000;
  n.gid = 100;
  n.size_bytes = 3;
  n.atime = {-5, 1};  // before the epoch: zigzag
  n.mtime = {1700000000, 999999999};
  n.ctime = {1700000001, 0};
  n.crtime = {1, 2};
  n.change = 77;
  n.nlink = 5;
  n.generation = 0xdeadbeef;
  n.data_generation = 9;
  n.next_dir_cookie = 1234567;
  n.parent = 1;
  n.xattr_count = 3;
  n.xattr_bytes = 70000;
  n.xattr_cookies_issued = 5;
  return n;
}

TEST(SchemaTest, InodeRoundTripsEveryField) {
  Inode dir = SampleDir();
  ASSIGN_OR_FAIL(Inode back, DecodeInode(42, EncodeInode(dir)));
  EXPECT_EQ(back, dir);

  Inode link;
  link.fileid = UINT64_MAX;
  link.type = FileType::kSymlink;
  link.symlink_target = std::string(kSymlinkTargetBytesMax, 'x');
  link.create_verifier = UINT64_MAX;
  ASSIGN_OR_FAIL(Inode link_back, DecodeInode(UINT64_MAX, EncodeInode(link)));
  EXPECT_EQ(link_back, link);

  Inode dev;
  dev.fileid = 7;
  dev.type = FileType::kChr;
  dev.rdev = {136, 4};
  ASSIGN_OR_FAIL(Inode dev_back, DecodeInode(7, EncodeInode(dev)));
  EXPECT_EQ(dev_back, dev);
}

TEST(SchemaTest, DirOnlyFieldsAreNotStoredForFiles) {
  Inode file = SampleDir();
  file.type = FileType::kReg;
  ASSIGN_OR_FAIL(Inode back, DecodeInode(42, EncodeInode(file)));
  EXPECT_EQ(back.next_dir_cookie, 0u);
  EXPECT_EQ(back.parent, 0u);
  EXPECT_LT(EncodeInode(file).size(), EncodeInode(SampleDir()).size());
}

TEST(SchemaTest, EveryTruncationOfAnInodeIsCorruption) {
  std::string value = EncodeInode(SampleDir());
  for (size_t n = 0; n < value.size(); n++) {
    EXPECT_CODE(DecodeInode(42, value.substr(0, n)), Code::kCorruption) << "length " << n;
  }
  EXPECT_CODE(DecodeInode(42, value + "x"), Code::kCorruption);  // trailing bytes
  std::string future = value;
  future[0] = static_cast<char>(kInodeRecordVersion + 1);
  EXPECT_CODE(DecodeInode(42, future), Code::kCorruption);
  std::string bad_type = value;
  bad_type[1] = 9;
  EXPECT_CODE(DecodeInode(42, bad_type), Code::kCorruption);
}

// Stores written before xattrs hold version 1 inode records: the same fields without the
// three xattr ones. They still decode, as inodes with no xattrs.
TEST(SchemaTest, VersionOneInodesDecodeWithNoXattrs) {
  Inode dir = SampleDir();
  dir.xattr_count = 0;
  dir.xattr_bytes = 0;
  dir.xattr_cookies_issued = 0;
  std::string v1 = EncodeInode(dir);
  v1.resize(v1.size() - 4);  // three zero varints, and the flags of version 3
  v1[0] = static_cast<char>(kInodeRecordVersionNoXattrs);
  ASSIGN_OR_FAIL(Inode back, DecodeInode(42, v1));
  EXPECT_EQ(back, dir);
  EXPECT_CODE(DecodeInode(42, v1 + std::string(3, '\0')), Code::kCorruption);  // trailing
}

// Version 3 added the flags (data_past_size): a version 2 record has none set.
TEST(SchemaTest, DataPastSizeRoundTripsAndVersionTwoInodesHaveItClear) {
  Inode file = SampleDir();
  file.type = FileType::kReg;
  file.next_dir_cookie = 0;
  file.parent = 0;
  file.data_past_size = true;
  ASSIGN_OR_FAIL(Inode back, DecodeInode(42, EncodeInode(file)));
  EXPECT_EQ(back, file);

  file.data_past_size = false;
  std::string v2 = EncodeInode(file);
  v2.resize(v2.size() - 1);  // the flags varint, 0
  v2[0] = static_cast<char>(kInodeRecordVersionNoDataPastSize);
  ASSIGN_OR_FAIL(Inode v2_back, DecodeInode(42, v2));
  EXPECT_EQ(v2_back, file);

  std::string unknown_flag = EncodeInode(file);
  unknown_flag.back() = 4;
  EXPECT_CODE(DecodeInode(42, unknown_flag), Code::kCorruption);
}

// Version 3's flags also say a file came from an exclusive create (its verifier may be 0);
// before them a nonzero verifier said so.
TEST(SchemaTest, ExclusiveCreatedRoundTripsAndOlderRecordsTakeItFromTheVerifier) {
  Inode file;
  file.fileid = 42;
  file.exclusive_created = true;
  file.create_verifier = 0;
  ASSIGN_OR_FAIL(Inode back, DecodeInode(42, EncodeInode(file)));
  EXPECT_EQ(back, file);

  file.exclusive_created = false;
  file.create_verifier = 7;
  std::string v2 = EncodeInode(file);
  v2.resize(v2.size() - 1);
  v2[0] = static_cast<char>(kInodeRecordVersionNoDataPastSize);
  ASSIGN_OR_FAIL(Inode v2_back, DecodeInode(42, v2));
  EXPECT_TRUE(v2_back.exclusive_created);
}

TEST(SchemaTest, XattrRecordsRoundTripAndRejectDamage) {
  XattrRecord x{7, std::string(kXattrValueBytesMax, '\xff')};
  ASSIGN_OR_FAIL(XattrRecord back, DecodeXattr(EncodeXattr(x)));
  EXPECT_EQ(back, x);
  std::string value = EncodeXattr(XattrRecord{7, "abc"});
  for (size_t n = 0; n < value.size(); n++) {
    EXPECT_CODE(DecodeXattr(value.substr(0, n)), Code::kCorruption) << "length " << n;
  }
  EXPECT_CODE(DecodeXattr(value + "x"), Code::kCorruption);
  EXPECT_CODE(DecodeXattr(EncodeXattr(XattrRecord{0, "abc"})), Code::kCorruption);  // no cookie 0
  EXPECT_CODE(DecodeXattr(EncodeXattr(XattrRecord{1, std::string(kXattrValueBytesMax + 1, 'v')})),
              Code::kCorruption);
  ASSIGN_OR_FAIL(std::string name, DecodeXattrCookie(EncodeXattrCookie("user.name")));
  EXPECT_EQ(name, "user.name");
  EXPECT_CODE(DecodeXattrCookie(EncodeXattrCookie("")), Code::kCorruption);
  EXPECT_CODE(DecodeXattrCookie(EncodeXattrCookie(std::string(kXattrNameBytesMax + 1, 'n'))),
              Code::kCorruption);
  // Keys: all xattrs of one inode together; cookies in numeric order.
  EXPECT_LT(XattrKey(1, "\xff\xff"), XattrKey(2, ""));
  EXPECT_EQ(XattrKey(3, "n").substr(0, 8), XattrPrefix(3));
  EXPECT_LT(XattrCookieKey(1, 255), XattrCookieKey(1, 256));
  EXPECT_EQ(XattrCookieFromKey(XattrCookieKey(9, 123456789)), 123456789u);
}

TEST(SchemaTest, KeysSortNumericallyAndGroupByParent) {
  EXPECT_LT(InodeKey(255), InodeKey(256));
  EXPECT_LT(InodeKey(1), InodeKey(UINT64_MAX));
  EXPECT_LT(DirentKey(7, "zzz"), DirentKey(8, ""));
  EXPECT_LT(DirentKey(7, "a"), DirentKey(7, "b"));
  EXPECT_LT(DirCookieKey(7, 255), DirCookieKey(7, 256));
  EXPECT_LT(DirCookieKey(7, UINT64_MAX), DirCookieKey(8, 0));
  EXPECT_LT(ExtentKey(3, 9), ExtentKey(3, 10));
  EXPECT_EQ(DirCookieFromKey(DirCookieKey(7, 0x0102030405060708)), 0x0102030405060708u);
  std::string prefix = DirentPrefix(7);
  EXPECT_EQ(DirentKey(7, "name").substr(0, 8), prefix);
  EXPECT_GT(PrefixSuccessor(prefix), DirentKey(7, std::string(255, '\xff')));
  EXPECT_EQ(PrefixSuccessor(std::string("\x01\xff", 2)), std::string("\x02"));
  EXPECT_EQ(PrefixSuccessor(std::string("\xff\xff", 2)), "");
}

TEST(SchemaTest, DirentAndDirCookieRoundTrip) {
  Dirent d{99, FileType::kFifo, 12345};
  ASSIGN_OR_FAIL(Dirent d_back, DecodeDirent(EncodeDirent(d)));
  EXPECT_EQ(d_back, d);
  DirCookieEntry c{std::string(kNameBytesMax, 'n'), 99, FileType::kSock};
  ASSIGN_OR_FAIL(DirCookieEntry c_back, DecodeDirCookie(EncodeDirCookie(c)));
  EXPECT_EQ(c_back, c);
  EXPECT_CODE(DecodeDirent(""), Code::kCorruption);
  EXPECT_CODE(DecodeDirCookie(EncodeDirCookie(c).substr(0, 5)), Code::kCorruption);
}

TEST(SchemaTest, ExtentRoundTripsWithInstances) {
  Extent e;
  e.fileid = 5;
  e.index = 3;
  e.instances.push_back(
      {1, std::string("\x00\x01fh", 4), InstanceState::kValid, 0xabcdef, 4, 1 << 20});
  e.instances.push_back({2, "bucket/key", InstanceState::kCopying, 0, 4, 0});
  ASSIGN_OR_FAIL(Extent back, DecodeExtent(ExtentKey(5, 3), EncodeExtent(e)));
  EXPECT_EQ(back, e);
  std::string bad_state = EncodeExtent(e);
  bad_state[2 + 1 + 1 + 4] = 0;  // version, count, volume id, locator length + 4 bytes: state
  EXPECT_CODE(DecodeExtent(ExtentKey(5, 3), bad_state), Code::kCorruption);
  EXPECT_CODE(DecodeExtent("short", EncodeExtent(e)), Code::kCorruption);
}

TEST(SchemaTest, VolumeClientAndSysRoundTrip) {
  Volume v{9,
           "nfs://10.0.0.1:2049/export",
           {{"tier", "fast"}, {"site", "a"}},
           VolumeState::kDown,
           "10.0.0.1:2049"};
  ASSIGN_OR_FAIL(Volume v_back, DecodeVolume(VolumeKey(9), EncodeVolume(v)));
  EXPECT_EQ(v_back, v);
  ClientRecord c{
      std::string("owner\0bytes", 11), 0x1122334455667788, 42, "uid:1000", 0x3, true, false};
  ASSIGN_OR_FAIL(ClientRecord c_back, DecodeClient(ClientKey(c.owner), EncodeClient(c)));
  EXPECT_EQ(c_back, c);
  ASSIGN_OR_FAIL(uint64_t sys, DecodeSysU64(EncodeSysU64(UINT64_MAX)));
  EXPECT_EQ(sys, UINT64_MAX);
  EXPECT_CODE(DecodeSysU64(std::string("\x01\xff", 2)), Code::kCorruption);
}

TEST(SchemaTest, OrphanRoundTripsAndRejectsBadRecords) {
  OrphanRecord o{77, Timespec{1700000000, 5}};
  ASSIGN_OR_FAIL(OrphanRecord back, DecodeOrphan(OrphanKey(77), EncodeOrphan(o)));
  EXPECT_EQ(back, o);
  EXPECT_CODE(DecodeOrphan("short", EncodeOrphan(o)), Code::kCorruption);
  EXPECT_CODE(DecodeOrphan(OrphanKey(77), EncodeOrphan(o) + "x"), Code::kCorruption);
  std::string other_version = EncodeOrphan(o);
  other_version[0] = 2;
  EXPECT_CODE(DecodeOrphan(OrphanKey(77), other_version), Code::kCorruption);
}

TEST(SchemaTest, CfNamesAreTheDocumentedOnes) {
  const char* want[] = {"inodes",  "dirents", "dircookies", "extents",      "volumes",
                        "clients", "sys",     "xattrs",     "xattrcookies", "orphans"};
  static_assert(std::size(want) == kCfCount);
  for (int i = 0; i < kCfCount; i++) EXPECT_STREQ(CfName(static_cast<Cf>(i)), want[i]);
}

}  // namespace
}  // namespace manifold::meta
