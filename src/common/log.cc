#include "common/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace manifold {

Status InitLogging(const std::string& name, const std::string& file, const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return Status(Code::kInvalid, "unknown log level '" + level + "'");
  }
  try {
    std::shared_ptr<spdlog::logger> logger;
    if (file.empty()) {
      logger = spdlog::stderr_color_mt(name);
    } else {
      logger = spdlog::basic_logger_mt(name, file);
    }
    logger->set_level(lvl);
    logger->flush_on(spdlog::level::warn);
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
    spdlog::set_default_logger(logger);
    spdlog::flush_every(std::chrono::seconds(1));
  } catch (const spdlog::spdlog_ex& e) {
    return Status(Code::kIo, std::string("cannot open log: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace manifold
