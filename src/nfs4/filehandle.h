// MDS filehandles (RFC 8881 4.2.1: persistent). A handle names an inode by fileid and the
// generation chosen when the inode was made, so a handle of a removed file is NFS4ERR_STALE
// forever, even if its fileid could ever be used again.
//   [0] version (1)  [1..3] zero  [4..11] fileid (big-endian)  [12..15] generation
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace manifold::nfs4 {

inline constexpr size_t kMdsHandleBytes = 16;

struct HandleId {
  uint64_t fileid = 0;
  uint32_t generation = 0;
};

std::string EncodeHandle(uint64_t fileid, uint32_t generation);
// nullopt for bytes that are not a handle of this server (NFS4ERR_BADHANDLE).
std::optional<HandleId> DecodeHandle(std::span<const uint8_t> bytes);
inline std::optional<HandleId> DecodeHandle(const std::string& bytes) {
  return DecodeHandle({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

}  // namespace manifold::nfs4
