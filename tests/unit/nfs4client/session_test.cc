// Nfs4Client against a small in-process NFSv4.1 server (rpc::Server + a fake COMPOUND program
// that checks slot sequencing the way RFC 8881 2.10.6.1 asks a real server to): session
// set-up, concurrent compounds on distinct slots with consecutive seqids, NFS4ERR_DELAY
// retries, lease renewal, the backchannel end to end, and teardown.

#include "nfs4client/session.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "cb_records.h"
#include "nfs4client/names.h"
#include "rpc/connection.h"
#include "rpc/server.h"

namespace manifold::nfs4client {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// What the fake server saw and how it should behave. All guarded by mu.
struct FakeState {
  std::mutex mu;
  uint32_t granted_slots = 4;
  slotid4 target_highest = 3;
  uint32_t lease_s = 30;
  int delays_to_inject = 0;  // answer the op after SEQUENCE with NFS4ERR_DELAY this many times
  std::vector<std::string> compounds;  // "SEQUENCE,PUTROOTFH,GETATTR" per compound
  std::map<slotid4, sequenceid4> slot_seqid;
  std::set<slotid4> busy;
  int misordered = 0, slot_overlaps = 0;
  size_t max_in_flight = 0;
  std::shared_ptr<rpc::Connection> connection;  // for callbacks
  int delegreturns = 0;
};

const SessionId kSession = [] {
  SessionId s;
  s.fill(0x5e);
  return s;
}();
constexpr clientid4 kClientId = 0xc11e47;

class FakeNfs4 : public rpc::Program {
 public:
  explicit FakeNfs4(FakeState& s) : s_(s) {}
  uint32_t number() const override { return NFS4_PROGRAM; }
  uint32_t version_low() const override { return NFS_V4; }
  uint32_t version_high() const override { return NFS_V4; }

  rpc::AcceptStat Call(const rpc::CallContext& ctx, std::span<const uint8_t> in,
                       std::vector<uint8_t>& out) override {
    if (ctx.header.proc == NFSPROC4_NULL) return rpc::AcceptStat::kSuccess;
    rpc::XdrDecoded<COMPOUND4args> args{xdrproc_t(xdr_COMPOUND4args)};
    if (!args.Decode(in)) return rpc::AcceptStat::kGarbageArgs;
    std::vector<nfs_resop4> res(args->argarray.argarray_len);
    std::memset(res.data(), 0, res.size() * sizeof(nfs_resop4));
    COMPOUND4res r{};
    std::optional<slotid4> slot;
    std::string names;
    for (u_int i = 0; i < args->argarray.argarray_len && r.status == NFS4_OK; i++) {
      const nfs_argop4& op = args->argarray.argarray_val[i];
      names += std::string(names.empty() ? "" : ",") + Nfs4OpName(op.argop);
      res[i].resop = op.argop;
      r.status = Op(op, res[i], i, ctx, slot);
      std::memcpy(&res[i].nfs_resop4_u, &r.status, sizeof r.status);
      r.resarray.resarray_len = i + 1;
    }
    r.resarray.resarray_val = res.data();
    if (slot) std::this_thread::sleep_for(milliseconds(1));  // let other calls overlap
    {
      std::lock_guard lock(s_.mu);
      s_.compounds.push_back(names);
      if (slot) s_.busy.erase(*slot);
    }
    return rpc::XdrEncode(out, xdrproc_t(xdr_COMPOUND4res), &r) ? rpc::AcceptStat::kSuccess
                                                                : rpc::AcceptStat::kSystemErr;
  }

 private:
  nfsstat4 Op(const nfs_argop4& op, nfs_resop4& res, u_int i, const rpc::CallContext& ctx,
              std::optional<slotid4>& slot) {
    std::lock_guard lock(s_.mu);
    auto& u = res.nfs_resop4_u;
    if (i == 1 && s_.delays_to_inject > 0 && slot) {
      s_.delays_to_inject--;
      return NFS4ERR_DELAY;
    }
    switch (op.argop) {
      case OP_EXCHANGE_ID:
        u.opexchange_id.EXCHANGE_ID4res_u.eir_resok4.eir_clientid = kClientId;
        u.opexchange_id.EXCHANGE_ID4res_u.eir_resok4.eir_sequenceid = 1;
        return NFS4_OK;
      case OP_CREATE_SESSION:
        return CreateSession(op, u.opcreate_session, ctx);
      case OP_SEQUENCE:
        return Sequence(op.nfs_argop4_u.opsequence, u.opsequence, slot);
      case OP_GETATTR:
        return LeaseTime(u.opgetattr);
      case OP_DELEGRETURN:
        s_.delegreturns++;
        return NFS4_OK;
      case OP_RECLAIM_COMPLETE:
      case OP_PUTROOTFH:
      case OP_PUTFH:
      case OP_DESTROY_SESSION:
      case OP_DESTROY_CLIENTID:
        return NFS4_OK;
      default:
        return NFS4ERR_NOTSUPP;
    }
  }

  nfsstat4 CreateSession(const nfs_argop4& op, CREATE_SESSION4res& res,
                         const rpc::CallContext& ctx) {
    const CREATE_SESSION4args& a = op.nfs_argop4_u.opcreate_session;
    if (a.csa_clientid != kClientId) return NFS4ERR_STALE_CLIENTID;
    CREATE_SESSION4resok& ok = res.CREATE_SESSION4res_u.csr_resok4;
    std::memcpy(ok.csr_sessionid, kSession.data(), kSession.size());
    ok.csr_sequence = a.csa_sequence;
    ok.csr_flags = a.csa_flags & CREATE_SESSION4_FLAG_CONN_BACK_CHAN;
    ok.csr_fore_chan_attrs = a.csa_fore_chan_attrs;
    ok.csr_fore_chan_attrs.ca_maxrequests = s_.granted_slots;
    ok.csr_back_chan_attrs = a.csa_back_chan_attrs;
    s_.connection = ctx.connection;
    return NFS4_OK;
  }

  // RFC 8881 2.10.6.1: a new request carries the slot's seqid + 1; a slot has one request.
  nfsstat4 Sequence(const SEQUENCE4args& a, SEQUENCE4res& res, std::optional<slotid4>& slot) {
    if (std::memcmp(a.sa_sessionid, kSession.data(), kSession.size()) != 0) {
      return NFS4ERR_BADSESSION;
    }
    if (a.sa_slotid >= s_.granted_slots) return NFS4ERR_BADSLOT;
    if (a.sa_sequenceid != s_.slot_seqid[a.sa_slotid] + 1) {
      s_.misordered++;
      return NFS4ERR_SEQ_MISORDERED;
    }
    if (!s_.busy.insert(a.sa_slotid).second) s_.slot_overlaps++;
    s_.max_in_flight = std::max(s_.max_in_flight, s_.busy.size());
    s_.slot_seqid[a.sa_slotid] = a.sa_sequenceid;
    slot = a.sa_slotid;
    SEQUENCE4resok& ok = res.SEQUENCE4res_u.sr_resok4;
    std::memcpy(ok.sr_sessionid, a.sa_sessionid, sizeof ok.sr_sessionid);
    ok.sr_sequenceid = a.sa_sequenceid;
    ok.sr_slotid = a.sa_slotid;
    ok.sr_highest_slotid = s_.granted_slots - 1;
    ok.sr_target_highest_slotid = s_.target_highest;
    return NFS4_OK;
  }

  nfsstat4 LeaseTime(GETATTR4res& res) {
    static thread_local uint32_t word;
    static thread_local uint32_t value;
    word = 1u << FATTR4_LEASE_TIME;
    value = htonl(s_.lease_s);
    fattr4& f = res.GETATTR4res_u.resok4.obj_attributes;
    f.attrmask = {1, &word};
    f.attr_vals = {4, reinterpret_cast<char*>(&value)};
    return NFS4_OK;
  }

  FakeState& s_;
};

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dispatcher = std::make_shared<rpc::Dispatcher>();
    dispatcher->Add(std::make_shared<FakeNfs4>(state_));
    rpc::ServerOptions o;
    o.worker_threads = 8;
    o.io_threads = 1;
    server_ = std::make_unique<rpc::Server>(o, dispatcher);
    ASSERT_TRUE(server_->Start().ok());
    server_->RunInBackground();
  }
  void TearDown() override {
    server_->Stop();
    // A Connection updates its server's stats when it dies: drop ours before the server.
    {
      std::lock_guard lock(state_.mu);
      state_.connection.reset();
    }
    server_.reset();
  }

  std::unique_ptr<Nfs4Client> Connect(ClientOptions o = {}) {
    auto c = Nfs4Client::Connect("127.0.0.1", server_->port(), std::move(o));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  std::vector<std::string> Compounds() {
    std::lock_guard lock(state_.mu);
    return state_.compounds;
  }

  FakeState state_;
  std::unique_ptr<rpc::Server> server_;
};

TEST_F(SessionTest, ConnectRunsExchangeIdCreateSessionAndReclaimComplete) {
  state_.lease_s = 42;
  auto c = Connect();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->clientid(), kClientId);
  EXPECT_EQ(c->sessionid(), kSession);
  EXPECT_EQ(c->lease_time_s(), 42u);
  EXPECT_TRUE(c->backchannel_granted());
  EXPECT_EQ(c->slots(), 4u);
  auto seen = Compounds();
  ASSERT_GE(seen.size(), 4u);
  EXPECT_EQ(seen[0], "EXCHANGE_ID");
  EXPECT_EQ(seen[1], "CREATE_SESSION");
  EXPECT_EQ(seen[2], "SEQUENCE,RECLAIM_COMPLETE");
  EXPECT_EQ(seen[3], "SEQUENCE,PUTROOTFH,GETATTR");
}

TEST_F(SessionTest, ConcurrentRunsUseDistinctSlotsWithConsecutiveSeqids) {
  auto c = Connect({.renew_lease = false});
  ASSERT_TRUE(c);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; i++) {
        CompoundBuilder b;
        b.PutRootFh();
        auto r = c->Run(b);
        if (!r.ok() || !r->ok()) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::lock_guard lock(state_.mu);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(state_.misordered, 0);
  EXPECT_EQ(state_.slot_overlaps, 0);
  EXPECT_GT(state_.max_in_flight, 1u) << "compounds never overlapped: the test proves nothing";
  EXPECT_LE(state_.max_in_flight, 4u);
}

// Large requests from many threads at once: each call record must reach the server whole
// (a transport that lets two partial socket writes interleave corrupts the stream).
TEST_F(SessionTest, ConcurrentLargeCompoundsArriveIntact) {
  auto c = Connect({.rpc_timeout = milliseconds(10000), .renew_lease = false});
  ASSERT_TRUE(c);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++) {
    threads.emplace_back([&, t] {
      std::vector<uint8_t> data(512 * 1024, uint8_t(t));
      for (int i = 0; i < 4; i++) {
        CompoundBuilder b;
        b.PutRootFh().Write(AnonymousStateid(), 0, data);  // the fake answers NOTSUPP
        auto r = c->Run(b);
        if (!r.ok() || r->StatusOf(OP_WRITE) != NFS4ERR_NOTSUPP) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::lock_guard lock(state_.mu);
  EXPECT_EQ(state_.misordered, 0);
}

TEST_F(SessionTest, DelayIsRetriedAsANewRequestUntilItClears) {
  auto c = Connect({.renew_lease = false});
  ASSERT_TRUE(c);
  size_t before = Compounds().size();
  state_.delays_to_inject = 3;
  CompoundBuilder b;
  b.PutRootFh();
  auto r = c->Run(b);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok()) << r->Describe();
  EXPECT_EQ(Compounds().size() - before, 4u);
  EXPECT_EQ(state_.misordered, 0);  // each retry took a fresh seqid
}

TEST_F(SessionTest, DelayIsReturnedWhenRetriesAreOff) {
  auto c = Connect({.retries_max = 0, .renew_lease = false});
  ASSERT_TRUE(c);
  state_.delays_to_inject = 1;
  CompoundBuilder b;
  b.PutRootFh();
  auto r = c->Run(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Describe(), "SEQUENCE OK, PUTROOTFH NFS4ERR_DELAY");
}

TEST_F(SessionTest, ServerTargetHighestSlotIsObeyed) {
  state_.target_highest = 0;
  auto c = Connect({.renew_lease = false});
  ASSERT_TRUE(c);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&] {
      CompoundBuilder b;
      b.PutRootFh();
      (void)c->Run(b);
    });
  }
  for (auto& t : threads) t.join();
  std::lock_guard lock(state_.mu);
  EXPECT_EQ(state_.max_in_flight, 1u);
  EXPECT_EQ(state_.slot_seqid.size(), 1u);  // only slot 0 was ever used
}

TEST_F(SessionTest, IdleClientRenewsItsLeaseWithSequenceAlone) {
  state_.lease_s = 1;  // renew after ~0.5 s idle (the floor)
  auto c = Connect();
  ASSERT_TRUE(c);
  std::this_thread::sleep_for(milliseconds(2000));
  EXPECT_GE(c->renewals(), 1u);
  auto seen = Compounds();
  EXPECT_NE(std::find(seen.begin(), seen.end(), "SEQUENCE"), seen.end());
}

TEST_F(SessionTest, BackchannelRecallIsAnsweredAndTheDelegationReturned) {
  auto c = Connect();
  ASSERT_TRUE(c);
  std::shared_ptr<rpc::Connection> conn;
  {
    std::lock_guard lock(state_.mu);
    conn = state_.connection;
  }
  ASSERT_TRUE(conn);
  std::promise<std::vector<uint8_t>> reply;
  conn->SetReplySink([&](std::vector<uint8_t> r) { reply.set_value(std::move(r)); });
  std::this_thread::sleep_for(milliseconds(50));  // SetReplySink is posted to the strand
  std::vector<uint8_t> fh = {4, 5, 6};
  std::vector<uint8_t> call = testing::CallRecord(
      77, CB_COMPOUND, {testing::CbSequence(kSession, 1), testing::CbRecall(CurrentStateid(), fh)});
  call.insert(call.begin(), 4, 0);
  rpc::WriteRecordMark(call);
  conn->Send(call);
  auto fut = reply.get_future();
  ASSERT_EQ(fut.wait_for(seconds(5)), std::future_status::ready);
  std::vector<uint8_t> got = fut.get();
  rpc::ReplyHeader h;
  std::span<const uint8_t> results;
  ASSERT_TRUE(rpc::ParseReply(got, h, results));
  EXPECT_EQ(h.xid, 77u);
  rpc::XdrDecoded<CB_COMPOUND4res> res{xdrproc_t(xdr_CB_COMPOUND4res)};
  ASSERT_TRUE(res.Decode(results));
  EXPECT_EQ(res->status, NFS4_OK);
  EXPECT_EQ(res->resarray.resarray_len, 2u);
  for (int i = 0; i < 50 && c->delegations_returned() == 0; i++) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(c->delegations_returned(), 1u);
  EXPECT_EQ(c->callbacks().cb_recall, 1u);
  std::lock_guard lock(state_.mu);
  EXPECT_EQ(state_.delegreturns, 1);
}

TEST_F(SessionTest, DestroySendsDestroySessionThenDestroyClientid) {
  auto c = Connect({.renew_lease = false});
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->Destroy().ok());
  auto seen = Compounds();
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen[seen.size() - 2], "DESTROY_SESSION");
  EXPECT_EQ(seen.back(), "DESTROY_CLIENTID");
  EXPECT_TRUE(c->Destroy().ok());  // idempotent: nothing more is sent
  EXPECT_EQ(Compounds().size(), seen.size());
}

}  // namespace
}  // namespace manifold::nfs4client
