// Byte-level encoding helpers for keys (big-endian, so that byte order is numeric order) and
// values (LEB128 varints, zigzag for signed, length-prefixed bytes). Internal to meta.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace manifold::meta {

class Encoder {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void Varint(uint64_t v);
  void Zigzag(int64_t v) {
    Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void Fixed64BE(uint64_t v);
  void Bytes(std::string_view b) {
    Varint(b.size());
    out_.append(b);
  }
  void Raw(std::string_view b) { out_.append(b); }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads what Encoder wrote. Every getter returns false (and stays failed) on truncated or
// malformed input; the caller turns that into kCorruption.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  bool U8(uint8_t* v);
  bool Varint(uint64_t* v);
  bool Varint32(uint32_t* v);
  bool Zigzag(int64_t* v);
  bool Fixed64BE(uint64_t* v);
  bool Bytes(std::string* b, size_t bytes_max);
  bool Done() const { return ok_ && in_.empty(); }
  std::string_view rest() const { return in_; }

 private:
  bool Fail() {
    ok_ = false;
    return false;
  }
  std::string_view in_;
  bool ok_ = true;
};

inline void PutFixed64BE(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

inline uint64_t GetFixed64BE(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

}  // namespace manifold::meta
