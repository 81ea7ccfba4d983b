// FaultyKv: a Kv wrapper that injects kConflict (at GetForUpdate and at Commit) from a seeded
// generator, rolling the inner transaction back so nothing of a failed attempt is published.
// It drives the TxnRunner's retry path, which RocksDB's pessimistic locking rarely exercises.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <random>

#include "meta/kv.h"

namespace manifold::meta::testing {

struct FaultyKvOptions {
  uint32_t commit_conflict_per_mille = 0;
  uint32_t lock_conflict_per_mille = 0;
  uint64_t seed = 1;
};

class FaultyKv final : public Kv {
 public:
  FaultyKv(std::unique_ptr<Kv> inner, const FaultyKvOptions& options)
      : inner_(std::move(inner)), options_(options), rng_(options.seed) {}

  std::unique_ptr<Txn> BeginTxn() override;
  std::unique_ptr<Txn> BeginRead() override { return inner_->BeginRead(); }
  Status WaitDurable() override { return inner_->WaitDurable(); }

  bool Roll(uint32_t per_mille) {
    if (per_mille == 0) return false;
    std::lock_guard<std::mutex> lock(mu_);
    bool hit = std::uniform_int_distribution<uint32_t>(0, 999)(rng_) < per_mille;
    if (hit) injected_++;
    return hit;
  }
  const FaultyKvOptions& options() const { return options_; }
  uint64_t injected() const { return injected_; }

 private:
  std::unique_ptr<Kv> inner_;
  FaultyKvOptions options_;
  std::mutex mu_;
  std::mt19937_64 rng_;
  std::atomic<uint64_t> injected_{0};
};

class FaultyTxn final : public Txn {
 public:
  FaultyTxn(FaultyKv* kv, std::unique_ptr<Txn> inner) : kv_(kv), inner_(std::move(inner)) {}
  Result<std::string> Get(Cf cf, std::string_view key) override { return inner_->Get(cf, key); }
  Result<std::string> GetForUpdate(Cf cf, std::string_view key) override {
    if (kv_->Roll(kv_->options().lock_conflict_per_mille)) {
      return Status(Code::kConflict, "injected lock conflict");
    }
    return inner_->GetForUpdate(cf, key);
  }
  Status Put(Cf cf, std::string_view key, std::string_view value) override {
    return inner_->Put(cf, key, value);
  }
  Status Delete(Cf cf, std::string_view key) override { return inner_->Delete(cf, key); }
  std::unique_ptr<KvIterator> NewIterator(Cf cf, std::string lower, std::string upper) override {
    return inner_->NewIterator(cf, std::move(lower), std::move(upper));
  }
  Status Commit() override {
    if (kv_->Roll(kv_->options().commit_conflict_per_mille)) {
      inner_->Rollback();
      return Status(Code::kConflict, "injected commit conflict");
    }
    return inner_->Commit();
  }
  void Rollback() override { inner_->Rollback(); }

 private:
  FaultyKv* kv_;
  std::unique_ptr<Txn> inner_;
};

inline std::unique_ptr<Txn> FaultyKv::BeginTxn() {
  return std::make_unique<FaultyTxn>(this, inner_->BeginTxn());
}

}  // namespace manifold::meta::testing
