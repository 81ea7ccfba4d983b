#!/usr/bin/env bash
# e2e: the real Linux NFSv4.2 / 4.1 client (Debian 12's kernel in a qemu guest) against
# manifold-mds, with manifold-ds holding the data.
#
# In a network namespace of its own the test starts manifold-ds and manifold-mds with
# tools/local-cluster, boots a guest that mounts the MDS and runs a real workload (a source-like
# tree of ~2000 files unpacked with tar, copied with cp -a, checksummed, renamed across
# directories, hard and symbolic links, chmod/chown/touch/truncate, the set-id rules the client
# leaves to the server, appends, a sparse file, asynchronous O_DIRECT appends checked by fstat,
# fcntl and flock locks, copy_file_range as server-side COPY, user xattrs (RFC 8276), a read
# delegation recalled for another client, rm -rf), each step a PASS/FAIL line. While the guest
# unpacks the tree the host kills the MDS with SIGKILL and restarts it: the client must reclaim
# its state in the grace period and the workload must finish with every checksum intact (and an
# xattr set before the kill must still be there after it). Exit 0 only if every step passed;
# 77 = skipped (not root).
#
# Env: MANIFOLD_BIN_DIR (default REPO/build/src/bin), MANIFOLD_DELEG_BREAKER (the second
#      client, default REPO/build/tests/e2e/deleg_breaker), E2E_KEEP=1 keeps the temporary folder,
#      MANIFOLD_GUEST_TIMEOUT guest time limit in seconds (default 900).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
name=e2e_mds_linux_client
bin_dir=${MANIFOLD_BIN_DIR:-$repo/build/src/bin}
breaker=${MANIFOLD_DELEG_BREAKER:-$repo/build/tests/e2e/deleg_breaker}
local_cluster=$repo/tools/local-cluster
run_guest=$repo/tools/linux-client/run-guest
fetch_kernel=$repo/tools/linux-client/fetch-kernel
# Files in the unpacked tree, and how many the guest must have created before the MDS is killed.
tree_dirs=40 tree_files_per_dir=50 kill_after_files=400

host_fails=0
pass() { echo "PASS: host: $*"; }
fail() { echo "FAIL: host: $*"; host_fails=$((host_fails + 1)); }

[ "$(id -u)" -eq 0 ] || { echo "SKIP: $name needs root (it makes a network namespace)"; exit 77; }
for b in manifold-ds manifold-mds; do
  [ -x "$bin_dir/$b" ] || { echo "FAIL: host: no $b in $bin_dir (set MANIFOLD_BIN_DIR)"; exit 1; }
done
[ -x "$breaker" ] || { echo "FAIL: host: no deleg_breaker at $breaker (set MANIFOLD_DELEG_BREAKER)"; exit 1; }
if "$fetch_kernel"; then pass "guest kernel ready"; else fail "fetch-kernel"; exit 1; fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/manifold-$name.XXXXXX")
ns=manifold-e2e-$$-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
guest_pid= killer_pid= breaker_pid=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  [ -n "$guest_pid" ] && kill "$guest_pid" 2>/dev/null
  [ -n "$killer_pid" ] && kill "$killer_pid" 2>/dev/null
  [ -n "$breaker_pid" ] && kill "$breaker_pid" 2>/dev/null
  if [ -e "/run/netns/$ns" ]; then
    ip netns exec "$ns" "$local_cluster" down --dir "$tmp/cluster" >/dev/null 2>&1
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns delete "$ns" 2>/dev/null
  fi
  if [ "$rc" -eq 0 ] && [ "${E2E_KEEP:-0}" != 1 ]; then rm -rf "$tmp"; else echo "$name: kept $tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "$name: interrupted"; exit 130' INT TERM HUP

# The workload's inputs: a tree of text-like files (varied sizes), and the lock probe.
mkdir -p "$tmp/src/tree" "$tmp/data"
for ((d = 0; d < tree_dirs; d++)); do
  mkdir -p "$tmp/src/tree/dir$d/sub"
  for ((f = 0; f < tree_files_per_dir; f++)); do
    head -c $(((d * 131 + f * 977) % 6000 + 1)) /dev/urandom | base64 >"$tmp/src/tree/dir$d/file$f.c"
  done
done
ln -s dir0/file0.c "$tmp/src/tree/link-to-file0"
tar -C "$tmp/src" -czf "$tmp/data/tree.tgz" tree
(cd "$tmp/src" && find tree -type f | LC_ALL=C sort | xargs sha256sum) >"$tmp/data/tree.sha256"
for probe in lockprobe xattrprobe copyprobe dioprobe; do
  if gcc -static -O2 -pthread -o "$tmp/data/$probe" "$repo/tests/e2e/guest/$probe.c"; then
    pass "built the $probe"
  else
    fail "gcc -static $probe.c"; exit 1
  fi
done

ip netns add "$ns" && ip -n "$ns" link set lo up || { fail "create network namespace $ns"; exit 1; }
export MANIFOLD_LEASE_TIME_S=15  # a short lease and grace period keep the restart quick
if ip netns exec "$ns" "$local_cluster" up --dir "$tmp/cluster" --client-host 10.0.2.2 --bin-dir "$bin_dir"; then
  pass "local-cluster up (manifold-ds, manifold-mds)"
else
  fail "local-cluster up"; exit 1
fi
cp "$tmp/cluster/cluster.env" "$tmp/data/cluster.env"

cat >"$tmp/guest.sh" <<'GUEST'
. /data/cluster.env
M=/mnt
sha() { sha256sum "$1" | cut -d' ' -f1; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
mnt() { mount -t nfs4 -o "vers=$1,port=$MDS_PORT,addr=10.0.2.2,clientaddr=10.0.2.15" 10.0.2.2:/ $M; }

s_mount42() { mnt 4.2 && grep " $M nfs4 " /proc/mounts | grep -q vers=4.2; }
s_xattr_early() { echo early >$M/early && /data/xattrprobe early-set $M/early; }
s_untar() {  # the MDS is killed and restarted by the host while this runs
  mkdir $M/w && tar -C $M/w -xzf /data/tree.tgz && drop &&
  (cd $M/w && find tree -type f | LC_ALL=C sort | xargs sha256sum) >/tmp/got.sha256 &&
  cmp /tmp/got.sha256 /data/tree.sha256 && [ "$(readlink $M/w/tree/link-to-file0)" = dir0/file0.c ]
}
s_cp_a() {
  cp -a $M/w/tree $M/w/copy && drop &&
  (cd $M/w/copy && find . -type f | LC_ALL=C sort | xargs sha256sum) >/tmp/copy.sha256 &&
  sed 's#  tree/#  ./#' /data/tree.sha256 | cmp - /tmp/copy.sha256 &&
  [ "$(stat -c %a $M/w/copy/dir3)" = "$(stat -c %a $M/w/tree/dir3)" ]
}
s_rename() {
  mv $M/w/copy/dir1 $M/w/tree/dir2/sub/moved && [ ! -e $M/w/copy/dir1 ] &&
  [ "$(sha $M/w/tree/dir2/sub/moved/file7.c)" = "$(sha $M/w/tree/dir1/file7.c)" ] &&
  mv $M/w/copy/dir4/file1.c $M/w/copy/dir5/renamed.c && [ -f $M/w/copy/dir5/renamed.c ] &&
  echo new >$M/w/over && mv $M/w/over $M/w/copy/dir5/file2.c && [ "$(cat $M/w/copy/dir5/file2.c)" = new ]
}
s_links() {
  ln $M/w/tree/dir0/file3.c $M/w/hard && [ "$(stat -c %h $M/w/hard)" = 2 ] &&
  ln -s ../w/tree/dir0 $M/w/soft && [ "$(sha $M/w/soft/file3.c)" = "$(sha $M/w/hard)" ] &&
  rm $M/w/hard && [ "$(stat -c %h $M/w/tree/dir0/file3.c)" = 1 ]
}
s_attrs() {
  f=$M/w/tree/dir6/file6.c
  chmod 0600 $f && [ "$(stat -c %a $f)" = 600 ] && chown 1000:1000 $f && [ "$(stat -c %u:%g $f)" = 1000:1000 ] &&
  touch -d '2020-02-03 04:05:06' $f && [ "$(stat -c %Y $f)" = "$(date -d '2020-02-03 04:05:06' +%s)" ] &&
  truncate -s 10 $f && [ "$(stat -c %s $f)" = 10 ] && truncate -s 5000 $f && drop && [ "$(stat -c %s $f)" = 5000 ] &&
  [ "$(tail -c 4990 $f | tr -d '\0' | wc -c)" = 0 ]
}
# Rules the Linux client leaves to the server (pjdfstest chmod/12, chown/00, rename/09): a write
# by another user drops the set-id bits, a new group drops them, a directory another user
# cannot write cannot be moved to another parent by them.
s_setid() {
  f=$M/w/setid && echo x >$f && chmod 06777 $f && [ "$(stat -c %a $f)" = 6777 ] &&
  su -s /bin/sh tester -c "echo y >>$f" && [ "$(stat -c %a $f)" = 777 ] &&
  chmod 06755 $f && chgrp 1000 $f && [ "$(stat -c %a $f)" = 755 ] &&
  mkdir -m 0777 $M/w/open && mkdir -m 0755 $M/w/open/rootdir && su -s /bin/sh tester -c "mkdir $M/w/open/mine" &&
  ! su -s /bin/sh tester -c "mv $M/w/open/rootdir $M/w/open/mine/" 2>/dev/null && [ -d $M/w/open/rootdir ] &&
  chmod 02777 $M/w/open && (umask 022 && mkdir $M/w/open/sub) && [ "$(stat -c %a $M/w/open/sub)" = 2755 ]
}
s_append() {
  f=$M/w/log && i=0 && while [ $i -lt 50 ]; do echo "line $i" >>$f || return 1; i=$((i + 1)); done &&
  drop && [ "$(wc -l <$f)" = 50 ] && [ "$(tail -n1 $f)" = "line 49" ]
}
# Asynchronous O_DIRECT appends, each seen by fstat once complete (xfstests generic/207's check;
# docs/protocol.md, change_attr_type): one run in about seven failed before, so 20 runs.
s_dio() { /data/dioprobe $M/w/dio 20; }
s_sparse() {
  f=$M/w/sparse && dd if=/dev/urandom of=/tmp/blk bs=4096 count=1 2>/dev/null &&
  dd if=/tmp/blk of=$f bs=4096 seek=2560 2>/dev/null && drop &&
  [ "$(stat -c %s $f)" = $((2561 * 4096)) ] && [ "$(dd if=$f bs=4096 skip=2560 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$(sha /tmp/blk)" ] &&
  [ "$(dd if=$f bs=4096 count=100 2>/dev/null | tr -d '\0' | wc -c)" = 0 ]
}
s_locks() { /data/lockprobe $M/w/lockfile $M/w/flockfile; }
# copy_file_range(2) of 70 MiB: the kernel sends COPY, which the MDS does on the data servers
# (16 MiB a call, so the kernel continues with more COPYs); mountstats counts them.
s_copy() {
  dd if=/dev/urandom of=$M/w/big bs=1M count=70 2>/dev/null && /data/copyprobe $M/w/big $M/w/big.copy &&
  drop && [ "$(dd if=$M/w/big.copy bs=1M count=35 2>/dev/null | sha256sum)" = "$(dd if=$M/w/big bs=1M skip=35 2>/dev/null | sha256sum)" ] &&
  [ "$(dd if=$M/w/big.copy bs=1M skip=35 2>/dev/null | sha256sum)" = "$(dd if=$M/w/big bs=1M skip=35 2>/dev/null | sha256sum)" ] &&
  awk '$1 == "COPY:" { n = $2 } END { exit !(n >= 8) }' /proc/self/mountstats &&
  rm $M/w/big $M/w/big.copy
}
# A read delegation broken by another client: this client keeps the file open for reading (the
# MDS grants it a read delegation), then a second client on the host opens it for writing; the
# MDS recalls the delegation, this kernel returns it, and the new bytes are seen here.
s_deleg() {
  printf original >$M/w/deleg && exec 3<$M/w/deleg && [ "$(cat <&3)" = original ] &&
  [ "$(cat $M/w/deleg)" = original ] && touch $M/w/deleg.ready && i=0 &&
  while [ "$(cat $M/w/deleg)" != "changed by another client" ]; do
    i=$((i + 1)); [ $i -le 120 ] || return 1; sleep 1
  done && exec 3<&-
}
s_xattr() {  # set, then read back after a remount (no client cache); another user may only read
  f=$M/w/xattrs && d=$M/w/tree/dir7 && echo data >$f && chmod 0644 $f &&
  /data/xattrprobe set $f $d && su -s /bin/sh nobody -c "/data/xattrprobe deny $f" &&
  cd / && umount $M && mnt 4.2 && /data/xattrprobe check $f $d &&
  /data/xattrprobe early-check $M/early && rm $M/early
}
s_remount41() { umount $M && mnt 4.1 && grep " $M nfs4 " /proc/mounts | grep -q vers=4.1 && [ -f $M/w/log ]; }
s_rm_rf() { rm -rf $M/w && [ ! -e $M/w ] && [ -z "$(ls -A $M)" ]; }
s_umount() { umount $M; }

if [ "${1:-}" = __step ]; then set -x; "$2"; exit $?; fi
fails=0 n=0
step() {
  n=$((n + 1))
  timeout -s KILL "${STEP_TIMEOUT:-300}" sh /test.sh __step "$1" >/tmp/step.log 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then echo "PASS: $2"; else echo "FAIL: $2 (status $rc)"; tail -30 /tmp/step.log | sed 's/^/    | /'; fails=$((fails + 1)); fi
  return $rc
}
step s_mount42 "mount NFSv4.2" || { dmesg | tail -20; exit 1; }
step s_xattr_early "setxattr before the MDS restart"
echo "GUEST: untar starts"
step s_untar "tar -xzf a tree of 2000 files (MDS killed and restarted meanwhile), checksums"
step s_cp_a "cp -a the tree, checksums and modes"
step s_rename "rename files and directories across directories, over an existing file"
step s_links "hard and symbolic links"
step s_attrs "chmod, chown, touch -d, truncate down and up"
step s_setid "set-id bits after another user's write and a chgrp; moving another user's directory; setgid directories"
step s_append "50 appends"
step s_sparse "a 10 MiB sparse file"
step s_dio "4,000 asynchronous O_DIRECT appends, each seen by fstat once complete, 20 times"
step s_locks "fcntl byte-range locks and flock between two processes"
step s_copy "copy_file_range of 70 MiB as server-side COPY, with offsets"
step s_xattr "user xattrs: create/replace/remove, 64 KiB, listxattr, rights, after a remount and the MDS restart"
step s_deleg "a read delegation recalled for another client's write; its bytes are seen"
step s_remount41 "remount with NFSv4.1"
step s_rm_rf "rm -rf everything"
step s_umount "umount"
echo "guest: $((n - fails)) of $n steps passed"
[ $fails -eq 0 ]
GUEST

# The killer: once the guest has created enough files (seen in the namespace's RocksDB-backed
# MDS through the DS's data folder), SIGKILL the MDS and start it again at once.
kill_and_restart() {
  local data_dir=$tmp/cluster/ds1/export/data deadline=$((SECONDS + 600)) pid
  until [ "$(ls "$data_dir" 2>/dev/null | wc -l)" -ge "$kill_after_files" ]; do
    [ $SECONDS -lt $deadline ] || { echo "KILLER: the guest never got going"; return 1; }
    sleep 0.2
  done
  pid=$(cat "$tmp/cluster/pids/mds.pid")
  kill -KILL "$pid" && echo "KILLER: SIGKILL manifold-mds (pid $pid) after $(ls "$data_dir" | wc -l) data files"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  ip netns exec "$ns" "$local_cluster" up --dir "$tmp/cluster" --client-host 10.0.2.2 --bin-dir "$bin_dir" >"$tmp/restart.log" 2>&1 &&
    echo "KILLER: manifold-mds restarted (pid $(cat "$tmp/cluster/pids/mds.pid"))"
}
kill_and_restart >"$tmp/killer.log" 2>&1 &
killer_pid=$!
# shellcheck disable=SC1091
mds_port=$(. "$tmp/cluster/cluster.env" && echo "$MDS_PORT")
ip netns exec "$ns" "$breaker" 127.0.0.1 "$mds_port" /w/deleg.ready /w/deleg "changed by another client" \
  >"$tmp/breaker.log" 2>&1 &
breaker_pid=$!

ip netns exec "$ns" "$run_guest" --log "$tmp/console.log" --timeout "${MANIFOLD_GUEST_TIMEOUT:-900}" \
  "$tmp/guest.sh" "$tmp/data/cluster.env" "$tmp/data/tree.tgz" "$tmp/data/tree.sha256" "$tmp/data/lockprobe" \
  "$tmp/data/xattrprobe" "$tmp/data/copyprobe" "$tmp/data/dioprobe" &
guest_pid=$!
wait "$guest_pid"
guest_rc=$?
guest_pid=
wait "$killer_pid"; killer_rc=$?; killer_pid=
cat "$tmp/killer.log"
wait "$breaker_pid"; breaker_rc=$?; breaker_pid=
sed 's/^/BREAKER: /' "$tmp/breaker.log"
console=$(tr -d '\r' <"$tmp/console.log" 2>/dev/null)
grep -E '^(PASS|FAIL): |^    \| ' <<<"$console"
guest_pass=$(grep -c '^PASS: ' <<<"$console")
guest_fail=$(grep -c '^FAIL: ' <<<"$console")
if [ "$guest_rc" -eq 0 ] && [ "$guest_fail" -eq 0 ] && [ "$guest_pass" -ge 17 ]; then
  pass "guest: all $guest_pass steps passed"
else
  fail "guest: exit status $guest_rc, $guest_pass steps passed, $guest_fail failed"
fi
if [ "$killer_rc" -eq 0 ] && grep -q 'restarted' "$tmp/killer.log"; then
  pass "the MDS was killed with SIGKILL mid-workload and restarted"
else
  fail "the MDS kill/restart did not happen"
fi
if grep -q 'clients may reclaim' "$tmp/cluster/logs/mds.log"; then
  pass "the restarted MDS recovered its client records: $(grep 'clients may reclaim' "$tmp/cluster/logs/mds.log" | tail -1 | sed 's/.*state: //')"
fi
# The backchannel: after CREATE_SESSION the MDS sends CB_SEQUENCE on the client's connection,
# and the Linux client must answer it.
if grep -q 'CB_SEQUENCE answered NFS4_OK' "$tmp/cluster/logs/mds.log"; then
  pass "the Linux client answered CB_SEQUENCE on its back channel"
else
  fail "no CB_SEQUENCE answered NFS4_OK in mds.log: $(grep -i backchannel "$tmp/cluster/logs/mds.log" | tail -2)"
fi
# The delegation: the second client's write open waited for the recall, and the MDS logged
# the Linux client's answer to CB_RECALL.
if [ "$breaker_rc" -eq 0 ] && grep -q 'CB_RECALL .* answered NFS4_OK' "$tmp/cluster/logs/mds.log"; then
  pass "the Linux client answered CB_RECALL and returned its read delegation for the second client"
else
  fail "delegation recall: deleg_breaker exit $breaker_rc; $(grep -i 'CB_RECALL' "$tmp/cluster/logs/mds.log" | tail -2)"
fi
leftover=$(ls "$tmp/cluster/ds1/export/data" 2>/dev/null | wc -l)
# Data files of removed files are deleted asynchronously: give them a moment.
for _ in 1 2 3 4 5 6 7 8 9 10; do [ "$leftover" -eq 0 ] && break; sleep 1; leftover=$(ls "$tmp/cluster/ds1/export/data" | wc -l); done
[ "$leftover" -eq 0 ] && pass "no data files are left on the DS after rm -rf" || echo "NOTE: host: $leftover data files left on the DS (orphans of the kill)"
if [ "$host_fails" -ne 0 ]; then
  echo "---- tail of mds.log ----"; tail -n 40 "$tmp/cluster/logs/mds.log"
  echo "---- mds.out ----"; tail -n 20 "$tmp/cluster/logs/mds.out"
  echo "$name: FAIL"; exit 1
fi
echo "$name: PASS"
exit 0
