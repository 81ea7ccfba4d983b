// Shared by the benchmark clients: comma-separated arguments, and the CPU time a set of local
// processes has used, for benchmarks that report how much work a server did per operation
// (--server-pid): a figure the scheduler's placement of client and server threads on shared
// cores does not move the way it moves rates.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace manifold::bench {

// "a,b,,c" -> {"a", "b", "", "c"}: every piece, empty ones included ("" -> {""}).
std::vector<std::string> SplitList(const std::string& list);

// User + system CPU time of every thread of `pids` so far, in seconds (from /proc/PID/stat, in
// clock ticks); nullopt when one of them cannot be read (gone, or not on this machine).
std::optional<double> ProcessCpuSeconds(const std::vector<pid_t>& pids);

// "PID[,PID...]" -> pids; nullopt on anything else.
std::optional<std::vector<pid_t>> ParsePidList(const std::string& list);

}  // namespace manifold::bench
