#include "nfs4/nfs4_program.h"

#include "nfs4/compound.h"

namespace manifold::nfs4 {

rpc::AcceptStat Nfs4Program::Call(const rpc::CallContext& ctx, std::span<const uint8_t> args,
                                  std::vector<uint8_t>& out) {
  switch (ctx.header.proc) {
    case NFSPROC4_NULL:
      return rpc::AcceptStat::kSuccess;
    case NFSPROC4_COMPOUND:
      return RunCompound(ctx, mds_, args, out);
    default:
      return rpc::AcceptStat::kProcUnavail;
  }
}

bool Nfs4Program::RunsInline(const rpc::CallHeader& header, std::span<const uint8_t> args) const {
  switch (header.proc) {
    case NFSPROC4_NULL:
      return true;
    case NFSPROC4_COMPOUND:
      return CompoundRunsInline(args, mds_);
    default:
      return false;
  }
}

}  // namespace manifold::nfs4
