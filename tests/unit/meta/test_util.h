// Shared helpers for the meta tests: temp directories, seeds, and status assertions that print
// code names.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "common/status.h"
#include "meta/macros.h"

namespace manifold::meta::testing {

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

#define ASSERT_OK(expr)                                                              \
  do {                                                                               \
    const auto& meta_r_ = (expr);                                                    \
    ASSERT_TRUE(::manifold::meta::testing::StatusOf(meta_r_).ok())                   \
        << #expr << ": " << ::manifold::meta::testing::StatusOf(meta_r_).ToString(); \
  } while (0)
#define EXPECT_OK(expr)                                                              \
  do {                                                                               \
    const auto& meta_r_ = (expr);                                                    \
    EXPECT_TRUE(::manifold::meta::testing::StatusOf(meta_r_).ok())                   \
        << #expr << ": " << ::manifold::meta::testing::StatusOf(meta_r_).ToString(); \
  } while (0)
inline ::testing::AssertionResult CodeIs(const char* expr_text, const char*, const Status& s,
                                         Code want) {
  if (s.code() == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << expr_text << " is " << CodeName(s.code()) << " ("
                                       << s.ToString() << "), want " << CodeName(want);
}
// Evaluates `expr` once; a failure names codes ("not-empty" vs "exists"), not numbers.
#define EXPECT_CODE(expr, want)                          \
  EXPECT_PRED_FORMAT2(::manifold::meta::testing::CodeIs, \
                      ::manifold::meta::testing::StatusOf(expr), want)
#define ASSIGN_OR_FAIL(lhs, expr) ASSIGN_OR_FAIL_IMPL(META_CONCAT(meta_t_, __LINE__), lhs, expr)
#define ASSIGN_OR_FAIL_IMPL(tmp, lhs, expr)                          \
  auto tmp = (expr);                                                 \
  ASSERT_TRUE(tmp.ok()) << #expr << ": " << tmp.status().ToString(); \
  lhs = std::move(tmp).value()

class TempDir {
 public:
  TempDir() {
    const char* base = ::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/manifold-meta-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The seed of a randomized test: MANIFOLD_SEED when set (replay), else random. Printed.
inline uint64_t TestSeed() {
  const char* env = ::getenv("MANIFOLD_SEED");
  uint64_t seed = env && *env ? std::strtoull(env, nullptr, 0)
                              : (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::fprintf(stderr, "[ seed     ] %s.%s MANIFOLD_SEED=%llu\n",
               info ? info->test_suite_name() : "", info ? info->name() : "",
               static_cast<unsigned long long>(seed));
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return seed;
}

}  // namespace manifold::meta::testing
