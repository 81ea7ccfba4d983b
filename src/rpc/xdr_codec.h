// XDR helpers: a bounds-checked reader/writer for the hand-parsed RPC headers, and wrappers
// that run rpcgen-generated routines over a byte span (decode) or append to a buffer (encode).
#pragma once

#include <rpc/xdr.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace manifold::rpc {

// Reads XDR primitives from a span. Every read checks the remaining length; after a failed
// read ok() is false and all further reads fail, so callers check once at the end.
class XdrReader {
 public:
  explicit XdrReader(std::span<const uint8_t> data) : data_(data) {}

  uint32_t U32();
  uint64_t U64();
  // Variable-length opaque with a maximum length; pads to 4 bytes.
  std::span<const uint8_t> Opaque(uint32_t max_len);
  std::string String(uint32_t max_len);

  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  size_t position() const { return pos_; }
  std::span<const uint8_t> Rest() const { return data_.subspan(ok_ ? pos_ : data_.size()); }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Appends XDR primitives to a byte vector.
class XdrWriter {
 public:
  explicit XdrWriter(std::vector<uint8_t>& out) : out_(out) {}
  void U32(uint32_t v);
  void U64(uint64_t v);
  void Opaque(std::span<const uint8_t> bytes);  // length-prefixed, padded
  void String(const std::string& s);
  std::vector<uint8_t>& buffer() { return out_; }

 private:
  std::vector<uint8_t>& out_;
};

// An XDR routine for `void` arguments or results (libtirpc's xdr_void has no prototype).
inline bool_t XdrVoid(XDR*, void*) { return TRUE; }

void PutU32(uint8_t* p, uint32_t v);
uint32_t GetU32(const uint8_t* p);

// Decodes `obj` (zero-initialised by the caller) with an rpcgen routine. On failure the
// partially decoded object has already been freed. On success the caller must XdrFree it.
bool XdrDecode(std::span<const uint8_t> in, xdrproc_t proc, void* obj);
void XdrFree(xdrproc_t proc, void* obj);
// Appends the XDR encoding of `obj` to `out`. Returns false if the object cannot be encoded
// (for example an array over its declared bound): a server bug, never a client's fault.
bool XdrEncode(std::vector<uint8_t>& out, xdrproc_t proc, void* obj);
// The same in one pass when the encoding fits in `room_guess` bytes (XdrEncode sizes the
// object with a first pass of the encoder); a guess too small costs a failed pass.
bool XdrEncode(std::vector<uint8_t>& out, xdrproc_t proc, void* obj, size_t room_guess);
// The room guessed for a call's arguments or a procedure's results whose size is not known:
// most are far smaller; a larger one costs a failed pass, then a sized one.
inline constexpr size_t kXdrBytesGuess = 1024;

// Owns a decoded rpcgen object and frees it on scope exit.
template <typename T>
class XdrDecoded {
 public:
  explicit XdrDecoded(xdrproc_t proc) : proc_(proc) { std::memset(&obj_, 0, sizeof(obj_)); }
  XdrDecoded(const XdrDecoded&) = delete;
  XdrDecoded& operator=(const XdrDecoded&) = delete;
  ~XdrDecoded() {
    if (decoded_) XdrFree(proc_, &obj_);
  }
  bool Decode(std::span<const uint8_t> in) {
    decoded_ = XdrDecode(in, proc_, &obj_);
    return decoded_;
  }
  // For objects decoded by hand with the rpcgen routine: free them on scope exit.
  void MarkDecoded() { decoded_ = true; }
  T& operator*() { return obj_; }
  T* operator->() { return &obj_; }
  T* get() { return &obj_; }

 private:
  xdrproc_t proc_;
  T obj_;
  bool decoded_ = false;
};

}  // namespace manifold::rpc
