// Early-return helpers for Status / Result<T> inside the meta module.
#pragma once

#include <utility>

#include "common/status.h"

#define META_CONCAT_INNER(a, b) a##b
#define META_CONCAT(a, b) META_CONCAT_INNER(a, b)

// Evaluates `expr` (a Status) and returns it from the enclosing function if it is not ok.
#define META_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::manifold::Status meta_status_ = (expr);    \
    if (!meta_status_.ok()) return meta_status_; \
  } while (0)

// `lhs` = value of `expr` (a Result<T>), or returns its status from the enclosing function.
#define META_ASSIGN_OR_RETURN(lhs, expr) \
  META_ASSIGN_OR_RETURN_IMPL(META_CONCAT(meta_result_, __LINE__), lhs, expr)
#define META_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
