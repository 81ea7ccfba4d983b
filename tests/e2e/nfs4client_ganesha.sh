#!/usr/bin/env bash
# The project's NFSv4.1/4.2 client library against NFS-Ganesha 4.3 (VFS FSAL), a server no one
# here wrote. In a network namespace of its own (loopback only, deleted on exit) it starts
# rpcbind and Ganesha, then runs nfs4client_ganesha_driver with minor version 1 and again with
# minor version 2: sessions and the backchannel, directory/file create, write/read/commit/close,
# readdir in pages, rename/link/symlink/remove, byte-range locks and share reservations between
# two clients, delegation recall (when the server grants one: Ganesha's VFS FSAL does not),
# NFSv4.2 and pNFS probes, 32 concurrent 256 KiB writes on one session, lease renewal across an
# idle 1.5 leases, and DESTROY_SESSION/DESTROY_CLIENTID. Takes about 35 s.
#
# Usage: nfs4client_ganesha.sh PATH/TO/nfs4client_ganesha_driver
# Exit status: 0 passed; 1 a check failed; 77 skipped (not root, Ganesha or rpcbind missing, or
# Ganesha could not start, or another rpcbind kept running for 20 minutes).
set -uo pipefail
driver=${1:-${NFS4CLIENT_DRIVER:-}}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespace)"
[ -n "$driver" ] && [ -x "$driver" ] || { echo "FAIL: no driver binary ('$driver')"; exit 1; }
driver=$(realpath "$driver")
command -v ganesha.nfsd >/dev/null || skip "ganesha.nfsd not installed (nfs-ganesha, nfs-ganesha-vfs)"
command -v rpcbind >/dev/null || skip "rpcbind not installed"

# Only one rpcbind may run on this machine at a time (/work/shared/peers/README.md): wait for
# someone else's to go away, 60 s at a time, at most 20 minutes.
for i in $(seq 20); do
  other=$(pgrep -x rpcbind | head -1)
  [ -z "$other" ] && break
  echo "waiting: another rpcbind is running (pid $other), $i of 20 minutes"
  sleep 60
done
[ -z "$(pgrep -x rpcbind)" ] || skip "another rpcbind kept running for 20 minutes"

ns=mf4c-$$
work=$(mktemp -d /tmp/nfs4client-ganesha.XXXXXX)
helper=""
cleanup() {
  local rc=$?
  for f in ganesha.nfsd.pid rpcbind.pid; do
    [ -s "$work/$f" ] && kill -TERM "$(cat "$work/$f")" 2>/dev/null
  done
  sleep 0.5
  for f in ganesha.nfsd.pid rpcbind.pid; do
    [ -s "$work/$f" ] && kill -KILL "$(cat "$work/$f")" 2>/dev/null
  done
  if [ -n "$helper" ]; then
    for _ in $(seq 50); do kill -0 "$helper" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$helper" 2>/dev/null
    wait "$helper" 2>/dev/null
  fi
  ip netns del "$ns" 2>/dev/null
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    echo "--- last lines of ganesha.log"; tail -20 "$work/ganesha.log" 2>/dev/null
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/export" "$work/recovery"
cat > "$work/ganesha.conf" <<EOF
NFS_CORE_PARAM { NFS_Port = 2049; Protocols = 4; Enable_NLM = false; Enable_RQUOTA = false;
                 Enable_UDP = false; }
NFSv4 { Minor_Versions = 1, 2; RecoveryBackend = fs; RecoveryRoot = $work/recovery;
        Grace_Period = 10; Lease_Lifetime = 10; Delegations = true; }
EXPORT { Export_Id = 1; Path = $work/export; Pseudo = /export; Access_Type = RW; Squash = none;
         SecType = sys; Protocols = 4; Transports = TCP; Delegations = readwrite;
         FSAL { Name = VFS; } }
LOG { Default_Log_Level = EVENT; }
EOF
# rpcbind's socket lives in /run, which every namespace shares: this one gets a private /run.
cat > "$work/run.sh" <<EOF
mount -t tmpfs tmpfs /run || exit 1
rpcbind -f -w & echo \$! > $work/rpcbind.pid
for _ in \$(seq 100); do [ -S /run/rpcbind.sock ] && break; sleep 0.05; done
ganesha.nfsd -F -f $work/ganesha.conf -L $work/ganesha.log -p $work/ganesha.pid -N NIV_EVENT &
echo \$! > $work/ganesha.nfsd.pid
wait
EOF

ip netns add "$ns" && ip -n "$ns" link set lo up || { echo "FAIL: cannot make netns $ns"; exit 1; }
ip netns exec "$ns" unshare --mount --propagation private bash "$work/run.sh" &
helper=$!
up=0
for _ in $(seq 300); do
  if ip netns exec "$ns" bash -c "exec 3<>/dev/tcp/127.0.0.1/2049" 2>/dev/null; then up=1; break; fi
  kill -0 "$helper" 2>/dev/null || break
  sleep 0.1
done
[ $up -eq 1 ] || { tail -20 "$work/ganesha.log" 2>/dev/null; skip "Ganesha did not start"; }
echo "Ganesha is up in netns $ns ($(ganesha.nfsd -v 2>&1 | head -1))"

fails=0
for minor in 1 2; do
  echo "=== NFSv4.$minor"
  ip netns exec "$ns" "$driver" 127.0.0.1 2049 /export "$minor"
  rc=$?
  [ $rc -eq 0 ] || { echo "driver (minor $minor) exited $rc"; fails=$((fails + 1)); }
done
[ "$fails" -eq 0 ] && echo "nfs4client_ganesha: all checks passed" || echo "nfs4client_ganesha: $fails runs failed"
exit $((fails > 0))
