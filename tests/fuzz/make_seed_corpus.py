#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/ (small valid inputs).

The files are checked in; run this again after changing it:
    python3 tests/fuzz/make_seed_corpus.py
Input formats are described at the top of each fuzz_*.cc.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def u64(v):
    return struct.pack(">Q", v)


def opaque(b):
    return u32(len(b)) + b + b"\0" * (-len(b) % 4)


def string(s):
    return opaque(s.encode())


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- RPC call headers -------------------------------------------------------------------------

def call_header(xid, prog, vers, proc, cred=None, rpcvers=2, verf_flavor=0):
    out = u32(xid) + u32(0) + u32(rpcvers) + u32(prog) + u32(vers) + u32(proc)
    if cred is None:
        out += u32(0) + u32(0)
    else:
        out += u32(1) + opaque(cred)
    return out + u32(verf_flavor) + u32(0)


def auth_sys(uid, gid, gids, machine="client"):
    body = u32(12345) + string(machine) + u32(uid) + u32(gid) + u32(len(gids))
    for g in gids:
        body += u32(g)
    return body


def rpc_call():
    t = "fuzz_rpc_call"
    write(t, "none-null", call_header(1, 100003, 3, 0))
    write(t, "sys-getattr", call_header(2, 100003, 3, 1, auth_sys(1000, 1000, [1000, 27]))
          + opaque(b"\x01" * 20))
    write(t, "sys-16-gids", call_header(3, 100005, 3, 1, auth_sys(0, 0, list(range(16)), "h" * 255))
          + string("/export"))
    write(t, "rpcvers-3", call_header(4, 100003, 3, 0, rpcvers=3))
    write(t, "bad-verifier", call_header(5, 100003, 3, 0, verf_flavor=1))
    # Replies (ParseReply runs over the same bytes): accepted SUCCESS, PROG_MISMATCH, denied.
    write(t, "reply-success", u32(6) + u32(1) + u32(0) + u32(0) + u32(0) + u32(0) + u32(0))
    write(t, "reply-mismatch", u32(7) + u32(1) + u32(0) + u32(0) + u32(0) + u32(2) + u32(3) + u32(3))
    write(t, "reply-denied", u32(8) + u32(1) + u32(1) + u32(1) + u32(1))


# --- Record marking ---------------------------------------------------------------------------

def record_marking():
    t = "fuzz_record_marking"
    # Stream bytes come first; the trailing bytes drive chunk sizes and operations.
    rec = call_header(1, 100003, 3, 0)
    write(t, "one-record", u32(0x80000000 | len(rec)) + rec + b"\x10\x04\x20\x05")
    write(t, "two-fragments", u32(8) + rec[:8] + u32(0x80000000 | (len(rec) - 8)) + rec[8:]
          + b"\x03\x01\x07\x02\x05\x04")
    write(t, "three-records", (u32(0x80000004) + b"abcd") * 3 + b"\x01\x05\x04\x00")
    write(t, "empty-fragments", u32(0) + u32(0) + u32(0x80000000) + b"\x02\x04")
    write(t, "over-bound", u32(0x80010001) + b"x" * 16 + b"\x08\x00")
    write(t, "direct-path", u32(0x80000040) + b"y" * 64 + b"\x30\x03\x30\x01\x04\x00")


# --- NFSv3 / MOUNT dispatch -------------------------------------------------------------------
# [proc][flags][uid lo][uid hi] args; flags bits 0-1 = handle in front (1 root, 2 file, 3 dir),
# bit 2 MOUNT; "\xfe\xfe" + i = XDR of fixture handle i (0 root, 1 file, 2 dir, 3 symlink).

ROOT, FILE, DIR = 1, 2, 3
MOUNT = 4


def fh(i):
    return b"\xfe\xfe" + bytes([i])


def nfs(proc, flags, args=b"", uid=0):
    return bytes([proc, flags, uid & 0xFF, uid >> 8]) + args


SATTR_NONE = u32(0) * 6  # mode, uid, gid, size unset; atime, mtime DONT_CHANGE
SATTR_MODE = u32(1) + u32(0o640) + u32(0) * 5


def nfs3_dispatch():
    t = "fuzz_nfs3_dispatch"
    write(t, "null", nfs(0, 0))
    write(t, "getattr-root", nfs(1, ROOT))
    write(t, "setattr-file", nfs(2, FILE, SATTR_MODE + u32(0)))
    write(t, "setattr-size", nfs(2, FILE, u32(0) * 3 + u32(1) + u64(100) + u32(0) * 2 + u32(0)))
    write(t, "lookup-file", nfs(3, ROOT, string("file")))
    write(t, "lookup-dotdot", nfs(3, DIR, string("..")))
    write(t, "access-root", nfs(4, ROOT, u32(0x3F), uid=1000))
    write(t, "readlink", nfs(5, 0, fh(3)))
    write(t, "read-file", nfs(6, FILE, u64(0) + u32(4096)))
    write(t, "write-file", nfs(7, FILE, u64(3) + u32(5) + u32(2) + opaque(b"fuzz!")))
    write(t, "create-unchecked", nfs(8, ROOT, string("new") + u32(0) + SATTR_MODE, uid=1000))
    write(t, "create-exclusive", nfs(8, ROOT, string("excl") + u32(2) + b"verifier"))
    write(t, "mkdir", nfs(9, DIR, string("d2") + SATTR_NONE))
    write(t, "symlink", nfs(10, ROOT, string("sl") + SATTR_NONE + string("file")))
    write(t, "mknod-fifo", nfs(11, ROOT, string("p") + u32(7) + SATTR_NONE))
    write(t, "remove", nfs(12, ROOT, string("file")))
    write(t, "rmdir", nfs(13, DIR, string("sub")))
    write(t, "rename", nfs(14, ROOT, string("file") + fh(2) + string("moved")))
    write(t, "link", nfs(15, FILE, fh(0) + string("hard")))
    write(t, "readdir", nfs(16, ROOT, u64(0) + b"\0" * 8 + u32(4096)))
    write(t, "readdirplus", nfs(17, DIR, u64(0) + b"\0" * 8 + u32(1024) + u32(8192)))
    write(t, "fsstat", nfs(18, ROOT))
    write(t, "fsinfo", nfs(19, ROOT))
    write(t, "pathconf", nfs(20, FILE))
    write(t, "commit", nfs(21, FILE, u64(0) + u32(0)))
    write(t, "mount-mnt", nfs(1, MOUNT, string("/export")))
    write(t, "mount-dump", nfs(2, MOUNT))
    write(t, "mount-umnt", nfs(3, MOUNT, string("/export")))
    write(t, "mount-export", nfs(5, MOUNT))


# --- NFSv4 decoders ---------------------------------------------------------------------------

def nfs4_args():
    t = "fuzz_nfs4_args"
    session = b"S" * 16
    sequence = u32(53) + session + u32(1) + u32(0) + u32(0) + u32(0)
    ops = [sequence, u32(24), u32(10), u32(9) + u32(2) + u32(0x0010011A) + u32(0x00B0A23A)]
    write(t, "compound-getattr", string("") + u32(2) + u32(len(ops)) + b"".join(ops))
    write(t, "compound-lookup", string("tag") + u32(1) + u32(3)
          + sequence + u32(24) + u32(15) + string("dir"))
    cb_sequence = u32(11) + session + u32(1) + u32(0) + u32(0) + u32(1) + u32(0)
    cb_recall = u32(4) + u32(1) + b"\0" * 12 + u32(0) + opaque(b"\x01" * 24)
    write(t, "cb-compound-recall", string("") + u32(1) + u32(7) + u32(2) + cb_sequence + cb_recall)
    write(t, "cb-compound-res", u32(0) + string("") + u32(2)
          + u32(11) + u32(0) + session + u32(1) + u32(0) + u32(0) + u32(0)
          + u32(4) + u32(0))


def main():
    rpc_call()
    record_marking()
    nfs3_dispatch()
    nfs4_args()
    return 0


if __name__ == "__main__":
    sys.exit(main())
