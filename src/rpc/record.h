// ONC RPC record marking over TCP (RFC 5531 section 11): a push parser that turns a byte
// stream into whole records. It owns no socket, so tests and the fuzzer drive it directly.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "common/status.h"

namespace manifold::rpc {

inline constexpr uint32_t kLastFragmentBit = 0x80000000u;
// What a DirectBuffer offers at first. The record grows (zero-filled) by what it offers, so
// each offer is at most this or as much as the record already holds: a peer that announces a
// large record and sends little of it makes the server touch (keep resident) at most twice
// what it sent plus this, not the record_bytes_max it announced (the announced length is
// reserved, but its untouched pages take no memory).
inline constexpr size_t kDirectReadBytesFirst = 64u << 10;

class RecordParser {
 public:
  // A record (all fragments together) longer than `record_bytes_max` is a protocol error.
  explicit RecordParser(size_t record_bytes_max) : record_bytes_max_(record_bytes_max) {}

  // Consumes all of `in`. Returns an error (and stays failed) when a record exceeds the bound.
  Status Consume(std::span<const uint8_t> in);

  // While inside a fragment body, the caller may read socket bytes straight into this span
  // (the rest of the current fragment, or as much of it as kDirectReadBytesFirst allows) and
  // report them with CommitDirect, skipping a copy.
  std::span<uint8_t> DirectBuffer();
  void CommitDirect(size_t n);
  size_t body_remaining() const { return in_body_ ? fragment_remaining_ : 0; }

  bool Pop(std::vector<uint8_t>& record);
  size_t ready_count() const { return ready_.size(); }
  bool failed() const { return failed_; }

 private:
  void FinishFragmentIfDone();

  size_t record_bytes_max_;
  bool failed_ = false;
  bool in_body_ = false;
  bool last_fragment_ = false;
  uint8_t header_[4] = {};
  size_t header_have_ = 0;
  size_t fragment_remaining_ = 0;
  std::vector<uint8_t> record_;
  size_t direct_at_ = 0;
  size_t direct_offered_ = 0;  // the size of the last DirectBuffer, until CommitDirect
  std::deque<std::vector<uint8_t>> ready_;
};

// Prefixes `record` with a single last-fragment record mark, in place (reserves 4 bytes at
// the front: callers build replies starting at offset kRecordMarkBytes). `tail_bytes` more
// bytes of the record follow the buffer on the wire (a ReplyTail).
inline constexpr size_t kRecordMarkBytes = 4;
void WriteRecordMark(std::vector<uint8_t>& buffer_with_mark_space, size_t tail_bytes = 0);

}  // namespace manifold::rpc
