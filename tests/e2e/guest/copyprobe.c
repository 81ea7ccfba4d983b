// copyprobe SRC DST: copy_file_range(2) of the whole of SRC into a new DST, then of SRC's
// second half over DST's first bytes, checked by reading both back. Through an NFSv4.2 mount
// the kernel sends COPY (RFC 7862 15.2), and loops on short copies as any caller must.
// copyprobe --whole SRC DST: only the whole copy, then fsync(DST), unchecked (for timing:
// tools/bench/mds-copy-in-guest).
// Exit 0 when all hold; otherwise a message on stderr and the number of the failed check.
// Built static by the e2e test on the host and run inside the qemu guest.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static int fail(int code, const char* what) {
  fprintf(stderr, "copyprobe: check %d failed: %s (errno %d: %s)\n", code, what, errno,
          strerror(errno));
  return code;
}

// Copies `len` bytes from `in` at *off_in to `out` at *off_out; returns the bytes copied.
static long long copy_all(int in, loff_t* off_in, int out, loff_t* off_out, long long len) {
  long long done = 0;
  while (done < len) {
    ssize_t n = copy_file_range(in, off_in, out, off_out, (size_t)(len - done), 0);
    if (n < 0) return -1;
    if (n == 0) break;
    done += n;
  }
  return done;
}

// Do [a_off, a_off+len) of `a` and [b_off, b_off+len) of `b` hold the same bytes?
static int same(int a, off_t a_off, int b, off_t b_off, long long len) {
  static char x[CHUNK], y[CHUNK];
  for (long long done = 0; done < len;) {
    size_t want = (size_t)(len - done < CHUNK ? len - done : CHUNK);
    if (pread(a, x, want, a_off + done) != (ssize_t)want) return 0;
    if (pread(b, y, want, b_off + done) != (ssize_t)want) return 0;
    if (memcmp(x, y, want) != 0) return 0;
    done += (long long)want;
  }
  return 1;
}

int main(int argc, char** argv) {
  const int whole_only = argc == 4 && strcmp(argv[1], "--whole") == 0;
  if (argc != 3 && !whole_only) {
    fprintf(stderr, "usage: copyprobe [--whole] SRC DST\n");
    return 2;
  }
  if (whole_only) argv++;
  int in = open(argv[1], O_RDONLY);
  if (in < 0) return fail(1, "open SRC");
  struct stat st;
  if (fstat(in, &st) != 0 || st.st_size < 2) return fail(2, "SRC has fewer than 2 bytes");
  int out = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (out < 0) return fail(3, "create DST");
  if (copy_all(in, NULL, out, NULL, st.st_size) != st.st_size) return fail(4, "copy the whole");
  if (whole_only) return fsync(out) == 0 ? 0 : fail(12, "fsync DST");
  struct stat got;
  if (fstat(out, &got) != 0 || got.st_size != st.st_size) return fail(5, "DST's size");
  if (!same(in, 0, out, 0, st.st_size)) return fail(6, "DST's bytes after the whole copy");
  // With offsets: SRC's second half over DST's start; the file positions do not move.
  long long half = st.st_size / 2;
  loff_t off_in = st.st_size - half, off_out = 0;
  if (copy_all(in, &off_in, out, &off_out, half) != half) return fail(7, "copy with offsets");
  if (off_in != st.st_size || off_out != half) return fail(8, "the offsets after the copy");
  if (!same(in, st.st_size - half, out, 0, half)) return fail(9, "DST's first half");
  if (!same(in, half, out, half, st.st_size - half)) return fail(10, "DST's untouched rest");
  if (close(out) != 0) return fail(11, "close DST");
  close(in);
  return 0;
}
