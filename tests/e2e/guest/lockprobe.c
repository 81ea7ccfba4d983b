// lockprobe FILE: byte-range locks as a local program sees them, through an NFS mount.
// The parent takes a write lock on bytes 0..99 (fcntl) and a whole-file flock() on a second
// descriptor of another file; a child process (another lock owner) must be refused both, may
// lock bytes 100..199, and gets the lock once the parent releases it. Exit 0 when all hold.
// Built static by the e2e test on the host and run inside the qemu guest.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static int set_lock(int fd, short type, off_t start, off_t len, int wait) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  return fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl);
}

static int child(const char* path, const char* path2, int pipe_rd) {
  int fd = open(path, O_RDWR);
  int fd2 = open(path2, O_RDWR);
  if (fd < 0 || fd2 < 0) return 10;
  if (set_lock(fd, F_WRLCK, 0, 100, 0) == 0) return 11;  // conflicts with the parent
  if (errno != EAGAIN && errno != EACCES) return 12;
  struct flock probe = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 50, .l_len = 10};
  if (fcntl(fd, F_GETLK, &probe) != 0 || probe.l_type != F_WRLCK) return 13;  // LOCKT
  if (set_lock(fd, F_WRLCK, 100, 100, 0) != 0) return 14;  // no overlap: granted
  if (flock(fd2, LOCK_EX | LOCK_NB) == 0) return 15;      // parent holds flock
  char c;
  if (read(pipe_rd, &c, 1) != 1) return 16;                // parent unlocked
  if (set_lock(fd, F_WRLCK, 0, 100, 0) != 0) return 17;
  if (flock(fd2, LOCK_EX | LOCK_NB) != 0) return 18;
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  int fd = open(argv[1], O_RDWR | O_CREAT, 0644);
  int fd2 = open(argv[2], O_RDWR | O_CREAT, 0644);
  if (fd < 0 || fd2 < 0) return 3;
  if (set_lock(fd, F_WRLCK, 0, 100, 0) != 0) return 4;
  if (flock(fd2, LOCK_EX) != 0) return 5;
  int p[2];
  if (pipe(p) != 0) return 6;
  pid_t pid = fork();
  if (pid == 0) _exit(child(argv[1], argv[2], p[0]));
  sleep(2);
  if (set_lock(fd, F_UNLCK, 0, 100, 0) != 0) return 7;
  if (flock(fd2, LOCK_UN) != 0) return 8;
  if (write(p[1], "x", 1) != 1) return 9;
  int status = 0;
  waitpid(pid, &status, 0);
  int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 99;
  printf("lockprobe: child status %d\n", rc);
  return rc;
}
