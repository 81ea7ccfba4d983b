// Byte-range locks (RFC 8881 9.2-9.6, 18.10 LOCK, 18.11 LOCKT, 18.12 LOCKU), lock stateids
// (8.2.2, 18.10.3), TEST_STATEID (18.48) and FREE_STATEID (18.38).
#include <gtest/gtest.h>

#include "state_test_util.h"

namespace manifold::state::testing {
namespace {

constexpr uint64_t kFile = 7;
constexpr uint64_t kEof = NFS4_UINT64_MAX;

class LocksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    open_a = server->Open(OpenReq(a.clientid, "open-a", kFile, OPEN4_SHARE_ACCESS_BOTH)).stateid;
    open_b = server->Open(OpenReq(b.clientid, "open-b", kFile, OPEN4_SHARE_ACCESS_BOTH)).stateid;
  }
  LockResult LockA(nfs_lock_type4 t, offset4 off, length4 len) {
    return server->Lock(a.clientid, kFile, NewLockArgs(t, off, len, open_a, owner_a));
  }
  LockResult LockB(nfs_lock_type4 t, offset4 off, length4 len) {
    return server->Lock(b.clientid, kFile, NewLockArgs(t, off, len, open_b, owner_b));
  }
  // LOCKT by a third owner: is any byte of the range locked in a way that conflicts?
  nfsstat4 Probe(nfs_lock_type4 t, offset4 off, length4 len) {
    return server->LockTest(b.clientid, kFile, LocktArgs(t, off, len, prober)).status;
  }

  TestServer server;
  MountedClient a = Mount(server, "client-a");
  MountedClient b = Mount(server, "client-b", 1, 2);
  stateid4 open_a{}, open_b{};
  std::string owner_a = "pid-100", owner_b = "pid-200", prober = "prober";
};

TEST_F(LocksTest, ConflictIsDeniedWithTheHoldersLock) {
  ASSERT_STAT(NFS4_OK, LockA(WRITE_LT, 0, 100).status);
  LockResult r = LockB(WRITE_LT, 50, 10);
  ASSERT_STAT(NFS4ERR_DENIED, r.status);
  EXPECT_EQ(0u, r.denied.offset);
  EXPECT_EQ(100u, r.denied.length);
  EXPECT_EQ(WRITE_LT, r.denied.locktype);
  EXPECT_EQ(a.clientid, r.denied.clientid);
  EXPECT_EQ(owner_a, r.denied.owner);
  EXPECT_STAT(NFS4ERR_DENIED, LockB(READ_LT, 99, 1).status);
  EXPECT_STAT(NFS4_OK, LockB(WRITE_LT, 100, kEof).status);  // from byte 100 to EOF: no overlap
  LockResult eof = LockA(READ_LT, 1000, 1);
  ASSERT_STAT(NFS4ERR_DENIED, eof.status);
  EXPECT_EQ(kEof, eof.denied.length);  // "to EOF" comes back as NFS4_UINT64_MAX
}

TEST_F(LocksTest, ReadLocksShareWriteLocksDoNot) {
  ASSERT_STAT(NFS4_OK, LockA(READ_LT, 0, 10).status);
  EXPECT_STAT(NFS4_OK, LockB(READ_LT, 5, 10).status);
  EXPECT_STAT(NFS4ERR_DENIED, Probe(WRITE_LT, 0, 1));
  EXPECT_STAT(NFS4_OK, Probe(READ_LT, 0, 20));
}

TEST_F(LocksTest, BlockingTypesAreAnsweredLikeNonBlocking) {
  ASSERT_STAT(NFS4_OK, LockA(WRITEW_LT, 0, 10).status);
  LockResult r = LockB(READW_LT, 0, 1);
  ASSERT_STAT(NFS4ERR_DENIED, r.status);
  EXPECT_EQ(WRITE_LT, r.denied.locktype);
}

TEST_F(LocksTest, OwnerUpgradesAndDowngradesAtomically) {
  ASSERT_STAT(NFS4_OK, LockA(READ_LT, 0, 100).status);
  ASSERT_STAT(NFS4_OK, LockA(WRITE_LT, 40, 20).status);  // upgrade the middle
  EXPECT_STAT(NFS4_OK, Probe(READ_LT, 0, 40));
  EXPECT_STAT(NFS4ERR_DENIED, Probe(READ_LT, 40, 1));
  EXPECT_STAT(NFS4ERR_DENIED, Probe(READ_LT, 59, 1));
  EXPECT_STAT(NFS4_OK, Probe(READ_LT, 60, 40));
  ASSERT_STAT(NFS4_OK, LockA(READ_LT, 0, 100).status);  // downgrade all of it
  EXPECT_STAT(NFS4_OK, Probe(READ_LT, 0, 100));
  EXPECT_STAT(NFS4ERR_DENIED, Probe(WRITE_LT, 99, 1));
}

TEST_F(LocksTest, PartialUnlockSplitsTheRange) {
  LockResult l = LockA(WRITE_LT, 0, 100);
  ASSERT_STAT(NFS4_OK, l.status);
  StateidResult u = server->Unlock(a.clientid, kFile, LockuArgs(40, 20, l.lock_stateid));
  ASSERT_STAT(NFS4_OK, u.status);
  EXPECT_STAT(NFS4ERR_DENIED, Probe(READ_LT, 39, 1));
  EXPECT_STAT(NFS4_OK, Probe(WRITE_LT, 40, 20));
  EXPECT_STAT(NFS4ERR_DENIED, Probe(READ_LT, 60, 1));
  // Unlocking bytes that are not locked is fine; unlocking to EOF clears the rest.
  ASSERT_STAT(NFS4_OK, server->Unlock(a.clientid, kFile, LockuArgs(500, 5, u.stateid)).status);
  ASSERT_STAT(
      NFS4_OK,
      server->Unlock(a.clientid, kFile, LockuArgs(0, kEof, WithSeqid(u.stateid, 0))).status);
  EXPECT_STAT(NFS4_OK, Probe(WRITE_LT, 0, kEof));
}

TEST_F(LocksTest, AdjacentLocksMergeAndUnlockAcrossThem) {
  LockResult l = LockA(WRITE_LT, 0, 10);
  ASSERT_STAT(NFS4_OK, LockA(WRITE_LT, 10, 10).status);
  ASSERT_STAT(NFS4_OK, LockA(WRITE_LT, 20, 10).status);
  LockResult r = LockB(WRITE_LT, 5, 1);
  ASSERT_STAT(NFS4ERR_DENIED, r.status);
  EXPECT_EQ(0u, r.denied.offset);
  EXPECT_EQ(30u, r.denied.length);  // one merged lock
  ASSERT_STAT(
      NFS4_OK,
      server->Unlock(a.clientid, kFile, LockuArgs(0, 30, WithSeqid(l.lock_stateid, 0))).status);
  EXPECT_STAT(NFS4_OK, Probe(WRITE_LT, 0, kEof));
}

TEST_F(LocksTest, LockStateidComesFromTheOpenAndBumpsOnEveryLockAndUnlock) {
  LockResult first = LockA(READ_LT, 0, 1);
  ASSERT_STAT(NFS4_OK, first.status);
  EXPECT_EQ(1u, first.lock_stateid.seqid);
  EXPECT_FALSE(SameOther(first.lock_stateid, open_a));
  LockResult second =
      server->Lock(a.clientid, kFile, ExistLockArgs(READ_LT, 5, 1, first.lock_stateid));
  ASSERT_STAT(NFS4_OK, second.status);
  EXPECT_TRUE(SameOther(first.lock_stateid, second.lock_stateid));
  EXPECT_EQ(2u, second.lock_stateid.seqid);
  // open_to_lock_owner again for the same lock-owner and open: the same lock stateid.
  LockResult third = LockA(READ_LT, 9, 1);
  EXPECT_TRUE(SameOther(first.lock_stateid, third.lock_stateid));
  EXPECT_EQ(3u, third.lock_stateid.seqid);
  StateidResult u = server->Unlock(a.clientid, kFile, LockuArgs(0, 1, third.lock_stateid));
  EXPECT_EQ(4u, u.stateid.seqid);
  // 8.2.2 on the lock stateid.
  EXPECT_STAT(
      NFS4ERR_OLD_STATEID,
      server->Lock(a.clientid, kFile, ExistLockArgs(READ_LT, 0, 1, second.lock_stateid)).status);
  EXPECT_STAT(NFS4ERR_BAD_STATEID,
              server->Unlock(a.clientid, kFile, LockuArgs(0, 1, WithSeqid(u.stateid, 9))).status);
  EXPECT_STAT(NFS4_OK,
              server->Lock(a.clientid, kFile, ExistLockArgs(READ_LT, 0, 1, WithSeqid(u.stateid, 0)))
                  .status);
  // An open stateid is not a lock stateid, and a lock stateid is not an open stateid.
  EXPECT_STAT(NFS4ERR_BAD_STATEID,
              server->Lock(a.clientid, kFile, ExistLockArgs(READ_LT, 0, 1, open_a)).status);
  EXPECT_STAT(
      NFS4ERR_BAD_STATEID,
      server->Lock(a.clientid, kFile, NewLockArgs(READ_LT, 0, 1, u.stateid, owner_a)).status);
}

TEST_F(LocksTest, BadRangesAndTypesAreInval) {
  EXPECT_STAT(NFS4ERR_INVAL, LockA(WRITE_LT, 0, 0).status);
  EXPECT_STAT(NFS4ERR_INVAL, LockA(WRITE_LT, 10, kEof - 9).status);  // past 2^64
  LOCK4args bad_type = NewLockArgs(READ_LT, 0, 1, open_a, owner_a);
  uint32_t raw = 9;  // what a hostile peer can make xdr_enum store
  std::memcpy(&bad_type.locktype, &raw, sizeof raw);
  EXPECT_STAT(NFS4ERR_INVAL, server->Lock(a.clientid, kFile, bad_type).status);
  EXPECT_STAT(NFS4ERR_INVAL, Probe(READ_LT, 0, 0));
  LockResult l = LockA(WRITE_LT, 0, 1);
  EXPECT_STAT(NFS4ERR_INVAL,
              server->Unlock(a.clientid, kFile, LockuArgs(1, 0, l.lock_stateid)).status);
}

TEST_F(LocksTest, LocktNeverCreatesState) {
  size_t before = server->Stats().stateids;
  EXPECT_STAT(NFS4_OK, Probe(WRITE_LT, 0, kEof));
  EXPECT_STAT(NFS4_OK,
              server->LockTest(a.clientid, kFile + 1, LocktArgs(READ_LT, 0, 1, owner_a)).status);
  EXPECT_EQ(before, server->Stats().stateids);
  // The tester's own locks never conflict with its test.
  ASSERT_STAT(NFS4_OK, LockA(WRITE_LT, 0, 10).status);
  EXPECT_STAT(NFS4_OK,
              server->LockTest(a.clientid, kFile, LocktArgs(WRITE_LT, 0, 10, owner_a)).status);
}

TEST_F(LocksTest, LockTypeMustMatchTheOpenMode) {
  stateid4 ro = server->Open(OpenReq(a.clientid, "ro", kFile + 1, OPEN4_SHARE_ACCESS_READ)).stateid;
  stateid4 wo =
      server->Open(OpenReq(a.clientid, "wo", kFile + 2, OPEN4_SHARE_ACCESS_WRITE)).stateid;
  EXPECT_STAT(NFS4ERR_OPENMODE,
              server->Lock(a.clientid, kFile + 1, NewLockArgs(WRITE_LT, 0, 1, ro, owner_a)).status);
  EXPECT_STAT(NFS4_OK,
              server->Lock(a.clientid, kFile + 1, NewLockArgs(READ_LT, 0, 1, ro, owner_a)).status);
  EXPECT_STAT(NFS4ERR_OPENMODE,
              server->Lock(a.clientid, kFile + 2, NewLockArgs(READ_LT, 0, 1, wo, owner_a)).status);
}

TEST_F(LocksTest, StateidOfAnotherFileIsBadStateid) {
  EXPECT_STAT(
      NFS4ERR_BAD_STATEID,
      server->Lock(a.clientid, kFile + 1, NewLockArgs(READ_LT, 0, 1, open_a, owner_a)).status);
  EXPECT_STAT(NFS4ERR_BAD_STATEID,
              server->Lock(b.clientid, kFile, NewLockArgs(READ_LT, 0, 1, open_a, owner_a)).status);
}

TEST_F(LocksTest, LocksPerFileMaxIsDelayAndASplitBeyondItIsLockRange) {
  StateLimits limits;
  limits.locks_per_file_max = 3;
  TestServer small(limits);
  MountedClient c = Mount(small, "c");
  stateid4 open = small->Open(OpenReq(c.clientid, "o", 1, OPEN4_SHARE_ACCESS_BOTH)).stateid;
  LockResult l = small->Lock(c.clientid, 1, NewLockArgs(WRITE_LT, 0, 10, open, owner_a));
  ASSERT_STAT(NFS4_OK, l.status);
  stateid4 ls = WithSeqid(l.lock_stateid, 0);
  ASSERT_STAT(NFS4_OK, small->Lock(c.clientid, 1, ExistLockArgs(WRITE_LT, 20, 10, ls)).status);
  ASSERT_STAT(NFS4_OK, small->Lock(c.clientid, 1, ExistLockArgs(READ_LT, 40, 10, ls)).status);
  EXPECT_STAT(NFS4ERR_DELAY, small->Lock(c.clientid, 1, ExistLockArgs(READ_LT, 60, 10, ls)).status);
  // Merging into an existing lock needs no new range.
  EXPECT_STAT(NFS4_OK, small->Lock(c.clientid, 1, ExistLockArgs(READ_LT, 50, 10, ls)).status);
  EXPECT_STAT(NFS4ERR_LOCK_RANGE, small->Unlock(c.clientid, 1, LockuArgs(2, 2, ls)).status);
  EXPECT_STAT(NFS4_OK, small->Unlock(c.clientid, 1, LockuArgs(0, 5, ls)).status);  // no split
}

TEST_F(LocksTest, LockStateidsPerClientMaxIsDelay) {
  StateLimits limits;
  limits.lock_stateids_per_client_max = 1;
  TestServer small(limits);
  MountedClient c = Mount(small, "c");
  stateid4 open = small->Open(OpenReq(c.clientid, "o", 1, OPEN4_SHARE_ACCESS_BOTH)).stateid;
  ASSERT_STAT(NFS4_OK, small->Lock(c.clientid, 1, NewLockArgs(READ_LT, 0, 1, open, "x")).status);
  EXPECT_STAT(NFS4ERR_DELAY,
              small->Lock(c.clientid, 1, NewLockArgs(READ_LT, 5, 1, open, "y")).status);
}

// ---- TEST_STATEID, FREE_STATEID, revocation ----

TEST_F(LocksTest, FreeStateidOfALockStateidWithLocksIsLocksHeld) {
  LockResult l = LockA(WRITE_LT, 0, 10);
  EXPECT_STAT(NFS4ERR_LOCKS_HELD, server->FreeStateid(a.clientid, l.lock_stateid));
  EXPECT_STAT(NFS4ERR_LOCKS_HELD, server->FreeStateid(a.clientid, open_a));  // an open is a lock
  StateidResult u = server->Unlock(a.clientid, kFile, LockuArgs(0, 10, l.lock_stateid));
  EXPECT_STAT(NFS4ERR_OLD_STATEID, server->FreeStateid(a.clientid, l.lock_stateid));
  EXPECT_STAT(NFS4_OK, server->FreeStateid(a.clientid, u.stateid));
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->TestStateids(a.clientid, {&u.stateid, 1})[0]);
  // The open can get a new lock stateid afterwards.
  EXPECT_STAT(NFS4_OK, LockA(WRITE_LT, 0, 10).status);
}

TEST_F(LocksTest, TestStateidReportsEachStateid) {
  LockResult l = LockA(READ_LT, 0, 1);
  stateid4 anonymous{};
  std::vector<stateid4> ids = {open_a,    WithSeqid(open_a, 0),        l.lock_stateid, open_b,
                               anonymous, WithSeqid(l.lock_stateid, 5)};
  LockResult l2 = server->Lock(a.clientid, kFile, ExistLockArgs(READ_LT, 3, 1, l.lock_stateid));
  ASSERT_STAT(NFS4_OK, l2.status);
  std::vector<nfsstat4> got = server->TestStateids(a.clientid, ids);
  ASSERT_EQ(ids.size(), got.size());
  EXPECT_STAT(NFS4_OK, got[0]);
  EXPECT_STAT(NFS4_OK, got[1]);
  EXPECT_STAT(NFS4ERR_OLD_STATEID, got[2]);
  EXPECT_STAT(NFS4ERR_BAD_STATEID, got[3]);  // another client's
  EXPECT_STAT(NFS4ERR_BAD_STATEID, got[4]);  // special
  EXPECT_STAT(NFS4ERR_BAD_STATEID, got[5]);  // a seqid not issued yet
}

TEST_F(LocksTest, RevokedOpenTakesItsLocksAndAnswersRevoked) {
  LockResult l = LockA(WRITE_LT, 0, 10);
  ASSERT_STAT(NFS4_OK, server->RevokeStateid(open_a, RevokeReason::kAdmin));
  EXPECT_STAT(NFS4ERR_ADMIN_REVOKED, server->TestStateids(a.clientid, {&open_a, 1})[0]);
  EXPECT_STAT(NFS4ERR_ADMIN_REVOKED, server->TestStateids(a.clientid, {&l.lock_stateid, 1})[0]);
  EXPECT_STAT(NFS4ERR_ADMIN_REVOKED, server->CheckIo(a.clientid, l.lock_stateid, kFile, true));
  EXPECT_STAT(NFS4ERR_ADMIN_REVOKED,
              server->Lock(a.clientid, kFile, ExistLockArgs(READ_LT, 0, 1, l.lock_stateid)).status);
  EXPECT_STAT(NFS4_OK, LockB(WRITE_LT, 0, 10).status);  // the locks are gone
  EXPECT_STAT(NFS4_OK, server->FreeStateid(a.clientid, l.lock_stateid));
  EXPECT_STAT(NFS4_OK, server->FreeStateid(a.clientid, open_a));
  EXPECT_STAT(NFS4ERR_BAD_STATEID, server->TestStateids(a.clientid, {&open_a, 1})[0]);
}

TEST_F(LocksTest, ExpiredReasonAnswersExpired) {
  EXPECT_EQ(1u, server->RevokeClientState(a.clientid, RevokeReason::kExpired));
  EXPECT_STAT(NFS4ERR_EXPIRED, server->TestStateids(a.clientid, {&open_a, 1})[0]);
  EXPECT_STAT(NFS4ERR_EXPIRED, server->CheckIo(a.clientid, open_a, kFile, false));
}

}  // namespace
}  // namespace manifold::state::testing
