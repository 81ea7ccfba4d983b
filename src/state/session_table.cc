#include "state/session_table.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/check.h"

namespace manifold::state {
namespace {

template <typename V>
void EraseValue(std::vector<V>& v, const V& value) {
  v.erase(std::remove(v.begin(), v.end(), value), v.end());
}

}  // namespace

std::optional<CallbackSec> PickCallbackSec(const callback_sec_parms4* parms, u_int count) {
  for (u_int i = 0; i < count; ++i) {
    const callback_sec_parms4& p = parms[i];
    CallbackSec sec;
    sec.cb_secflavor = p.cb_secflavor;
    if (p.cb_secflavor == AUTH_NONE) return sec;
    if (p.cb_secflavor != AUTH_SYS) continue;
    const authsys_parms& sys = p.callback_sec_parms4_u.cbsp_sys_cred;
    if (sys.aup_machname != nullptr) sec.machine_name = sys.aup_machname;
    sec.uid = sys.aup_uid;
    sec.gid = sys.aup_gid;
    if (sys.aup_gids != nullptr) sec.gids.assign(sys.aup_gids, sys.aup_gids + sys.aup_len);
    return sec;
  }
  return std::nullopt;
}

size_t SessionIdHash::operator()(const SessionId& id) const {
  uint64_t a, b;
  std::memcpy(&a, id.data(), 8);
  std::memcpy(&b, id.data() + 8, 8);
  return std::hash<uint64_t>()(a * 0x9e3779b97f4a7c15ull ^ b);
}

SessionTable::SessionTable(uint32_t boot_epoch, const StateLimits& limits)
    : boot_epoch_(boot_epoch), limits_(limits) {}

// sessionid: boot epoch (4) | serial (8) | low half of the client ID (4). Unique per boot;
// never reused, so a lease of a destroyed session can never find a new one.
SessionId SessionTable::NewId(clientid4 clientid) {
  SessionId id{};
  uint64_t serial = next_serial_++;
  for (int i = 0; i < 4; ++i) id[i] = static_cast<uint8_t>(boot_epoch_ >> (24 - 8 * i));
  for (int i = 0; i < 8; ++i) id[4 + i] = static_cast<uint8_t>(serial >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) id[12 + i] = static_cast<uint8_t>(clientid >> (24 - 8 * i));
  return id;
}

Session* SessionTable::Create(std::shared_ptr<ClientLive> client, const ChannelAttrs& fore,
                              const ChannelAttrs& back) {
  MANIFOLD_CHECK(fore.ca_maxrequests >= 1);
  const uint64_t slot_bytes = fore.ca_maxresponsesize_cached;
  const uint64_t free_bytes = limits_.reply_cache_bytes_max - reply_cache_reserved_bytes_;
  uint64_t slots = fore.ca_maxrequests;
  if (slot_bytes > 0) slots = std::min<uint64_t>(slots, free_bytes / slot_bytes);
  if (slots == 0) return nullptr;

  auto s = std::make_unique<Session>();
  s->id = NewId(client->clientid());
  s->clientid = client->clientid();
  s->client = std::move(client);
  s->fore = fore;
  s->fore.ca_maxrequests = static_cast<uint32_t>(slots);
  s->back = back;
  s->slots.resize(slots);
  s->cb_slots.resize(back.ca_maxrequests);
  s->reply_cache_reserved_bytes = slots * slot_bytes;
  reply_cache_reserved_bytes_ += s->reply_cache_reserved_bytes;
  Session* raw = s.get();
  by_client_[raw->clientid].push_back(raw->id);
  sessions_.emplace(raw->id, std::move(s));
  return raw;
}

Session* SessionTable::Find(const SessionId& id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void SessionTable::Remove(const SessionId& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  for (const auto& [conn, dirs] : s.connections) {
    auto c = by_conn_.find(conn);
    if (c == by_conn_.end()) continue;
    EraseValue(c->second, id);
    if (c->second.empty()) by_conn_.erase(c);
  }
  auto bc = by_client_.find(s.clientid);
  if (bc != by_client_.end()) {
    EraseValue(bc->second, id);
    if (bc->second.empty()) by_client_.erase(bc);
  }
  MANIFOLD_CHECK(reply_cache_reserved_bytes_ >= s.reply_cache_reserved_bytes);
  reply_cache_reserved_bytes_ -= s.reply_cache_reserved_bytes;
  sessions_.erase(it);
}

std::vector<Session*> SessionTable::ForClient(clientid4 clientid) {
  std::vector<Session*> out;
  auto it = by_client_.find(clientid);
  if (it == by_client_.end()) return out;
  for (const SessionId& id : it->second) out.push_back(Find(id));
  return out;
}

size_t SessionTable::CountForClient(clientid4 clientid) const {
  auto it = by_client_.find(clientid);
  return it == by_client_.end() ? 0 : it->second.size();
}

bool SessionTable::Bind(Session& s, ConnectionId conn, uint32_t dirs) {
  auto it = s.connections.find(conn);
  if (it == s.connections.end()) {
    if (s.connections.size() >= limits_.connections_per_session_max) return false;
    it = s.connections.emplace(conn, 0).first;
    by_conn_[conn].push_back(s.id);
  }
  it->second |= dirs;
  // A newly bound back connection is a fresh path: forget an earlier failure.
  if (dirs & kConnBack) s.backchannel_down = false;
  return true;
}

void SessionTable::ConnectionClosed(ConnectionId conn) {
  auto it = by_conn_.find(conn);
  if (it == by_conn_.end()) return;
  for (const SessionId& id : it->second) {
    if (Session* s = Find(id)) s->connections.erase(conn);
  }
  by_conn_.erase(it);
}

bool SessionTable::BackchannelUsable(const Session& s) {
  if (s.backchannel_down || !s.cb_sec || s.cb_slots.empty()) return false;
  for (const auto& [conn, dirs] : s.connections) {
    if (dirs & kConnBack) return true;
  }
  return false;
}

bool SessionTable::ClientHasUsableBackchannel(clientid4 clientid) {
  for (Session* s : ForClient(clientid)) {
    if (BackchannelUsable(*s)) return true;
  }
  return false;
}

std::optional<BackchannelRoute> SessionTable::Route(clientid4 clientid) {
  for (Session* s : ForClient(clientid)) {
    if (!BackchannelUsable(*s)) continue;
    for (const auto& [conn, dirs] : s->connections) {
      if (!(dirs & kConnBack)) continue;
      return BackchannelRoute{s->id, conn, s->cb_program, *s->cb_sec, s->back};
    }
  }
  return std::nullopt;
}

// ---- SlotLease ----

SlotLease::SlotLease(SlotLease&& other) noexcept { *this = std::move(other); }

SlotLease& SlotLease::operator=(SlotLease&& other) noexcept {
  if (this == &other) return *this;
  if (table_ != nullptr) Finish(nullptr);
  table_ = std::exchange(other.table_, nullptr);
  clock_ = other.clock_;
  client_ = std::move(other.client_);
  sessionid_ = other.sessionid_;
  slotid_ = other.slotid_;
  seqid_ = other.seqid_;
  clientid_ = other.clientid_;
  cachethis_ = other.cachethis_;
  max_response_bytes_ = other.max_response_bytes_;
  max_cached_response_bytes_ = other.max_cached_response_bytes_;
  max_operations_ = other.max_operations_;
  resok_ = other.resok_;
  return *this;
}

SlotLease::~SlotLease() {
  if (table_ != nullptr) Finish(nullptr);
}

nfsstat4 SlotLease::CheckReplySize(uint64_t reply_bytes) const {
  if (reply_bytes > max_response_bytes_) return NFS4ERR_REP_TOO_BIG;
  if (cachethis_ && reply_bytes > max_cached_response_bytes_) return NFS4ERR_REP_TOO_BIG_TO_CACHE;
  return NFS4_OK;
}

void SlotLease::Complete(std::span<const uint8_t> compound_reply) {
  MANIFOLD_CHECK(table_ != nullptr);  // completing twice is a bug in the compound loop
  Finish(&compound_reply);
}

// Frees the slot; caches `reply` when given and it fits. The session may be gone
// (DESTROY_SESSION in this very compound, or the client expired): then nothing is left to do.
void SlotLease::Finish(std::span<const uint8_t>* reply) {
  SessionTable* table = std::exchange(table_, nullptr);
  std::lock_guard lock(table->mu());
  if (clock_ != nullptr && client_ != nullptr) client_->Renew(clock_->Now());
  Session* s = table->Find(sessionid_);
  if (s == nullptr || slotid_ >= s->slots.size()) return;
  Slot& slot = s->slots[slotid_];
  if (!slot.in_progress || slot.seqid != seqid_) return;
  slot.in_progress = false;
  s->slots_in_progress--;
  slot.cached = reply != nullptr && reply->size() <= max_cached_response_bytes_;
  slot.reply.clear();
  if (slot.cached) slot.reply.assign(reply->begin(), reply->end());
}

}  // namespace manifold::state
