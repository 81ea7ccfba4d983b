#!/usr/bin/env bash
# e2e: the real Linux NFSv3 client (Debian 12's kernel in a qemu guest) against manifold-ds.
#
# In a network namespace of its own, the test starts manifold-ds with tools/local-cluster, boots
# a guest with tools/linux-client/run-guest that mounts the DS with NFSv3 and runs POSIX file
# operations (each one a PASS/FAIL line), then checks on the host, in the DS's export folder,
# that files hold what the guest wrote. Exit status 0 only if every step passed; 77 = skipped
# (not root: network namespaces need it).
#
# Env: MANIFOLD_BIN_DIR   folder of manifold-ds (default: REPO/build/src/bin)
#      E2E_KEEP=1         keep the temporary folder (logs, console, export) even on success
#      E2E_CAPTURE=1      capture the DS port with tshark into TMP/ds1.pcapng (needs tshark)
#      MANIFOLD_GUEST_TIMEOUT  guest time limit in seconds (default 600)
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
name=e2e_ds_linux_client
bin_dir=${MANIFOLD_BIN_DIR:-$repo/build/src/bin}
local_cluster=$repo/tools/local-cluster
run_guest=$repo/tools/linux-client/run-guest
fetch_kernel=$repo/tools/linux-client/fetch-kernel

host_fails=0
pass() { echo "PASS: host: $*"; }
fail() { echo "FAIL: host: $*"; host_fails=$((host_fails + 1)); }

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: $name needs root (it makes a network namespace)"
  exit 77
fi
[ -x "$bin_dir/manifold-ds" ] || { echo "FAIL: host: no manifold-ds in $bin_dir (set MANIFOLD_BIN_DIR)"; exit 1; }

# The kernel comes from the Debian registry: fetch it before entering the namespace.
if "$fetch_kernel"; then pass "guest kernel ready"; else fail "fetch-kernel"; exit 1; fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/manifold-$name.XXXXXX")
ns=manifold-e2e-$$-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
guest_pid= capture_pid=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  [ -n "$guest_pid" ] && kill "$guest_pid" 2>/dev/null
  if [ -e "/run/netns/$ns" ]; then
    ip netns exec "$ns" "$local_cluster" down --dir "$tmp/cluster" >/dev/null 2>&1
    [ -n "$capture_pid" ] && { kill -INT "$capture_pid" 2>/dev/null; wait "$capture_pid" 2>/dev/null; }
    # Whatever still runs in the namespace was started by this test.
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns delete "$ns" 2>/dev/null
  fi
  if [ "$rc" -eq 0 ] && [ "${E2E_KEEP:-0}" != 1 ]; then
    rm -rf "$tmp"
  else
    echo "$name: logs, console and export kept in $tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "$name: interrupted"; exit 130' INT TERM HUP

ip netns add "$ns" && ip -n "$ns" link set lo up || { fail "create network namespace $ns"; exit 1; }
pass "network namespace $ns"

if ip netns exec "$ns" "$local_cluster" up --dir "$tmp/cluster" --client-host 10.0.2.2 --bin-dir "$bin_dir"; then
  pass "local-cluster up (manifold-ds)"
else
  fail "local-cluster up (manifold-ds)"; exit 1
fi
# shellcheck disable=SC1091
. "$tmp/cluster/cluster.env"
ip netns exec "$ns" "$local_cluster" status --dir "$tmp/cluster"
export_dir=$tmp/cluster/ds1/export   # the DS's folder on the host (DS1_EXPORT is its mount path)

if [ "${E2E_CAPTURE:-0}" = 1 ]; then
  ip netns exec "$ns" tshark -q -i lo -f "tcp port $DS1_PORT" -w "$tmp/ds1.pcapng" 2>"$tmp/tshark.err" &
  capture_pid=$!
  sleep 2
fi

# ---------------------------------------------------------------------------------------------
# The guest's script (busybox sh). Each step runs in its own shell under a hard time limit, so a
# hung NFS call fails that step instead of the whole run. Lines the host reads:
#   PASS: ... / FAIL: ...              one per step
#   HOSTCHECK path size sha256 mode uid   the final state of a file, for the host to compare
#   HOSTABSENT path                    a name that must no longer exist
# ---------------------------------------------------------------------------------------------
cat >"$tmp/guest.sh" <<'GUEST'
. /data/cluster.env
M=/mnt
MIB=1048576
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
do_mount() {
  mount -t nfs -o "vers=3,proto=tcp,port=$DS1_PORT,mountport=$DS1_PORT,mountproto=tcp,nolock,addr=10.0.2.2" \
    "10.0.2.2:$DS1_EXPORT" $M
}
remount() { umount $M && do_mount; }
# pattern FILE BYTES: deterministic, non-repeating-per-page content
pattern() {
  { set +x; } 2>/dev/null
  i=0; while [ $i -lt $(($2 / 4096)) ]; do printf '%4095d\n' $i; i=$((i + 1)); done >"$1"
  set -x
}

s_mount() { do_mount && grep -q " $M nfs " /proc/mounts && grep " $M " /proc/mounts; }
s_small() {
  echo hello >$M/hello.txt && [ "$(cat $M/hello.txt)" = hello ] && [ "$(size $M/hello.txt)" = 6 ]
}
s_write_big() {
  dd if=/dev/urandom of=/tmp/big bs=$MIB count=4 status=none &&
  dd if=/tmp/big of=$M/big.bin bs=64k conv=fsync status=none && drop &&
  [ "$(size $M/big.bin)" = $((4 * MIB)) ] && [ "$(sha $M/big.bin)" = "$(sha /tmp/big)" ] &&
  [ "$(md5sum <$M/big.bin)" = "$(md5sum </tmp/big)" ]
}
s_remount_read() {
  remount && [ "$(sha $M/big.bin)" = "$(sha /tmp/big)" ]
}
s_append() {
  echo more >>$M/hello.txt && [ "$(cat $M/hello.txt)" = "$(printf 'hello\nmore')" ] &&
  dd if=/dev/urandom of=/tmp/tail bs=$MIB count=1 status=none &&
  cat /tmp/tail >>/tmp/big && cat /tmp/tail >>$M/big.bin && drop &&
  [ "$(size $M/big.bin)" = $((5 * MIB)) ] && [ "$(sha $M/big.bin)" = "$(sha /tmp/big)" ]
}
s_overwrite() {  # unaligned writes inside and past the end of an existing file
  pattern /tmp/pat $((2 * MIB)) && cp /tmp/pat $M/patched.bin &&
  printf 'XYZ' | dd of=/tmp/pat bs=1 seek=12345 conv=notrunc status=none &&
  printf 'XYZ' | dd of=$M/patched.bin bs=1 seek=12345 conv=notrunc status=none &&
  dd if=/dev/urandom of=/tmp/chunk bs=70000 count=1 status=none &&
  dd if=/tmp/chunk of=/tmp/pat bs=70000 seek=1048000 oflag=seek_bytes conv=notrunc status=none &&
  dd if=/tmp/chunk of=$M/patched.bin bs=70000 seek=1048000 oflag=seek_bytes conv=notrunc status=none &&
  dd if=/tmp/chunk of=/tmp/pat bs=70000 seek=$((2 * MIB + 777)) oflag=seek_bytes conv=notrunc status=none &&
  dd if=/tmp/chunk of=$M/patched.bin bs=70000 seek=$((2 * MIB + 777)) oflag=seek_bytes conv=notrunc status=none &&
  # O_DIRECT: the client sends these bytes to the server as they are, at an odd offset
  dd if=/tmp/chunk of=/tmp/pat bs=70000 seek=333333 oflag=seek_bytes conv=notrunc status=none &&
  dd if=/tmp/chunk of=$M/patched.bin bs=70000 seek=333333 oflag=seek_bytes,direct conv=notrunc status=none &&
  drop && [ "$(size $M/patched.bin)" = "$(size /tmp/pat)" ] && [ "$(sha $M/patched.bin)" = "$(sha /tmp/pat)" ]
}
s_mkdir() {
  mkdir $M/d1 && mkdir $M/d1/sub && mkdir -p $M/d2 && [ -d $M/d1/sub ] && [ -d $M/d2 ]
}
s_rename_same_dir() {
  mv $M/hello.txt $M/hello2.txt && [ ! -e $M/hello.txt ] && [ "$(cat $M/hello2.txt)" = "$(printf 'hello\nmore')" ]
}
s_rename_across_dirs() {
  mv $M/hello2.txt $M/d1/sub/hello3.txt && [ ! -e $M/hello2.txt ] &&
  mv $M/d1/sub/hello3.txt $M/d2/hello3.txt && [ ! -e $M/d1/sub/hello3.txt ] &&
  [ "$(cat $M/d2/hello3.txt)" = "$(printf 'hello\nmore')" ]
}
s_rename_over() {  # rename onto an existing name replaces it
  echo old >$M/d2/target && echo new >$M/d2/source && mv $M/d2/source $M/d2/target &&
  [ "$(cat $M/d2/target)" = new ] && [ ! -e $M/d2/source ] && rm $M/d2/target
}
s_ls() {
  ls -l $M $M/d2 &&
  [ "$(ls -l $M | awk '$NF == "big.bin" {print $5}')" = $((5 * MIB)) ] &&
  [ "$(ls -l $M/d2 | awk '$NF == "hello3.txt" {print $5}')" = 11 ] &&
  [ "$(ls $M | grep -vx data | tr '\n' ' ')" = "big.bin d1 d2 patched.bin " ]  # data/: the MDS's
}
s_many_files() {  # enough names that READDIR needs several replies
  mkdir $M/many && i=0 &&
  while [ $i -lt 300 ]; do : >"$M/many/file-with-a-rather-long-name-to-fill-readdir-replies-$i" || return 1; i=$((i + 1)); done &&
  remount && [ "$(ls $M/many | wc -l)" = 300 ] && [ "$(ls -l $M/many | grep -c '^-')" = 300 ] &&
  rm -r $M/many && [ ! -e $M/many ]
}
s_chmod() {
  chmod 0640 $M/d2/hello3.txt && [ "$(stat -c %a $M/d2/hello3.txt)" = 640 ] &&
  remount && [ "$(stat -c %a $M/d2/hello3.txt)" = 640 ] &&
  chmod 0711 $M/d2 && [ "$(stat -c %a $M/d2)" = 711 ] && chmod 0755 $M/d2
}
s_truncate() {
  cp /tmp/big $M/trunc.bin && truncate -s 1000 $M/trunc.bin && [ "$(size $M/trunc.bin)" = 1000 ] &&
  head -c 1000 /tmp/big >/tmp/trunc && drop && [ "$(sha $M/trunc.bin)" = "$(sha /tmp/trunc)" ] &&
  truncate -s $((3 * MIB)) $M/trunc.bin && truncate -s $((3 * MIB)) /tmp/trunc &&
  drop && [ "$(size $M/trunc.bin)" = $((3 * MIB)) ] && [ "$(sha $M/trunc.bin)" = "$(sha /tmp/trunc)" ] &&
  : >$M/empty.bin && echo data >$M/empty.bin && truncate -s 0 $M/empty.bin && [ "$(size $M/empty.bin)" = 0 ]
}
s_remove() {
  cp /tmp/tail $M/gone.bin && rm $M/gone.bin && [ ! -e $M/gone.bin ] && rm $M/empty.bin &&
  ! rmdir $M/d1 2>/dev/null && rmdir $M/d1/sub && rmdir $M/d1 && [ ! -e $M/d1 ] &&
  remount && [ ! -e $M/gone.bin ] && [ ! -e $M/d1 ]
}
s_permissions() {
  echo 'root data' >$M/rootfile && chmod 0644 $M/rootfile &&
  # nobody may read a 0644 root file but not write it, nor create files in a 0755 root dir
  [ "$(su -s /bin/sh nobody -c "cat $M/rootfile")" = 'root data' ] &&
  ! su -s /bin/sh nobody -c "echo x >$M/rootfile" 2>/dev/null &&
  ! su -s /bin/sh nobody -c "echo x >$M/d2/nobody-created" 2>/dev/null &&
  [ ! -e $M/d2/nobody-created ] && [ "$(cat $M/rootfile)" = 'root data' ] &&
  # a file given to nobody is writable by nobody, and not by tester
  : >$M/nobodyfile && chown 65534:65534 $M/nobodyfile && chmod 0644 $M/nobodyfile &&
  su -s /bin/sh nobody -c "echo 'written by nobody' >$M/nobodyfile" &&
  ! su -s /bin/sh tester -c "echo x >>$M/nobodyfile" 2>/dev/null &&
  drop && [ "$(cat $M/nobodyfile)" = 'written by nobody' ] && [ "$(stat -c %u:%g $M/nobodyfile)" = 65534:65534 ] &&
  # a write by another user drops the set-id bits (the server writes as itself)
  echo x >$M/setid && chmod 06777 $M/setid && [ "$(stat -c %a $M/setid)" = 6777 ] &&
  su -s /bin/sh tester -c "echo y >>$M/setid" && drop && [ "$(stat -c %a $M/setid)" = 777 ] && rm $M/setid
}
s_report() {  # final state, for the host to compare with the export folder
  for f in big.bin patched.bin d2/hello3.txt trunc.bin rootfile nobodyfile; do
    echo "HOSTCHECK $f $(size $M/$f) $(sha $M/$f) $(stat -c %a $M/$f) $(stat -c %u $M/$f)"
  done
  for f in hello.txt hello2.txt gone.bin empty.bin d1 many d2/source d2/target d2/nobody-created; do
    echo "HOSTABSENT $f"
  done
}
s_umount() { umount $M && ! grep -q " $M " /proc/mounts; }

if [ "${1:-}" = __step ]; then  # one step, in its own shell
  set -x
  "$2"
  exit $?
fi

fails=0 n=0
step() {  # step FUNCTION DESCRIPTION
  n=$((n + 1))
  t0=$(cut -d' ' -f1 /proc/uptime)
  timeout -s KILL "${STEP_TIMEOUT:-120}" sh /test.sh __step "$1" >/tmp/step.log 2>&1
  rc=$?
  t=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN{printf "%.1f", b-a}')
  if [ $rc -eq 0 ]; then
    echo "PASS: $2 (${t} s)"
  else
    [ $rc -eq 137 ] && echo "FAIL: $2 timed out (${t} s)" || echo "FAIL: $2 (${t} s, status $rc)"
    sed 's/^/    | /' /tmp/step.log | tail -40
    fails=$((fails + 1))
  fi
  [ "$1" = s_report ] && grep -E '^HOST(CHECK|ABSENT) ' /tmp/step.log
  return $rc
}

step s_mount "mount NFSv3 10.0.2.2:$DS1_EXPORT port $DS1_PORT" || {
  echo "FAIL: cannot mount; giving up"; dmesg | tail -20; exit 1; }
step s_small "create and read a small file"
step s_write_big "write 4 MiB (64 KiB writes, fsync) and read it back (sha256, md5)"
step s_remount_read "remount and read 4 MiB back from the server"
step s_append "append to a small and a large file"
step s_overwrite "unaligned overwrites inside and past the end of a 2 MiB file"
step s_mkdir "mkdir"
step s_rename_same_dir "rename within a directory"
step s_rename_across_dirs "rename across directories"
step s_rename_over "rename onto an existing file"
step s_ls "ls -l shows names and sizes"
step s_many_files "300 files: create, list after remount, remove"
step s_chmod "chmod files and directories"
step s_truncate "truncate down, extend, to zero"
step s_remove "remove files, rmdir (non-empty refused)"
step s_permissions "permission checks as nobody and tester (AUTH_SYS uids); set-id bits after another user's write"
step s_report "report final state"
step s_umount "umount"
echo "guest: $((n - fails)) of $n steps passed"
[ $fails -eq 0 ]
GUEST

# ---------------------------------------------------------------------------------------------
# Boot the guest inside the namespace (qemu's user network reaches the namespace's 127.0.0.1).
# ---------------------------------------------------------------------------------------------
ip netns exec "$ns" "$run_guest" --log "$tmp/console.log" \
  --timeout "${MANIFOLD_GUEST_TIMEOUT:-600}" "$tmp/guest.sh" "$tmp/cluster/cluster.env" &
guest_pid=$!
wait "$guest_pid"
guest_rc=$?
guest_pid=
if [ -n "$capture_pid" ]; then
  kill -INT "$capture_pid" 2>/dev/null; wait "$capture_pid" 2>/dev/null; capture_pid=
  echo "$name: capture in $tmp/ds1.pcapng (tshark -r $tmp/ds1.pcapng -Y nfs -O nfs)"
fi
console=$(tr -d '\r' <"$tmp/console.log" 2>/dev/null)
guest_pass=$(grep -c '^PASS: ' <<<"$console")
guest_fail=$(grep -c '^FAIL: ' <<<"$console")
if [ "$guest_rc" -eq 0 ] && [ "$guest_fail" -eq 0 ] && [ "$guest_pass" -gt 0 ]; then
  pass "guest: all $guest_pass steps passed"
else
  fail "guest: exit status $guest_rc, $guest_pass steps passed, $guest_fail failed"
fi

# ---------------------------------------------------------------------------------------------
# The export folder, seen directly on the host, must hold exactly what the guest wrote.
# ---------------------------------------------------------------------------------------------
checked=0
while read -r _ f gsize gsha gmode guid; do
  p=$export_dir/$f
  if [ ! -f "$p" ]; then fail "export has $f"; continue; fi
  hsize=$(stat -c %s "$p") hsha=$(sha256sum "$p" | cut -d' ' -f1) hmode=$(stat -c %a "$p") huid=$(stat -c %u "$p")
  if [ "$hsize $hsha $hmode $huid" = "$gsize $gsha $gmode $guid" ]; then
    pass "export/$f: size $hsize, sha256, mode $hmode, uid $huid match the guest's view"
  else
    fail "export/$f: host sees size=$hsize mode=$hmode uid=$huid sha256=$hsha; guest saw size=$gsize mode=$gmode uid=$guid sha256=$gsha"
  fi
  checked=$((checked + 1))
done < <(grep '^HOSTCHECK ' <<<"$console")
[ "$checked" -eq 6 ] || fail "guest reported $checked of 6 files for the host check"

while read -r _ f; do
  if [ -e "$export_dir/$f" ]; then fail "export/$f was removed by the guest but still exists"; else pass "export/$f is gone"; fi
done < <(grep '^HOSTABSENT ' <<<"$console")

# Contents the host knows without the guest's help.
expect_content() {  # expect_content FILE TEXT
  if [ -f "$export_dir/$1" ] && [ "$(cat "$export_dir/$1")" = "$2" ]; then pass "export/$1 holds the expected text"
  else fail "export/$1 does not hold the expected text"; fi
}
expect_content d2/hello3.txt "$(printf 'hello\nmore')"
expect_content rootfile 'root data'
expect_content nobodyfile 'written by nobody'
if [ "$(stat -c %u:%g "$export_dir/nobodyfile" 2>/dev/null)" = 65534:65534 ]; then pass "export/nobodyfile owned by 65534:65534"
else fail "export/nobodyfile owner is $(stat -c %u:%g "$export_dir/nobodyfile" 2>/dev/null)"; fi
# (data/ is the MDS's folder on this data server: local-cluster runs an MDS over it.)
if [ "$(ls -A "$export_dir" | grep -vx data | LC_ALL=C sort | tr '\n' ' ')" = "big.bin d2 nobodyfile patched.bin rootfile trunc.bin " ]; then
  pass "export holds exactly the expected names"
else
  fail "export holds: $(ls -A "$export_dir" | tr '\n' ' ')"
fi

# The DS must still be alive and must stop cleanly on SIGTERM.
ds_pid=$(cat "$tmp/cluster/pids/ds1.pid" 2>/dev/null)
if [ -n "$ds_pid" ] && kill -0 "$ds_pid" 2>/dev/null; then pass "manifold-ds still running (pid $ds_pid)"
else fail "manifold-ds is no longer running"; fi
if ip netns exec "$ns" "$local_cluster" down --dir "$tmp/cluster" 2>&1 | grep -q 'SIGKILL'; then
  fail "manifold-ds needed SIGKILL to stop"
else
  pass "local-cluster down"
fi

if [ "$host_fails" -ne 0 ]; then
  echo "---- tail of $tmp/cluster/logs/ds1.log ----"; tail -n 30 "$tmp/cluster/logs/ds1.log" 2>/dev/null
  echo "---- $tmp/cluster/logs/ds1.out ----"; tail -n 30 "$tmp/cluster/logs/ds1.out" 2>/dev/null
  echo "$name: FAIL ($host_fails host checks failed; guest $guest_pass passed, $guest_fail failed)"
  exit 1
fi
echo "$name: PASS (guest $guest_pass steps, host checks all passed)"
exit 0
