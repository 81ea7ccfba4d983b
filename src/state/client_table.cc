#include "state/client_table.h"

#include "common/check.h"

namespace manifold::state {

ClientTable::ClientTable(uint32_t boot_epoch, const StateLimits& limits)
    : boot_epoch_(boot_epoch), limits_(limits) {}

// client ID = boot epoch (high 32 bits) | serial of this boot (low 32 bits, from 1).
nfsstat4 ClientTable::Create(std::string_view owner, const Verifier& verifier,
                             std::string_view principal, Instant now, Client** out) {
  if (clients_.size() >= limits_.clients_max) return kClientsMaxStatus;
  if (next_serial_ == 0) return kClientIdsExhaustedStatus;  // wrapped: every ID used
  auto c = std::make_unique<Client>();
  c->clientid = (static_cast<uint64_t>(boot_epoch_) << 32) | next_serial_++;
  c->owner = std::string(owner);
  c->verifier = verifier;
  c->principal = std::string(principal);
  c->live = std::make_shared<ClientLive>(c->clientid, now);
  OwnerSlots& slots = by_owner_[c->owner];
  MANIFOLD_CHECK(slots.unconfirmed == 0);  // the caller replaces an old one first
  slots.unconfirmed = c->clientid;
  *out = c.get();
  clients_.emplace(c->clientid, std::move(c));
  return NFS4_OK;
}

Client* ClientTable::Find(clientid4 clientid) {
  auto it = clients_.find(clientid);
  return it == clients_.end() ? nullptr : it->second.get();
}

Client* ClientTable::FindConfirmed(std::string_view owner) {
  auto it = by_owner_.find(owner);
  return it == by_owner_.end() || it->second.confirmed == 0 ? nullptr : Find(it->second.confirmed);
}

Client* ClientTable::FindUnconfirmed(std::string_view owner) {
  auto it = by_owner_.find(owner);
  return it == by_owner_.end() || it->second.unconfirmed == 0 ? nullptr
                                                              : Find(it->second.unconfirmed);
}

void ClientTable::Confirm(Client& client) {
  OwnerSlots& slots = by_owner_[client.owner];
  MANIFOLD_CHECK(slots.unconfirmed == client.clientid && slots.confirmed == 0);
  slots.unconfirmed = 0;
  slots.confirmed = client.clientid;
  client.confirmed = true;
}

void ClientTable::Remove(clientid4 clientid) {
  auto it = clients_.find(clientid);
  if (it == clients_.end()) return;
  auto o = by_owner_.find(it->second->owner);
  MANIFOLD_CHECK(o != by_owner_.end());
  if (o->second.confirmed == clientid) o->second.confirmed = 0;
  if (o->second.unconfirmed == clientid) o->second.unconfirmed = 0;
  if (o->second.confirmed == 0 && o->second.unconfirmed == 0) by_owner_.erase(o);
  clients_.erase(it);
}

std::vector<Client*> ClientTable::All() {
  std::vector<Client*> out;
  out.reserve(clients_.size());
  for (auto& [id, c] : clients_) out.push_back(c.get());
  return out;
}

}  // namespace manifold::state
