// Transport: the one TCP connection of an Nfs4Client, carrying fore channel calls out and
// backchannel calls in (RFC 8881 2.10.3.1).
//
// Why not rpc::Client: its Call() posts one asio::async_write per call, and two composed
// writes in flight on one socket interleave their partial writes, so large concurrent calls
// (1 MiB WRITEs from several threads) corrupt the record stream (the server sees a bogus
// record mark; tests/unit/nfs4client/session_test.cc ConcurrentLargeCompoundsArriveIntact).
// This is rpc::Client's logic with one change: a write queue, one write at a time. When
// rpc::Client queues its writes, this class becomes a thin wrapper over it (same interface:
// Call, SetCallHandler, connected) and the copy goes away.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/status.h"
#include "rpc/client.h"
#include "rpc/message.h"

namespace manifold::nfs4client {

class Transport {
 public:
  // Errors: kInvalid (bad address), kUnavailable (cannot connect).
  static Result<std::unique_ptr<Transport>> Connect(const std::string& host, uint16_t port,
                                                    size_t record_bytes_max);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Thread-safe. Sends one call and waits for its reply (matched by xid). Errors: kUnavailable
  // (connection lost, or no reply within `timeout`).
  Result<rpc::ClientReply> Call(uint32_t prog, uint32_t vers, uint32_t proc,
                                const rpc::Credential& cred, std::span<const uint8_t> args,
                                std::chrono::milliseconds timeout);

  // Calls the server sends on this connection go to `handler` (on the connection's I/O
  // thread); its reply record (record mark included) is queued like any write. Same contract
  // as rpc::Client::SetCallHandler.
  void SetCallHandler(rpc::Client::CallHandler handler);

  bool connected() const;

 private:
  Transport() = default;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace manifold::nfs4client
