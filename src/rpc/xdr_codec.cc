#include "rpc/xdr_codec.h"

#include <limits>

namespace manifold::rpc {

void PutU32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

uint32_t GetU32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

uint32_t XdrReader::U32() {
  if (!ok_ || data_.size() - pos_ < 4) {
    ok_ = false;
    return 0;
  }
  uint32_t v = GetU32(data_.data() + pos_);
  pos_ += 4;
  return v;
}

uint64_t XdrReader::U64() {
  uint64_t hi = U32();
  uint64_t lo = U32();
  return (hi << 32) | lo;
}

std::span<const uint8_t> XdrReader::Opaque(uint32_t max_len) {
  uint32_t len = U32();
  if (!ok_ || len > max_len) {
    ok_ = false;
    return {};
  }
  size_t padded = (size_t(len) + 3) & ~size_t(3);
  if (data_.size() - pos_ < padded) {
    ok_ = false;
    return {};
  }
  auto out = data_.subspan(pos_, len);
  pos_ += padded;
  return out;
}

std::string XdrReader::String(uint32_t max_len) {
  auto bytes = Opaque(max_len);
  return std::string(bytes.begin(), bytes.end());
}

void XdrWriter::U32(uint32_t v) {
  size_t at = out_.size();
  out_.resize(at + 4);
  PutU32(out_.data() + at, v);
}

void XdrWriter::U64(uint64_t v) {
  U32(uint32_t(v >> 32));
  U32(uint32_t(v));
}

void XdrWriter::Opaque(std::span<const uint8_t> bytes) {
  U32(uint32_t(bytes.size()));
  size_t at = out_.size();
  size_t padded = (bytes.size() + 3) & ~size_t(3);
  out_.resize(at + padded, 0);
  if (!bytes.empty()) std::memcpy(out_.data() + at, bytes.data(), bytes.size());
}

void XdrWriter::String(const std::string& s) {
  Opaque({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

bool XdrDecode(std::span<const uint8_t> in, xdrproc_t proc, void* obj) {
  if (in.size() > std::numeric_limits<u_int>::max()) return false;
  XDR xdrs;
  // libtirpc's xdrmem takes a non-const pointer but never writes in XDR_DECODE mode.
  xdrmem_create(&xdrs, reinterpret_cast<char*>(const_cast<uint8_t*>(in.data())), u_int(in.size()),
                XDR_DECODE);
  bool ok = proc(&xdrs, obj);
  xdr_destroy(&xdrs);
  if (!ok) XdrFree(proc, obj);
  return ok;
}

void XdrFree(xdrproc_t proc, void* obj) { xdr_free(proc, reinterpret_cast<char*>(obj)); }

namespace {

// Appends the encoding when it fits in `room` bytes; otherwise leaves `out` as it was.
bool EncodeInRoom(std::vector<uint8_t>& out, xdrproc_t proc, void* obj, size_t room) {
  const size_t at = out.size();
  out.resize(at + room);
  XDR xdrs;
  xdrmem_create(&xdrs, reinterpret_cast<char*>(out.data() + at), u_int(room), XDR_ENCODE);
  bool ok = proc(&xdrs, obj);
  u_int used = xdr_getpos(&xdrs);
  xdr_destroy(&xdrs);
  out.resize(ok ? at + used : at);
  return ok;
}

}  // namespace

bool XdrEncode(std::vector<uint8_t>& out, xdrproc_t proc, void* obj) {
  // 0 for both "empty" and "cannot encode"; the encoder tells them apart.
  return EncodeInRoom(out, proc, obj, xdr_sizeof(proc, obj));
}

bool XdrEncode(std::vector<uint8_t>& out, xdrproc_t proc, void* obj, size_t room_guess) {
  // A failure here is "did not fit" or "cannot be encoded at all": the sized pass tells.
  return EncodeInRoom(out, proc, obj, room_guess) || XdrEncode(out, proc, obj);
}

}  // namespace manifold::rpc
