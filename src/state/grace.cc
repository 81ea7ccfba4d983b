#include "state/grace.h"

namespace manifold::state {

void GracePeriod::Start(Instant now, Duration length, std::set<std::string> known_owners) {
  std::lock_guard lock(mu_);
  known_owners_.clear();
  known_owners_.insert(known_owners.begin(), known_owners.end());
  completed_owners_.clear();
  active_ = !known_owners_.empty();
  end_ = now + length;
}

bool GracePeriod::InGrace() {
  std::lock_guard lock(mu_);
  return BlocksNonReclaimLocked();
}

bool GracePeriod::DueToEnd(Instant now) {
  std::lock_guard lock(mu_);
  return active_ && now >= end_;
}

void GracePeriod::End() {
  std::lock_guard lock(mu_);
  active_ = false;
  for (auto& [id, c] : clients_) c.may_reclaim = false;
}

void GracePeriod::Attach(clientid4 clientid, std::string_view owner, Instant now) {
  std::lock_guard lock(mu_);
  ClientGrace c;
  c.owner = std::string(owner);
  c.may_reclaim =
      InGraceLocked(now) && known_owners_.count(owner) != 0 && completed_owners_.count(owner) == 0;
  clients_[clientid] = std::move(c);
}

void GracePeriod::Detach(clientid4 clientid) {
  std::lock_guard lock(mu_);
  clients_.erase(clientid);
}

bool GracePeriod::OwnerMayReclaim(std::string_view owner, Instant now) {
  std::lock_guard lock(mu_);
  return InGraceLocked(now) && known_owners_.count(owner) != 0 &&
         completed_owners_.count(owner) == 0;
}

// NFS4ERR_NO_GRACE rather than NFS4ERR_RECLAIM_BAD for a client not on stable storage: RFC 8881
// 15.1 defines NO_GRACE as the server being unable to guarantee anything for the client's
// reclaims as a whole, RECLAIM_BAD as one particular reclaim being invalid. A client the server
// has no record of can reclaim nothing at all.
nfsstat4 GracePeriod::CheckReclaim(clientid4 clientid, Instant now) {
  std::lock_guard lock(mu_);
  if (!InGraceLocked(now)) return NFS4ERR_NO_GRACE;
  auto it = clients_.find(clientid);
  if (it == clients_.end() || !it->second.may_reclaim) return NFS4ERR_NO_GRACE;
  if (it->second.completed) return NFS4ERR_NO_GRACE;  // 18.51.3: reclaims end at RECLAIM_COMPLETE
  return NFS4_OK;
}

nfsstat4 GracePeriod::CheckNonReclaim(clientid4 clientid) {
  std::lock_guard lock(mu_);
  if (BlocksNonReclaimLocked()) return NFS4ERR_GRACE;  // 8.4.2.1
  auto it = clients_.find(clientid);
  // 18.51.3: "If non-reclaim locking operations are done before the RECLAIM_COMPLETE, an
  // NFS4ERR_GRACE error will be returned."
  if (it != clients_.end() && !it->second.completed) return NFS4ERR_GRACE;
  return NFS4_OK;
}

nfsstat4 GracePeriod::CheckReclaimComplete(clientid4 clientid) {
  std::lock_guard lock(mu_);
  auto it = clients_.find(clientid);
  if (it != clients_.end() && it->second.completed) return NFS4ERR_COMPLETE_ALREADY;
  return NFS4_OK;
}

bool GracePeriod::MarkReclaimComplete(clientid4 clientid, Instant now) {
  std::lock_guard lock(mu_);
  auto it = clients_.find(clientid);
  if (it == clients_.end()) return false;
  it->second.completed = true;
  it->second.may_reclaim = false;
  if (known_owners_.count(it->second.owner) == 0) return false;
  completed_owners_.insert(it->second.owner);
  return InGraceLocked(now) && completed_owners_.size() == known_owners_.size();
}

bool GracePeriod::ReclaimCompleted(clientid4 clientid) {
  std::lock_guard lock(mu_);
  auto it = clients_.find(clientid);
  return it != clients_.end() && it->second.completed;
}

std::vector<std::string> GracePeriod::UnfinishedOwners() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const std::string& o : known_owners_) {
    if (completed_owners_.count(o) == 0) out.push_back(o);
  }
  return out;
}

}  // namespace manifold::state
