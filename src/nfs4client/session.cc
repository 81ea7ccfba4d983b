#include "nfs4client/session.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>

#include "nfs4client/names.h"

namespace manifold::nfs4client {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

// Distinguishes client objects of one process: each is its own NFSv4 client (RFC 8881 2.4).
std::atomic<uint64_t> g_clients{0};

std::string DefaultOwnerId() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return "manifold-nfs4client/" + std::string(host) + "/" + std::to_string(getpid()) + "/" +
         std::to_string(++g_clients);
}

Verifier RandomVerifier() {
  std::random_device rd;
  Verifier v;
  for (auto& b : v) b = uint8_t(rd());
  return v;
}

}  // namespace

Nfs4Client::Nfs4Client(ClientOptions options)
    : options_(std::move(options)),
      cred_(rpc::AuthSysCred(options_.uid, options_.gid, options_.gids, options_.machine_name)),
      open_owner_("open-owner-" + std::to_string(++g_clients)) {
  if (options_.owner_id.empty()) options_.owner_id = DefaultOwnerId();
}

Result<std::unique_ptr<Nfs4Client>> Nfs4Client::Connect(const std::string& host, uint16_t port,
                                                        ClientOptions options) {
  if (options.minor_version != 1 && options.minor_version != 2) {
    return Status(Code::kInvalid, "minor_version must be 1 or 2");
  }
  std::unique_ptr<Nfs4Client> c(new Nfs4Client(std::move(options)));
  auto t = Transport::Connect(host, port, c->options_.response_bytes_max + 65536);
  if (!t.ok()) return t.status();
  c->transport_ = std::move(*t);
  if (c->options_.backchannel) {
    c->backchannel_ = std::make_unique<Backchannel>(
        NFS4_CALLBACK, [p = c.get()](const nfs_cb_argop4& op) { return p->OnCallback(op); });
    // Installed before CREATE_SESSION: a server may probe the backchannel (CB_NULL) at once.
    c->transport_->SetCallHandler(
        [b = c->backchannel_.get()](std::span<const uint8_t> record) { return b->Serve(record); });
  }
  for (Status s : {c->ExchangeId(), c->CreateSession(), c->AfterSession()}) {
    if (!s.ok()) return s;
  }
  if (c->options_.renew_lease) c->renewer_ = std::thread([p = c.get()] { p->RenewLoop(); });
  return c;
}

Nfs4Client::~Nfs4Client() { (void)Destroy(); }

Status Nfs4Client::ExchangeId() {
  ExchangeIdArgs a;
  a.owner_id = options_.owner_id;
  a.verifier = RandomVerifier();
  a.flags = options_.exchange_id_flags;
  CompoundBuilder c("exchange_id");
  c.ExchangeId(a);
  auto r = RunWithoutSequence(c);
  if (!r.ok()) return r.status();
  const EXCHANGE_ID4resok* ok = r->ExchangeId();
  if (!ok) return CompoundStatus(*r, "EXCHANGE_ID");
  clientid_ = ok->eir_clientid;
  eir_sequenceid_ = ok->eir_sequenceid;
  eir_flags_ = ok->eir_flags;
  return Status::Ok();
}

Status Nfs4Client::CreateSession() {
  CreateSessionArgs a;
  a.clientid = clientid_;
  a.sequence = eir_sequenceid_;
  a.flags = options_.backchannel ? CREATE_SESSION4_FLAG_CONN_BACK_CHAN : 0;
  uint32_t slots = std::clamp<uint32_t>(options_.slots, 1, kSlotsMax);
  a.fore = {0,    options_.request_bytes_max, options_.response_bytes_max,
            8192, uint32_t(kCompoundOpsMax),  slots};
  a.back = {0, 16384, 4096, 0, kBackOpsMax, kBackSlots};
  a.cb_sys_uid_gid = std::pair(options_.uid, options_.gid);
  a.cb_machine_name = options_.machine_name;
  CompoundBuilder c("create_session");
  c.CreateSession(a);
  auto r = RunWithoutSequence(c);
  if (!r.ok()) return r.status();
  const CREATE_SESSION4resok* ok = r->CreateSession();
  if (!ok) return CompoundStatus(*r, "CREATE_SESSION");
  std::memcpy(sessionid_.data(), ok->csr_sessionid, sessionid_.size());
  const channel_attrs4& f = ok->csr_fore_chan_attrs;
  fore_ = {f.ca_headerpadsize,          f.ca_maxrequestsize, f.ca_maxresponsesize,
           f.ca_maxresponsesize_cached, f.ca_maxoperations,  f.ca_maxrequests};
  slots_ = std::make_unique<SlotTable>(std::min(slots, f.ca_maxrequests));
  backchannel_granted_ = (ok->csr_flags & CREATE_SESSION4_FLAG_CONN_BACK_CHAN) != 0;
  if (backchannel_) backchannel_->SetSession(sessionid_);
  return Status::Ok();
}

// RFC 8881 18.51.3: a client that has nothing to reclaim says so at once, or its non-reclaim
// OPENs fail with NFS4ERR_GRACE for the whole grace period.
Status Nfs4Client::AfterSession() {
  if (options_.reclaim_complete) {
    CompoundBuilder rc("reclaim_complete");
    rc.ReclaimComplete(false);
    auto r = Run(rc);
    if (!r.ok()) return r.status();
    if (!r->ok() && r->status() != NFS4ERR_COMPLETE_ALREADY) {
      return CompoundStatus(*r, "RECLAIM_COMPLETE");
    }
  }
  CompoundBuilder lease("lease_time");
  lease.PutRootFh().GetAttr(MakeBitmap({FATTR4_LEASE_TIME}));
  auto l = Run(lease);
  if (!l.ok()) return l.status();
  auto attrs = l->Attributes();
  if (!attrs || !attrs->lease_time) return CompoundStatus(*l, "GETATTR lease_time");
  lease_time_s_ = std::max<uint32_t>(*attrs->lease_time, 1);
  return Status::Ok();
}

Status Nfs4Client::Destroy() {
  {
    std::lock_guard lock(mu_);
    if (destroyed_) return Status::Ok();
    destroyed_ = true;
    stopping_ = true;
  }
  wake_.notify_all();
  if (renewer_.joinable()) renewer_.join();
  if (!transport_ || !slots_ || !transport_->connected()) return Status::Ok();
  CompoundBuilder ds("destroy_session");
  ds.DestroySession(sessionid_);
  auto r = RunWithoutSequence(ds);
  if (!r.ok()) return r.status();
  if (!r->ok()) return CompoundStatus(*r, "DESTROY_SESSION");
  CompoundBuilder dc("destroy_clientid");
  dc.DestroyClientid(clientid_);
  r = RunWithoutSequence(dc);
  if (!r.ok()) return r.status();
  if (!r->ok()) return CompoundStatus(*r, "DESTROY_CLIENTID");
  return Status::Ok();
}

// ---- running compounds ----------------------------------------------------------------------

Result<CompoundResult> Nfs4Client::Call(const std::vector<uint8_t>& args) {
  auto reply =
      transport_->Call(NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND, cred_, args, options_.rpc_timeout);
  if (!reply.ok()) return reply.status();
  const rpc::ReplyHeader& h = reply->header;
  if (!h.accepted) {
    return Status(Code::kPermission, h.reject_stat == 0
                                         ? "RPC_MISMATCH"
                                         : "AUTH_ERROR " + std::to_string(h.auth_stat));
  }
  if (h.accept_stat != rpc::AcceptStat::kSuccess) {
    return Status(Code::kInvalid, std::string("COMPOUND: ") + rpc::AcceptStatName(h.accept_stat));
  }
  return CompoundResult::Decode(reply->results());
}

Result<CompoundResult> Nfs4Client::RunWithoutSequence(const CompoundBuilder& c) {
  std::vector<uint8_t> args;
  if (Status s = c.Encode(args, options_.minor_version); !s.ok()) return s;
  return Call(args);
}

Result<CompoundResult> Nfs4Client::RunOnce(const CompoundBuilder& c) {
  if (!slots_) return Status(Code::kUnavailable, "no session");
  auto ticket = slots_->Acquire(options_.rpc_timeout);
  if (!ticket.ok()) return ticket.status();
  CompoundBuilder seq;
  seq.Sequence(sessionid_, ticket->seqid, ticket->slot, ticket->highest_slot);
  std::vector<uint8_t> args;
  if (Status s = c.Encode(args, options_.minor_version, &seq.at(0)); !s.ok()) {
    slots_->Release(ticket->slot, SlotTable::Outcome::kNotSeen);
    return s;
  }
  auto r = Call(args);
  SlotTable::Outcome outcome = SlotTable::Outcome::kLost;  // no reply we could read
  if (r.ok()) {
    bool seq_ok = r->size() > 0 && r->op(0) == OP_SEQUENCE && r->op_status(0) == NFS4_OK;
    outcome = seq_ok ? SlotTable::Outcome::kDone : SlotTable::Outcome::kNotSeen;
    NoteSequence(*r);
  } else if (r.status().code() == Code::kInvalid || r.status().code() == Code::kPermission) {
    outcome = SlotTable::Outcome::kNotSeen;  // rejected at the RPC layer: SEQUENCE never ran
  }
  slots_->Release(ticket->slot, outcome);
  return r;
}

void Nfs4Client::NoteSequence(const CompoundResult& r) {
  const SEQUENCE4resok* ok = r.Sequence();
  if (!ok) return;
  slots_->SetTargetHighest(ok->sr_target_highest_slotid);
  std::lock_guard lock(mu_);
  last_reply_ = Clock::now();
  last_status_flags_ = ok->sr_status_flags;
}

bool Nfs4Client::ShouldRetry(const CompoundResult& r) const {
  nfsstat4 s = r.status();
  return s == NFS4ERR_DELAY || (options_.retry_grace && s == NFS4ERR_GRACE);
}

// RFC 8881 15.1.1.3: NFS4ERR_DELAY means "try again later". The whole compound is resent as a
// new request (the ops before the one that failed ran; the compounds the helpers build are
// safe to repeat; a test that cares sets retries_max = 0).
Result<CompoundResult> Nfs4Client::Run(const CompoundBuilder& c) {
  const auto start = Clock::now();
  milliseconds backoff = options_.backoff_initial;
  for (uint32_t attempt = 0;; attempt++) {
    auto r = RunOnce(c);
    if (!r.ok() || !ShouldRetry(*r) || attempt >= options_.retries_max ||
        Clock::now() - start + backoff > options_.retry_time_max) {
      return r;
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

// ---- background: lease renewal and delegation returns ---------------------------------------

std::optional<nfsstat4> Nfs4Client::OnCallback(const nfs_cb_argop4& op) {
  if (options_.callback_handler) {
    if (auto answer = options_.callback_handler(op)) return answer;
  }
  if (op.argop != OP_CB_RECALL) return std::nullopt;
  // RFC 8881 20.2.3: answer now, return the delegation later (DELEGRETURN needs the fore
  // channel, whose replies arrive on the thread this runs on).
  const CB_RECALL4args& a = op.nfs_cb_argop4_u.opcbrecall;
  auto* p = reinterpret_cast<const uint8_t*>(a.fh.nfs_fh4_val);
  {
    std::lock_guard lock(mu_);
    if (recalled_.size() >= kRecalledQueueMax) return NFS4_OK;
    recalled_.emplace_back(FileHandle(p, p + a.fh.nfs_fh4_len), a.stateid);
  }
  wake_.notify_all();
  return NFS4_OK;
}

void Nfs4Client::ReturnDelegations() {
  for (;;) {
    std::pair<FileHandle, stateid4> d;
    {
      std::lock_guard lock(mu_);
      if (recalled_.empty()) return;
      d = std::move(recalled_.front());
      recalled_.pop_front();
    }
    CompoundBuilder c("delegreturn");
    c.PutFh(d.first).DelegReturn(d.second);
    auto r = Run(c);
    std::lock_guard lock(mu_);
    if (r.ok() && r->ok()) delegations_returned_++;
  }
}

void Nfs4Client::RenewLoop() {
  // RFC 8881 8.3: any SEQUENCE renews the lease; renew after a third of it idle.
  const milliseconds interval =
      std::max<milliseconds>(milliseconds(lease_time_s_ * 1000 / 3), milliseconds(500));
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, interval / 4, [&] { return stopping_ || !recalled_.empty(); });
    if (stopping_) break;
    bool idle = Clock::now() - last_reply_ >= interval;
    lock.unlock();
    ReturnDelegations();
    if (idle) {
      CompoundBuilder renew("renew");
      auto r = Run(renew);
      std::lock_guard l(mu_);
      if (r.ok()) renewals_++;
    }
    lock.lock();
  }
}

// ---- facts ----------------------------------------------------------------------------------

uint32_t Nfs4Client::last_status_flags() const {
  std::lock_guard lock(mu_);
  return last_status_flags_;
}

uint64_t Nfs4Client::renewals() const {
  std::lock_guard lock(mu_);
  return renewals_;
}

uint64_t Nfs4Client::delegations_returned() const {
  std::lock_guard lock(mu_);
  return delegations_returned_;
}

CallbackCounts Nfs4Client::callbacks() const {
  return backchannel_ ? backchannel_->counts() : CallbackCounts{};
}

StateOwner Nfs4Client::NewLockOwner() {
  std::lock_guard lock(mu_);
  return {clientid_, open_owner_ + "-lock-" + std::to_string(++lock_owners_)};
}

}  // namespace manifold::nfs4client
