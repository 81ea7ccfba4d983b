#!/usr/bin/env bash
# e2e: a third-party NFSv3 client (libnfs-utils: nfs-cp, nfs-ls) against manifold-ds.
#
# In a network namespace of its own, the test starts manifold-ds on 127.0.0.1 over a temporary
# export folder, makes a 256 MiB file of random data on the host, copies it into the server with
# nfs-cp and back out again, and checks that the original, the file in the export folder and the
# copy that came back have the same SHA-256; then nfs-ls must list the file with its size. Each
# step prints a PASS/FAIL line; exit status 0 only if every step passed; 77 = skipped (not root:
# network namespaces need it).
#
# Env: MANIFOLD_BIN_DIR   folder of manifold-ds (default: ./build/src/bin)
#      E2E_SIZE_MIB       size of the file (default 256)
#      E2E_KEEP=1         keep the temporary folder (log, export, copies) even on success
set -uo pipefail

name=e2e_ds_libnfs_utils
bin_dir=${MANIFOLD_BIN_DIR:-./build/src/bin}
size_mib=${E2E_SIZE_MIB:-256}
port=2049            # NFSv3 and MOUNT on the same port; the namespace is ours alone
step_timeout_s=300   # a copy that hangs fails instead of blocking the suite

fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: $name needs root (it makes a network namespace)"
  exit 77
fi
for tool in nfs-cp nfs-ls sha256sum; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed (Debian: libnfs-utils)"; exit 1; }
done
[ -x "$bin_dir/manifold-ds" ] || { echo "FAIL: no manifold-ds in $bin_dir (set MANIFOLD_BIN_DIR)"; exit 1; }
ds_bin=$(realpath "$bin_dir/manifold-ds")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/manifold-$name.XXXXXX")
tmp=$(realpath "$tmp")
export_dir=$tmp/export
mkdir -p "$export_dir"
ns=manifold-e2e-$$-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
ds_pid=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ -n "$ds_pid" ]; then
    kill -TERM "$ds_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$ds_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$ds_pid" 2>/dev/null
  fi
  if ip netns list 2>/dev/null | grep -qw "$ns"; then
    # Whatever still runs in the namespace was started by this test.
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns delete "$ns" 2>/dev/null
  fi
  if [ "$rc" -eq 0 ] && [ "${E2E_KEEP:-0}" != 1 ]; then
    rm -rf "$tmp"
  else
    echo "$name: log, export and copies kept in $tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "$name: interrupted"; exit 130' INT TERM HUP

finish() {
  if [ "$fails" -eq 0 ]; then echo "PASS: $name"; exit 0; fi
  echo "FAIL: $name ($fails step(s) failed)"
  if [ -s "$tmp/manifold-ds.log" ]; then
    echo "--- last lines of $tmp/manifold-ds.log"; tail -n 30 "$tmp/manifold-ds.log"
  fi
  exit 1
}

ip netns add "$ns" && ip -n "$ns" link set lo up || { fail "create network namespace $ns"; finish; }
pass "network namespace $ns"

ip netns exec "$ns" "$ds_bin" --export "$export_dir" --listen "127.0.0.1:$port" \
  --log-file "$tmp/manifold-ds.log" --log-level info --pid-file "$tmp/manifold-ds.pid" \
  --rpcbind off >"$tmp/manifold-ds.out" 2>&1 &
ds_pid=$!
up=0
for _ in $(seq 100); do
  if ip netns exec "$ns" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then up=1; break; fi
  kill -0 "$ds_pid" 2>/dev/null || break
  sleep 0.1
done
if [ "$up" -eq 1 ]; then
  pass "manifold-ds listening on 127.0.0.1:$port, export $export_dir"
else
  fail "manifold-ds did not start listening on 127.0.0.1:$port within 10 s"
  sed 's/^/    /' "$tmp/manifold-ds.out"
  finish
fi

q="nfsport=$port&mountport=$port"
url_dir="nfs://127.0.0.1$export_dir?$q"
url_file="nfs://127.0.0.1$export_dir/f?$q"
in_nfs() { timeout "$step_timeout_s" ip netns exec "$ns" "$@"; }
since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }'; }

head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$tmp/original" \
  && pass "made $size_mib MiB of random data" || { fail "make random data"; finish; }
sum_original=$(sha256sum <"$tmp/original" | cut -d' ' -f1)

start=$(date +%s.%N)
if in_nfs nfs-cp "$tmp/original" "$url_file" >"$tmp/cp-in.out" 2>&1; then
  pass "nfs-cp into the server ($(since "$start") s)"
else
  fail "nfs-cp into the server exited $?: $(tr '\n' ' ' <"$tmp/cp-in.out")"
fi

if [ -f "$export_dir/f" ]; then
  sum_export=$(sha256sum <"$export_dir/f" | cut -d' ' -f1)
  if [ "$sum_export" = "$sum_original" ]; then
    pass "the file in the export folder has the original's sha256 ($sum_original)"
  else
    fail "the file in the export folder: sha256 $sum_export, size $(stat -c %s "$export_dir/f"); original: $sum_original, size $(stat -c %s "$tmp/original")"
  fi
else
  fail "no file f in the export folder $export_dir"
fi

start=$(date +%s.%N)
if in_nfs nfs-cp "$url_file" "$tmp/copied-out" >"$tmp/cp-out.out" 2>&1; then
  pass "nfs-cp out of the server ($(since "$start") s)"
else
  fail "nfs-cp out of the server exited $?: $(tr '\n' ' ' <"$tmp/cp-out.out")"
fi
if [ -f "$tmp/copied-out" ]; then
  sum_out=$(sha256sum <"$tmp/copied-out" | cut -d' ' -f1)
  if [ "$sum_out" = "$sum_original" ]; then
    pass "the copy read back has the original's sha256"
  else
    fail "the copy read back: sha256 $sum_out, size $(stat -c %s "$tmp/copied-out"); original: $sum_original"
  fi
else
  fail "nfs-cp out produced no file"
fi

# nfs-ls prints one `ls -l`-like line per entry: ... SIZE NAME
if in_nfs nfs-ls "$url_dir" >"$tmp/ls.out" 2>&1; then
  expected_size=$((size_mib * 1024 * 1024))
  if awk -v size="$expected_size" '$NF == "f" { for (i = 1; i < NF; i++) if ($i == size) found = 1 }
                                   END { exit found ? 0 : 1 }' "$tmp/ls.out"; then
    pass "nfs-ls lists f with size $expected_size"
  else
    fail "nfs-ls does not list f with size $expected_size; it printed:"
    sed 's/^/    /' "$tmp/ls.out"
  fi
else
  fail "nfs-ls exited $?: $(tr '\n' ' ' <"$tmp/ls.out")"
fi

kill -0 "$ds_pid" 2>/dev/null && pass "manifold-ds still running" || fail "manifold-ds exited during the test"
finish
