#include "nfs4/backchannel.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <random>

#include "rpc/client.h"
#include "rpc/message.h"
#include "rpc/record.h"
#include "rpc/xdr_codec.h"
#include "state/status_names.h"

namespace manifold::nfs4 {

namespace {

// The NFSv4.1 callback program's version (RFC 8881 20: NFS_CB = 1).
constexpr uint32_t kCallbackVersion = NFS_CB;
// A just-created session: give the client a moment to take in the CREATE_SESSION reply.
constexpr std::chrono::milliseconds kProbeDelay{200};

rpc::Credential CallbackCred(const state::CallbackSec& sec) {
  rpc::Credential c;
  if (sec.cb_secflavor == uint32_t(rpc::AuthFlavor::kSys)) {
    c = rpc::AuthSysCred(sec.uid, sec.gid, sec.gids, sec.machine_name);
  }
  return c;
}

}  // namespace

Backchannel::Backchannel(state::StateManager& state, std::chrono::milliseconds callback_timeout)
    : state_(state), timeout_(callback_timeout) {
  next_xid_ = std::random_device{}();
  prober_ = std::thread([this] { ProbeLoop(); });
}

Backchannel::~Backchannel() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  prober_.join();
}

void Backchannel::NoteConnection(const std::shared_ptr<rpc::Connection>& conn) {
  if (!conn) return;
  uint64_t id = IdOf(conn.get());
  {
    std::lock_guard lock(mu_);
    if (conns_.count(id)) return;
    if (conns_.size() >= kConnectionsRememberedMax) {
      std::erase_if(conns_, [](const auto& kv) { return kv.second.expired(); });
    }
    conns_[id] = conn;
  }
  conn->SetReplySink([this](std::vector<uint8_t> record) { OnReply(std::move(record)); });
  conn->SetCloseHook([this, id] {
    state_.ConnectionClosed(id);
    std::lock_guard lock(mu_);
    conns_.erase(id);
  });
}

void Backchannel::OnReply(std::vector<uint8_t> record) {
  if (record.size() < 4) return;
  uint32_t xid = rpc::GetU32(record.data());
  std::lock_guard lock(mu_);
  auto it = pending_.find(xid);
  if (it == pending_.end()) return;  // late: the call already timed out
  it->second.set_value(std::move(record));
  pending_.erase(it);
}

void Backchannel::Probe(uint64_t clientid, uint32_t minorversion) {
  std::lock_guard lock(mu_);
  if (minorversions_.size() >= kConnectionsRememberedMax) minorversions_.clear();
  minorversions_[clientid] = minorversion;
  if (probes_.size() >= kProbeQueueMax) return;
  probes_.push_back(clientid);
  cv_.notify_one();
}

void Backchannel::ProbeLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !probes_.empty(); });
    if (stop_) return;
    uint64_t clientid = probes_.front();
    probes_.pop_front();
    lock.unlock();
    std::this_thread::sleep_for(kProbeDelay);
    auto r = CbSequence(clientid);
    if (r.ok()) {
      spdlog::info("backchannel of client {:#x}: CB_SEQUENCE answered {}", clientid,
                   state::Nfs4StatName(*r));
    } else {
      spdlog::info("backchannel of client {:#x} is down: {}", clientid, r.status().message());
    }
    lock.lock();
    (r.ok() ? stats_.probes_answered : stats_.probes_failed)++;
  }
}

Result<nfsstat4> Backchannel::CbSequence(uint64_t clientid) {
  auto route = state_.FindBackchannel(clientid);
  if (!route) return Status(Code::kUnavailable, "the client has no usable back channel");
  std::shared_ptr<rpc::Connection> conn;
  uint32_t xid;
  uint32_t minorversion = 1;
  std::future<std::vector<uint8_t>> reply;
  {
    std::lock_guard lock(mu_);
    auto it = conns_.find(route->conn);
    if (it != conns_.end()) conn = it->second.lock();
    if (!conn) {
      state_.ReportBackchannelDown(route->sessionid);
      return Status(Code::kUnavailable, "the back connection is gone");
    }
    xid = ++next_xid_;
    reply = pending_[xid].get_future();
    auto mv = minorversions_.find(clientid);
    minorversion = mv == minorversions_.end() ? 1 : mv->second;
    stats_.probes_sent++;
  }
  auto slot = state_.AcquireCallbackSlot(route->sessionid);
  if (!slot) {
    std::lock_guard lock(mu_);
    pending_.erase(xid);
    return Status(Code::kUnavailable, "no free callback slot");
  }
  nfs_cb_argop4 op;
  std::memset(&op, 0, sizeof(op));
  op.argop = OP_CB_SEQUENCE;
  CB_SEQUENCE4args& seq = op.nfs_cb_argop4_u.opcbsequence;
  std::memcpy(seq.csa_sessionid, route->sessionid.data(), NFS4_SESSIONID_SIZE);
  seq.csa_sequenceid = slot->sequenceid;
  seq.csa_slotid = slot->slotid;
  seq.csa_highest_slotid = slot->highest_slotid;
  CB_COMPOUND4args args;
  std::memset(&args, 0, sizeof(args));
  args.minorversion = minorversion;
  args.argarray.argarray_len = 1;
  args.argarray.argarray_val = &op;
  std::vector<uint8_t> call(rpc::kRecordMarkBytes);
  rpc::AppendCall(call, xid, route->cb_program, kCallbackVersion, CB_COMPOUND,
                  CallbackCred(route->sec));
  bool encoded = rpc::XdrEncode(call, xdrproc_t(xdr_CB_COMPOUND4args), &args);
  rpc::WriteRecordMark(call);
  if (encoded) conn->Send(std::move(call));
  bool answered = encoded && reply.wait_for(timeout_) == std::future_status::ready;
  state_.ReleaseCallbackSlot(route->sessionid, slot->slotid, answered);
  if (!answered) {
    std::lock_guard lock(mu_);
    pending_.erase(xid);
    state_.ReportBackchannelDown(route->sessionid);
    return Status(Code::kUnavailable, "no answer to CB_SEQUENCE");
  }
  std::vector<uint8_t> record = reply.get();
  rpc::ReplyHeader header;
  std::span<const uint8_t> results;
  if (!rpc::ParseReply(record, header, results) || !header.accepted ||
      header.accept_stat != rpc::AcceptStat::kSuccess || results.size() < 4) {
    state_.ReportBackchannelDown(route->sessionid);
    return Status(Code::kUnavailable, "the client rejected the callback RPC");
  }
  return nfsstat4(rpc::GetU32(results.data()));  // CB_COMPOUND4res.status
}

CallbackStats Backchannel::stats() {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace manifold::nfs4
