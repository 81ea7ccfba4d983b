// ONC RPC v2 message headers (RFC 5531 sections 8 and 9, appendix A): call header parsing
// with its credential checks, and reply headers written by the server and read by the client.

#include "rpc/message.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rpc/xdr_codec.h"

namespace manifold::rpc {

// So that a failure prints kBadCred, not 3 (found by argument-dependent lookup).
static const char* OutcomeName(ParseOutcome o) {
  switch (o) {
    case ParseOutcome::kOk: return "kOk";
    case ParseOutcome::kNotACall: return "kNotACall";
    case ParseOutcome::kRpcMismatch: return "kRpcMismatch";
    case ParseOutcome::kBadCred: return "kBadCred";
    case ParseOutcome::kGarbage: return "kGarbage";
  }
  return "?";
}

static void PrintTo(ParseOutcome o, std::ostream* os) { *os << OutcomeName(o); }

namespace {

using Bytes = std::vector<uint8_t>;

Bytes AuthSysBody(uint32_t stamp, const std::string& machine, uint32_t uid, uint32_t gid,
                  const std::vector<uint32_t>& gids) {
  Bytes b;
  XdrWriter w(b);
  w.U32(stamp);
  w.String(machine);
  w.U32(uid);
  w.U32(gid);
  w.U32(uint32_t(gids.size()));
  for (uint32_t g : gids) w.U32(g);
  return b;
}

// A call message built field by field, so that each field can be made wrong on its own.
struct CallBytes {
  uint32_t xid = 0x11223344;
  uint32_t mtype = kMsgCall;
  uint32_t rpcvers = kRpcVersion;
  uint32_t prog = 100003;
  uint32_t vers = 3;
  uint32_t proc = 1;
  uint32_t cred_flavor = uint32_t(AuthFlavor::kNone);
  Bytes cred_body;
  uint32_t verf_flavor = uint32_t(AuthFlavor::kNone);
  Bytes verf_body;
  Bytes args = Bytes(8, 0xa5);

  Bytes Build() const {
    Bytes b;
    XdrWriter w(b);
    w.U32(xid);
    w.U32(mtype);
    w.U32(rpcvers);
    w.U32(prog);
    w.U32(vers);
    w.U32(proc);
    w.U32(cred_flavor);
    w.Opaque(cred_body);
    w.U32(verf_flavor);
    w.Opaque(verf_body);
    b.insert(b.end(), args.begin(), args.end());
    return b;
  }
};

ParseOutcome Parse(const Bytes& record, CallHeader& h, std::span<const uint8_t>& args) {
  return ParseCall(record, h, args);
}

ParseOutcome Parse(const Bytes& record) {
  CallHeader h;
  std::span<const uint8_t> args;
  return ParseCall(record, h, args);
}

CallBytes AuthSysCall(const std::string& machine, std::vector<uint32_t> gids) {
  CallBytes c;
  c.cred_flavor = uint32_t(AuthFlavor::kSys);
  c.cred_body = AuthSysBody(77, machine, 1000, 100, gids);
  return c;
}

std::vector<uint32_t> Gids(size_t n) {
  std::vector<uint32_t> g;
  for (size_t i = 0; i < n; ++i) g.push_back(uint32_t(2000 + i));
  return g;
}

TEST(ParseCallTest, AuthNoneCallParsesAllFieldsAndArgs) {
  CallBytes c;
  Bytes rec = c.Build();
  CallHeader h;
  std::span<const uint8_t> args;
  ASSERT_EQ(Parse(rec, h, args), ParseOutcome::kOk);
  EXPECT_EQ(h.xid, c.xid);
  EXPECT_EQ(h.rpcvers, 2u);
  EXPECT_EQ(h.prog, c.prog);
  EXPECT_EQ(h.vers, c.vers);
  EXPECT_EQ(h.proc, c.proc);
  EXPECT_EQ(h.cred.flavor, AuthFlavor::kNone);
  EXPECT_EQ(Bytes(args.begin(), args.end()), c.args);
}

TEST(ParseCallTest, AuthNoneCallWithNoArgsHasEmptyArgs) {
  CallBytes c;
  c.args.clear();
  CallHeader h;
  std::span<const uint8_t> args;
  ASSERT_EQ(Parse(c.Build(), h, args), ParseOutcome::kOk);
  EXPECT_TRUE(args.empty());
}

TEST(ParseCallTest, AuthSysWithSixteenGidsParses) {
  CallBytes c = AuthSysCall("client.example", Gids(16));
  CallHeader h;
  std::span<const uint8_t> args;
  ASSERT_EQ(Parse(c.Build(), h, args), ParseOutcome::kOk);
  EXPECT_EQ(h.cred.flavor, AuthFlavor::kSys);
  EXPECT_EQ(h.cred.sys.stamp, 77u);
  EXPECT_EQ(h.cred.sys.machinename, "client.example");
  EXPECT_EQ(h.cred.sys.uid, 1000u);
  EXPECT_EQ(h.cred.sys.gid, 100u);
  EXPECT_EQ(h.cred.sys.gids, Gids(16));
  EXPECT_EQ(Bytes(args.begin(), args.end()), c.args);
}

// RFC 5531 appendix A: gid_t gids<16>.
TEST(ParseCallTest, AuthSysWithSeventeenGidsIsBadCred) {
  EXPECT_EQ(Parse(AuthSysCall("m", Gids(17)).Build()), ParseOutcome::kBadCred);
}

// RFC 5531 appendix A: string machinename<255>.
TEST(ParseCallTest, AuthSysMachineNameOf255IsAcceptedAnd256IsBadCred) {
  CallHeader h;
  std::span<const uint8_t> args;
  ASSERT_EQ(Parse(AuthSysCall(std::string(255, 'm'), {}).Build(), h, args), ParseOutcome::kOk);
  EXPECT_EQ(h.cred.sys.machinename.size(), 255u);
  EXPECT_EQ(Parse(AuthSysCall(std::string(256, 'm'), {}).Build()), ParseOutcome::kBadCred);
}

// RFC 5531 section 8.2: opaque body<400>.
TEST(ParseCallTest, CredentialBodyOver400BytesIsBadCred) {
  CallBytes c;
  c.cred_flavor = uint32_t(AuthFlavor::kSys);
  c.cred_body = Bytes(404, 0);
  EXPECT_EQ(Parse(c.Build()), ParseOutcome::kBadCred);
  // The same for AUTH_NONE carrying a body, and for the verifier.
  CallBytes n;
  n.cred_body = Bytes(404, 0);
  EXPECT_EQ(Parse(n.Build()), ParseOutcome::kBadCred);
  CallBytes v;
  v.verf_body = Bytes(404, 0);
  EXPECT_EQ(Parse(v.Build()), ParseOutcome::kBadCred);
}

TEST(ParseCallTest, AuthSysBodyWithTrailingBytesIsBadCred) {
  CallBytes c = AuthSysCall("m", Gids(2));
  c.cred_body.insert(c.cred_body.end(), {0, 0, 0, 0});
  EXPECT_EQ(Parse(c.Build()), ParseOutcome::kBadCred);
}

TEST(ParseCallTest, AuthSysBodyCutShortIsBadCred) {
  CallBytes c = AuthSysCall("machine", Gids(3));
  c.cred_body.resize(c.cred_body.size() - 4);  // the last gid is missing
  EXPECT_EQ(Parse(c.Build()), ParseOutcome::kBadCred);
}

TEST(ParseCallTest, UnknownFlavorRpcsecGssIsBadCredAndKeepsTheXid) {
  CallBytes c;
  c.cred_flavor = uint32_t(AuthFlavor::kRpcSecGss);
  c.cred_body = Bytes(20, 1);
  CallHeader h;
  std::span<const uint8_t> args;
  EXPECT_EQ(Parse(c.Build(), h, args), ParseOutcome::kBadCred);
  EXPECT_EQ(h.xid, c.xid) << "the AUTH_ERROR reply needs the xid";
  c.cred_flavor = uint32_t(AuthFlavor::kDh);
  EXPECT_EQ(Parse(c.Build()), ParseOutcome::kBadCred);
}

TEST(ParseCallTest, RpcVersion3IsRpcMismatchAndKeepsTheXid) {
  CallBytes c;
  c.rpcvers = 3;
  CallHeader h;
  std::span<const uint8_t> args;
  EXPECT_EQ(Parse(c.Build(), h, args), ParseOutcome::kRpcMismatch);
  EXPECT_EQ(h.xid, c.xid);
  c.rpcvers = 1;
  EXPECT_EQ(Parse(c.Build()), ParseOutcome::kRpcMismatch);
}

TEST(ParseCallTest, ReplyMessageIsNotACall) {
  CallBytes c;
  c.mtype = kMsgReply;
  CallHeader h;
  std::span<const uint8_t> args;
  EXPECT_EQ(Parse(c.Build(), h, args), ParseOutcome::kNotACall);
  EXPECT_EQ(h.xid, c.xid);
  c.mtype = 7;  // neither CALL nor REPLY
  EXPECT_EQ(Parse(c.Build()), ParseOutcome::kNotACall);
}

// Too short to hold xid, msg_type, rpcvers, prog, vers, proc: nothing to answer.
TEST(ParseCallTest, HeaderTruncatedBeforeProcIsGarbage) {
  Bytes rec = CallBytes().Build();
  for (size_t n = 0; n < 24; ++n) {
    EXPECT_EQ(Parse(Bytes(rec.begin(), rec.begin() + n)), ParseOutcome::kGarbage)
        << "record cut to " << n << " bytes";
  }
}

// Cut anywhere inside the credential or verifier: never parsed as a call.
TEST(ParseCallTest, HeaderTruncatedInsideCredentialIsNeverOk) {
  CallBytes c = AuthSysCall("machine", Gids(4));
  c.args.clear();
  Bytes rec = c.Build();
  ASSERT_EQ(Parse(rec), ParseOutcome::kOk);
  for (size_t n = 24; n < rec.size(); ++n) {
    ParseOutcome o = Parse(Bytes(rec.begin(), rec.begin() + n));
    EXPECT_NE(o, ParseOutcome::kOk) << "record cut to " << n << " bytes";
  }
}

TEST(AppendCallTest, AppendCallRoundTripsThroughParseCall) {
  Credential sys = Credential{AuthFlavor::kSys, AuthSys{5, "host", 1000, 1000, Gids(16)}};
  for (const Credential& cred : {Credential{}, sys}) {
    Bytes rec;
    AppendCall(rec, 0xabcdef01, 0x20000001, 2, 7, cred);
    rec.insert(rec.end(), {9, 9, 9, 9});
    CallHeader h;
    std::span<const uint8_t> args;
    ASSERT_EQ(Parse(rec, h, args), ParseOutcome::kOk);
    EXPECT_EQ(h.xid, 0xabcdef01u);
    EXPECT_EQ(h.prog, 0x20000001u);
    EXPECT_EQ(h.vers, 2u);
    EXPECT_EQ(h.proc, 7u);
    EXPECT_EQ(h.cred.flavor, cred.flavor);
    if (cred.flavor == AuthFlavor::kSys) {
      EXPECT_EQ(h.cred.sys.stamp, 5u);
      EXPECT_EQ(h.cred.sys.machinename, "host");
      EXPECT_EQ(h.cred.sys.uid, 1000u);
      EXPECT_EQ(h.cred.sys.gid, 1000u);
      EXPECT_EQ(h.cred.sys.gids, Gids(16));
    }
    EXPECT_EQ(Bytes(args.begin(), args.end()), Bytes({9, 9, 9, 9}));
  }
}

// ---------------------------------------------------------------------------------------------
// Reply headers.

TEST(ReplyTest, AcceptedSuccessRoundTripsWithResults) {
  Bytes rec;
  AppendAcceptedReply(rec, 42, AcceptStat::kSuccess);
  EXPECT_EQ(rec.size(), kAcceptedReplyHeaderBytes);
  rec.insert(rec.end(), {1, 2, 3, 4, 5, 6, 7, 8});
  ReplyHeader h;
  std::span<const uint8_t> results;
  ASSERT_TRUE(ParseReply(rec, h, results));
  EXPECT_EQ(h.xid, 42u);
  EXPECT_TRUE(h.accepted);
  EXPECT_EQ(h.accept_stat, AcceptStat::kSuccess);
  EXPECT_EQ(Bytes(results.begin(), results.end()), Bytes({1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(ReplyTest, EveryAcceptStatRoundTrips) {
  for (AcceptStat s : {AcceptStat::kProgUnavail, AcceptStat::kProcUnavail,
                       AcceptStat::kGarbageArgs, AcceptStat::kSystemErr}) {
    SCOPED_TRACE(AcceptStatName(s));
    Bytes rec;
    AppendAcceptedReply(rec, 7, s);
    ReplyHeader h;
    std::span<const uint8_t> results;
    ASSERT_TRUE(ParseReply(rec, h, results));
    EXPECT_TRUE(h.accepted);
    EXPECT_STREQ(AcceptStatName(h.accept_stat), AcceptStatName(s));
    EXPECT_TRUE(results.empty());
  }
}

TEST(ReplyTest, ProgMismatchCarriesLowAndHigh) {
  Bytes rec;
  AppendProgMismatch(rec, 9, 1, 2);
  ReplyHeader h;
  std::span<const uint8_t> results;
  ASSERT_TRUE(ParseReply(rec, h, results));
  EXPECT_TRUE(h.accepted);
  EXPECT_STREQ(AcceptStatName(h.accept_stat), "PROG_MISMATCH");
  EXPECT_EQ(h.mismatch_low, 1u);
  EXPECT_EQ(h.mismatch_high, 2u);
  EXPECT_TRUE(results.empty());
}

TEST(ReplyTest, RpcMismatchIsDeniedWithVersionTwoToTwo) {
  Bytes rec;
  AppendRpcMismatch(rec, 10);
  ReplyHeader h;
  std::span<const uint8_t> results;
  ASSERT_TRUE(ParseReply(rec, h, results));
  EXPECT_EQ(h.xid, 10u);
  EXPECT_FALSE(h.accepted);
  EXPECT_EQ(h.reject_stat, 0u) << "RPC_MISMATCH";
  EXPECT_EQ(h.mismatch_low, 2u);
  EXPECT_EQ(h.mismatch_high, 2u);
}

TEST(ReplyTest, AuthErrorIsDeniedWithTheAuthStat) {
  Bytes rec;
  AppendAuthError(rec, 11, AuthStat::kBadCred);
  ReplyHeader h;
  std::span<const uint8_t> results;
  ASSERT_TRUE(ParseReply(rec, h, results));
  EXPECT_EQ(h.xid, 11u);
  EXPECT_FALSE(h.accepted);
  EXPECT_EQ(h.reject_stat, 1u) << "AUTH_ERROR";
  EXPECT_EQ(h.auth_stat, uint32_t(AuthStat::kBadCred));
}

TEST(ReplyTest, ParseReplyRejectsACallAndTruncatedReplies) {
  Bytes call;
  AppendCall(call, 1, 2, 3, 4, Credential{});
  ReplyHeader h;
  std::span<const uint8_t> results;
  EXPECT_FALSE(ParseReply(call, h, results));

  Bytes pm;
  AppendProgMismatch(pm, 9, 1, 2);
  for (size_t n = 0; n < pm.size(); ++n) {
    EXPECT_FALSE(ParseReply(Bytes(pm.begin(), pm.begin() + n), h, results))
        << "PROG_MISMATCH reply cut to " << n << " bytes";
  }
  Bytes ae;
  AppendAuthError(ae, 9, AuthStat::kTooWeak);
  for (size_t n = 0; n < ae.size(); ++n) {
    EXPECT_FALSE(ParseReply(Bytes(ae.begin(), ae.begin() + n), h, results))
        << "AUTH_ERROR reply cut to " << n << " bytes";
  }
}

}  // namespace
}  // namespace manifold::rpc
