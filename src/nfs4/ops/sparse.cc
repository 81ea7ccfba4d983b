// SEEK (RFC 7862 15.11) and READ_PLUS (15.10). The data lives on volumes that speak NFSv3, which
// cannot tell where a file's holes are, so the server sees every file as data from 0 to its size
// followed by the implicit hole at the end of file (15.11.3: "all files MUST have a virtual hole at
// the end of the file"): SEEK answers accordingly, and READ_PLUS returns the same bytes as READ as
// one data segment.
#include <algorithm>
#include <cstring>

#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"
#include "nfs4/status_map.h"

namespace manifold::nfs4::ops {

namespace {

// What READ_PLUS4res adds around its data: resop, status, rpr_eof, the segment count, the segment's
// content type, d_offset, the data length and up to 3 bytes of XDR padding.
constexpr uint64_t kReadPlusReplyOverheadBytes = 4 + 4 + 4 + 4 + 4 + 8 + 4 + 3;

// As READ checks (RFC 7862 15.10.3, 15.11.3: "the same rules for stateids as READ"): a regular
// file, a stateid that allows reading, and read permission (the owner always has it; so does
// execute-only, so that binaries run).
nfsstat4 CheckReadable(CompoundContext& ctx, const stateid4& stateid, meta::Inode& inode) {
  nfsstat4 s = CurrentRegularFile(ctx, inode, NFS4ERR_WRONG_TYPE);
  if (s == NFS4_OK) s = ctx.mds.CheckIoStateid(ctx, stateid, inode.fileid, /*write=*/false);
  if (s == NFS4_OK && !MayAccessInode(ctx, inode, kMayRead, true) &&
      !MayAccessInode(ctx, inode, kMayExec)) {
    s = NFS4ERR_ACCESS;
  }
  return s;
}

// Data bytes that still fit in the session's reply (ca_maxresponsesize, and
// ca_maxresponsesize_cached when the reply is cached) after what is encoded already.
uint64_t ReplyRoomBytes(const CompoundContext& ctx) {
  if (!ctx.slot) return MANIFOLD_NFS4_IO_MAX;
  uint64_t limit = std::min(ctx.slot->max_response_bytes(), ctx.slot->max_cached_response_bytes());
  uint64_t used = ctx.reply_bytes + kReadPlusReplyOverheadBytes;
  return limit > used ? limit - used : 0;
}

}  // namespace

nfsstat4 Seek(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opseek;
  const SEEK4args& a = arg.nfs_argop4_u.opseek;
  meta::Inode inode;
  out.sa_status = CheckReadable(ctx, a.sa_stateid, inode);
  if (out.sa_status == NFS4_OK && a.sa_what != NFS4_CONTENT_DATA &&
      a.sa_what != NFS4_CONTENT_HOLE) {
    out.sa_status = NFS4ERR_INVAL;  // xdr_enum takes any value
  }
  if (out.sa_status != NFS4_OK) return out.sa_status;
  // RFC 7862 15.11.3: "If the sa_offset is beyond the end of the file, then SEEK MUST return
  // NFS4ERR_NXIO." An offset at the end of file is past the last byte too: lseek(2) with
  // SEEK_DATA or SEEK_HOLE gives ENXIO there on a local file system, and the Linux client
  // returns whatever offset an NFS4_OK carries (an empty file's SEEK_HOLE from 0 would be 0).
  const uint64_t size = inode.size_bytes;
  if (a.sa_offset >= size) return out.sa_status = NFS4ERR_NXIO;
  seek_res4& ok = out.SEEK4res_u.resok4;
  if (a.sa_what == NFS4_CONTENT_DATA) {
    ok.sr_eof = FALSE;
    ok.sr_offset = a.sa_offset;  // every byte below the size is data
  } else {
    ok.sr_eof = TRUE;  // the next hole is the one at the end of file; no data lies past it
    ok.sr_offset = size;
  }
  return NFS4_OK;
}

nfsstat4 ReadPlus(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opread_plus;
  const READ_PLUS4args& a = arg.nfs_argop4_u.opread_plus;
  meta::Inode inode;
  out.rp_status = CheckReadable(ctx, a.rpa_stateid, inode);
  if (out.rp_status != NFS4_OK) return out.rp_status;
  const uint64_t room = ReplyRoomBytes(ctx);
  const bool below_eof = a.rpa_offset < inode.size_bytes;
  // A reply with no room for one byte would answer "no data, not eof" forever.
  if (room == 0 && a.rpa_count > 0 && below_eof) return out.rp_status = NFS4ERR_REP_TOO_BIG;
  auto count = uint32_t(std::min<uint64_t>({a.rpa_count, MANIFOLD_NFS4_IO_MAX, room}));
  auto data = ctx.mds.data().Read(inode, a.rpa_offset, count);
  if (!data.ok()) return out.rp_status = ToNfs4(data.status());
  read_plus_res4& ok = out.READ_PLUS4res_u.rp_resok4;
  ok.rpr_eof = !below_eof || a.rpa_offset + data->size() >= inode.size_bytes;
  if (data->empty()) return NFS4_OK;  // at or past the end of file, or a count of zero
  auto* segment = static_cast<read_plus_content*>(ArenaAlloc(ctx, sizeof(read_plus_content)));
  std::memset(segment, 0, sizeof(*segment));
  segment->rpc_content = NFS4_CONTENT_DATA;
  data4& d = segment->read_plus_content_u.rpc_data;
  d.d_offset = a.rpa_offset;
  d.d_data.d_data_len = u_int(data->size());
  d.d_data.d_data_val = static_cast<char*>(ArenaAlloc(ctx, data->size()));
  std::memcpy(d.d_data.d_data_val, data->data(), data->size());
  ok.rpr_contents.rpr_contents_len = 1;
  ok.rpr_contents.rpr_contents_val = segment;
  return NFS4_OK;
}

}  // namespace manifold::nfs4::ops
