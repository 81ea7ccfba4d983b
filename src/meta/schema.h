// The on-disk schema of the namespace store. This header mirrors docs/schema.md: every column
// family, every key encoding and every value encoding is declared here and written down there;
// change both together, and bump the record version (and kFormatVersion when old records can
// no longer be read).
//
// Keys: fixed-width big-endian integers, so that a byte-ordered scan is a numeric-ordered scan
// (all entries of one directory are adjacent; extents of a file come in index order).
//
// Values: a hand-written, versioned, compact binary record: one version byte, then fields in a
// fixed order as LEB128 varints (zigzag for signed), single bytes for enums and varint-length-
// prefixed byte strings. Hand-written because no serialization library (protobuf, flatbuffers,
// capnp) is in the project's dependency set (DESIGN.md section 10), and the records are small
// and few. A decoder rejects an unknown version, a truncated record and trailing bytes with
// kCorruption.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace manifold::meta {

// ---------------------------------------------------------------------------------------------
// Column families (the Kv seam names them by this enum; RocksKv maps them to RocksDB CFs).
enum class Cf : uint8_t {
  kInodes = 0,  // fileid -> Inode
  kDirents,     // (parent fileid, name) -> Dirent
  kDirCookies,  // (parent fileid, cookie) -> DirCookieEntry
  kExtents,     // (fileid, extent index) -> Extent
  kVolumes,     // volume id -> Volume
  kClients,     // client owner (opaque) -> ClientRecord
  kSys,         // named singletons: format version, fileid counter, rename lock
  kXattrs,        // (fileid, xattr name) -> XattrRecord
  kXattrCookies,  // (fileid, xattr cookie) -> XattrCookieEntry
  kOrphans,       // fileid -> OrphanRecord: a regular file with no name left, kept while open
};
inline constexpr int kCfCount = 10;
const char* CfName(Cf cf);  // the RocksDB column family name, e.g. "inodes"

// Version of the whole store, kept in sys/"format_version". Open refuses any other.
inline constexpr uint32_t kFormatVersion = 1;

using FileId = uint64_t;
inline constexpr FileId kRootFileId = 1;
inline constexpr FileId kFirstAllocatedFileId = 2;  // initial value of sys/"next_fileid"

// READDIR cookies: 0 means "from the start"; 1 and 2 are reserved (NFSv4 clients use them
// for "." and ".."); a directory's first entry gets cookie 3.
inline constexpr uint64_t kFirstDirCookie = 3;

// ---------------------------------------------------------------------------------------------
// inodes: key = be64(fileid)

enum class FileType : uint8_t {
  kReg = 1,
  kDir = 2,
  kSymlink = 3,
  kBlk = 4,
  kChr = 5,
  kFifo = 6,
  kSock = 7,
};
const char* FileTypeName(FileType type);
bool IsFileType(uint8_t raw);

struct Timespec {
  int64_t sec = 0;
  uint32_t nsec = 0;
  friend auto operator<=>(const Timespec&, const Timespec&) = default;
};

struct DeviceNumber {  // NFSv4 specdata4
  uint32_t major = 0;
  uint32_t minor = 0;
  friend bool operator==(const DeviceNumber&, const DeviceNumber&) = default;
};

// Version 3 added data_past_size, version 2 the xattr fields; older records still decode.
inline constexpr uint8_t kInodeRecordVersion = 3;
inline constexpr uint8_t kInodeRecordVersionNoDataPastSize = 2;
inline constexpr uint8_t kInodeRecordVersionNoXattrs = 1;

// Mode bits the namespace's own rules look at (POSIX <sys/stat.h> values).
inline constexpr uint32_t kModeSetGid = 02000;
inline constexpr uint32_t kModeSticky = 01000;
inline constexpr uint32_t kModeGroupExec = 00010;

struct Inode {
  FileId fileid = 0;  // the key; not repeated in the value
  FileType type = FileType::kReg;
  uint32_t mode = 0;  // permission bits only (07777); the type is `type`
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size_bytes = 0;  // directories: the number of entries
  uint64_t space_used_bytes = 0;
  Timespec atime, mtime, ctime, crtime;
  uint64_t change = 0;           // NFSv4 change attribute: +1 on every change of this inode
  uint32_t nlink = 0;            // directories: 2 + number of subdirectories
  uint32_t generation = 0;       // random, nonzero, chosen at create; carried in filehandles
  uint64_t data_generation = 0;  // +1 on every write or size change (movers, DESIGN.md 5)
  DeviceNumber rdev;             // block and character devices
  std::string symlink_target;    // symlinks
  uint64_t create_verifier = 0;  // regular files made by an exclusive create; else 0
  bool exclusive_created = false;  // made by an exclusive create (its verifier may be 0)
  // Directories only (encoded only when type == kDir).
  uint64_t next_dir_cookie = 0;  // cookie the next entry added to this directory gets
  FileId parent = 0;             // ".." (the root is its own parent)
  // Extended attributes (RFC 8276), kept here so that SETXATTR checks the per-inode bounds
  // and the last unlink finds them without a scan (record version 2).
  uint32_t xattr_count = 0;            // records in `xattrs` for this fileid
  uint64_t xattr_bytes = 0;            // their names + values
  uint64_t xattr_cookies_issued = 0;   // the last xattr cookie handed out (0: none yet)
  // Regular files: the data servers may still hold bytes past size_bytes, left by a size cut
  // that has not reached them (it failed, or the MDS stopped first). Set by the transaction
  // that shrinks the file; cleared once the data is cut. Reads stop at size_bytes, so such
  // bytes are only a danger when the file grows: the data is cut first (docs/schema.md).
  bool data_past_size = false;

  bool is_dir() const { return type == FileType::kDir; }
  friend bool operator==(const Inode&, const Inode&) = default;
};

std::string InodeKey(FileId fileid);
std::string EncodeInode(const Inode& inode);
Result<Inode> DecodeInode(FileId fileid, std::string_view value);

// ---------------------------------------------------------------------------------------------
// dirents: key = be64(parent) + name bytes (1..255, no NUL, no '/', not "." or "..")

inline constexpr uint8_t kDirentRecordVersion = 1;

struct Dirent {
  FileId child = 0;
  FileType type = FileType::kReg;
  uint64_t cookie = 0;  // the key of the matching dircookie entry
  friend bool operator==(const Dirent&, const Dirent&) = default;
};

std::string DirentKey(FileId parent, std::string_view name);
std::string DirentPrefix(FileId parent);  // be64(parent): every entry of one directory
std::string EncodeDirent(const Dirent& dirent);
Result<Dirent> DecodeDirent(std::string_view value);

// ---------------------------------------------------------------------------------------------
// dircookies: key = be64(parent) + be64(cookie). The value repeats the child fileid and type
// of the dirent (a deliberate denormalization: READDIR then needs no dirent lookup per entry).

inline constexpr uint8_t kDirCookieRecordVersion = 1;

struct DirCookieEntry {
  std::string name;
  FileId child = 0;
  FileType type = FileType::kReg;
  friend bool operator==(const DirCookieEntry&, const DirCookieEntry&) = default;
};

std::string DirCookieKey(FileId parent, uint64_t cookie);
uint64_t DirCookieFromKey(std::string_view key);  // key must be 16 bytes
std::string EncodeDirCookie(const DirCookieEntry& entry);
Result<DirCookieEntry> DecodeDirCookie(std::string_view value);

// ---------------------------------------------------------------------------------------------
// extents: key = be64(fileid) + be64(extent index)

inline constexpr uint8_t kExtentRecordVersion = 1;

// copying -> valid -> retiring -> (deleted). See DESIGN.md section 5.
enum class InstanceState : uint8_t { kCopying = 1, kValid = 2, kRetiring = 3 };
const char* InstanceStateName(InstanceState state);

struct Instance {
  uint64_t volume_id = 0;
  std::string locator;  // NFSv3 filehandle bytes on the volume's DS, or the S3 object key
  InstanceState state = InstanceState::kCopying;
  uint64_t checksum = 0;    // of the instance's bytes (XXH3-64), 0 until computed
  uint64_t generation = 0;  // the file's data_generation this copy is known to hold
  uint64_t size_bytes = 0;
  friend bool operator==(const Instance&, const Instance&) = default;
};

struct Extent {
  FileId fileid = 0;   // key
  uint64_t index = 0;  // key: extent number within the file
  std::vector<Instance> instances;
  friend bool operator==(const Extent&, const Extent&) = default;
};

std::string ExtentKey(FileId fileid, uint64_t index);
std::string ExtentPrefix(FileId fileid);
std::string EncodeExtent(const Extent& extent);
Result<Extent> DecodeExtent(std::string_view key, std::string_view value);

// ---------------------------------------------------------------------------------------------
// volumes: key = be64(volume id)

inline constexpr uint8_t kVolumeRecordVersion = 1;

enum class VolumeState : uint8_t { kUp = 1, kDown = 2 };

struct Volume {
  uint64_t volume_id = 0;  // key
  std::string url;         // nfs://host:port/export or s3://endpoint/bucket/prefix
  std::vector<std::pair<std::string, std::string>> labels;  // tier=fast, site=a, ...
  VolumeState state = VolumeState::kUp;
  std::string mds_address;  // how the MDS itself reaches the volume (may differ from url)
  friend bool operator==(const Volume&, const Volume&) = default;
};

std::string VolumeKey(uint64_t volume_id);
std::string EncodeVolume(const Volume& volume);
Result<Volume> DecodeVolume(std::string_view key, std::string_view value);

// ---------------------------------------------------------------------------------------------
// clients: key = the client owner's co_ownerid bytes (1..1024), as the client sent them.
// Kept so that after an MDS restart only known clients may reclaim (DESIGN.md section 4).

inline constexpr uint8_t kClientRecordVersion = 1;

struct ClientRecord {
  std::string owner;  // key
  uint64_t clientid = 0;
  uint64_t verifier = 0;  // co_verifier (8 opaque bytes, as a big-endian integer)
  std::string principal;
  uint32_t flags = 0;  // EXCHANGE_ID flags as granted
  bool confirmed = false;
  bool reclaim_complete = false;
  friend bool operator==(const ClientRecord&, const ClientRecord&) = default;
};

std::string ClientKey(std::string_view owner);
std::string EncodeClient(const ClientRecord& client);
Result<ClientRecord> DecodeClient(std::string_view key, std::string_view value);

// ---------------------------------------------------------------------------------------------
// xattrs: key = be64(fileid) + name bytes (1..kXattrNameBytesMax, no NUL). The value holds the
// xattr's cookie (its key in xattrcookies) and its value bytes.

inline constexpr uint8_t kXattrRecordVersion = 1;
// LISTXATTRS cookies: 0 means "from the start"; an inode's first xattr gets cookie 1.
inline constexpr uint64_t kFirstXattrCookie = 1;

struct XattrRecord {
  uint64_t cookie = 0;
  std::string value;
  friend bool operator==(const XattrRecord&, const XattrRecord&) = default;
};

std::string XattrKey(FileId fileid, std::string_view name);
std::string XattrPrefix(FileId fileid);  // be64(fileid): every xattr of one inode
std::string EncodeXattr(const XattrRecord& xattr);
Result<XattrRecord> DecodeXattr(std::string_view value);

// ---------------------------------------------------------------------------------------------
// xattrcookies: key = be64(fileid) + be64(cookie) -> the xattr's name. Lists an inode's
// xattrs in cookie (creation) order, so that a LISTXATTRS cookie stays valid while the set
// changes (RFC 8276 8.4.3: the cookie SHOULD NOT change when the xattrs change).

inline constexpr uint8_t kXattrCookieRecordVersion = 1;

std::string XattrCookieKey(FileId fileid, uint64_t cookie);
uint64_t XattrCookieFromKey(std::string_view key);  // key must be 16 bytes
std::string EncodeXattrCookie(std::string_view name);
Result<std::string> DecodeXattrCookie(std::string_view value);

// ---------------------------------------------------------------------------------------------
// orphans: key = be64(fileid). A regular file whose last name went while a client still had it
// open: its inode (nlink 0), extents and xattrs stay until PurgeOrphan deletes them together
// with this key (docs/schema.md, "Orphans").

inline constexpr uint8_t kOrphanRecordVersion = 1;

struct OrphanRecord {
  FileId fileid = 0;  // key
  Timespec since;     // when its last name went
  friend bool operator==(const OrphanRecord&, const OrphanRecord&) = default;
};

std::string OrphanKey(FileId fileid);
std::string EncodeOrphan(const OrphanRecord& orphan);
Result<OrphanRecord> DecodeOrphan(std::string_view key, std::string_view value);

// ---------------------------------------------------------------------------------------------
// sys: key = a name; value = a version byte + one varint.
inline constexpr std::string_view kSysFormatVersionKey = "format_version";
inline constexpr std::string_view kSysNextFileIdKey = "next_fileid";  // first unreserved fileid
inline constexpr std::string_view kSysRenameLockKey = "rename_lock";  // see ops/rename.cc

inline constexpr uint8_t kSysRecordVersion = 1;
std::string EncodeSysU64(uint64_t value);
Result<uint64_t> DecodeSysU64(std::string_view value);

// The smallest key greater than every key that starts with `prefix` (empty: no bound).
std::string PrefixSuccessor(std::string_view prefix);

}  // namespace manifold::meta
