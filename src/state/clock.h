// The time seam of the state module (STYLE.md principle 5): leases, grace and expiry read time
// only through a Clock, so tests drive time with a fake and nothing sleeps.
#pragma once

#include <chrono>

namespace manifold::state {

// Monotonic time. Leases are intervals, never wall-clock dates.
using Instant = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant Now() const = 0;
};

// std::chrono::steady_clock.
class SteadyClock final : public Clock {
 public:
  Instant Now() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace manifold::state
