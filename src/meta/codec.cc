#include "meta/codec.h"

namespace manifold::meta {

void Encoder::Varint(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
}

void Encoder::Fixed64BE(uint64_t v) { PutFixed64BE(&out_, v); }

bool Decoder::U8(uint8_t* v) {
  if (!ok_ || in_.empty()) return Fail();
  *v = static_cast<uint8_t>(in_[0]);
  in_.remove_prefix(1);
  return true;
}

bool Decoder::Varint(uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63; shift += 7) {
    uint8_t byte = 0;
    if (!U8(&byte)) return false;
    if (shift == 63 && byte > 1) return Fail();  // more than 64 bits
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return Fail();
}

bool Decoder::Varint32(uint32_t* v) {
  uint64_t wide = 0;
  if (!Varint(&wide)) return false;
  if (wide > UINT32_MAX) return Fail();
  *v = static_cast<uint32_t>(wide);
  return true;
}

bool Decoder::Zigzag(int64_t* v) {
  uint64_t raw = 0;
  if (!Varint(&raw)) return false;
  *v = static_cast<int64_t>((raw >> 1) ^ (~(raw & 1) + 1));
  return true;
}

bool Decoder::Fixed64BE(uint64_t* v) {
  if (!ok_ || in_.size() < 8) return Fail();
  *v = GetFixed64BE(in_);
  in_.remove_prefix(8);
  return true;
}

bool Decoder::Bytes(std::string* b, size_t bytes_max) {
  uint64_t n = 0;
  if (!Varint(&n)) return false;
  if (n > bytes_max || n > in_.size()) return Fail();
  b->assign(in_.data(), n);
  in_.remove_prefix(n);
  return true;
}

}  // namespace manifold::meta
