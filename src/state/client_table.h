// Client IDs (RFC 8881 2.4, 18.35 EXCHANGE_ID, 18.36 CREATE_SESSION, 18.50 DESTROY_CLIENTID):
// the records EXCHANGE_ID creates, confirmed or not, indexed by client ID and by co_ownerid.
// A data structure only: the case table of 18.35.4 and confirmation live in StateManager,
// which needs the session and file tables too.
//
// Thread safety: guarded by mu(); every method requires it held.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "state/client_live.h"
#include "state/limits.h"
#include "state/types.h"

namespace manifold::state {

// The reply of a CREATE_SESSION, kept per client for replays (18.36.4).
struct CreateSessionReply {
  CreateSessionReply() = default;
  CreateSessionReply(nfsstat4 s) : status(s) {}  // NOLINT: implicit by design
  nfsstat4 status = NFS4_OK;
  CREATE_SESSION4resok resok{};  // ca_rdma_ird empty in both channel attributes
};

// One client ID: a "client record" in 18.35.4's terms.
struct Client {
  clientid4 clientid = 0;
  std::string owner;  // co_ownerid
  Verifier verifier{};
  std::string principal;
  bool confirmed = false;
  uint32_t eir_flags = 0;
  // The CREATE_SESSION sequence (18.36.4): the csa_sequence of the last CREATE_SESSION executed
  // and its reply. EXCHANGE_ID answers eir_sequenceid = cs_sequence_last + 1.
  sequenceid4 cs_sequence_last = 0;
  bool cs_reply_valid = false;
  CreateSessionReply cs_reply;
  std::shared_ptr<ClientLive> live;
};

class ClientTable {
 public:
  ClientTable(uint32_t boot_epoch, const StateLimits& limits);

  std::mutex& mu() { return mu_; }

  // A new unconfirmed client ID. Fails with kClientsMaxStatus when the table is full, or
  // kClientIdsExhaustedStatus when this boot has used every client ID.
  nfsstat4 Create(std::string_view owner, const Verifier& verifier, std::string_view principal,
                  Instant now, Client** out);
  Client* Find(clientid4 clientid);
  Client* FindConfirmed(std::string_view owner);
  Client* FindUnconfirmed(std::string_view owner);
  void Confirm(Client& client);
  void Remove(clientid4 clientid);

  // True when `clientid` was issued by another server instance (18.36.4, 18.50.4:
  // NFS4ERR_STALE_CLIENTID).
  bool IsFromOtherInstance(clientid4 clientid) const { return (clientid >> 32) != boot_epoch_; }

  size_t size() const { return clients_.size(); }
  std::vector<Client*> All();

 private:
  struct OwnerSlots {
    clientid4 confirmed = 0;  // 0: none (client IDs are never 0: the epoch is not 0)
    clientid4 unconfirmed = 0;
  };

  std::mutex mu_;
  const uint32_t boot_epoch_;
  const StateLimits limits_;
  uint32_t next_serial_ = 1;
  std::unordered_map<clientid4, std::unique_ptr<Client>> clients_;
  std::map<std::string, OwnerSlots, std::less<>> by_owner_;
};

}  // namespace manifold::state
