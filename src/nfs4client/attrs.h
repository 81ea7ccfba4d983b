// NFSv4 attributes on the client side: bitmaps, the attributes a client sends (CREATE, OPEN,
// SETATTR, VERIFY, NVERIFY) and a decoder for the fattr4 a server returns (GETATTR, READDIR).
//
// RFC 8881 5.6/5.7: attr_vals holds the values of the set bits in increasing attribute number,
// each XDR-encoded as its fattr4_* type. A value cannot be skipped without knowing its type, so
// the decoder stops at the first attribute it does not know and says so (complete == false).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "xdr/nfs4.h"

namespace manifold::nfs4client {

using Bitmap = std::vector<uint32_t>;

// A bitmap with the given attribute numbers (FATTR4_*) set; no trailing zero words.
Bitmap MakeBitmap(std::initializer_list<uint32_t> attrs);
bool BitmapHas(std::span<const uint32_t> bitmap, uint32_t attr);
void BitmapSet(Bitmap& bitmap, uint32_t attr);

// Attributes to send. Only the fields that are set go on the wire.
struct AttrSet {
  std::optional<nfs_ftype4> type{};           // FATTR4_TYPE (VERIFY/NVERIFY only: read-only)
  std::optional<uint64_t> change{};           // FATTR4_CHANGE (VERIFY/NVERIFY only)
  std::optional<uint64_t> size{};             // FATTR4_SIZE
  std::optional<uint64_t> fileid{};           // FATTR4_FILEID (VERIFY/NVERIFY only)
  std::optional<uint32_t> mode{};             // FATTR4_MODE
  std::optional<std::string> owner{};         // FATTR4_OWNER ("1234" or "user@domain")
  std::optional<std::string> owner_group{};   // FATTR4_OWNER_GROUP
  std::optional<settime4> time_access_set{};  // FATTR4_TIME_ACCESS_SET
  std::optional<settime4> time_modify_set{};  // FATTR4_TIME_MODIFY_SET
  std::optional<mode_umask4> mode_umask{};    // FATTR4_MODE_UMASK (RFC 8275)

  bool empty() const;
  // Appends the XDR attr_vals to `vals` and returns the matching attrmask.
  Bitmap Encode(std::vector<uint8_t>& vals) const;
};

settime4 SetToServerTime();
settime4 SetToClientTime(int64_t seconds, uint32_t nseconds = 0);

// Attributes a server returned. Fields are set only for attributes present in the reply.
struct Attrs {
  Bitmap returned{};        // the reply's attrmask
  bool complete = true;     // false: stopped at an attribute this decoder does not know
  uint32_t stopped_at = 0;  // that attribute's number when !complete

  std::optional<Bitmap> supported_attrs{};
  std::optional<nfs_ftype4> type{};
  std::optional<uint32_t> fh_expire_type{};
  std::optional<uint64_t> change{};
  std::optional<uint64_t> size{};
  std::optional<bool> link_support{};
  std::optional<bool> symlink_support{};
  std::optional<fsid4> fsid{};
  std::optional<uint32_t> lease_time{};
  std::optional<nfsstat4> rdattr_error{};
  std::optional<std::vector<uint8_t>> filehandle{};
  std::optional<uint64_t> fileid{};
  std::optional<uint64_t> maxfilesize{};
  std::optional<uint32_t> maxname{};
  std::optional<uint64_t> maxread{};
  std::optional<uint64_t> maxwrite{};
  std::optional<uint32_t> mode{};
  std::optional<uint32_t> numlinks{};
  std::optional<std::string> owner{};
  std::optional<std::string> owner_group{};
  std::optional<specdata4> rawdev{};
  std::optional<uint64_t> space_used{};
  std::optional<nfstime4> time_access{};
  std::optional<nfstime4> time_create{};
  std::optional<nfstime4> time_metadata{};
  std::optional<nfstime4> time_modify{};
  std::optional<uint64_t> mounted_on_fileid{};
  std::optional<std::vector<uint32_t>> fs_layout_types{};  // layouttype4 values
  std::optional<uint32_t> layout_blksize{};
  std::optional<Bitmap> suppattr_exclcreat{};
  std::optional<uint32_t> clone_blksize{};
  std::optional<uint32_t> change_attr_type{};
  std::optional<bool> xattr_support{};
};

// Decodes a fattr4. Never fails: a malformed or unknown value ends decoding (complete=false).
Attrs DecodeAttrs(const fattr4& attrs);
Attrs DecodeAttrs(std::span<const uint32_t> mask, std::span<const uint8_t> vals);

}  // namespace manifold::nfs4client
