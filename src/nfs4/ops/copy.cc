// COPY (RFC 7862 15.2): a server-side copy between two files of this server, synchronous. The
// saved filehandle is the source, the current one the destination. The data goes from volume
// to volume through the MDS (DataStore::Read, DataStore::Write), never through the client.
//
// At most kCopyBytesPerCallMax bytes per call, and at most kCopiesInFlightMax COPYs at once
// (one more is NFS4ERR_DELAY): a longer request is a short copy (wr_count below ca_count),
// which the client continues from where it stopped (RFC 7862 15.2.3), so copies never hold
// every worker for long. An error after some bytes were copied ends the call early with those
// bytes as the count, as 15.2.3 asks; the error itself comes on the client's next call. The
// written range is committed before the reply, which says FILE_SYNC4; if a data server
// restarted during the copy (the write verifier changed), data written before the restart
// may be lost, and the COPY is answered NFS4ERR_DELAY so that the client sends it again. Holes
// in the source are read as zeros and written. Inter-server copies (a source server named)
// are NFS4ERR_OFFLOAD_DENIED; COPY_NOTIFY, OFFLOAD_CANCEL and OFFLOAD_STATUS, which only
// asynchronous and inter-server copies need, are NFS4ERR_NOTSUPP.
#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"
#include "nfs4/status_map.h"

namespace manifold::nfs4::ops {

namespace {

// Bytes one COPY moves at most (a short copy past it): a worker is busy for one call's copy.
constexpr uint64_t kCopyBytesPerCallMax = 16ull << 20;

// RFC 7862 15.2.3: either side not a regular file is NFS4ERR_WRONG_TYPE.
nfsstat4 CheckCopy(CompoundContext& ctx, const COPY4args& a, meta::Inode& src, meta::Inode& dst,
                   uint64_t& count) {
  if (a.ca_source_server.ca_source_server_len != 0) return NFS4ERR_OFFLOAD_DENIED;
  if (!ctx.saved_fh) return NFS4ERR_NOFILEHANDLE;
  nfsstat4 s = CurrentInode(ctx, dst);
  if (s == NFS4_OK) s = SavedInode(ctx, src);
  if (s != NFS4_OK) return s;
  if (src.type != meta::FileType::kReg || dst.type != meta::FileType::kReg) {
    return NFS4ERR_WRONG_TYPE;
  }
  if (ctx.export_rule->read_only) return NFS4ERR_ROFS;
  s = ctx.mds.CheckIoStateid(ctx, a.ca_src_stateid, src.fileid, false);
  if (s == NFS4_OK) s = ctx.mds.CheckIoStateid(ctx, a.ca_dst_stateid, dst.fileid, true);
  if (s != NFS4_OK) return s;
  if (!MayAccessInode(ctx, src, kMayRead, true)) return NFS4ERR_ACCESS;
  if (!MayAccessInode(ctx, dst, kMayWrite, true)) return NFS4ERR_ACCESS;
  // RFC 7862 15.2.3: a count of 0 copies to the end of the source; a range past the source's
  // end is NFS4ERR_INVAL.
  if (a.ca_src_offset > src.size_bytes) return NFS4ERR_INVAL;
  count = a.ca_count == 0 ? src.size_bytes - a.ca_src_offset : a.ca_count;
  if (count > src.size_bytes - a.ca_src_offset) return NFS4ERR_INVAL;
  if (count > ctx.mds.data().file_bytes_max() ||
      a.ca_dst_offset > ctx.mds.data().file_bytes_max() - count) {
    return NFS4ERR_FBIG;
  }
  // Within one file the ranges must not overlap (RFC 7862 15.2.3).
  if (src.fileid == dst.fileid && count != 0 && a.ca_src_offset < a.ca_dst_offset + count &&
      a.ca_dst_offset < a.ca_src_offset + count) {
    return NFS4ERR_INVAL;
  }
  count = std::min(count, kCopyBytesPerCallMax);
  return NFS4_OK;
}

// A file gone from under the copy is a stale handle, not a missing name.
nfsstat4 CopyStatus(const Status& s) {
  return s.code() == Code::kNotFound ? NFS4ERR_STALE : ToNfs4(s);
}

}  // namespace

nfsstat4 Copy(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opcopy;
  const COPY4args& a = arg.nfs_argop4_u.opcopy;
  meta::Inode src, dst;
  uint64_t count = 0;
  out.cr_status = CheckCopy(ctx, a, src, dst, count);
  if (out.cr_status != NFS4_OK) return out.cr_status;

  DataStore& data = ctx.mds.data();
  if (!data.TryStartCopy()) return out.cr_status = NFS4ERR_DELAY;
  struct EndCopy {
    DataStore& data;
    ~EndCopy() { data.EndCopy(); }
  } end_copy{data};

  uint64_t done = 0;
  nfsstat4 failed = NFS4_OK;  // the first error; reported only if nothing was copied
  std::optional<std::array<uint8_t, 8>> verifier;  // of every write: a change means a restart
  bool verifier_changed = false;
  while (done < count) {
    const uint32_t chunk = uint32_t(std::min<uint64_t>(count - done, MANIFOLD_NFS4_IO_MAX));
    // Both inodes again for each piece: the destination's size grows as the copy goes, and
    // either may change under other clients' writes.
    auto src_now = ctx.mds.ns().GetInode(src.fileid);
    if (!src_now.ok()) {
      failed = CopyStatus(src_now.status());
      break;
    }
    auto bytes = data.Read(*src_now, a.ca_src_offset + done, chunk);
    if (!bytes.ok()) {
      failed = CopyStatus(bytes.status());
      break;
    }
    if (bytes->empty()) break;  // the source shrank meanwhile: a short copy
    auto dst_now = ctx.mds.ns().GetInode(dst.fileid);
    if (!dst_now.ok()) {
      failed = CopyStatus(dst_now.status());
      break;
    }
    auto wrote = data.Write(*dst_now, a.ca_dst_offset + done, *bytes, Stable::kUnstable,
                            /*drop_set_id=*/!ctx.id.is_root());
    if (!wrote.ok()) {
      failed = CopyStatus(wrote.status());
      break;
    }
    if (verifier && *verifier != wrote->verifier) verifier_changed = true;
    verifier = wrote->verifier;
    done += wrote->count_bytes;
    if (wrote->count_bytes < bytes->size()) break;
  }
  if (done == 0 && failed != NFS4_OK) return out.cr_status = failed;
  std::array<uint8_t, 8> stable_verifier = data.verifier();
  if (done > 0) {
    auto dst_now = ctx.mds.ns().GetInode(dst.fileid);
    if (!dst_now.ok()) return out.cr_status = CopyStatus(dst_now.status());
    auto committed = data.CommitRange(*dst_now, a.ca_dst_offset, done);
    if (!committed.ok()) return out.cr_status = CopyStatus(committed.status());
    if (verifier_changed || *committed != *verifier) return out.cr_status = NFS4ERR_DELAY;
    stable_verifier = *committed;
  }
  auto& ok = out.COPY4res_u.cr_resok4;
  ok.cr_response.wr_callback_id.wr_callback_id_len = 0;  // synchronous: no callback
  ok.cr_response.wr_count = done;
  ok.cr_response.wr_committed = FILE_SYNC4;
  std::memcpy(ok.cr_response.wr_writeverf, stable_verifier.data(), NFS4_VERIFIER_SIZE);
  ok.cr_requirements.cr_consecutive = true;
  ok.cr_requirements.cr_synchronous = true;
  return NFS4_OK;
}

}  // namespace manifold::nfs4::ops
