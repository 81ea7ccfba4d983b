// Arena: owns the memory that rpcgen argument structs point to (names, file handles, WRITE
// data, bitmaps, nested arrays). Every block is zero-filled and lives until the arena dies, so
// a COMPOUND4args built from it stays valid as long as its builder. Not thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

namespace manifold::nfs4client {

class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  Arena(Arena&&) = default;
  Arena& operator=(Arena&&) = default;

  // `count` zeroed objects of a C type (rpcgen structs are trivially copyable).
  template <typename T>
  T* Array(size_t count) {
    static_assert(std::is_trivially_copyable_v<T>);
    return reinterpret_cast<T*>(Allocate(count * sizeof(T)));
  }

  // A copy of `bytes`; never null, even when empty (rpcgen encodes a null opaque as empty, but
  // a non-null pointer keeps the decoded-vs-built comparison in tests simple).
  char* Copy(std::span<const uint8_t> bytes) {
    char* p = Allocate(bytes.size());
    if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
    return p;
  }
  char* Copy(std::string_view s) {
    return Copy(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  // A NUL-terminated copy, for XDR `string` fields (char*).
  char* CString(std::string_view s) {
    char* p = Allocate(s.size() + 1);
    std::memcpy(p, s.data(), s.size());
    return p;
  }

  size_t bytes_allocated() const { return bytes_allocated_; }

 private:
  char* Allocate(size_t bytes) {
    // operator new[] returns memory aligned for any fundamental type.
    blocks_.push_back(std::make_unique<char[]>(bytes == 0 ? 1 : bytes));  // zero-filled
    bytes_allocated_ += bytes;
    return blocks_.back().get();
  }

  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t bytes_allocated_ = 0;
};

}  // namespace manifold::nfs4client
