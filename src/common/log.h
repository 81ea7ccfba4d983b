// Logging set-up shared by every binary. Log by blame (STYLE.md): server fault = error,
// hostile or malformed request = warn (rate limited by the caller), lost client state = info.
#pragma once

#include <string>

#include "common/status.h"

namespace manifold {

// Configures the default spdlog logger. `file` empty means stderr. `level` is one of
// trace, debug, info, warn, error, off.
Status InitLogging(const std::string& name, const std::string& file, const std::string& level);

}  // namespace manifold
