#!/usr/bin/env bash
# e2e: the benchmark clients (tools/bench) against a local cluster, briefly, so that they keep
# working and keep checking what they measure: manifold-bench-mds with 4 sessions on 2 client
# threads through every phase, and manifold-bench-nfs3 through every test against manifold-ds.
# Then the MDS is killed and restarted while a client it knows has not reclaimed: the bench's
# OPENs get NFS4ERR_GRACE, and the bench must wait and send them again, not fail.
# A client exits 1 on any unexpected status, wrong listing, wrong data or lost connection; the
# test also checks that every phase reported operations, no error and the servers' CPU per op.
#
# Env: MANIFOLD_BIN_DIR    folder of manifold-ds and manifold-mds (default: ./build/src/bin)
#      MANIFOLD_BENCH_DIR  folder of the benchmark clients (default: ./build/tools/bench)
#      E2E_KEEP=1          keep the temporary folder (cluster logs) even on success
set -uo pipefail

name=e2e_bench_smoke
bin_dir=${MANIFOLD_BIN_DIR:-./build/src/bin}
bench_dir=${MANIFOLD_BENCH_DIR:-./build/tools/bench}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
port_base=28700

fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

for tool in jq; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed"; exit 1; }
done
for b in manifold-bench-mds manifold-bench-nfs3; do
  [ -x "$bench_dir/$b" ] || { echo "FAIL: no $b in $bench_dir (set MANIFOLD_BENCH_DIR)"; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/manifold-$name.XXXXXX")
cleanup() {
  "$root/tools/local-cluster" down --dir "$tmp/cluster" >/dev/null 2>&1
  if [ "$fails" -eq 0 ] && [ "${E2E_KEEP:-0}" != 1 ]; then rm -rf "$tmp"; else echo "kept: $tmp"; fi
}
trap cleanup EXIT

# A short lease: the grace period after the restart below lasts one lease.
export MANIFOLD_LEASE_TIME_S=10
if ! "$root/tools/local-cluster" up --dir "$tmp/cluster" --port-base "$port_base" \
     --bin-dir "$bin_dir" >"$tmp/up.log" 2>&1; then
  cat "$tmp/up.log"
  fail "local-cluster up"
  exit 1
fi
# shellcheck disable=SC1091
. "$tmp/cluster/cluster.env"
pids="$(cat "$tmp/cluster/pids/mds.pid"),$(cat "$tmp/cluster/pids/ds1.pid")"

# Every line: ops > 0, no error, the servers' CPU per op reported.
check_lines() {  # what file field
  local what=$1 file=$2 field=$3 n bad
  n=$(jq -s 'length' "$file")
  bad=$(jq -c "select((.ops // 0) <= 0 or (.errors // 0) != 0 or (.server_cpu_us_per_op == null))" "$file")
  if [ "$n" -ge 1 ] && [ -z "$bad" ]; then
    pass "$what: $(jq -r ".$field" "$file" | paste -sd' ')"
  else
    fail "$what: $n line(s), bad: ${bad:-none}"
  fi
}

if "$bench_dir/manifold-bench-mds" --sessions 4 --client-threads 2 --seconds 0.5 \
     --server-pid "$pids" "127.0.0.1:$MDS_PORT" >"$tmp/mds.json" 2>"$tmp/mds.err"; then
  [ "$(jq -s 'length' "$tmp/mds.json")" -eq 4 ] || fail "manifold-bench-mds: not 4 phases"
  check_lines "manifold-bench-mds (create, stat, readdir, remove)" "$tmp/mds.json" phase
else
  cat "$tmp/mds.err"
  fail "manifold-bench-mds exited with an error"
fi

if "$bench_dir/manifold-bench-nfs3" --size 8 --seconds 1 --concurrency 1,4 --threads 2 \
     --server-pid "$(cat "$tmp/cluster/pids/ds1.pid")" "$DS1_URL" \
     >"$tmp/nfs3.json" 2>"$tmp/nfs3.err"; then
  check_lines "manifold-bench-nfs3" "$tmp/nfs3.json" test
else
  cat "$tmp/nfs3.err"
  fail "manifold-bench-nfs3 exited with an error"
fi

# A client the restarted MDS will wait for: a bench killed in the middle of its creates.
# It prints its "session(s) to" line once its session is made (and its client record durable).
"$bench_dir/manifold-bench-mds" --sessions 1 --phases create --seconds 60 \
  "127.0.0.1:$MDS_PORT" >/dev/null 2>"$tmp/held.err" &
bench_pid=$!
for _ in $(seq 300); do
  grep -q "session(s) to" "$tmp/held.err" && break
  sleep 0.1
done
grep -q "session(s) to" "$tmp/held.err" || fail "the held client made no session in 30 s"
{ kill -9 "$bench_pid"; wait "$bench_pid"; } 2>/dev/null
mds_pid=$(cat "$tmp/cluster/pids/mds.pid")
kill -9 "$mds_pid"
while kill -0 "$mds_pid" 2>/dev/null; do sleep 0.1; done
if ! "$root/tools/local-cluster" up --dir "$tmp/cluster" --port-base "$port_base" \
     --bin-dir "$bin_dir" >"$tmp/up2.log" 2>&1; then
  cat "$tmp/up2.log"
  fail "local-cluster up after the MDS was killed"
  exit 1
fi
if "$bench_dir/manifold-bench-mds" --sessions 2 --seconds 0.5 --phases create,remove \
     "127.0.0.1:$MDS_PORT" >"$tmp/grace.json" 2>"$tmp/grace.err"; then
  retries=$(jq -s '[.[] | select(.phase == "create") | .retries] | add // 0' "$tmp/grace.json")
  created=$(jq -s '[.[] | select(.phase == "create") | .ops] | add // 0' "$tmp/grace.json")
  if [ "$retries" -ge 1 ] && [ "$created" -ge 1 ]; then
    pass "manifold-bench-mds in the grace period: $retries retries, $created files created"
  else
    fail "manifold-bench-mds in the grace period: $retries retries, $created files created"
  fi
else
  cat "$tmp/grace.err"
  fail "manifold-bench-mds in the grace period exited with an error"
fi

[ "$fails" -eq 0 ] && echo "$name: all passed" || echo "$name: $fails failed"
[ "$fails" -eq 0 ]
