#include "nfs4/filehandle.h"

namespace manifold::nfs4 {

namespace {
constexpr uint8_t kHandleVersion = 1;
}

std::string EncodeHandle(uint64_t fileid, uint32_t generation) {
  std::string fh(kMdsHandleBytes, '\0');
  fh[0] = char(kHandleVersion);
  for (int i = 0; i < 8; ++i) fh[4 + i] = char(fileid >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) fh[12 + i] = char(generation >> (24 - 8 * i));
  return fh;
}

std::optional<HandleId> DecodeHandle(std::span<const uint8_t> b) {
  if (b.size() != kMdsHandleBytes || b[0] != kHandleVersion || b[1] || b[2] || b[3]) {
    return std::nullopt;
  }
  HandleId id;
  for (int i = 0; i < 8; ++i) id.fileid = (id.fileid << 8) | b[4 + i];
  for (int i = 0; i < 4; ++i) id.generation = (id.generation << 8) | b[12 + i];
  if (id.fileid == 0 || id.generation == 0) return std::nullopt;
  return id;
}

}  // namespace manifold::nfs4
