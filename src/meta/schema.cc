#include "meta/schema.h"

#include "meta/codec.h"
#include "meta/limits.h"

namespace manifold::meta {
namespace {

// Inode record flags (version 3 on); an unknown bit is corruption.
constexpr uint32_t kInodeFlagDataPastSize = 1;
constexpr uint32_t kInodeFlagExclusiveCreated = 2;
constexpr uint32_t kInodeFlagsKnown = kInodeFlagDataPastSize | kInodeFlagExclusiveCreated;

Status Corrupt(const char* what) {
  return Status(Code::kCorruption, std::string("bad ") + what + " record");
}

Status CheckVersion(Decoder& d, uint8_t expected, const char* what) {
  uint8_t version = 0;
  if (!d.U8(&version)) return Corrupt(what);
  if (version != expected) {
    return Status(Code::kCorruption, std::string(what) + " record version " +
                                         std::to_string(version) + " is not " +
                                         std::to_string(expected));
  }
  return Status::Ok();
}

bool GetFileType(Decoder& d, FileType* type) {
  uint8_t raw = 0;
  if (!d.U8(&raw) || !IsFileType(raw)) return false;
  *type = static_cast<FileType>(raw);
  return true;
}

void PutTime(Encoder& e, const Timespec& t) {
  e.Zigzag(t.sec);
  e.Varint(t.nsec);
}

bool GetTime(Decoder& d, Timespec* t) { return d.Zigzag(&t->sec) && d.Varint32(&t->nsec); }

std::string Be64Key(uint64_t a) {
  std::string key;
  PutFixed64BE(&key, a);
  return key;
}

std::string Be64PairKey(uint64_t a, uint64_t b) {
  std::string key = Be64Key(a);
  PutFixed64BE(&key, b);
  return key;
}

}  // namespace

const char* CfName(Cf cf) {
  switch (cf) {
    case Cf::kInodes: return "inodes";
    case Cf::kDirents: return "dirents";
    case Cf::kDirCookies: return "dircookies";
    case Cf::kExtents: return "extents";
    case Cf::kVolumes: return "volumes";
    case Cf::kClients: return "clients";
    case Cf::kSys: return "sys";
    case Cf::kXattrs: return "xattrs";
    case Cf::kXattrCookies: return "xattrcookies";
    case Cf::kOrphans: return "orphans";
  }
  return "unknown";
}

const char* FileTypeName(FileType type) {
  switch (type) {
    case FileType::kReg: return "reg";
    case FileType::kDir: return "dir";
    case FileType::kSymlink: return "symlink";
    case FileType::kBlk: return "blk";
    case FileType::kChr: return "chr";
    case FileType::kFifo: return "fifo";
    case FileType::kSock: return "sock";
  }
  return "unknown";
}

bool IsFileType(uint8_t raw) { return raw >= 1 && raw <= 7; }

const char* InstanceStateName(InstanceState state) {
  switch (state) {
    case InstanceState::kCopying: return "copying";
    case InstanceState::kValid: return "valid";
    case InstanceState::kRetiring: return "retiring";
  }
  return "unknown";
}

// ----- inodes ---------------------------------------------------------------------------------

std::string InodeKey(FileId fileid) { return Be64Key(fileid); }

std::string EncodeInode(const Inode& n) {
  Encoder e;
  e.U8(kInodeRecordVersion);
  e.U8(static_cast<uint8_t>(n.type));
  e.Varint(n.mode);
  e.Varint(n.uid);
  e.Varint(n.gid);
  e.Varint(n.size_bytes);
  e.Varint(n.space_used_bytes);
  for (const Timespec* t : {&n.atime, &n.mtime, &n.ctime, &n.crtime}) PutTime(e, *t);
  e.Varint(n.change);
  e.Varint(n.nlink);
  e.Varint(n.generation);
  e.Varint(n.data_generation);
  e.Varint(n.rdev.major);
  e.Varint(n.rdev.minor);
  e.Bytes(n.symlink_target);
  e.Fixed64BE(n.create_verifier);
  if (n.is_dir()) {
    e.Varint(n.next_dir_cookie);
    e.Varint(n.parent);
  }
  e.Varint(n.xattr_count);
  e.Varint(n.xattr_bytes);
  e.Varint(n.xattr_cookies_issued);
  e.Varint((n.data_past_size ? kInodeFlagDataPastSize : 0) |
           (n.exclusive_created ? kInodeFlagExclusiveCreated : 0));
  return e.Take();
}

Result<Inode> DecodeInode(FileId fileid, std::string_view value) {
  Decoder d(value);
  uint8_t version = 0;
  if (!d.U8(&version)) return Corrupt("inode");
  if (version != kInodeRecordVersion && version != kInodeRecordVersionNoDataPastSize &&
      version != kInodeRecordVersionNoXattrs) {
    return Status(Code::kCorruption, "inode record version " + std::to_string(version) +
                                         " is not " + std::to_string(kInodeRecordVersion));
  }
  Inode n;
  n.fileid = fileid;
  bool ok = GetFileType(d, &n.type) && d.Varint32(&n.mode) && d.Varint32(&n.uid) &&
            d.Varint32(&n.gid) && d.Varint(&n.size_bytes) && d.Varint(&n.space_used_bytes) &&
            GetTime(d, &n.atime) && GetTime(d, &n.mtime) && GetTime(d, &n.ctime) &&
            GetTime(d, &n.crtime) && d.Varint(&n.change) && d.Varint32(&n.nlink) &&
            d.Varint32(&n.generation) && d.Varint(&n.data_generation) &&
            d.Varint32(&n.rdev.major) && d.Varint32(&n.rdev.minor) &&
            d.Bytes(&n.symlink_target, kSymlinkTargetBytesMax) && d.Fixed64BE(&n.create_verifier);
  if (ok && n.is_dir()) ok = d.Varint(&n.next_dir_cookie) && d.Varint(&n.parent);
  // Version 1 predates xattrs: such an inode has none. Before version 3 no size cut was
  // recorded as pending.
  if (ok && version >= kInodeRecordVersionNoDataPastSize) {
    ok = d.Varint32(&n.xattr_count) && d.Varint(&n.xattr_bytes) &&
         d.Varint(&n.xattr_cookies_issued);
  }
  if (ok && version >= kInodeRecordVersion) {
    uint32_t flags = 0;
    ok = d.Varint32(&flags) && (flags & ~kInodeFlagsKnown) == 0;
    n.data_past_size = (flags & kInodeFlagDataPastSize) != 0;
    n.exclusive_created = (flags & kInodeFlagExclusiveCreated) != 0;
  } else {
    n.exclusive_created = n.create_verifier != 0;  // before the flag, a verifier said it
  }
  if (!ok || !d.Done()) return Corrupt("inode");
  return n;
}

// ----- dirents and dircookies -----------------------------------------------------------------

std::string DirentKey(FileId parent, std::string_view name) {
  std::string key = Be64Key(parent);
  key.append(name);
  return key;
}

std::string DirentPrefix(FileId parent) { return Be64Key(parent); }

std::string EncodeDirent(const Dirent& dirent) {
  Encoder e;
  e.U8(kDirentRecordVersion);
  e.Varint(dirent.child);
  e.U8(static_cast<uint8_t>(dirent.type));
  e.Varint(dirent.cookie);
  return e.Take();
}

Result<Dirent> DecodeDirent(std::string_view value) {
  Decoder d(value);
  Status s = CheckVersion(d, kDirentRecordVersion, "dirent");
  if (!s.ok()) return s;
  Dirent dirent;
  if (!d.Varint(&dirent.child) || !GetFileType(d, &dirent.type) || !d.Varint(&dirent.cookie) ||
      !d.Done()) {
    return Corrupt("dirent");
  }
  return dirent;
}

std::string DirCookieKey(FileId parent, uint64_t cookie) { return Be64PairKey(parent, cookie); }

uint64_t DirCookieFromKey(std::string_view key) { return GetFixed64BE(key.substr(8)); }

std::string EncodeDirCookie(const DirCookieEntry& entry) {
  Encoder e;
  e.U8(kDirCookieRecordVersion);
  e.Varint(entry.child);
  e.U8(static_cast<uint8_t>(entry.type));
  e.Bytes(entry.name);
  return e.Take();
}

Result<DirCookieEntry> DecodeDirCookie(std::string_view value) {
  Decoder d(value);
  Status s = CheckVersion(d, kDirCookieRecordVersion, "dircookie");
  if (!s.ok()) return s;
  DirCookieEntry entry;
  if (!d.Varint(&entry.child) || !GetFileType(d, &entry.type) ||
      !d.Bytes(&entry.name, kNameBytesMax) || !d.Done()) {
    return Corrupt("dircookie");
  }
  return entry;
}

// ----- extents --------------------------------------------------------------------------------

std::string ExtentKey(FileId fileid, uint64_t index) { return Be64PairKey(fileid, index); }

std::string ExtentPrefix(FileId fileid) { return Be64Key(fileid); }

std::string EncodeExtent(const Extent& extent) {
  Encoder e;
  e.U8(kExtentRecordVersion);
  e.Varint(extent.instances.size());
  for (const Instance& i : extent.instances) {
    e.Varint(i.volume_id);
    e.Bytes(i.locator);
    e.U8(static_cast<uint8_t>(i.state));
    e.Fixed64BE(i.checksum);
    e.Varint(i.generation);
    e.Varint(i.size_bytes);
  }
  return e.Take();
}

namespace {
bool GetInstance(Decoder& d, Instance* i) {
  uint8_t state = 0;
  bool ok = d.Varint(&i->volume_id) && d.Bytes(&i->locator, kLocatorBytesMax) && d.U8(&state) &&
            d.Fixed64BE(&i->checksum) && d.Varint(&i->generation) && d.Varint(&i->size_bytes);
  if (!ok || state < 1 || state > 3) return false;
  i->state = static_cast<InstanceState>(state);
  return true;
}
}  // namespace

Result<Extent> DecodeExtent(std::string_view key, std::string_view value) {
  if (key.size() != 16) return Corrupt("extent key");
  Decoder d(value);
  Status s = CheckVersion(d, kExtentRecordVersion, "extent");
  if (!s.ok()) return s;
  Extent extent;
  extent.fileid = GetFixed64BE(key);
  extent.index = GetFixed64BE(key.substr(8));
  uint64_t count = 0;
  if (!d.Varint(&count) || count > kInstancesPerExtentMax) return Corrupt("extent");
  extent.instances.resize(count);
  for (Instance& i : extent.instances) {
    if (!GetInstance(d, &i)) return Corrupt("extent");
  }
  if (!d.Done()) return Corrupt("extent");
  return extent;
}

// ----- volumes --------------------------------------------------------------------------------

std::string VolumeKey(uint64_t volume_id) { return Be64Key(volume_id); }

std::string EncodeVolume(const Volume& v) {
  Encoder e;
  e.U8(kVolumeRecordVersion);
  e.Bytes(v.url);
  e.Varint(v.labels.size());
  for (const auto& [key, value] : v.labels) {
    e.Bytes(key);
    e.Bytes(value);
  }
  e.U8(static_cast<uint8_t>(v.state));
  e.Bytes(v.mds_address);
  return e.Take();
}

Result<Volume> DecodeVolume(std::string_view key, std::string_view value) {
  if (key.size() != 8) return Corrupt("volume key");
  Decoder d(value);
  Status s = CheckVersion(d, kVolumeRecordVersion, "volume");
  if (!s.ok()) return s;
  Volume v;
  v.volume_id = GetFixed64BE(key);
  uint64_t count = 0;
  if (!d.Bytes(&v.url, kVolumeUrlBytesMax) || !d.Varint(&count) || count > kVolumeLabelsMax) {
    return Corrupt("volume");
  }
  v.labels.resize(count);
  for (auto& [k, val] : v.labels) {
    if (!d.Bytes(&k, kVolumeLabelBytesMax) || !d.Bytes(&val, kVolumeLabelBytesMax)) {
      return Corrupt("volume");
    }
  }
  uint8_t state = 0;
  if (!d.U8(&state) || (state != 1 && state != 2) ||
      !d.Bytes(&v.mds_address, kVolumeAddressBytesMax) || !d.Done()) {
    return Corrupt("volume");
  }
  v.state = static_cast<VolumeState>(state);
  return v;
}

// ----- clients --------------------------------------------------------------------------------

std::string ClientKey(std::string_view owner) { return std::string(owner); }

std::string EncodeClient(const ClientRecord& c) {
  Encoder e;
  e.U8(kClientRecordVersion);
  e.Varint(c.clientid);
  e.Fixed64BE(c.verifier);
  e.Bytes(c.principal);
  e.Varint(c.flags);
  e.U8(c.confirmed ? 1 : 0);
  e.U8(c.reclaim_complete ? 1 : 0);
  return e.Take();
}

Result<ClientRecord> DecodeClient(std::string_view key, std::string_view value) {
  Decoder d(value);
  Status s = CheckVersion(d, kClientRecordVersion, "client");
  if (!s.ok()) return s;
  ClientRecord c;
  c.owner = std::string(key);
  uint8_t confirmed = 0, reclaim_complete = 0;
  if (!d.Varint(&c.clientid) || !d.Fixed64BE(&c.verifier) ||
      !d.Bytes(&c.principal, kPrincipalBytesMax) || !d.Varint32(&c.flags) || !d.U8(&confirmed) ||
      !d.U8(&reclaim_complete) || confirmed > 1 || reclaim_complete > 1 || !d.Done()) {
    return Corrupt("client");
  }
  c.confirmed = confirmed == 1;
  c.reclaim_complete = reclaim_complete == 1;
  return c;
}

// ----- xattrs and xattrcookies ---------------------------------------------------------------

std::string XattrKey(FileId fileid, std::string_view name) {
  std::string key = Be64Key(fileid);
  key.append(name);
  return key;
}

std::string XattrPrefix(FileId fileid) { return Be64Key(fileid); }

std::string EncodeXattr(const XattrRecord& xattr) {
  Encoder e;
  e.U8(kXattrRecordVersion);
  e.Varint(xattr.cookie);
  e.Bytes(xattr.value);
  return e.Take();
}

Result<XattrRecord> DecodeXattr(std::string_view value) {
  Decoder d(value);
  Status s = CheckVersion(d, kXattrRecordVersion, "xattr");
  if (!s.ok()) return s;
  XattrRecord x;
  if (!d.Varint(&x.cookie) || x.cookie < kFirstXattrCookie ||
      !d.Bytes(&x.value, kXattrValueBytesMax) || !d.Done()) {
    return Corrupt("xattr");
  }
  return x;
}

std::string XattrCookieKey(FileId fileid, uint64_t cookie) { return Be64PairKey(fileid, cookie); }

uint64_t XattrCookieFromKey(std::string_view key) { return GetFixed64BE(key.substr(8)); }

std::string EncodeXattrCookie(std::string_view name) {
  Encoder e;
  e.U8(kXattrCookieRecordVersion);
  e.Bytes(name);
  return e.Take();
}

Result<std::string> DecodeXattrCookie(std::string_view value) {
  Decoder d(value);
  Status s = CheckVersion(d, kXattrCookieRecordVersion, "xattrcookie");
  if (!s.ok()) return s;
  std::string name;
  if (!d.Bytes(&name, kXattrNameBytesMax) || name.empty() || !d.Done()) {
    return Corrupt("xattrcookie");
  }
  return name;
}

// ----- orphans --------------------------------------------------------------------------------

std::string OrphanKey(FileId fileid) { return Be64Key(fileid); }

std::string EncodeOrphan(const OrphanRecord& orphan) {
  Encoder e;
  e.U8(kOrphanRecordVersion);
  PutTime(e, orphan.since);
  return e.Take();
}

Result<OrphanRecord> DecodeOrphan(std::string_view key, std::string_view value) {
  if (key.size() != 8) return Corrupt("orphan key");
  Decoder d(value);
  Status s = CheckVersion(d, kOrphanRecordVersion, "orphan");
  if (!s.ok()) return s;
  OrphanRecord out;
  out.fileid = GetFixed64BE(key);
  if (!GetTime(d, &out.since) || !d.Done()) return Corrupt("orphan");
  return out;
}

// ----- sys ------------------------------------------------------------------------------------

std::string EncodeSysU64(uint64_t value) {
  Encoder e;
  e.U8(kSysRecordVersion);
  e.Varint(value);
  return e.Take();
}

Result<uint64_t> DecodeSysU64(std::string_view value) {
  Decoder d(value);
  Status s = CheckVersion(d, kSysRecordVersion, "sys");
  if (!s.ok()) return s;
  uint64_t v = 0;
  if (!d.Varint(&v) || !d.Done()) return Corrupt("sys");
  return v;
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    unsigned char last = static_cast<unsigned char>(out.back());
    if (last != 0xff) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return out;  // all 0xff (or empty): no finite successor
}

}  // namespace manifold::meta
