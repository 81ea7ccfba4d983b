// The NFS version 4 RPC program (program 100003 version 4): NULL and COMPOUND.
#pragma once

#include "nfs4/mds.h"
#include "rpc/program.h"

namespace manifold::nfs4 {

class Nfs4Program : public rpc::Program {
 public:
  explicit Nfs4Program(Mds& mds) : mds_(mds) {}
  uint32_t number() const override { return NFS4_PROGRAM; }
  uint32_t version_low() const override { return NFS_V4; }
  uint32_t version_high() const override { return NFS_V4; }
  rpc::AcceptStat Call(const rpc::CallContext& ctx, std::span<const uint8_t> args,
                       std::vector<uint8_t>& out) override;
  bool RunsInline(const rpc::CallHeader& header, std::span<const uint8_t> args) const override;
  rpc::ReplyGate* reply_gate() const override { return &mds_.reply_gate(); }

 private:
  Mds& mds_;
};

}  // namespace manifold::nfs4
