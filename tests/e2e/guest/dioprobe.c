// dioprobe FILE RUNS: appends WRITES blocks of BLOCK bytes to a new FILE with asynchronous
// O_DIRECT writes (Linux AIO, all submitted at once by one thread), and after each completes
// checks that fstat(2) shows the file at least as long as that write's end, as a local file
// system does (xfstests generic/207 does the same with libaio), while another thread opens and
// closes the file over and over, so that the client asks for its attributes all along. RUNS
// times, each on a new file. Through an NFSv4.2 mount the client learns nothing of the size
// from its O_DIRECT WRITEs; an attribute reply it handles after one completed must not take
// the size back (docs/protocol.md, change_attr_type).
// Exit 0 when every check holds; otherwise a message on stderr and exit 1.
// Built static by the e2e test on the host and run inside the qemu guest. The AIO calls are
// made with syscall(2): the guest has no libaio.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BLOCK 4096
#define WRITES 4000

static aio_context_t ctx;
static struct iocb cbs[WRITES];
static struct iocb* cb_ptrs[WRITES];
static int submit_error;
static volatile int writing;  // the reopener runs while it is set

// Opens and closes the file until `writing` drops: each open asks the server for attributes.
static void* reopen_all(void* arg) {
  const char* path = arg;
  while (writing) {
    int fd = open(path, O_RDONLY);
    if (fd >= 0) close(fd);
    usleep(500);
  }
  return NULL;
}

static void* submit_all(void* arg) {
  (void)arg;
  for (int i = 0; i < WRITES; i++) {
    if (syscall(SYS_io_submit, ctx, 1L, &cb_ptrs[i]) != 1) {
      submit_error = errno ? errno : EIO;
      return NULL;
    }
  }
  return NULL;
}

static int one_run(const char* path, int run, unsigned char* buf) {
  int fd = open(path, O_CREAT | O_TRUNC | O_DIRECT | O_RDWR, 0600);
  if (fd < 0) return fprintf(stderr, "dioprobe: open %s: %s\n", path, strerror(errno)), 1;
  ctx = 0;
  if (syscall(SYS_io_setup, WRITES, &ctx) != 0) {
    return fprintf(stderr, "dioprobe: io_setup: %s\n", strerror(errno)), 1;
  }
  for (int i = 0; i < WRITES; i++) {
    memset(&cbs[i], 0, sizeof(cbs[i]));
    cbs[i].aio_fildes = (uint32_t)fd;
    cbs[i].aio_lio_opcode = IOCB_CMD_PWRITE;
    cbs[i].aio_buf = (uint64_t)(uintptr_t)buf;
    cbs[i].aio_nbytes = BLOCK;
    cbs[i].aio_offset = (int64_t)i * BLOCK;
    cb_ptrs[i] = &cbs[i];
  }
  submit_error = 0;
  writing = 1;
  pthread_t submitter, reopener;
  if (pthread_create(&submitter, NULL, submit_all, NULL) != 0 ||
      pthread_create(&reopener, NULL, reopen_all, (void*)path) != 0) {
    return fprintf(stderr, "dioprobe: pthread_create failed\n"), 1;
  }
  static struct io_event events[WRITES];
  int left = WRITES, bad = 0;
  while (left > 0 && !bad) {
    long n = syscall(SYS_io_getevents, ctx, 1L, (long)WRITES, events, NULL);
    if (n < 0) {
      fprintf(stderr, "dioprobe: io_getevents: %s\n", strerror(errno));
      bad = 1;
      break;
    }
    left -= (int)n;
    for (long e = 0; e < n && !bad; e++) {
      const struct iocb* cb = (const struct iocb*)(uintptr_t)events[e].obj;
      if (events[e].res != BLOCK) {
        fprintf(stderr, "dioprobe: run %d: write @%lld returned %lld\n", run,
                (long long)cb->aio_offset, (long long)events[e].res);
        bad = 1;
        break;
      }
      struct stat st;
      const long long end = (long long)cb->aio_offset + BLOCK;
      if (fstat(fd, &st) != 0 || st.st_size < end) {
        fprintf(stderr, "dioprobe: run %d: write @%lld done, fstat shows %lld bytes, not %lld\n",
                run, (long long)cb->aio_offset, (long long)st.st_size, end);
        bad = 1;
      }
    }
  }
  pthread_join(submitter, NULL);
  writing = 0;
  pthread_join(reopener, NULL);
  if (submit_error && !bad) {
    fprintf(stderr, "dioprobe: io_submit: %s\n", strerror(submit_error));
    bad = 1;
  }
  // Writes still in flight after a failure are waited for by io_destroy.
  syscall(SYS_io_destroy, ctx);
  close(fd);
  unlink(path);
  return bad;
}

int main(int argc, char** argv) {
  if (argc != 3) return fprintf(stderr, "usage: dioprobe FILE RUNS\n"), 2;
  const int runs = atoi(argv[2]);
  unsigned char* buf = NULL;
  if (posix_memalign((void**)&buf, BLOCK, BLOCK) != 0) return 1;
  for (int i = 0; i < BLOCK; i++) buf[i] = (unsigned char)('A' + i % 26);
  int failed = 0;
  for (int run = 1; run <= runs; run++) failed += one_run(argv[1], run, buf);
  if (failed) fprintf(stderr, "dioprobe: %d of %d runs failed\n", failed, runs);
  return failed ? 1 : 0;
}
