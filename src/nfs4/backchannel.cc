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
// The back channel's slots may all be busy (Linux offers one); wait this long between tries,
// up to the callback timeout.
constexpr std::chrono::milliseconds kSlotRetryInterval{10};

rpc::Credential CallbackCred(const state::CallbackSec& sec) {
  rpc::Credential c;
  if (sec.cb_secflavor == uint32_t(rpc::AuthFlavor::kSys)) {
    c = rpc::AuthSysCred(sec.uid, sec.gid, sec.gids, sec.machine_name);
  }
  return c;
}

}  // namespace

Backchannel::Backchannel(state::StateManager& state, HandleOf handle_of,
                         std::chrono::milliseconds callback_timeout)
    : state_(state), handle_of_(std::move(handle_of)), timeout_(callback_timeout) {
  next_xid_ = std::random_device{}();
  prober_ = std::thread([this] { ProbeLoop(); });
  recaller_ = std::thread([this] { RecallLoop(); });
  state_.SetRecallSink(this);
}

Backchannel::~Backchannel() {
  state_.SetRecallSink(nullptr);
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  recall_cv_.notify_all();
  prober_.join();
  recaller_.join();
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

void Backchannel::RecallDelegation(clientid4 clientid, uint64_t fileid, const stateid4& stateid,
                                   open_delegation_type4 type) {
  std::lock_guard lock(mu_);
  if (recalls_.size() >= kRecallQueueMax) {
    stats_.recalls_dropped++;
    spdlog::warn("recall of a {} delegation of client {:#x} on file {} dropped: queue full",
                 type == OPEN_DELEGATE_WRITE ? "write" : "read", clientid, fileid);
    return;
  }
  recalls_.push_back({clientid, fileid, stateid});
  recall_cv_.notify_one();
}

void Backchannel::RecallLayout(clientid4 clientid, uint64_t fileid, const stateid4&, layouttype4) {
  spdlog::error("layout recall for client {:#x} on file {}: no layouts are granted", clientid,
                fileid);
}

void Backchannel::RecallLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    recall_cv_.wait(lock, [this] { return stop_ || !recalls_.empty(); });
    if (stop_) return;
    Recall r = recalls_.front();
    recalls_.pop_front();
    lock.unlock();
    SendRecall(r);
    lock.lock();
  }
}

// RFC 8881 20.2: CB_RECALL with the delegation stateid and the file's handle; truncate is
// false (the MDS never asks a client to drop cached data it wrote).
void Backchannel::SendRecall(const Recall& r) {
  std::optional<std::string> fh = handle_of_ ? handle_of_(r.fileid) : std::nullopt;
  if (!fh) {
    spdlog::warn("recall for client {:#x}: file {} is gone; the delegation lapses with a lease",
                 r.clientid, r.fileid);
    std::lock_guard lock(mu_);
    stats_.recalls_failed++;
    return;
  }
  nfs_cb_argop4 op;
  std::memset(&op, 0, sizeof(op));
  op.argop = OP_CB_RECALL;
  CB_RECALL4args& recall = op.nfs_cb_argop4_u.opcbrecall;
  recall.stateid = r.stateid;
  recall.truncate = false;
  recall.fh.nfs_fh4_len = static_cast<u_int>(fh->size());
  recall.fh.nfs_fh4_val = fh->data();
  {
    std::lock_guard lock(mu_);
    stats_.recalls_sent++;
  }
  auto answer = CbCompound(r.clientid, std::span<nfs_cb_argop4>(&op, 1));
  bool ok = answer.ok() && *answer == NFS4_OK;
  if (ok) {
    spdlog::info("CB_RECALL to client {:#x} for file {} answered NFS4_OK", r.clientid, r.fileid);
  } else {
    std::string why = answer.ok() ? std::string(state::Nfs4StatName(*answer))
                                  : std::string(answer.status().message());
    spdlog::warn("CB_RECALL to client {:#x} for file {}: {}", r.clientid, r.fileid, why);
  }
  std::lock_guard lock(mu_);
  (ok ? stats_.recalls_answered : stats_.recalls_failed)++;
}

Result<std::vector<uint8_t>> Backchannel::CbCall(uint64_t clientid, std::span<nfs_cb_argop4> ops) {
  auto route = state_.FindBackchannel(clientid);
  if (!route) return Status(Code::kUnavailable, "the client has no usable back channel");
  std::shared_ptr<rpc::Connection> conn;
  uint32_t minorversion = 1;
  {
    std::lock_guard lock(mu_);
    auto it = conns_.find(route->conn);
    if (it != conns_.end()) conn = it->second.lock();
    if (!conn) {
      state_.ReportBackchannelDown(route->sessionid);
      return Status(Code::kUnavailable, "the back connection is gone");
    }
    auto mv = minorversions_.find(clientid);
    minorversion = mv == minorversions_.end() ? 1 : mv->second;
    if (ops.empty()) stats_.probes_sent++;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  auto slot = state_.AcquireCallbackSlot(route->sessionid);
  while (!slot && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kSlotRetryInterval);
    slot = state_.AcquireCallbackSlot(route->sessionid);
  }
  if (!slot) return Status(Code::kUnavailable, "no free callback slot");
  uint32_t xid;
  std::future<std::vector<uint8_t>> reply;
  {
    std::lock_guard lock(mu_);
    xid = ++next_xid_;
    reply = pending_[xid].get_future();
  }
  std::vector<nfs_cb_argop4> argops(1 + ops.size());
  argops[0].argop = OP_CB_SEQUENCE;
  CB_SEQUENCE4args& seq = argops[0].nfs_cb_argop4_u.opcbsequence;
  std::memcpy(seq.csa_sessionid, route->sessionid.data(), NFS4_SESSIONID_SIZE);
  seq.csa_sequenceid = slot->sequenceid;
  seq.csa_slotid = slot->slotid;
  seq.csa_highest_slotid = slot->highest_slotid;
  std::copy(ops.begin(), ops.end(), argops.begin() + 1);
  CB_COMPOUND4args args;
  std::memset(&args, 0, sizeof(args));
  args.minorversion = minorversion;
  args.argarray.argarray_len = static_cast<u_int>(argops.size());
  args.argarray.argarray_val = argops.data();
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
    if (!encoded) return Status(Code::kInternal, "cannot encode CB_COMPOUND");
    state_.ReportBackchannelDown(route->sessionid);
    return Status(Code::kUnavailable, "no answer to CB_COMPOUND");
  }
  std::vector<uint8_t> record = reply.get();
  rpc::ReplyHeader header;
  std::span<const uint8_t> results;
  if (!rpc::ParseReply(record, header, results) || !header.accepted ||
      header.accept_stat != rpc::AcceptStat::kSuccess || results.size() < 4) {
    state_.ReportBackchannelDown(route->sessionid);
    return Status(Code::kUnavailable, "the client rejected the callback RPC");
  }
  return std::vector<uint8_t>(results.begin(), results.end());
}

Result<nfsstat4> Backchannel::CbCompound(uint64_t clientid, std::span<nfs_cb_argop4> ops) {
  auto results = CbCall(clientid, ops);
  if (!results.ok()) return results.status();
  return nfsstat4(rpc::GetU32(results->data()));  // CB_COMPOUND4res.status
}

Result<DelegatedAttrs> Backchannel::CbGetattr(clientid4 clientid, std::span<const uint8_t> fh) {
  static uint32_t words[1] = {(1u << FATTR4_CHANGE) | (1u << FATTR4_SIZE)};
  nfs_cb_argop4 op;
  std::memset(&op, 0, sizeof(op));
  op.argop = OP_CB_GETATTR;
  CB_GETATTR4args& a = op.nfs_cb_argop4_u.opcbgetattr;
  a.fh.nfs_fh4_len = static_cast<u_int>(fh.size());
  a.fh.nfs_fh4_val = reinterpret_cast<char*>(const_cast<uint8_t*>(fh.data()));
  a.attr_request = {1, words};
  {
    std::lock_guard lock(mu_);
    stats_.getattrs_sent++;
  }
  auto results = CbCall(clientid, std::span<nfs_cb_argop4>(&op, 1));
  if (!results.ok()) return results.status();
  rpc::XdrDecoded<CB_COMPOUND4res> res{xdrproc_t(xdr_CB_COMPOUND4res)};
  if (!res.Decode(*results)) return Status(Code::kInvalid, "CB_GETATTR: undecodable reply");
  if (res->status != NFS4_OK || res->resarray.resarray_len != 2 ||
      res->resarray.resarray_val[1].resop != OP_CB_GETATTR) {
    return Status(Code::kUnavailable, std::string("CB_GETATTR answered ") +
                                          state::Nfs4StatName(res->status));
  }
  const CB_GETATTR4res& got = res->resarray.resarray_val[1].nfs_cb_resop4_u.opcbgetattr;
  if (got.status != NFS4_OK) {
    return Status(Code::kUnavailable,
                  std::string("CB_GETATTR answered ") + state::Nfs4StatName(got.status));
  }
  DelegatedAttrs attrs;
  if (DecodeDelegatedAttrs(got.CB_GETATTR4res_u.resok4.obj_attributes, attrs) != NFS4_OK ||
      !attrs.change || !attrs.size_bytes) {
    return Status(Code::kInvalid, "CB_GETATTR: no change and size in the reply");
  }
  std::lock_guard lock(mu_);
  stats_.getattrs_answered++;
  return attrs;
}

CallbackStats Backchannel::stats() {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace manifold::nfs4
