// StateManager: construction, recovery after a restart (RFC 8881 8.4.2), lease expiry (8.3),
// the end of the grace period, and the file-state operations (which only lock and forward).
#include "state/state_manager.h"

#include <spdlog/spdlog.h>

#include <set>

#include "common/check.h"

namespace manifold::state {

StateManager::StateManager(StateConfig config, const Clock& clock, ClientRecordStore& store,
                           RecallSink* recall_sink)
    : config_(std::move(config)),
      clock_(clock),
      store_(store),
      recall_sink_(recall_sink),
      clients_(config_.boot_epoch, config_.limits),
      sessions_(config_.boot_epoch, config_.limits),
      files_(config_.boot_epoch, config_.limits, grace_) {
  MANIFOLD_CHECK(IsValidBootEpoch(config_.boot_epoch));
  MANIFOLD_CHECK(config_.limits.lease_time_s > 0);
}

// 8.4.2.1: only owners whose record says they finished reclaiming in their last incarnation
// may reclaim now (client_record_store.h); other records give no rights and are removed.
Status StateManager::Recover() {
  std::lock_guard lock(clients_.mu());
  Result<std::vector<StoredClientRecord>> list = store_.List(config_.limits.clients_max);
  if (!list.ok()) return list.status();
  std::set<std::string> known;
  for (const StoredClientRecord& r : list.value()) {
    Result<ClientRecord> rec = DecodeClientRecord(r.key, r.record);
    if (!rec.ok()) return rec.status();
    if (rec->reclaim_complete) {
      known.insert(rec->owner);
      continue;
    }
    Status s = store_.Delete(r.key);
    if (!s.ok()) return s;
  }
  Duration grace = std::chrono::seconds(config_.limits.grace_time_effective_s());
  spdlog::info("state: boot epoch {}: {} clients may reclaim; grace period {} s",
               config_.boot_epoch, known.size(),
               known.empty() ? 0 : grace / std::chrono::seconds(1));
  grace_.Start(clock_.Now(), grace, std::move(known));
  return Status::Ok();
}

// Removes a client ID and everything it holds. `delete_record`: also its record on stable
// storage (not when a newer client ID of the same owner has just written its own).
ExpiredClient StateManager::DropClientLocked(Client& c, bool delete_record) {
  return *DropClientIfLocked(c, delete_record, nullptr);
}

std::optional<ExpiredClient> StateManager::DropClientIfLocked(
    Client& c, bool delete_record, const std::function<bool(const Client&)>& still_idle) {
  ExpiredClient out;
  out.clientid = c.clientid;
  out.owner = c.owner;
  out.confirmed = c.confirmed;
  {
    std::lock_guard lock(sessions_.mu());
    // SEQUENCE renews under this lock alone: checked here, it either came first (the client
    // stays) or finds no session (NFS4ERR_BADSESSION).
    if (still_idle && !still_idle(c)) return std::nullopt;
    for (Session* s : sessions_.ForClient(c.clientid)) {
      sessions_.Remove(s->id);
      out.sessions++;
    }
  }
  {
    std::lock_guard lock(files_.mu());
    out.dropped = files_.DropClient(c.clientid);
  }
  grace_.Detach(c.clientid);
  if (c.confirmed && delete_record) {
    Status s = store_.Delete(c.owner);
    if (!s.ok()) {
      spdlog::error("state: client {:#x}: deleting its record failed: {}", c.clientid,
                    s.ToString());
    }
  }
  clients_.Remove(c.clientid);
  return out;
}

void StateManager::PutRecordLocked(const Client& c, bool reclaim_complete, const char* why) {
  ClientRecord rec{c.owner, c.clientid, c.verifier, c.principal, reclaim_complete};
  Status s = store_.Put(c.owner, EncodeClientRecord(rec));
  if (!s.ok()) {
    spdlog::error("state: client {:#x}: writing its record ({}) failed: {}", c.clientid, why,
                  s.ToString());
  }
}

// 8.4.3: once the grace period is over, others may be granted locks that conflict with state
// an owner never reclaimed, so an owner that did not finish reclaiming must not reclaim after a
// later restart: its record is deleted (it never came back) or kept without reclaim rights (it
// is connected but did not send RECLAIM_COMPLETE).
void StateManager::EndGraceLocked() {
  for (const std::string& owner : grace_.UnfinishedOwners()) {
    if (Client* c = clients_.FindConfirmed(owner)) {
      PutRecordLocked(*c, false, "end of grace");
      continue;
    }
    Status s = store_.Delete(owner);
    if (!s.ok()) spdlog::error("state: deleting a stale client record failed: {}", s.ToString());
  }
  grace_.End();
}

nfsstat4 StateManager::BreakDelegations(clientid4 caller, uint64_t fileid, bool write) {
  // The common cases take no lock: no delegation at all, or a read meeting no write delegation.
  if (files_.live_delegations() == 0) return NFS4_OK;
  if (!write && files_.live_write_delegations() == 0) return NFS4_OK;
  std::vector<RecallRequest> recalls;
  nfsstat4 st;
  {
    std::lock_guard lock(files_.mu());
    st = files_.BreakDelegations(caller, fileid, write, clock_.Now(), &recalls);
  }
  SendRecalls(recalls);
  return st;
}

std::vector<ExpiredClient> StateManager::ExpireClients(Instant now) {
  const Duration lease = std::chrono::seconds(config_.limits.lease_time_s);
  {
    std::lock_guard lock(files_.mu());
    if (uint32_t n = files_.RevokeOverdueRecalls(now); n > 0) {
      spdlog::warn("state: revoked {} delegations whose recall was not answered in a lease", n);
    }
  }
  std::lock_guard lock(clients_.mu());
  // Sessions lock held: a client whose lease ran out and that has no request under way.
  auto idle = [&](const Client& c) {
    if (now - c.live->last_renewed() < lease) return false;
    for (Session* session : sessions_.ForClient(c.clientid)) {
      if (session->slots_in_progress > 0) return false;
    }
    return true;
  };
  std::vector<Client*> expired;
  {
    std::lock_guard s(sessions_.mu());
    for (Client* c : clients_.All()) {
      if (idle(*c)) expired.push_back(c);
    }
  }
  std::vector<ExpiredClient> out;
  for (Client* c : expired) {
    // Checked again as it goes: a SEQUENCE may have renewed it since the list was made.
    std::optional<ExpiredClient> gone = DropClientIfLocked(*c, /*delete_record=*/true, idle);
    if (!gone) continue;
    out.push_back(std::move(*gone));
    spdlog::info("state: client {:#x} lease expired: dropped {} sessions, {} opens, {} locks",
                 out.back().clientid, out.back().sessions, out.back().dropped.opens,
                 out.back().dropped.lock_ranges);
  }
  if (grace_.DueToEnd(now)) {
    spdlog::info("state: the grace period is over");
    EndGraceLocked();
  }
  return out;
}

// ---- file state: lock, forward, then send recalls without any lock ----

void StateManager::SendRecalls(const std::vector<RecallRequest>& recalls) {
  RecallSink* sink = recall_sink_.load();
  if (sink == nullptr) return;
  for (const RecallRequest& r : recalls) {
    if (r.type == StateidType::kDelegation) {
      sink->RecallDelegation(r.clientid, r.fileid, r.stateid,
                                     static_cast<open_delegation_type4>(r.kind));
    } else if (r.type == StateidType::kLayout) {
      sink->RecallLayout(r.clientid, r.fileid, r.stateid, static_cast<layouttype4>(r.kind));
    }
  }
}

OpenResult StateManager::Open(const OpenRequest& req) {
  OpenResult r;
  {
    std::lock_guard lock(files_.mu());
    r = files_.Open(req, clock_.Now());
  }
  SendRecalls(r.recalls);
  return r;
}

StateidResult StateManager::OpenDowngrade(clientid4 clientid, uint64_t fileid,
                                          const OPEN_DOWNGRADE4args& args) {
  std::lock_guard lock(files_.mu());
  return files_.OpenDowngrade(clientid, fileid, args);
}

bool StateManager::UndoUpgrade(clientid4 clientid, uint64_t fileid, const stateid4& upgraded,
                               const OpenBefore& before) {
  std::lock_guard lock(files_.mu());
  return files_.UndoUpgrade(clientid, fileid, upgraded, before);
}

StateidResult StateManager::Close(clientid4 clientid, uint64_t fileid, const CLOSE4args& args) {
  std::lock_guard lock(files_.mu());
  return files_.Close(clientid, fileid, args);
}

bool StateManager::HasOpens(uint64_t fileid) {
  std::lock_guard lock(files_.mu());
  return files_.HasOpens(fileid);
}

LockResult StateManager::Lock(clientid4 clientid, uint64_t fileid, const LOCK4args& args) {
  std::lock_guard lock(files_.mu());
  return files_.Lock(clientid, fileid, args, clock_.Now());
}

LockResult StateManager::LockTest(clientid4 clientid, uint64_t fileid, const LOCKT4args& args) {
  std::lock_guard lock(files_.mu());
  return files_.LockTest(clientid, fileid, args);
}

StateidResult StateManager::Unlock(clientid4 clientid, uint64_t fileid, const LOCKU4args& args) {
  std::lock_guard lock(files_.mu());
  return files_.Unlock(clientid, fileid, args);
}

std::vector<nfsstat4> StateManager::TestStateids(clientid4 clientid,
                                                 std::span<const stateid4> stateids) {
  std::vector<nfsstat4> out;
  out.reserve(stateids.size());
  std::lock_guard lock(files_.mu());
  for (const stateid4& s : stateids) out.push_back(files_.TestStateid(clientid, s));
  return out;
}

nfsstat4 StateManager::FreeStateid(clientid4 clientid, const stateid4& stateid) {
  std::lock_guard lock(files_.mu());
  return files_.FreeStateid(clientid, stateid);
}

nfsstat4 StateManager::CheckIo(clientid4 clientid, const stateid4& stateid, uint64_t fileid,
                               bool want_write) {
  // 10.4: I/O with a special stateid is not covered by any open, so it meets other clients'
  // delegations here (an open that could conflict was already checked by OPEN).
  if (IsSpecialStateid(stateid)) {
    if (nfsstat4 st = BreakDelegations(clientid, fileid, want_write); st != NFS4_OK) return st;
  }
  std::lock_guard lock(files_.mu());
  return files_.CheckIo(clientid, stateid, fileid, want_write);
}

// ---- registry ----

StateidResult StateManager::RecordDelegation(clientid4 clientid, uint64_t fileid,
                                             open_delegation_type4 type) {
  if (type != OPEN_DELEGATE_READ && type != OPEN_DELEGATE_WRITE) return {NFS4ERR_INVAL};
  std::lock_guard lock(files_.mu());
  return files_.RecordRecallable(clientid, fileid, StateidType::kDelegation, type);
}

StateidResult StateManager::RecordLayout(clientid4 clientid, uint64_t fileid, layouttype4 type) {
  std::lock_guard lock(files_.mu());
  return files_.RecordRecallable(clientid, fileid, StateidType::kLayout, type);
}

std::optional<RecallableInfo> StateManager::FindRecallable(const stateid4& stateid) {
  std::lock_guard lock(files_.mu());
  return files_.FindRecallable(stateid);
}

std::vector<RecallableInfo> StateManager::DelegationsOnFile(uint64_t fileid) {
  std::lock_guard lock(files_.mu());
  return files_.RecallablesOnFile(fileid, StateidType::kDelegation);
}

std::vector<RecallableInfo> StateManager::LayoutsOnFile(uint64_t fileid) {
  std::lock_guard lock(files_.mu());
  return files_.RecallablesOnFile(fileid, StateidType::kLayout);
}

StateidResult StateManager::BumpLayoutSeqid(clientid4 clientid, const stateid4& stateid) {
  std::lock_guard lock(files_.mu());
  return files_.BumpRecallable(clientid, stateid);
}

nfsstat4 StateManager::RemoveRecallable(clientid4 clientid, const stateid4& stateid) {
  std::lock_guard lock(files_.mu());
  return files_.RemoveRecallable(clientid, stateid);
}

bool StateManager::RequestRecall(const stateid4& stateid) {
  std::optional<RecallRequest> r;
  {
    std::lock_guard lock(files_.mu());
    r = files_.RequestRecall(stateid, clock_.Now());
  }
  if (!r) return false;
  SendRecalls({*r});
  return true;
}

nfsstat4 StateManager::RevokeStateid(const stateid4& stateid, RevokeReason reason) {
  std::lock_guard lock(files_.mu());
  return files_.Revoke(stateid, reason);
}

uint32_t StateManager::RevokeClientState(clientid4 clientid, RevokeReason reason) {
  std::lock_guard lock(files_.mu());
  return files_.RevokeClient(clientid, reason);
}

// ---- introspection ----

bool StateManager::InGrace() { return grace_.InGrace(); }

StateStats StateManager::Stats() {
  StateStats st;
  std::lock_guard c(clients_.mu());
  st.clients = clients_.size();
  {
    std::lock_guard s(sessions_.mu());
    st.sessions = sessions_.size();
    st.reply_cache_reserved_bytes = sessions_.reply_cache_reserved_bytes();
  }
  {
    std::lock_guard f(files_.mu());
    st.stateids = files_.stateid_count();
    st.files = files_.file_count();
  }
  st.in_grace = grace_.InGrace();
  return st;
}

}  // namespace manifold::state
