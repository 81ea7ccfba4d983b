// FileStateTable: the delegation policy (RFC 8881 10.4, 18.16.3 open_delegation4), conflicts
// with other clients' operations, and the revocation of delegations whose recall went
// unanswered (10.2, 10.4.6).
//
// Policy. A delegation is granted only when a recall could reach the client (the MDS says so in
// OpenRequest::may_delegate) and no other client's state conflicts:
//   - a read delegation when no open of the file (the client's own included) has write access
//     and no other client holds a delegation on it;
//   - a write delegation only when the client asks for one (OPEN4_SHARE_ACCESS_WANT_WRITE_DELEG
//     or WANT_ANY_DELEG with write access) and no other client has the file open or delegated.
//     An open without a preference gets none: without CB_GETATTR every GETATTR by another
//     client would have to recall it.
// A file recalled in the last no_delegation_after_recall_s seconds gets none (contention). A
// client that expressed a want hears why it got none (OPEN_DELEGATE_NONE_EXT).
#include "state/file_state.h"
#include "state/file_state_internal.h"

namespace manifold::state {

void FileStateTable::CountLiveDelegation(const Entry& d, int delta) {
  live_delegations_.fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed);
  if (d.kind == OPEN_DELEGATE_WRITE) {
    live_write_delegations_.fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed);
  }
}

void FileStateTable::NoteRecalled(uint64_t fileid, Instant now) {
  const Instant until = now + std::chrono::seconds(limits_.no_delegation_after_recall_s);
  while (!recalled_order_.empty() &&
         (recalled_order_.front().first <= now ||
          recalled_order_.size() >= limits_.recalled_files_max)) {
    auto [when, id] = recalled_order_.front();
    recalled_order_.pop_front();
    auto it = recalled_until_.find(id);
    if (it != recalled_until_.end() && it->second == when) recalled_until_.erase(it);
  }
  if (limits_.recalled_files_max == 0) return;
  recalled_until_[fileid] = until;
  recalled_order_.emplace_back(until, fileid);
}

bool FileStateTable::RecentlyRecalled(uint64_t fileid, Instant now) const {
  auto it = recalled_until_.find(fileid);
  return it != recalled_until_.end() && now < it->second;
}

void FileStateTable::AskRecall(Entry& d, Instant now, std::vector<RecallRequest>* recalls) {
  if (d.recall_requested) return;
  d.recall_requested = true;
  d.recall_deadline = now + std::chrono::seconds(limits_.lease_time_s);
  if (d.type == StateidType::kDelegation) {
    recalls_pending_.insert(d.id);
    NoteRecalled(d.fileid, now);
  }
  recalls->push_back({d.clientid, d.fileid, d.type, StateidOf(d), d.kind});
}

DelegationGrant FileStateTable::DecideDelegation(const OpenRequest& req, FileState& f,
                                                 uint32_t access, ClientFiles& cf,
                                                 std::vector<RecallRequest>* recalls,
                                                 Instant now) {
  const uint32_t want = req.share_access & OPEN4_SHARE_ACCESS_WANT_DELEG_MASK;
  DelegationGrant g;
  auto none = [&](why_no_delegation4 why) {
    g.type = want == OPEN4_SHARE_ACCESS_WANT_NO_PREFERENCE ? OPEN_DELEGATE_NONE
                                                           : OPEN_DELEGATE_NONE_EXT;
    g.why = why;
    return g;
  };
  if (want == OPEN4_SHARE_ACCESS_WANT_NO_DELEG) return none(WND4_NOT_WANTED);
  if (want == OPEN4_SHARE_ACCESS_WANT_CANCEL) return none(WND4_CANCELLED);
  if (req.delegation) return none(WND4_NOT_WANTED);  // opened under the one it holds

  // What the state of other clients allows.
  bool others_open = false;
  for (const auto& [owner, id] : f.opens) {
    if (owner.clientid != req.clientid) others_open = true;
  }
  Entry* mine = nullptr;
  bool others_delegated = false;
  for (uint64_t id : f.recallables) {
    Entry& d = *entries_.at(id);
    if (d.type != StateidType::kDelegation) continue;
    if (d.clientid == req.clientid) {
      mine = &d;
    } else {
      others_delegated = true;
    }
  }
  const bool read_ok = f.access_write == 0 && !others_delegated;
  const bool write_ok = !others_open && !others_delegated;

  open_delegation_type4 type = OPEN_DELEGATE_NONE;
  if (req.reclaim) {
    // 10.2.1: a delegation held before the restart comes back; if the state now conflicts the
    // client is told to return it at once (recall).
    type = req.reclaim_delegation;
    if (type != OPEN_DELEGATE_READ && type != OPEN_DELEGATE_WRITE) return none(WND4_NOT_WANTED);
    g.recall = type == OPEN_DELEGATE_READ ? !read_ok : !write_ok;
  } else {
    if (!req.may_delegate) return none(WND4_RESOURCE);
    if (RecentlyRecalled(req.fileid, now)) return none(WND4_CONTENTION);
    const bool wants_write = want == OPEN4_SHARE_ACCESS_WANT_WRITE_DELEG ||
                             (want == OPEN4_SHARE_ACCESS_WANT_ANY_DELEG &&
                              (access & OPEN4_SHARE_ACCESS_WRITE));
    if (wants_write) {
      if (!write_ok) return none(WND4_CONTENTION);
      type = OPEN_DELEGATE_WRITE;
    } else {
      if (!read_ok) return none(WND4_CONTENTION);
      type = OPEN_DELEGATE_READ;
    }
  }
  if (mine != nullptr) {
    // One delegation per client and file: the one it holds is answered again when it covers
    // what is asked; a read delegation is not upgraded.
    if (mine->revoked != RevokeReason::kNone || mine->recall_requested) {
      return none(WND4_CONTENTION);
    }
    if (mine->kind != OPEN_DELEGATE_WRITE && type == OPEN_DELEGATE_WRITE) {
      return none(WND4_NOT_SUPP_UPGRADE);
    }
    g.type = static_cast<open_delegation_type4>(mine->kind);
    g.stateid = StateidOf(*mine);
    return g;
  }
  if (cf.delegations >= limits_.delegations_per_client_max) return none(WND4_RESOURCE);
  Entry& d = NewEntry(StateidType::kDelegation, req.clientid, req.fileid);
  d.kind = type;
  f.recallables.insert(d.id);
  CountLiveDelegation(d, +1);
  g.type = type;
  g.stateid = StateidOf(d);
  if (g.recall) AskRecall(d, now, recalls);
  return g;
}

nfsstat4 FileStateTable::BreakDelegations(clientid4 caller, uint64_t fileid, bool write,
                                          Instant now, std::vector<RecallRequest>* recalls) {
  auto fit = files_.find(fileid);
  if (fit == files_.end()) return NFS4_OK;
  bool any = false;
  for (uint64_t id : fit->second->recallables) {
    Entry& d = *entries_.at(id);
    if (d.type != StateidType::kDelegation || d.clientid == caller) continue;
    if (!write && d.kind != OPEN_DELEGATE_WRITE) continue;  // reading meets write delegations
    any = true;
    AskRecall(d, now, recalls);
  }
  return any ? NFS4ERR_DELAY : NFS4_OK;
}

uint32_t FileStateTable::RevokeOverdueRecalls(Instant now) {
  uint32_t n = 0;
  for (auto it = recalls_pending_.begin(); it != recalls_pending_.end();) {
    auto e = entries_.find(*it);
    if (e == entries_.end() || e->second->revoked != RevokeReason::kNone) {
      it = recalls_pending_.erase(it);
      continue;
    }
    if (now < e->second->recall_deadline) {
      ++it;
      continue;
    }
    it = recalls_pending_.erase(it);
    MarkRevoked(*e->second, RevokeReason::kRecall);
    ++n;
  }
  return n;
}

}  // namespace manifold::state
