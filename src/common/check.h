// Invariant checks: a failed check is a bug and aborts in every build type.
// Never use these on anything a peer sends; bad input is an error status, not a crash.
#pragma once

#include <cstdio>
#include <cstdlib>

#define MANIFOLD_CHECK(cond)                                                          \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)
