#!/usr/bin/env bash
# e2e: manifold-mds under the process's open file limit. A limit too low for RocksDB's table
# files and the fewest connections is a clear error at start. Under a low limit that fits, the
# MDS takes only the connections that fit beside its other descriptors: more clients than that
# are refused one by one (a single warning), never by running out of descriptors, and once they
# go the MDS serves new clients.
#
# Env: MANIFOLD_BIN_DIR    folder of manifold-ds and manifold-mds (default: ./build/src/bin)
#      MANIFOLD_BENCH_DIR  folder of manifold-bench-mds (default: ./build/tools/bench)
set -uo pipefail

name=e2e_mds_open_file_limit
bin_dir=${MANIFOLD_BIN_DIR:-./build/src/bin}
bench_dir=${MANIFOLD_BENCH_DIR:-./build/tools/bench}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
port_base=28800

fails=0
check() {  # check NAME CMD...
  local what=$1; shift
  if "$@"; then echo "PASS: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/manifold-$name.XXXXXX")
held=()
cleanup() {
  for fd in "${held[@]}"; do exec {fd}>&-; done
  "$root/tools/local-cluster" down --dir "$tmp/too-low" >/dev/null 2>&1
  "$root/tools/local-cluster" down --dir "$tmp/cluster" >/dev/null 2>&1
  if [ "$fails" -eq 0 ]; then rm -rf "$tmp"; else echo "kept: $tmp"; fi
}
trap cleanup EXIT

# 512 RocksDB table files, 128 more, 4 per volume: 644 before any connection.
(ulimit -n 600; "$root/tools/local-cluster" up --dir "$tmp/too-low" --port-base "$port_base" \
  --bin-dir "$bin_dir" >/dev/null 2>&1)
check "open file limit 600: the cluster does not come up" [ $? -ne 0 ]
check "and the MDS says what to raise it to" \
  grep -q "open file limit 600 is too low; raise it (ulimit -n) to at least 660" \
  "$tmp/too-low/logs/mds.log"
"$root/tools/local-cluster" down --dir "$tmp/too-low" >/dev/null 2>&1

(ulimit -n 1024; "$root/tools/local-cluster" up --dir "$tmp/cluster" \
  --port-base "$((port_base + 50))" --bin-dir "$bin_dir" >/dev/null 2>&1)
check "open file limit 1024: the cluster comes up" [ $? -eq 0 ]
# shellcheck disable=SC1091
. "$tmp/cluster/cluster.env"
log=$tmp/cluster/logs/mds.log
check "the MDS takes the connections that fit" grep -q "open file limit 1024: at most 380 connections" "$log"

# 420 connections held open: 380 are served, 40 refused.
for _ in $(seq 420); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$MDS_PORT" && held+=("$fd")
done
check "420 connections made" [ "${#held[@]}" -eq 420 ]
sleep 1
mds_pid=$(cat "$tmp/cluster/pids/mds.pid")
check "the MDS is alive" kill -0 "$mds_pid"
open_fds=$(ls "/proc/$mds_pid/fd" | wc -l)
check "its descriptors stay under the limit ($open_fds)" [ "$open_fds" -lt 1024 ]
check "one refusal warning, not one per connection" \
  [ "$(grep -c "connections open (connections_max)" "$log")" -eq 1 ]
check "no failed accept" bash -c "! grep -q 'accept failed' '$log'"

for fd in "${held[@]}"; do exec {fd}>&-; done
held=()
sleep 1
check "once they close, a client is served" \
  "$bench_dir/manifold-bench-mds" --sessions 2 --seconds 1 --phases create,remove \
  "127.0.0.1:$MDS_PORT"

[ "$fails" -eq 0 ] && echo "$name: all checks passed" || echo "$name: $fails checks failed"
exit $((fails > 0))
