#!/usr/bin/env bash
# manifold-ds lifecycle: registers NFS v3 and MOUNT v3 with a running rpcbind (--rpcbind auto),
# serves a client found through rpcbind alone, stops cleanly on SIGTERM (exit 0, pid file gone,
# rpcbind entries removed), and refuses a second instance on a busy port with a clear error.
# Runs in a network namespace of its own. Exit 77 = skipped (not root).
set -uo pipefail
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
bin=${MANIFOLD_BIN_DIR:-./build/src/bin}
ds=$(cd "$bin" && pwd)/manifold-ds
ns=mfds-life-$$
work=$(mktemp -d /tmp/manifold-ds-life.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fails=0
check() {  # check NAME CMD...
  local name=$1; shift
  if "$@"; then echo "PASS $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}
in_ns() { ip netns exec "$ns" "$@"; }

ip netns add "$ns" && ip -n "$ns" link set lo up || { echo "FAIL cannot make netns"; exit 1; }
mkdir -p "$work/export" "$work/rpcbind"
# Started with `ip netns exec` directly (it execs), so $! is the daemon's own pid.
ip netns exec "$ns" rpcbind -f -w &
pids+=($!)
for _ in $(seq 50); do in_ns rpcinfo -p 127.0.0.1 >/dev/null 2>&1 && break; sleep 0.1; done

port=20490
ip netns exec "$ns" "$ds" --export "$work/export" --listen "127.0.0.1:$port" --rpcbind auto \
  --pid-file "$work/ds.pid" --log-file "$work/ds.log" &
ds_pid=$!
pids+=("$ds_pid")
for _ in $(seq 50); do [ -s "$work/ds.pid" ] && break; sleep 0.1; done

registered() { in_ns rpcinfo -p 127.0.0.1 | awk -v p="$port" '$1==100003 && $2==3 && $3=="tcp" && $4==p {n++} $1==100005 && $2==3 && $3=="tcp" && $4==p {n++} END {exit n==2 ? 0 : 1}'; }
check "registered NFS v3 and MOUNT v3 with rpcbind" registered
check "rpcinfo -t reaches NFS v3 (NULL)" in_ns rpcinfo -t 127.0.0.1 100003 3
check "rpcinfo -t reaches MOUNT v3 (NULL)" in_ns rpcinfo -t 127.0.0.1 100005 3

# libnfs finds the ports through rpcbind when none are given.
echo hello > "$work/export/hello.txt"
check "nfs-cat through rpcbind-discovered ports" \
  bash -c "in_ns() { ip netns exec $ns \"\$@\"; }; [ \"\$(in_ns nfs-cat nfs://127.0.0.1$work/export/hello.txt)\" = hello ]"

in_ns "$ds" --export "$work/export" --listen "127.0.0.1:$port" --rpcbind off \
  --log-file "$work/ds2.log" >/dev/null 2>&1
rc=$?
check "second instance on a busy port exits non-zero" [ "$rc" -ne 0 ]
check "and says why" grep -q "Address already in use" "$work/ds2.log"

kill -TERM "$ds_pid"
wait "$ds_pid"
rc=$?
check "SIGTERM: exit status 0" [ "$rc" -eq 0 ]
check "SIGTERM: pid file removed" [ ! -e "$work/ds.pid" ]
check "SIGTERM: logged a clean stop" grep -q "stopped" "$work/ds.log"
check "SIGTERM: rpcbind entries removed" bash -c "! $(declare -f registered); in_ns() { ip netns exec $ns \"\$@\"; }; port=$port; ! registered"

# The open file limit: too low for the fewest connections and descriptor caches is a clear error
# at start; a low one that fits cuts connections and caches to it, and the server serves.
(ulimit -n 100; in_ns "$ds" --export "$work/export" --listen "127.0.0.1:$((port + 1))" \
  --rpcbind off --log-file "$work/ds-fd100.log" >/dev/null 2>&1)
rc=$?
check "open file limit 100: exit status 2" [ "$rc" -eq 2 ]
check "and says what to raise it to" grep -q "open file limit 100 is too low; raise it" "$work/ds-fd100.log"
(ulimit -n 300; exec ip netns exec "$ns" "$ds" --export "$work/export" \
  --listen "127.0.0.1:$((port + 1))" --rpcbind off --log-file "$work/ds-fd300.log") &
low_pid=$!
pids+=("$low_pid")
for _ in $(seq 50); do grep -q "serving" "$work/ds-fd300.log" 2>/dev/null && break; sleep 0.1; done
check "open file limit 300: connections and caches cut to fit" \
  grep -q "open file limit 300: 118 connections and descriptor caches of 59 entries each" "$work/ds-fd300.log"
check "and it serves" bash -c "ip netns exec $ns nfs-ls 'nfs://127.0.0.1$work/export?nfsport=$((port + 1))&mountport=$((port + 1))' | grep -q hello.txt"
kill -TERM "$low_pid"

[ "$fails" -eq 0 ] && echo "ds_lifecycle: all checks passed" || echo "ds_lifecycle: $fails checks failed"
exit $((fails > 0))
