// The part of a client that the session and file tables read without the clients lock: lease
// renewal and the counts of revoked stateids behind SEQUENCE's status flags. Shared (by
// shared_ptr) between the client table, the client's sessions and its file state.
#pragma once

#include <atomic>
#include <cstdint>

#include "state/clock.h"
#include "xdr/nfs4.h"

namespace manifold::state {

class ClientLive {
 public:
  ClientLive(clientid4 clientid, Instant now) : clientid_(clientid), renewed_(Ticks(now)) {}

  clientid4 clientid() const { return clientid_; }

  // RFC 8881 8.3: every SEQUENCE (and CREATE_SESSION) renews the lease.
  void Renew(Instant now) { renewed_.store(Ticks(now), std::memory_order_relaxed); }
  Instant last_renewed() const {
    return Instant(Duration(renewed_.load(std::memory_order_relaxed)));
  }

  // Revoked stateids not yet freed by FREE_STATEID, by reason (18.46.3 sr_status_flags).
  std::atomic<uint32_t> revoked_admin{0};
  std::atomic<uint32_t> revoked_expired{0};
  std::atomic<uint32_t> revoked_recallable{0};

 private:
  static Duration::rep Ticks(Instant t) { return t.time_since_epoch().count(); }

  const clientid4 clientid_;
  std::atomic<Duration::rep> renewed_;
};

}  // namespace manifold::state
