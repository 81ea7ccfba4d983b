// RPC programs and dispatch. A Program answers one program number over a range of versions;
// the Dispatcher turns a whole call record into a whole reply record (or nothing, for a
// record that is not a call and cannot be answered). Dispatch runs on a worker thread.
#pragma once

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "rpc/message.h"
#include "rpc/xdr_codec.h"

namespace manifold::rpc {

class Connection;
class CallAdmission;

// A call's place under the server's bound on calls in progress (ServerOptions::
// calls_in_progress_max): taken when the call is read, given back when this goes, with the
// call if it has no reply, else with the reply once it is sent or dropped. Move-only.
class CallSlot {
 public:
  CallSlot() = default;
  explicit CallSlot(CallAdmission* admission);
  CallSlot(CallSlot&& other) noexcept : admission_(std::exchange(other.admission_, nullptr)) {}
  CallSlot& operator=(CallSlot&& other) noexcept;
  CallSlot(const CallSlot&) = delete;
  CallSlot& operator=(const CallSlot&) = delete;
  ~CallSlot() { Release(); }

 private:
  void Release();
  CallAdmission* admission_ = nullptr;
};

// Bulk data that goes on the wire right after a procedure's encoded results (READ's file
// data), kept out of the results vector: growing that vector would zero-fill the data's room
// first, and the reply would be copied once more.
struct ReplyTail {
  std::unique_ptr<uint8_t[]> bytes;  // allocated without initialisation
  size_t size = 0;                   // bytes to send, XDR padding included
};

// Holds replies back until the changes they may rest on are durable: for a program whose
// store makes a change visible before it is synced (the MDS's namespace with deferred
// durability), so that no client hears of a change, its own or another's, that a crash could
// still take back.
class ReplyGate {
 public:
  virtual ~ReplyGate() = default;
  // Covers every change visible now; taken when a reply is complete.
  virtual uint64_t Mark() = 0;
  virtual bool IsDurable(uint64_t mark) = 0;
  // Calls done(true) once everything up to `mark` is durable, done(false) if it cannot be
  // made so (the reply must then not be sent); on any thread.
  virtual void WhenDurable(uint64_t mark, std::function<void(bool)> done) = 0;
  // Returns once every `done` handed to WhenDurable before the call has run.
  virtual void Quiesce() = 0;
};

// A whole reply record: `head` starts with the record mark, which counts the tail too.
struct Reply {
  std::vector<uint8_t> head;
  ReplyTail tail;
  // Set when the reply must wait for `gate` to pass `gate_mark` before it is sent.
  ReplyGate* gate = nullptr;
  uint64_t gate_mark = 0;
  CallSlot slot;  // the call's, until the reply is sent or dropped
};

struct CallContext {
  const CallHeader& header;
  const std::string& peer;  // "address:port" of the caller, for logs and export rules
  // The connection the call came on (null in tests and the fuzzer). The MDS uses it for the
  // backchannel; procedure code must not assume it is set.
  std::shared_ptr<Connection> connection;
  // Where a procedure may put bulk data that follows its results on the wire. Left empty on
  // a failure (AcceptStat other than kSuccess), it is ignored.
  ReplyTail* tail = nullptr;
  // True when the call runs on the I/O thread that read it (Program::RunsInline): it must not
  // wait for anything that thread delivers, such as a reply on the backchannel.
  bool on_io_thread = false;
  // A procedure whose reply rests on no change its program's ReplyGate holds back sets this
  // false: the reply then goes at once. Null where there is no gate to skip.
  bool* wait_for_gate = nullptr;
  // A procedure that knows which changes its reply rests on sets this to a mark that covers
  // them (one its program's ReplyGate took or gave no later than now); left at kGateMarkNow,
  // the reply waits for the gate's Mark() taken after the call. Null where there is no gate.
  uint64_t* gate_mark = nullptr;
};

inline constexpr uint64_t kGateMarkNow = UINT64_MAX;

class Program {
 public:
  virtual ~Program() = default;
  virtual uint32_t number() const = 0;
  virtual uint32_t version_low() const = 0;
  virtual uint32_t version_high() const = 0;
  // Decodes `args`, runs the procedure and appends its encoded results to `out`.
  // Returns kProcUnavail / kGarbageArgs / kSystemErr without touching `out` on failure.
  virtual AcceptStat Call(const CallContext& ctx, std::span<const uint8_t> args,
                          std::vector<uint8_t>& out) = 0;
  // Calls that never block for long (no fsync, no wait for another peer, reads of cached
  // metadata only) may run on the I/O thread that read them, saving two thread hand-offs.
  // `args` are the call's undecoded arguments; a look at them must not change anything.
  virtual bool RunsInline(const CallHeader& header, std::span<const uint8_t> args) const {
    return false;
  }
  // Null: replies go out as soon as they are made.
  virtual ReplyGate* reply_gate() const { return nullptr; }
};

// Memory for a procedure's results that must live until they are encoded. rpcgen result
// structs hold raw pointers; handlers point them into an Arena, never into locals. Small
// allocations are cut from shared blocks (a READDIR reply makes four per entry).
class Arena {
 public:
  void* Alloc(size_t bytes);  // aligned for any fundamental type, not initialised
  template <typename T>
  T* Make() {
    auto* p = static_cast<T*>(Alloc(sizeof(T)));
    std::memset(static_cast<void*>(p), 0, sizeof(T));
    return p;
  }
  char* CopyString(std::string_view s);

 private:
  static constexpr size_t kBlockBytes = 4096;
  // Larger allocations get a block of their own (the current block keeps its room).
  static constexpr size_t kSharedBytesMax = kBlockBytes / 4;

  std::vector<std::unique_ptr<uint8_t[]>> blocks_;
  uint8_t* next_ = nullptr;  // the free part of the current shared block
  size_t left_ = 0;
};

// Runs one rpcgen-typed procedure: decode Args, call fn(args, res, arena), encode Res.
template <typename Args, typename Res, typename Fn>
AcceptStat RunXdrProc(std::span<const uint8_t> in, std::vector<uint8_t>& out, xdrproc_t xargs,
                      xdrproc_t xres, Fn&& fn) {
  XdrDecoded<Args> args(xargs);
  if (!args.Decode(in)) return AcceptStat::kGarbageArgs;
  Res res;
  std::memset(static_cast<void*>(&res), 0, sizeof(res));
  Arena arena;
  fn(*args, res, arena);
  if (!XdrEncode(out, xres, &res, kXdrBytesGuess)) return AcceptStat::kSystemErr;
  return AcceptStat::kSuccess;
}


class Dispatcher {
 public:
  void Add(std::shared_ptr<Program> program);
  // Returns the reply record including its record mark, or nullopt when the record gets no
  // reply (not a call, or too short to carry a call header). A reply with a gate must be held
  // until the gate passes its mark (Connection does; Dispatch waits).
  // `on_io_thread` says the call runs on the I/O thread that read it (RunsInline said yes).
  std::optional<Reply> DispatchReply(std::span<const uint8_t> record, const std::string& peer,
                                     std::shared_ptr<Connection> connection,
                                     bool on_io_thread = false) const;
  // The same reply as one contiguous record, once its gate has passed (tests and the fuzzer);
  // nullopt also when the gate cannot pass.
  std::optional<std::vector<uint8_t>> Dispatch(std::span<const uint8_t> record,
                                               const std::string& peer,
                                               std::shared_ptr<Connection> connection) const;
  // Returns once the gates of all programs have answered every held reply (Server::Stop, so
  // that nothing posts to its I/O threads after they are gone).
  void QuiesceGates() const;
  // Whether the call in `record` may run on the I/O thread (Program::RunsInline).
  bool RunsInline(std::span<const uint8_t> record) const;

 private:
  std::map<uint32_t, std::shared_ptr<Program>> programs_;
};

}  // namespace manifold::rpc
