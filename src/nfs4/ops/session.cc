// Clients and sessions: EXCHANGE_ID (RFC 8881 18.35), CREATE_SESSION (18.36), DESTROY_SESSION
// (18.37), SEQUENCE (18.46), BIND_CONN_TO_SESSION (18.34), BACKCHANNEL_CTL (18.33),
// DESTROY_CLIENTID (18.50), RECLAIM_COMPLETE (18.51). The rules live in state::StateManager;
// these handlers translate.
#include <cstring>

#include "nfs4/ops/common.h"
#include "nfs4/ops/ops.h"

namespace manifold::nfs4::ops {

namespace {

// The id the state module knows this compound's connection by; the connection is remembered
// so that callbacks can reach the client on it.
state::ConnectionId ConnId(CompoundContext& ctx) {
  ctx.mds.backchannel().NoteConnection(ctx.call.connection);
  return Backchannel::IdOf(ctx.call.connection.get());
}

// The principal EXCHANGE_ID and CREATE_SESSION compare (RFC 8881 2.4.3): with AUTH_SYS the
// client's uid; AUTH_NONE callers are all one principal.
std::string Principal(const CompoundContext& ctx) {
  const rpc::Credential& c = ctx.call.header.cred;
  if (c.flavor == rpc::AuthFlavor::kSys) return "sys:" + std::to_string(c.sys.uid);
  return "none";
}

// The loop's view of a state::SlotLease.
class LeaseSlot final : public SessionSlot {
 public:
  explicit LeaseSlot(state::SlotLease lease) : lease_(std::move(lease)) {}
  void Complete(std::span<const uint8_t> reply) override { lease_.Complete(reply); }
  uint64_t max_response_bytes() const override { return lease_.max_response_bytes(); }
  uint64_t max_cached_response_bytes() const override {
    return lease_.cachethis() ? lease_.max_cached_response_bytes() : UINT64_MAX;
  }
  uint32_t max_operations() const override { return lease_.max_operations(); }

 private:
  state::SlotLease lease_;
};

}  // namespace

nfsstat4 ExchangeId(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opexchange_id;
  auto r = ctx.mds.state().ExchangeId(arg.nfs_argop4_u.opexchange_id, Principal(ctx));
  out.eir_status = r.status;
  if (r.status == NFS4_OK) {
    auto* impl = ctx.arena.Make<nfs_impl_id4>();
    state::FillExchangeIdResok(r, ctx.mds.state().config().identity, impl,
                               &out.EXCHANGE_ID4res_u.eir_resok4);
  }
  return r.status;
}

nfsstat4 CreateSession(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opcreate_session;
  auto r = ctx.mds.state().CreateSession(arg.nfs_argop4_u.opcreate_session, Principal(ctx),
                                         ConnId(ctx));
  out.csr_status = r.status;
  if (r.status == NFS4_OK) {
    out.CREATE_SESSION4res_u.csr_resok4 = r.resok;
    // Check the back channel before anything relies on it (DESIGN.md 11).
    if (r.resok.csr_flags & CREATE_SESSION4_FLAG_CONN_BACK_CHAN) {
      ctx.mds.backchannel().Probe(arg.nfs_argop4_u.opcreate_session.csa_clientid, ctx.minorversion);
    }
  }
  return r.status;
}

nfsstat4 DestroySession(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opdestroy_session;
  state::SessionId current{};
  bool in_session = ctx.slot != nullptr;
  if (in_session) current = ctx.sessionid;
  out.dsr_status = ctx.mds.state().DestroySession(
      arg.nfs_argop4_u.opdestroy_session.dsa_sessionid, in_session ? &current : nullptr);
  return out.dsr_status;
}

nfsstat4 Sequence(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opsequence;
  state::CompoundShape shape;
  shape.op_count = uint32_t(ctx.op_count);
  shape.request_bytes = ctx.request_bytes;
  auto outcome = ctx.mds.state().Sequence(arg.nfs_argop4_u.opsequence, ConnId(ctx),
                                          ctx.mds.Now(), shape);
  switch (outcome.kind) {
    case state::SequenceOutcome::Kind::kReplay:
      ctx.replay = std::move(outcome.replay);
      out.sr_status = NFS4_OK;
      return NFS4_OK;
    case state::SequenceOutcome::Kind::kError:
      out.sr_status = outcome.status;
      return outcome.status;
    case state::SequenceOutcome::Kind::kExecute:
      break;
  }
  state::SlotLease& lease = *outcome.lease;
  out.sr_status = NFS4_OK;
  out.SEQUENCE4res_u.sr_resok4 = lease.resok();
  ctx.clientid = lease.clientid();
  ctx.sessionid = lease.sessionid();
  ctx.slot = std::make_unique<LeaseSlot>(std::move(lease));
  return NFS4_OK;
}

nfsstat4 BindConnToSession(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opbind_conn_to_session;
  auto r = ctx.mds.state().BindConnToSession(arg.nfs_argop4_u.opbind_conn_to_session, ConnId(ctx));
  out.bctsr_status = r.status;
  if (r.status == NFS4_OK) out.BIND_CONN_TO_SESSION4res_u.bctsr_resok4 = r.resok;
  return r.status;
}

nfsstat4 BackchannelCtl(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opbackchannel_ctl;
  out.bcr_status = ctx.mds.state().BackchannelCtl(ctx.sessionid, arg.nfs_argop4_u.opbackchannel_ctl);
  return out.bcr_status;
}

nfsstat4 DestroyClientId(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opdestroy_clientid;
  out.dcr_status = ctx.mds.state().DestroyClientId(arg.nfs_argop4_u.opdestroy_clientid.dca_clientid);
  return out.dcr_status;
}

nfsstat4 ReclaimComplete(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opreclaim_complete;
  out.rcr_status = ctx.mds.state().ReclaimComplete(
      ctx.clientid, arg.nfs_argop4_u.opreclaim_complete.rca_one_fs);
  return out.rcr_status;
}

nfsstat4 TestStateid(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.optest_stateid;
  auto& ids = arg.nfs_argop4_u.optest_stateid.ts_stateids;
  auto codes = ctx.mds.state().TestStateids(ctx.clientid, {ids.ts_stateids_val, ids.ts_stateids_len});
  auto& ok = out.TEST_STATEID4res_u.tsr_resok4.tsr_status_codes;
  ok.tsr_status_codes_len = u_int(codes.size());
  ok.tsr_status_codes_val = static_cast<nfsstat4*>(ArenaAlloc(ctx, codes.size() * sizeof(nfsstat4)));
  std::copy(codes.begin(), codes.end(), ok.tsr_status_codes_val);
  out.tsr_status = NFS4_OK;
  return NFS4_OK;
}

nfsstat4 FreeStateid(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opfree_stateid;
  auto& a = arg.nfs_argop4_u.opfree_stateid;
  out.fsr_status = ResolveCurrentStateid(ctx, a.fsa_stateid);
  if (out.fsr_status != NFS4_OK) return out.fsr_status;
  out.fsr_status = ctx.mds.state().FreeStateid(ctx.clientid, a.fsa_stateid);
  return out.fsr_status;
}

nfsstat4 DelegReturn(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res) {
  auto& out = res.nfs_resop4_u.opdelegreturn;
  auto& a = arg.nfs_argop4_u.opdelegreturn;
  out.status = ResolveCurrentStateid(ctx, a.deleg_stateid);
  if (out.status != NFS4_OK) return out.status;
  out.status = ctx.mds.state().RemoveRecallable(ctx.clientid, a.deleg_stateid);
  return out.status;
}

}  // namespace manifold::nfs4::ops
