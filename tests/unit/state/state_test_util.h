// Shared helpers of the state tests: a fake clock, a recording recall sink, a server wrapper
// that can "restart" over the same record store, and builders for the XDR arguments (each
// points into strings the caller keeps alive).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "state/state_manager.h"
#include "state/status_names.h"

namespace manifold::state::testing {

// Asserts by RFC name, so a failure reads "NFS4ERR_BAD_STATEID" vs "NFS4ERR_OLD_STATEID".
#define EXPECT_STAT(want, got) EXPECT_STREQ(Nfs4StatName(want), Nfs4StatName(got))
#define ASSERT_STAT(want, got) ASSERT_STREQ(Nfs4StatName(want), Nfs4StatName(got))

class FakeClock final : public Clock {
 public:
  Instant Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void Advance(Duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  Instant now_ = Instant(std::chrono::hours(1000));
};

class RecordingRecallSink final : public RecallSink {
 public:
  struct Call {
    clientid4 clientid;
    uint64_t fileid;
    stateid4 stateid;
    bool layout;
  };
  void RecallDelegation(clientid4 c, uint64_t f, const stateid4& s,
                        open_delegation_type4) override {
    std::lock_guard lock(mu_);
    calls.push_back({c, f, s, false});
  }
  void RecallLayout(clientid4 c, uint64_t f, const stateid4& s, layouttype4) override {
    std::lock_guard lock(mu_);
    calls.push_back({c, f, s, true});
  }
  std::mutex mu_;
  std::vector<Call> calls;
};

inline constexpr uint32_t kFirstEpoch = 7;

// A StateManager with a fake clock and an in-memory record store that survives Restart().
struct TestServer {
  explicit TestServer(StateLimits limits = {}) : limits(limits) { Start(kFirstEpoch); }

  void Start(uint32_t epoch) {
    StateConfig config;
    config.boot_epoch = epoch;
    config.identity.so_major_id = "manifold-test";
    config.identity.server_scope = "scope";
    config.limits = limits;
    state = std::make_unique<StateManager>(config, clock, store, &sink);
    Status s = state->Recover();
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  // A new server instance over the same stable storage (a restart).
  void Restart() { Start(++epoch_counter); }

  StateManager& operator*() { return *state; }
  StateManager* operator->() { return state.get(); }

  StateLimits limits;
  FakeClock clock;
  InMemoryClientRecordStore store;
  RecordingRecallSink sink;
  std::unique_ptr<StateManager> state;
  uint32_t epoch_counter = kFirstEpoch;
};

inline void SetVerifier(verifier4 out, uint64_t v) {
  for (int i = 0; i < NFS4_VERIFIER_SIZE; ++i) out[i] = static_cast<char>(v >> (56 - 8 * i));
}

inline EXCHANGE_ID4args ExchangeArgs(const std::string& owner, uint64_t verifier,
                                     uint32_t flags = 0, state_protect_how4 how = SP4_NONE) {
  EXCHANGE_ID4args a{};
  SetVerifier(a.eia_clientowner.co_verifier, verifier);
  a.eia_clientowner.co_ownerid.co_ownerid_len = owner.size();
  a.eia_clientowner.co_ownerid.co_ownerid_val = const_cast<char*>(owner.data());
  a.eia_flags = flags;
  a.eia_state_protect.spa_how = how;
  return a;
}

inline channel_attrs4 Attrs(uint32_t max_request, uint32_t max_response, uint32_t max_cached,
                            uint32_t max_ops, uint32_t max_requests) {
  channel_attrs4 a{};
  a.ca_maxrequestsize = max_request;
  a.ca_maxresponsesize = max_response;
  a.ca_maxresponsesize_cached = max_cached;
  a.ca_maxoperations = max_ops;
  a.ca_maxrequests = max_requests;
  return a;
}

inline const callback_sec_parms4* AuthNoneSec() {
  static callback_sec_parms4 p = [] {
    callback_sec_parms4 x{};
    x.cb_secflavor = AUTH_NONE;
    return x;
  }();
  return &p;
}

inline CREATE_SESSION4args SessionArgs(clientid4 clientid, sequenceid4 sequence,
                                       uint32_t flags = CREATE_SESSION4_FLAG_CONN_BACK_CHAN) {
  CREATE_SESSION4args a{};
  a.csa_clientid = clientid;
  a.csa_sequence = sequence;
  a.csa_flags = flags;
  a.csa_fore_chan_attrs = Attrs(1 << 20, 1 << 20, 8192, 16, 8);
  a.csa_back_chan_attrs = Attrs(4096, 4096, 0, 4, 2);
  a.csa_cb_program = 0x40000000;
  a.csa_sec_parms.csa_sec_parms_len = 1;
  a.csa_sec_parms.csa_sec_parms_val = const_cast<callback_sec_parms4*>(AuthNoneSec());
  return a;
}

inline SEQUENCE4args SeqArgs(const SessionId& session, sequenceid4 seqid, slotid4 slot = 0,
                             bool cachethis = true) {
  SEQUENCE4args a{};
  CopySessionId(session, a.sa_sessionid);
  a.sa_sequenceid = seqid;
  a.sa_slotid = slot;
  a.sa_highest_slotid = slot;
  a.sa_cachethis = cachethis;
  return a;
}

inline SessionId ToId(const CreateSessionReply& r) { return ToSessionId(r.resok.csr_sessionid); }

// A client that has done EXCHANGE_ID, CREATE_SESSION and (unless told not to) RECLAIM_COMPLETE.
struct MountedClient {
  clientid4 clientid = 0;
  SessionId session{};
};

inline MountedClient Mount(TestServer& server, const std::string& owner, uint64_t verifier = 1,
                           ConnectionId conn = 1, bool reclaim_complete = true) {
  MountedClient m;
  ExchangeIdResult ex = server->ExchangeId(ExchangeArgs(owner, verifier), "root@client");
  EXPECT_STAT(NFS4_OK, ex.status);
  CreateSessionReply cs =
      server->CreateSession(SessionArgs(ex.eir_clientid, ex.eir_sequenceid), "root@client", conn);
  EXPECT_STAT(NFS4_OK, cs.status);
  m.clientid = ex.eir_clientid;
  m.session = ToId(cs);
  if (reclaim_complete) {
    EXPECT_STAT(NFS4_OK, server->ReclaimComplete(m.clientid, false));
  }
  return m;
}

// ---- file state arguments ----

inline OpenRequest OpenReq(clientid4 clientid, const std::string& owner, uint64_t fileid,
                           uint32_t access, uint32_t deny = OPEN4_SHARE_DENY_NONE,
                           bool reclaim = false) {
  OpenRequest r;
  r.clientid = clientid;
  r.owner = owner;
  r.fileid = fileid;
  r.share_access = access;
  r.share_deny = deny;
  r.reclaim = reclaim;
  return r;
}

inline LOCK4args NewLockArgs(nfs_lock_type4 type, offset4 offset, length4 length,
                             const stateid4& open, const std::string& lock_owner,
                             bool reclaim = false) {
  LOCK4args a{};
  a.locktype = type;
  a.reclaim = reclaim;
  a.offset = offset;
  a.length = length;
  a.locker.new_lock_owner = true;
  open_to_lock_owner4& o = a.locker.locker4_u.open_owner;
  o.open_stateid = open;
  o.lock_owner.owner.owner_len = lock_owner.size();
  o.lock_owner.owner.owner_val = const_cast<char*>(lock_owner.data());
  return a;
}

inline LOCK4args ExistLockArgs(nfs_lock_type4 type, offset4 offset, length4 length,
                               const stateid4& lock) {
  LOCK4args a{};
  a.locktype = type;
  a.offset = offset;
  a.length = length;
  a.locker.new_lock_owner = false;
  a.locker.locker4_u.lock_owner.lock_stateid = lock;
  return a;
}

inline LOCKT4args LocktArgs(nfs_lock_type4 type, offset4 offset, length4 length,
                            const std::string& owner) {
  LOCKT4args a{};
  a.locktype = type;
  a.offset = offset;
  a.length = length;
  a.owner.owner.owner_len = owner.size();
  a.owner.owner.owner_val = const_cast<char*>(owner.data());
  return a;
}

inline LOCKU4args LockuArgs(offset4 offset, length4 length, const stateid4& lock) {
  LOCKU4args a{};
  a.locktype = WRITE_LT;
  a.lock_stateid = lock;
  a.offset = offset;
  a.length = length;
  return a;
}

inline CLOSE4args CloseArgs(const stateid4& open) {
  CLOSE4args a{};
  a.open_stateid = open;
  return a;
}

inline OPEN_DOWNGRADE4args DowngradeArgs(const stateid4& open, uint32_t access, uint32_t deny) {
  OPEN_DOWNGRADE4args a{};
  a.open_stateid = open;
  a.share_access = access;
  a.share_deny = deny;
  return a;
}

inline stateid4 WithSeqid(stateid4 s, uint32_t seqid) {
  s.seqid = seqid;
  return s;
}

inline bool SameOther(const stateid4& a, const stateid4& b) {
  return std::memcmp(a.other, b.other, NFS4_OTHER_SIZE) == 0;
}

}  // namespace manifold::state::testing
