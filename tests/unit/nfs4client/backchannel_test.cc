// Backchannel: the client's answers to CB_NULL and CB_COMPOUND (RFC 8881 2.10.3.1, 20),
// driven with hand-made call records.

#include "nfs4client/backchannel.h"

#include <gtest/gtest.h>

#include "cb_records.h"
#include "nfs4client/names.h"

namespace manifold::nfs4client {
namespace {

using namespace testing;  // NOLINT: test helpers

SessionId Sid(uint8_t fill) {
  SessionId s;
  s.fill(fill);
  return s;
}

struct Answer {
  rpc::AcceptStat accept = rpc::AcceptStat::kSystemErr;
  nfsstat4 status = NFS4ERR_SERVERFAULT;
  std::vector<nfsstat4> ops;
  std::vector<uint8_t> raw;
};

Answer Serve(Backchannel& b, const std::vector<uint8_t>& call) {
  Answer a;
  auto reply = b.Serve(call);
  EXPECT_TRUE(reply.has_value());
  if (!reply) return a;
  a.raw = *reply;
  auto r = ParseCbReply(*reply);
  EXPECT_TRUE(r.has_value());
  if (!r) return a;
  a.accept = r->header.accept_stat;
  if (a.accept != rpc::AcceptStat::kSuccess || r->results.empty()) return a;
  rpc::XdrDecoded<CB_COMPOUND4res> res{xdrproc_t(xdr_CB_COMPOUND4res)};
  EXPECT_TRUE(res.Decode(r->results));
  a.status = res->status;
  for (u_int i = 0; i < res->resarray.resarray_len; i++) {
    nfsstat4 s;
    std::memcpy(&s, &res->resarray.resarray_val[i].nfs_cb_resop4_u, sizeof s);
    a.ops.push_back(s);
  }
  return a;
}

TEST(Backchannel, CbNullIsAnsweredWithAnEmptySuccess) {
  Backchannel b(NFS4_CALLBACK, nullptr);
  Answer a = Serve(b, CallRecord(1, CB_NULL));
  EXPECT_EQ(a.accept, rpc::AcceptStat::kSuccess);
  EXPECT_EQ(b.counts().cb_null, 1u);
}

TEST(Backchannel, CbSequenceThenRecallReachesTheHandler) {
  std::vector<nfs_cb_opnum4> seen;
  Backchannel b(NFS4_CALLBACK, [&](const nfs_cb_argop4& op) -> std::optional<nfsstat4> {
    seen.push_back(op.argop);
    return std::nullopt;
  });
  b.SetSession(Sid(7));
  std::vector<uint8_t> fh = {1, 2, 3};
  Answer a = Serve(b, CallRecord(2, CB_COMPOUND, {CbSequence(Sid(7), 1), CbRecall({}, fh)}));
  EXPECT_EQ(a.status, NFS4_OK);
  EXPECT_EQ(a.ops, (std::vector<nfsstat4>{NFS4_OK, NFS4_OK}));
  EXPECT_EQ(seen, (std::vector<nfs_cb_opnum4>{OP_CB_RECALL}));
  EXPECT_EQ(b.counts().cb_recall, 1u);
}

TEST(Backchannel, LayoutRecallWithoutAHandlerSaysNoMatchingLayout) {
  Backchannel b(NFS4_CALLBACK, nullptr);
  b.SetSession(Sid(7));
  Answer a = Serve(b, CallRecord(3, CB_COMPOUND, {CbSequence(Sid(7), 1), CbLayoutRecallAll()}));
  EXPECT_EQ(a.status, NFS4ERR_NOMATCHING_LAYOUT) << Nfs4StatName(a.status);
  EXPECT_EQ(b.counts().cb_layoutrecall, 1u);
}

TEST(Backchannel, HandlerAnswerOverridesTheDefault) {
  Backchannel b(NFS4_CALLBACK,
                [](const nfs_cb_argop4&) -> std::optional<nfsstat4> { return NFS4_OK; });
  b.SetSession(Sid(7));
  Answer a = Serve(b, CallRecord(3, CB_COMPOUND, {CbSequence(Sid(7), 1), CbLayoutRecallAll()}));
  EXPECT_EQ(a.status, NFS4_OK);
}

TEST(Backchannel, ARetryOfTheSlotsLastRequestGetsTheCachedReply) {
  int calls = 0;
  Backchannel b(NFS4_CALLBACK, [&](const nfs_cb_argop4&) -> std::optional<nfsstat4> {
    calls++;
    return std::nullopt;
  });
  b.SetSession(Sid(7));
  std::vector<uint8_t> fh = {1};
  auto call = CallRecord(4, CB_COMPOUND, {CbSequence(Sid(7), 1), CbRecall({}, fh)});
  Answer first = Serve(b, call);
  Answer again = Serve(b, call);
  EXPECT_EQ(first.raw, again.raw);
  EXPECT_EQ(calls, 1);  // the recall was not run twice
  EXPECT_EQ(b.counts().replays, 1u);
}

TEST(Backchannel, SequenceErrors) {
  Backchannel b(NFS4_CALLBACK, nullptr);
  b.SetSession(Sid(7));
  EXPECT_EQ(Serve(b, CallRecord(5, CB_COMPOUND, {CbSequence(Sid(8), 1)})).status,
            NFS4ERR_BADSESSION);
  EXPECT_EQ(Serve(b, CallRecord(6, CB_COMPOUND, {CbSequence(Sid(7), 5)})).status,
            NFS4ERR_SEQ_MISORDERED);
  EXPECT_EQ(Serve(b, CallRecord(7, CB_COMPOUND, {CbSequence(Sid(7), 1, kBackSlots)})).status,
            NFS4ERR_BADSLOT);
  EXPECT_EQ(Serve(b, CallRecord(8, CB_COMPOUND, {CbLayoutRecallAll()})).status,
            NFS4ERR_OP_NOT_IN_SESSION);
  EXPECT_EQ(
      Serve(b, CallRecord(9, CB_COMPOUND, {CbSequence(Sid(7), 1), CbSequence(Sid(7), 2)})).status,
      NFS4ERR_SEQUENCE_POS);
  EXPECT_EQ(Serve(b, CallRecord(10, CB_COMPOUND, {CbSequence(Sid(7), 2)}, NFS4_CALLBACK, 9)).status,
            NFS4ERR_MINOR_VERS_MISMATCH);
}

TEST(Backchannel, RpcLevelErrors) {
  Backchannel b(NFS4_CALLBACK, nullptr);
  EXPECT_EQ(Serve(b, CallRecord(11, CB_NULL, {}, 12345)).accept, rpc::AcceptStat::kProgUnavail);
  EXPECT_EQ(Serve(b, CallRecord(12, 7)).accept, rpc::AcceptStat::kProcUnavail);
  auto garbage = CallRecord(13, CB_COMPOUND, {});
  garbage.resize(garbage.size() - 4);  // cut the argarray count off
  EXPECT_EQ(Serve(b, garbage).accept, rpc::AcceptStat::kGarbageArgs);
  std::vector<uint8_t> tiny = {0, 0};
  EXPECT_FALSE(b.Serve(tiny).has_value());
}

}  // namespace
}  // namespace manifold::nfs4client
