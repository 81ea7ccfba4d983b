// Named limits of the namespace store. Every bound the meta module enforces lives here so
// that the protocol layer, the docs (docs/schema.md) and the tests can name the same number.
#pragma once

#include <cstddef>
#include <cstdint>

namespace manifold::meta {

// Names and paths (POSIX NAME_MAX / PATH_MAX).
inline constexpr size_t kNameBytesMax = 255;
inline constexpr size_t kSymlinkTargetBytesMax = 4095;
// Link count of one inode (ext4's EXT4_LINK_MAX); directories count subdirectories + 2.
inline constexpr uint32_t kLinksMax = 65000;
// Parent pointers followed when checking that a directory is not moved into its own subtree
// (and by fsck). Not a limit on trees clients may build (POSIX and Linux set none on depth:
// PATH_MAX bounds one path string, not the tree); a longer chain means a cycle, which only
// corruption makes. A walk reads one inode per level.
inline constexpr uint32_t kDirDepthMax = 1u << 22;

// One READDIR page. The protocol layer also bounds by bytes; this bounds memory per call.
inline constexpr uint32_t kReadDirEntriesMax = 16384;
// One page of an administrative list (volumes, clients, orphans).
inline constexpr uint32_t kListPageEntriesMax = 1024;

// Extents: a file has at most this many extents (1 GiB extents: 64 TiB per file), and an
// extent at most this many instances (copies). Both are loaded whole by GetExtents/Remove.
inline constexpr uint64_t kExtentsPerFileMax = 65536;
inline constexpr size_t kInstancesPerExtentMax = 16;
// An instance locator: an NFSv3 filehandle (64 bytes) or an S3 object key (1024 bytes).
inline constexpr size_t kLocatorBytesMax = 1024;

// Volumes.
inline constexpr size_t kVolumeUrlBytesMax = 4096;
inline constexpr size_t kVolumeLabelsMax = 64;
inline constexpr size_t kVolumeLabelBytesMax = 256;  // key or value
inline constexpr size_t kVolumeAddressBytesMax = 1024;

// Client records: co_ownerid is an NFS4_OPAQUE_LIMIT opaque.
inline constexpr size_t kClientOwnerBytesMax = 1024;
inline constexpr size_t kPrincipalBytesMax = 1024;

// Extended attributes (RFC 8276) of one inode. Name and value bounds are Linux's
// XATTR_NAME_MAX and XATTR_SIZE_MAX, so whatever a Linux program can set fits. The per-inode
// bounds keep the last unlink (which deletes every xattr in its transaction) and a full
// listing bounded.
inline constexpr size_t kXattrNameBytesMax = 255;
inline constexpr size_t kXattrValueBytesMax = 65536;
inline constexpr uint32_t kXattrsPerInodeMax = 1024;
inline constexpr uint64_t kXattrBytesPerInodeMax = uint64_t{1} << 20;  // names + values
// One page of ListXattrs.
inline constexpr uint32_t kListXattrsNamesMax = 1024;

// Transactions: attempts of one mutation before the runner gives up with kConflict.
inline constexpr uint32_t kTxnAttemptsMaxDefault = 8;
// Fileids reserved per durable counter bump in `sys` (see docs/schema.md, "Fileids").
inline constexpr uint32_t kFileIdBlockSizeDefault = 1024;

}  // namespace manifold::meta
