#include "bench_util.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace manifold::bench {

std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::optional<double> ProcessCpuSeconds(const std::vector<pid_t>& pids) {
  static const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
  double total = 0;
  for (pid_t pid : pids) {
    FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
    if (!f) return std::nullopt;
    char buf[1024];
    size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // The fields after the command name (which may hold spaces) start after its last ')':
    // state, ppid, pgrp, session, tty_nr, tpgid, flags, minflt, cminflt, majflt, cmajflt, utime,
    // stime (proc(5)).
    const char* p = std::strrchr(buf, ')');
    unsigned long long utime = 0, stime = 0;
    if (!p || std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                          &stime) != 2) {
      return std::nullopt;
    }
    total += static_cast<double>(utime + stime) / ticks_per_second;
  }
  return total;
}

std::optional<std::vector<pid_t>> ParsePidList(const std::string& list) {
  std::vector<pid_t> pids;
  for (const std::string& one : SplitList(list)) {
    char* end = nullptr;
    long v = std::strtol(one.c_str(), &end, 10);
    if (one.empty() || *end != '\0' || v <= 0) return std::nullopt;
    pids.push_back(static_cast<pid_t>(v));
  }
  return pids;
}

}  // namespace manifold::bench
