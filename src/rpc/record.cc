#include "rpc/record.h"

#include <algorithm>
#include <cstring>

#include "common/check.h"
#include "rpc/xdr_codec.h"

namespace manifold::rpc {

Status RecordParser::Consume(std::span<const uint8_t> in) {
  while (!in.empty() && !failed_) {
    if (!in_body_) {
      size_t take = std::min(in.size(), 4 - header_have_);
      std::memcpy(header_ + header_have_, in.data(), take);
      header_have_ += take;
      in = in.subspan(take);
      if (header_have_ < 4) break;
      header_have_ = 0;
      uint32_t mark = GetU32(header_);
      last_fragment_ = (mark & kLastFragmentBit) != 0;
      size_t len = mark & ~kLastFragmentBit;
      if (len > record_bytes_max_ - record_.size()) {
        failed_ = true;
        return Status(Code::kLimit, "RPC record exceeds " + std::to_string(record_bytes_max_) +
                                        " bytes");
      }
      record_.reserve(record_.size() + len);
      fragment_remaining_ = len;
      in_body_ = true;
      FinishFragmentIfDone();
      continue;
    }
    size_t take = std::min(in.size(), fragment_remaining_);
    record_.insert(record_.end(), in.begin(), in.begin() + take);
    fragment_remaining_ -= take;
    in = in.subspan(take);
    FinishFragmentIfDone();
  }
  if (failed_) return Status(Code::kLimit, "RPC record stream failed");
  return Status::Ok();
}

std::span<uint8_t> RecordParser::DirectBuffer() {
  if (!in_body_ || failed_) return {};
  const size_t at = record_.size();
  const size_t n = std::min(fragment_remaining_, std::max(kDirectReadBytesFirst, at));
  record_.resize(at + n);
  direct_at_ = at;
  direct_offered_ = n;
  return {record_.data() + at, n};
}

void RecordParser::CommitDirect(size_t n) {
  MANIFOLD_CHECK(in_body_ && n <= direct_offered_);
  // DirectBuffer grew the record by what it offered; give back the unread part.
  record_.resize(direct_at_ + n);
  direct_offered_ = 0;
  fragment_remaining_ -= n;
  FinishFragmentIfDone();
}

void RecordParser::FinishFragmentIfDone() {
  if (!in_body_ || fragment_remaining_ != 0) return;
  in_body_ = false;
  if (last_fragment_) {
    ready_.push_back(std::move(record_));
    record_ = {};
  }
}

bool RecordParser::Pop(std::vector<uint8_t>& record) {
  if (ready_.empty()) return false;
  record = std::move(ready_.front());
  ready_.pop_front();
  return true;
}

void WriteRecordMark(std::vector<uint8_t>& buf, size_t tail_bytes) {
  MANIFOLD_CHECK(buf.size() >= kRecordMarkBytes);
  size_t body = buf.size() - kRecordMarkBytes + tail_bytes;
  MANIFOLD_CHECK(body < kLastFragmentBit);
  PutU32(buf.data(), kLastFragmentBit | uint32_t(body));
}

}  // namespace manifold::rpc
