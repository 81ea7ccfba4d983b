// Calls from the MDS to a client on the client's own connection (RFC 8881 2.10.3.1, 20):
// CB_COMPOUND with CB_SEQUENCE first. Connections that compounds arrive on are remembered (by
// the id the state module knows them by) so a callback can find a live back connection; replies
// come back through the connection's reply sink and are matched by xid.
//
// After CREATE_SESSION with a back channel the MDS probes it with a CB_SEQUENCE (DESIGN.md 11:
// check the backchannel before relying on it); a probe that gets no answer within
// callback_timeout marks the session's back channel down, and SEQUENCE then reports
// SEQ4_STATUS_CB_PATH_DOWN.
//
// It is also the state module's RecallSink: a delegation recall is queued and sent by its own
// thread as CB_SEQUENCE + CB_RECALL (RFC 8881 20.2), so the compound that found the conflict
// never waits for the client. A recall that cannot be sent is not retried forever: the state
// module revokes a delegation not returned within a lease. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <optional>
#include <span>
#include <string>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"
#include "nfs4/attrs.h"
#include "rpc/connection.h"
#include "state/state_manager.h"

namespace manifold::nfs4 {

inline constexpr std::chrono::milliseconds kCallbackTimeout{5000};
// Probes waiting to be sent; more are dropped (the path stays unverified, not wrong).
inline constexpr size_t kProbeQueueMax = 1024;
// Recalls waiting to be sent; more are dropped (and revoked after a lease, as unanswered).
inline constexpr size_t kRecallQueueMax = 65536;
// Connections remembered for callbacks; dead ones are pruned on each insert past this.
inline constexpr size_t kConnectionsRememberedMax = 65536;

struct CallbackStats {
  uint64_t probes_sent = 0;
  uint64_t probes_answered = 0;
  uint64_t probes_failed = 0;
  uint64_t recalls_sent = 0;
  uint64_t recalls_answered = 0;  // the client answered CB_RECALL with NFS4_OK
  uint64_t recalls_failed = 0;    // no back channel, no answer, or an error status
  uint64_t recalls_dropped = 0;   // the queue was full
  uint64_t getattrs_sent = 0;     // CB_GETATTR to a write delegation's holder
  uint64_t getattrs_answered = 0;
};

class Backchannel final : public state::RecallSink {
 public:
  // The filehandle of a file by fileid, for CB_RECALL; nullopt when the file is gone.
  using HandleOf = std::function<std::optional<std::string>(uint64_t fileid)>;

  Backchannel(state::StateManager& state, HandleOf handle_of,
              std::chrono::milliseconds callback_timeout = kCallbackTimeout);
  ~Backchannel() override;

  // Remembers the connection a compound came on; the state module refers to it by this id.
  static uint64_t IdOf(const rpc::Connection* conn) { return reinterpret_cast<uintptr_t>(conn); }
  void NoteConnection(const std::shared_ptr<rpc::Connection>& conn);
  // Queues a CB_SEQUENCE probe of the client's back channel (after CREATE_SESSION), and
  // remembers the minor version of its session: CB_COMPOUND must carry the same one
  // (RFC 8881 20.2.3; the Linux client matches it).
  void Probe(uint64_t clientid, uint32_t minorversion);
  // Sends CB_COMPOUND [CB_SEQUENCE] to the client and waits for the answer: the CB_COMPOUND
  // status, or an error when there is no back channel or no answer within the timeout.
  Result<nfsstat4> CbSequence(uint64_t clientid) { return CbCompound(clientid, {}); }
  CallbackStats stats();

  // RFC 8881 10.4.3, 20.1: asks the holder of a write delegation for the file's change and
  // size, and waits for the answer (at most the callback timeout).
  Result<DelegatedAttrs> CbGetattr(clientid4 clientid, std::span<const uint8_t> fh);

  // state::RecallSink: called with no state lock held; queues and returns.
  void RecallDelegation(clientid4 clientid, uint64_t fileid, const stateid4& stateid,
                        open_delegation_type4 type) override;
  // Layouts are not granted before the layout work (DESIGN.md 4): nothing can be recalled.
  void RecallLayout(clientid4 clientid, uint64_t fileid, const stateid4& stateid,
                    layouttype4 type) override;

 private:
  struct Recall {
    clientid4 clientid = 0;
    uint64_t fileid = 0;
    stateid4 stateid{};
  };
  // CB_COMPOUND [CB_SEQUENCE, ops...]: the CB_COMPOUND status, or an error when there is no
  // back channel, no free callback slot within the timeout, or no answer.
  Result<nfsstat4> CbCompound(uint64_t clientid, std::span<nfs_cb_argop4> ops);
  // The same, returning the CB_COMPOUND4res bytes.
  Result<std::vector<uint8_t>> CbCall(uint64_t clientid, std::span<nfs_cb_argop4> ops);
  void OnReply(std::vector<uint8_t> record);
  void ProbeLoop();
  void RecallLoop();
  void SendRecall(const Recall& r);

  state::StateManager& state_;
  const HandleOf handle_of_;
  const std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::map<uint64_t, std::weak_ptr<rpc::Connection>> conns_;            // guarded by mu_
  std::map<uint32_t, std::promise<std::vector<uint8_t>>> pending_;      // guarded by mu_
  std::deque<uint64_t> probes_;                                         // guarded by mu_
  std::deque<Recall> recalls_;                                          // guarded by mu_
  std::map<uint64_t, uint32_t> minorversions_;  // by clientid; bounded by the client table  // guarded by mu_
  uint32_t next_xid_ = 0;                                               // guarded by mu_
  CallbackStats stats_;                                                 // guarded by mu_
  bool stop_ = false;                                                   // guarded by mu_
  std::condition_variable cv_;
  std::condition_variable recall_cv_;
  std::thread prober_;
  std::thread recaller_;
};

}  // namespace manifold::nfs4
