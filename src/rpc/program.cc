#include "rpc/program.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>
#include <future>

#include "rpc/record.h"

namespace manifold::rpc {

void* Arena::Alloc(size_t bytes) {
  constexpr size_t kAlign = alignof(std::max_align_t);  // what operator new[] gives a block
  bytes = (std::max<size_t>(bytes, 1) + kAlign - 1) & ~(kAlign - 1);
  if (bytes > kSharedBytesMax) {
    blocks_.push_back(std::make_unique_for_overwrite<uint8_t[]>(bytes));
    return blocks_.back().get();
  }
  if (bytes > left_) {
    blocks_.push_back(std::make_unique_for_overwrite<uint8_t[]>(kBlockBytes));
    next_ = blocks_.back().get();
    left_ = kBlockBytes;
  }
  void* p = next_;
  next_ += bytes;
  left_ -= bytes;
  return p;
}

char* Arena::CopyString(std::string_view s) {
  char* p = static_cast<char*>(Alloc(s.size() + 1));
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

void Dispatcher::Add(std::shared_ptr<Program> program) {
  programs_[program->number()] = std::move(program);
}

void Dispatcher::QuiesceGates() const {
  for (const auto& [number, program] : programs_) {
    if (ReplyGate* gate = program->reply_gate()) gate->Quiesce();
  }
}

bool Dispatcher::RunsInline(std::span<const uint8_t> record) const {
  CallHeader header;
  std::span<const uint8_t> args;
  if (ParseCall(record, header, args) != ParseOutcome::kOk) return false;
  auto it = programs_.find(header.prog);
  if (it == programs_.end()) return false;
  const Program& program = *it->second;
  return header.vers >= program.version_low() && header.vers <= program.version_high() &&
         program.RunsInline(header, args);
}

std::optional<std::vector<uint8_t>> Dispatcher::Dispatch(
    std::span<const uint8_t> record, const std::string& peer,
    std::shared_ptr<Connection> connection) const {
  auto reply = DispatchReply(record, peer, std::move(connection));
  if (!reply) return std::nullopt;
  if (reply->gate && !reply->gate->IsDurable(reply->gate_mark)) {
    std::promise<bool> passed;
    reply->gate->WhenDurable(reply->gate_mark, [&passed](bool ok) { passed.set_value(ok); });
    if (!passed.get_future().get()) return std::nullopt;
  }
  std::vector<uint8_t> out = std::move(reply->head);
  out.insert(out.end(), reply->tail.bytes.get(), reply->tail.bytes.get() + reply->tail.size);
  return out;
}

std::optional<Reply> Dispatcher::DispatchReply(std::span<const uint8_t> record,
                                               const std::string& peer,
                                               std::shared_ptr<Connection> connection,
                                               bool on_io_thread) const {
  CallHeader header;
  std::span<const uint8_t> args;
  Reply reply;
  std::vector<uint8_t>& out = reply.head;
  out.resize(kRecordMarkBytes);
  switch (ParseCall(record, header, args)) {
    case ParseOutcome::kGarbage:
      spdlog::warn("rpc {}: record of {} bytes is not an RPC call header; dropped", peer,
                   record.size());
      return std::nullopt;
    case ParseOutcome::kNotACall:
      return std::nullopt;
    case ParseOutcome::kRpcMismatch:
      AppendRpcMismatch(out, header.xid);
      WriteRecordMark(out);
      return reply;
    case ParseOutcome::kBadCred:
      spdlog::warn("rpc {} xid {:#x}: bad or unsupported credential", peer, header.xid);
      AppendAuthError(out, header.xid, AuthStat::kBadCred);
      WriteRecordMark(out);
      return reply;
    case ParseOutcome::kOk:
      break;
  }
  auto it = programs_.find(header.prog);
  if (it == programs_.end()) {
    AppendAcceptedReply(out, header.xid, AcceptStat::kProgUnavail);
    WriteRecordMark(out);
    return reply;
  }
  Program& program = *it->second;
  if (header.vers < program.version_low() || header.vers > program.version_high()) {
    AppendProgMismatch(out, header.xid, program.version_low(), program.version_high());
    WriteRecordMark(out);
    return reply;
  }
  AppendAcceptedReply(out, header.xid, AcceptStat::kSuccess);
  bool wait_for_gate = true;
  uint64_t gate_mark = kGateMarkNow;
  CallContext ctx{header,         peer,           std::move(connection), &reply.tail,
                  on_io_thread,   &wait_for_gate, &gate_mark};
  AcceptStat stat = program.Call(ctx, args, out);
  if (stat != AcceptStat::kSuccess) {
    if (stat == AcceptStat::kGarbageArgs) {
      spdlog::warn("rpc {} xid {:#x}: prog {} vers {} proc {}: garbage arguments", peer,
                   header.xid, header.prog, header.vers, header.proc);
    }
    out.resize(kRecordMarkBytes);
    AppendAcceptedReply(out, header.xid, stat);
    reply.tail = ReplyTail{};
  }
  WriteRecordMark(out, reply.tail.size);
  ReplyGate* gate = program.reply_gate();
  if (gate != nullptr && (wait_for_gate || stat != AcceptStat::kSuccess)) {
    reply.gate = gate;
    reply.gate_mark =
        stat == AcceptStat::kSuccess && gate_mark != kGateMarkNow ? gate_mark : gate->Mark();
  }
  return reply;
}

}  // namespace manifold::rpc
