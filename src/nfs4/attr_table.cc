// The NFSv4 attribute table: one row per attribute number (RFC 8881 5.6 and 5.7 for 0..75,
// RFC 8881 5.7 for fs_charset_cap, RFC 7862 12.2 for 77..80, RFC 8275 for 81, RFC 8276 for
// 82, RFC 9754 for 84..86; 83 is offline). Every decision about what Manifold supports is made here, with its reason in the note;
// encoding, decoding, supported_attrs and the docs all read this table.

#include <array>

#include "common/check.h"
#include "nfs4/attrs.h"

namespace manifold::nfs4 {
namespace {

constexpr AttrAccess R = AttrAccess::kRead;
constexpr AttrAccess RW = AttrAccess::kReadWrite;
constexpr AttrAccess W = AttrAccess::kWrite;
constexpr AttrLevel REQ = AttrLevel::kRequired;
constexpr AttrLevel REC = AttrLevel::kRecommended;
constexpr bool kYes = true;
constexpr bool kNo = false;

// ROW(FATTR4_ constant suffix, name, XDR type, access, level, minor version, supported,
//     exclcreat, note). The value routine and C type come from the name: xdr_fattr4_<name>.
#define ROW(num, name, type, access, level, minor, supported, exclcreat, note)   \
  AttrInfo {                                                                     \
    FATTR4_##num, #name, type, access, level, minor, supported, exclcreat, note, \
        reinterpret_cast<xdrproc_t>(xdr_fattr4_##name), sizeof(fattr4_##name)    \
  }

constexpr const char* kNoAcl =
    "no NFSv4 ACLs: permissions are the mode bits alone (aclsupport is 0)";
constexpr const char* kNoMigration =
    "no migration, replication or referrals: NFS4ERR_MOVED is never returned, and the Linux "
    "client asks for locations only after it";
constexpr const char* kNoWindowsFlag =
    "a Windows file flag with no place in the namespace; the Linux client never uses it";
constexpr const char* kNoQuota = "no quotas";
constexpr const char* kNoRetention = "no retention (RFC 8881 5.13)";
constexpr const char* kNoDirDeleg =
    "no directory delegations or notifications (GET_DIR_DELEGATION is not supported)";
constexpr const char* kExclTimes =
    "not in suppattr_exclcreat: EXCLUSIVE4_1 may keep the create verifier in the times (as "
    "Linux nfsd does); the Linux client then sets the times with SETATTR";

std::vector<AttrInfo> BuildTable() {
  std::vector<AttrInfo> t = {
      ROW(SUPPORTED_ATTRS, supported_attrs, "bitmap4", R, REQ, 0, kYes, kNo,
          "this table's supported rows for the session's minor version"),
      ROW(TYPE, type, "nfs_ftype4", R, REQ, 0, kYes, kNo, ""),
      ROW(FH_EXPIRE_TYPE, fh_expire_type, "uint32_t", R, REQ, 0, kYes, kNo,
          "FH4_PERSISTENT: a handle names an inode and outlives server restarts"),
      ROW(CHANGE, change, "changeid4", R, REQ, 0, kYes, kNo,
          "the inode's change counter, bumped by every mutation"),
      ROW(SIZE, size, "uint64_t", RW, REQ, 0, kYes, kYes, ""),
      ROW(LINK_SUPPORT, link_support, "bool", R, REQ, 0, kYes, kNo, "true"),
      ROW(SYMLINK_SUPPORT, symlink_support, "bool", R, REQ, 0, kYes, kNo, "true"),
      ROW(NAMED_ATTR, named_attr, "bool", R, REQ, 0, kYes, kNo,
          "false: no named attributes (OPENATTR); extended attributes are RFC 8276 xattrs"),
      ROW(FSID, fsid, "fsid4", R, REQ, 0, kYes, kNo, ""),
      ROW(UNIQUE_HANDLES, unique_handles, "bool", R, REQ, 0, kYes, kNo,
          "true: one handle per inode"),
      ROW(LEASE_TIME, lease_time, "nfs_lease4", R, REQ, 0, kYes, kNo, ""),
      ROW(RDATTR_ERROR, rdattr_error, "nfsstat4", R, REQ, 0, kYes, kNo,
          "READDIR entries only; GETATTR omits it; VERIFY/NVERIFY reject it (NFS4ERR_INVAL)"),
      ROW(ACL, acl, "nfsace4<>", RW, REC, 0, kNo, kNo, kNoAcl),
      ROW(ACLSUPPORT, aclsupport, "uint32_t", R, REC, 0, kYes, kNo,
          "0: no ACE types, since there is no acl attribute"),
      ROW(ARCHIVE, archive, "bool", RW, REC, 0, kNo, kNo, kNoWindowsFlag),
      ROW(CANSETTIME, cansettime, "bool", R, REC, 0, kYes, kNo, "true"),
      ROW(CASE_INSENSITIVE, case_insensitive, "bool", R, REC, 0, kYes, kNo, "false"),
      ROW(CASE_PRESERVING, case_preserving, "bool", R, REC, 0, kYes, kNo, "true"),
      ROW(CHOWN_RESTRICTED, chown_restricted, "bool", R, REC, 0, kYes, kNo, "true"),
      ROW(FILEHANDLE, filehandle, "nfs_fh4", R, REQ, 0, kYes, kNo, ""),
      ROW(FILEID, fileid, "uint64_t", R, REC, 0, kYes, kNo, ""),
      ROW(FILES_AVAIL, files_avail, "uint64_t", R, REC, 0, kYes, kNo, ""),
      ROW(FILES_FREE, files_free, "uint64_t", R, REC, 0, kYes, kNo, ""),
      ROW(FILES_TOTAL, files_total, "uint64_t", R, REC, 0, kYes, kNo, ""),
      ROW(FS_LOCATIONS, fs_locations, "fs_locations4", R, REC, 0, kNo, kNo, kNoMigration),
      ROW(HIDDEN, hidden, "bool", RW, REC, 0, kNo, kNo, kNoWindowsFlag),
      ROW(HOMOGENEOUS, homogeneous, "bool", R, REC, 0, kYes, kNo, "true"),
      ROW(MAXFILESIZE, maxfilesize, "uint64_t", R, REC, 0, kYes, kNo, ""),
      ROW(MAXLINK, maxlink, "uint32_t", R, REC, 0, kYes, kNo, ""),
      ROW(MAXNAME, maxname, "uint32_t", R, REC, 0, kYes, kNo, ""),
      ROW(MAXREAD, maxread, "uint64_t", R, REC, 0, kYes, kNo, ""),
      ROW(MAXWRITE, maxwrite, "uint64_t", R, REC, 0, kYes, kNo, ""),
      ROW(MIMETYPE, mimetype, "ascii_REQUIRED4", RW, REC, 0, kNo, kNo,
          "no MIME types are stored; no client uses it"),
      ROW(MODE, mode, "mode4", RW, REC, 0, kYes, kYes, ""),
      ROW(NO_TRUNC, no_trunc, "bool", R, REC, 0, kYes, kNo,
          "true: a long name is NFS4ERR_NAMETOOLONG"),
      ROW(NUMLINKS, numlinks, "uint32_t", R, REC, 0, kYes, kNo, ""),
      ROW(OWNER, owner, "utf8str_mixed", RW, REC, 0, kYes, kYes,
          "numeric strings (\"1000\") unless an IdMapper maps names"),
      ROW(OWNER_GROUP, owner_group, "utf8str_mixed", RW, REC, 0, kYes, kYes,
          "numeric strings (\"1000\") unless an IdMapper maps names"),
      ROW(QUOTA_AVAIL_HARD, quota_avail_hard, "uint64_t", R, REC, 0, kNo, kNo, kNoQuota),
      ROW(QUOTA_AVAIL_SOFT, quota_avail_soft, "uint64_t", R, REC, 0, kNo, kNo, kNoQuota),
      ROW(QUOTA_USED, quota_used, "uint64_t", R, REC, 0, kNo, kNo, kNoQuota),
      ROW(RAWDEV, rawdev, "specdata4", R, REC, 0, kYes, kNo, ""),
      ROW(SPACE_AVAIL, space_avail, "uint64_t", R, REC, 0, kYes, kNo, ""),
      ROW(SPACE_FREE, space_free, "length4", R, REC, 0, kYes, kNo, ""),
      ROW(SPACE_TOTAL, space_total, "uint64_t", R, REC, 0, kYes, kNo, ""),
      ROW(SPACE_USED, space_used, "uint64_t", R, REC, 0, kYes, kNo, ""),
      ROW(SYSTEM, system, "bool", RW, REC, 0, kNo, kNo, kNoWindowsFlag),
      ROW(TIME_ACCESS, time_access, "nfstime4", R, REC, 0, kYes, kNo, ""),
      ROW(TIME_ACCESS_SET, time_access_set, "settime4", W, REC, 0, kYes, kNo, kExclTimes),
      ROW(TIME_BACKUP, time_backup, "nfstime4", RW, REC, 0, kNo, kNo,
          "no backup time is kept; no client uses it"),
      ROW(TIME_CREATE, time_create, "nfstime4", RW, REC, 0, kYes, kYes,
          "the inode's birth time; settable, as in Linux nfsd"),
      ROW(TIME_DELTA, time_delta, "nfstime4", R, REC, 0, kYes, kNo, "1 ns"),
      ROW(TIME_METADATA, time_metadata, "nfstime4", R, REC, 0, kYes, kNo, "ctime"),
      ROW(TIME_MODIFY, time_modify, "nfstime4", R, REC, 0, kYes, kNo, ""),
      ROW(TIME_MODIFY_SET, time_modify_set, "settime4", W, REC, 0, kYes, kNo, kExclTimes),
      ROW(MOUNTED_ON_FILEID, mounted_on_fileid, "uint64_t", R, REC, 0, kYes, kNo,
          "the fileid: Manifold exports one file system with no mount points inside"),
      ROW(DIR_NOTIF_DELAY, dir_notif_delay, "nfstime4", R, REC, 1, kNo, kNo, kNoDirDeleg),
      ROW(DIRENT_NOTIF_DELAY, dirent_notif_delay, "nfstime4", R, REC, 1, kNo, kNo, kNoDirDeleg),
      ROW(DACL, dacl, "nfsacl41", RW, REC, 1, kNo, kNo, kNoAcl),
      ROW(SACL, sacl, "nfsacl41", RW, REC, 1, kNo, kNo, kNoAcl),
      ROW(CHANGE_POLICY, change_policy, "change_policy4", R, REC, 1, kNo, kNo,
          "no file system-wide change policy to report"),
      ROW(FS_STATUS, fs_status, "fs4_status", R, REC, 1, kNo, kNo, kNoMigration),
      ROW(FS_LAYOUT_TYPES, fs_layout_types, "layouttype4<>", R, REC, 1, kYes, kNo,
          "LAYOUT4_FLEX_FILES (RFC 8435)"),
      ROW(LAYOUT_HINT, layout_hint, "layouthint4", W, REC, 1, kNo, kNo,
          "placement comes from objectives, not client hints; the Linux client never sends it"),
      ROW(LAYOUT_TYPES, layout_types, "layouttype4<>", R, REC, 1, kNo, kNo,
          "every file has the file system's fs_layout_types; the Linux client never asks"),
      ROW(LAYOUT_BLKSIZE, layout_blksize, "uint32_t", R, REC, 1, kYes, kNo,
          "preferred I/O size through a layout"),
      ROW(LAYOUT_ALIGNMENT, layout_alignment, "uint32_t", R, REC, 1, kNo, kNo,
          "flexfile layouts impose no alignment; the Linux client never asks"),
      ROW(FS_LOCATIONS_INFO, fs_locations_info, "fs_locations_info4", R, REC, 1, kNo, kNo,
          kNoMigration),
      ROW(MDSTHRESHOLD, mdsthreshold, "mdsthreshold4", R, REC, 1, kNo, kNo,
          "no per-file hints for doing I/O through the MDS yet: every I/O may use a layout"),
      ROW(RETENTION_GET, retention_get, "retention_get4", R, REC, 1, kNo, kNo, kNoRetention),
      ROW(RETENTION_SET, retention_set, "retention_set4", W, REC, 1, kNo, kNo, kNoRetention),
      ROW(RETENTEVT_GET, retentevt_get, "retention_get4", R, REC, 1, kNo, kNo, kNoRetention),
      ROW(RETENTEVT_SET, retentevt_set, "retention_set4", W, REC, 1, kNo, kNo, kNoRetention),
      ROW(RETENTION_HOLD, retention_hold, "uint64_t", RW, REC, 1, kNo, kNo, kNoRetention),
      ROW(MODE_SET_MASKED, mode_set_masked, "mode_masked4", W, REC, 1, kNo, kNo,
          "mode covers it; the Linux client never sends it"),
      ROW(SUPPATTR_EXCLCREAT, suppattr_exclcreat, "bitmap4", R, REQ, 1, kYes, kNo,
          "size, mode, owner, owner_group, time_create, mode_umask"),
      ROW(FS_CHARSET_CAP, fs_charset_cap, "fs_charset_cap4", R, REC, 1, kNo, kNo,
          "names are opaque bytes, not checked as UTF-8: nothing to claim"),
      ROW(CLONE_BLKSIZE, clone_blksize, "uint32_t", R, REC, 2, kNo, kNo,
          "CLONE is not implemented yet; the value will depend on the volume"),
      ROW(SPACE_FREED, space_freed, "length4", R, REC, 2, kNo, kNo,
          "would need a count of each file's unshared space"),
      ROW(CHANGE_ATTR_TYPE, change_attr_type, "change_attr_type4", R, REC, 2, kYes, kNo,
          "NFS4_CHANGE_TYPE_IS_UNDEFINED, though change only grows: told MONOTONIC_INCR, the "
          "Linux client orders attribute replies by change, and its own O_DIRECT WRITEs, whose "
          "replies carry no change, leave its cached one behind; a GETATTR made before a WRITE "
          "it has completed then looks newer and takes the file's size back (xfstests "
          "generic/207: 15 of 40 runs failed over NFSv4.2, none with UNDEFINED)"),
      ROW(SEC_LABEL, sec_label, "sec_label4", RW, REC, 2, kNo, kNo, "no Labeled NFS (RFC 7204)"),
      ROW(MODE_UMASK, mode_umask, "mode_umask4", W, REC, 2, kYes, kYes,
          "RFC 8275; CREATE and OPEN only; mode = mu_mode & ~mu_umask"),
      ROW(XATTR_SUPPORT, xattr_support, "bool", R, REC, 2, kYes, kNo, "RFC 8276: true"),
      ROW(OFFLINE, offline, "bool", R, REC, 2, kNo, kNo,
          "no offline (HSM) state: data on an archive tier is still read through a layout"),
      ROW(TIME_DELEG_ACCESS, time_deleg_access, "nfstime4", RW, REC, 2, kNo, kNo,
          "RFC 9754 delegated timestamps are not offered (WANT_DELEG_TIMESTAMPS is ignored)"),
      ROW(TIME_DELEG_MODIFY, time_deleg_modify, "nfstime4", RW, REC, 2, kNo, kNo,
          "RFC 9754 delegated timestamps are not offered (WANT_DELEG_TIMESTAMPS is ignored)"),
      ROW(OPEN_ARGUMENTS, open_arguments, "open_arguments4", R, REC, 2, kYes, kNo,
          "RFC 9754: the share access and deny values, delegation wants, claims and create "
          "modes OPEN accepts"),
  };
  for (uint32_t n = 0; n < t.size(); ++n) MANIFOLD_CHECK(t[n].number == n);
  MANIFOLD_CHECK(t.size() == kAttrCount);
  return t;
}

#undef ROW

// Bitmaps derived from the table, per minor version.
struct DerivedBitmaps {
  AttrBitmap supported, exclcreat, writable, write_only;
};

std::array<DerivedBitmaps, kMinorVersionMax + 1> BuildDerived() {
  std::array<DerivedBitmaps, kMinorVersionMax + 1> d;
  for (uint32_t minor = 0; minor <= kMinorVersionMax; ++minor) {
    for (const AttrInfo& a : AttrTable()) {
      if (!a.supported || a.minor_version > minor) continue;
      d[minor].supported.Set(a.number);
      if (a.exclcreat) d[minor].exclcreat.Set(a.number);
      if (a.access != AttrAccess::kRead) d[minor].writable.Set(a.number);
      if (a.access == AttrAccess::kWrite) d[minor].write_only.Set(a.number);
    }
  }
  return d;
}

const DerivedBitmaps& Derived(uint32_t minor_version) {
  static const auto derived = BuildDerived();
  MANIFOLD_CHECK(minor_version <= kMinorVersionMax);
  return derived[minor_version];
}

}  // namespace

const std::vector<AttrInfo>& AttrTable() {
  static const std::vector<AttrInfo> table = BuildTable();
  return table;
}

const AttrInfo* FindAttr(uint32_t number) {
  const auto& t = AttrTable();
  return number < t.size() ? &t[number] : nullptr;
}

const AttrBitmap& SupportedAttrs(uint32_t minor_version) {
  return Derived(minor_version).supported;
}
const AttrBitmap& SuppattrExclcreat(uint32_t minor_version) {
  return Derived(minor_version).exclcreat;
}
const AttrBitmap& WritableAttrs(uint32_t minor_version) { return Derived(minor_version).writable; }
const AttrBitmap& WriteOnlyAttrs(uint32_t minor_version) {
  return Derived(minor_version).write_only;
}

}  // namespace manifold::nfs4
