// The grace period after a server restart (RFC 8881 8.4.2, 8.4.2.1, 18.51 RECLAIM_COMPLETE).
//
// After a restart only clients whose owner is on stable storage with reclaim_complete set
// ("known owners", client_record_store.h) may reclaim, and only until the grace period ends.
// It ends after grace_time_s, or earlier once every known owner has sent RECLAIM_COMPLETE.
// Every client, known or new, must send RECLAIM_COMPLETE before its first non-reclaim locking
// operation (18.51.3: otherwise NFS4ERR_GRACE).
//
// Thread safety: internally locked; the innermost lock of the state module (calls nothing).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "state/clock.h"
#include "xdr/nfs4.h"

namespace manifold::state {

class GracePeriod {
 public:
  // Begins the grace period at `now`. With no known owners there is nothing to reclaim and no
  // grace period at all.
  void Start(Instant now, Duration length, std::set<std::string> known_owners);

  // True from Start until End: what could conflict with a reclaim is refused until then
  // (BlocksNonReclaimLocked), even once the time is up.
  bool InGrace();
  // True when the grace period is over by time but End has not run yet (the caller then does
  // the end-of-grace record cleanup and calls End).
  bool DueToEnd(Instant now);
  void End();

  // A client ID was confirmed (CREATE_SESSION) / dropped.
  void Attach(clientid4 clientid, std::string_view owner, Instant now);
  void Detach(clientid4 clientid);
  // True while `owner` may still reclaim (known, grace running, not completed).
  bool OwnerMayReclaim(std::string_view owner, Instant now);

  // RFC 8881 8.4.2.1 / 18.51.3 for a reclaim (CLAIM_PREVIOUS open, LOCK with reclaim set):
  // NFS4ERR_NO_GRACE after the grace period, for a client not on stable storage, and after the
  // client's RECLAIM_COMPLETE.
  nfsstat4 CheckReclaim(clientid4 clientid, Instant now);
  // For a non-reclaim OPEN/LOCK: NFS4ERR_GRACE during the grace period, and before the client's
  // RECLAIM_COMPLETE (18.51.3).
  nfsstat4 CheckNonReclaim(clientid4 clientid);

  // 18.51.4: NFS4ERR_COMPLETE_ALREADY for a second RECLAIM_COMPLETE.
  nfsstat4 CheckReclaimComplete(clientid4 clientid);
  // Marks it; true when that was the last known owner (the grace period may end now).
  bool MarkReclaimComplete(clientid4 clientid, Instant now);
  bool ReclaimCompleted(clientid4 clientid);

  // Known owners that have not sent RECLAIM_COMPLETE.
  std::vector<std::string> UnfinishedOwners();

 private:
  struct ClientGrace {
    std::string owner;
    bool may_reclaim = false;
    bool completed = false;
  };
  // Reclaims stop when the period's time is up...
  bool InGraceLocked(Instant now) const { return active_ && now < end_; }
  // ...but what could conflict with a reclaim (a non-reclaim OPEN or LOCK, LOCKT, I/O with a
  // special stateid) waits until the period has ended (End, which StateManager calls after the
  // records of owners that did not finish reclaiming are rewritten; the expirer does it within
  // a second of the time being up). A grant told between the two could rest on records not yet
  // rewritten, and after a crash such an owner could reclaim over it (RFC 8881 8.4.3).
  bool BlocksNonReclaimLocked() const { return active_; }

  std::mutex mu_;
  bool active_ = false;
  Instant end_{};
  std::set<std::string, std::less<>> known_owners_;
  std::set<std::string, std::less<>> completed_owners_;
  std::unordered_map<clientid4, ClientGrace> clients_;
};

}  // namespace manifold::state
