// xattrprobe MODE FILE [DIR]: user extended attributes as a local program sees them, through an
// NFSv4.2 mount (RFC 8276 on the wire). The guest's busybox has no setfattr/getfattr.
//   set FILE DIR   create, replace, the XATTR_CREATE/XATTR_REPLACE errors, a 64 KiB value, a
//                  too-big one, 30 more names, listxattr (size query, exact buffer, ERANGE),
//                  removexattr; and one xattr on the directory
//   check FILE DIR what `set` left, read again (run after a remount: nothing cached)
//   deny FILE      as another user on a 0644 file: reading works, changing is EACCES
//   early-set FILE / early-check FILE   one xattr, before and after the MDS restart
// Exit 0 when all hold; otherwise a message on stderr and the number of the failed check.
// Built static by the e2e test on the host and run inside the qemu guest.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#define NAMES 30
#define BIG 65536

static int fail(int code, const char* what) {
  fprintf(stderr, "xattrprobe: check %d failed: %s (errno %d: %s)\n", code, what, errno,
          strerror(errno));
  return code;
}

static int value_is(const char* path, const char* name, const char* want) {
  char buf[256];
  ssize_t n = getxattr(path, name, buf, sizeof(buf));
  return n == (ssize_t)strlen(want) && memcmp(buf, want, (size_t)n) == 0;
}

static void fill_big(char* big) {
  for (int i = 0; i < BIG; i++) big[i] = (char)(i * 7 + 3);
}

// The names listxattr returns: every one of `want` (NULL-terminated) and `count` in all.
static int list_has(const char* path, const char* const* want, int count) {
  static char buf[1 << 16];
  ssize_t size = listxattr(path, NULL, 0);
  if (size <= 0 || size > (ssize_t)sizeof(buf)) return 0;
  ssize_t got = listxattr(path, buf, (size_t)size);  // exactly the size asked for
  if (got != size) return 0;
  int seen = 0;
  for (ssize_t off = 0; off < got; off += (ssize_t)strlen(buf + off) + 1) seen++;
  if (seen != count) return 0;
  for (int i = 0; want[i]; i++) {
    int found = 0;
    for (ssize_t off = 0; off < got && !found; off += (ssize_t)strlen(buf + off) + 1) {
      found = strcmp(buf + off, want[i]) == 0;
    }
    if (!found) return 0;
  }
  return 1;
}

static int set_mode(const char* f, const char* dir) {
  static char big[BIG + 1];
  fill_big(big);
  if (setxattr(f, "user.colour", "blue", 4, XATTR_CREATE) != 0) return fail(10, "create");
  if (setxattr(f, "user.colour", "red", 3, XATTR_CREATE) == 0 || errno != EEXIST) {
    return fail(11, "XATTR_CREATE of an existing name is EEXIST");
  }
  if (setxattr(f, "user.missing", "x", 1, XATTR_REPLACE) == 0 || errno != ENODATA) {
    return fail(12, "XATTR_REPLACE of a missing name is ENODATA");
  }
  if (setxattr(f, "user.colour", "green", 5, XATTR_REPLACE) != 0) return fail(13, "replace");
  if (!value_is(f, "user.colour", "green")) return fail(14, "read back the replaced value");
  if (setxattr(f, "user.big", big, BIG, 0) != 0) return fail(15, "a 64 KiB value");
  if (setxattr(f, "user.bigger", big, BIG + 1, 0) == 0 || errno != E2BIG) {
    return fail(16, "a value over 64 KiB is E2BIG");
  }
  for (int i = 0; i < NAMES; i++) {
    char name[32];
    snprintf(name, sizeof(name), "user.n%d", i);
    if (setxattr(f, name, "v", 1, 0) != 0) return fail(17, name);
  }
  char small[8];
  if (listxattr(f, small, sizeof(small)) != -1 || errno != ERANGE) {
    return fail(18, "listxattr into a too small buffer is ERANGE");
  }
  if (removexattr(f, "user.n0") != 0) return fail(19, "removexattr");
  if (getxattr(f, "user.n0", small, sizeof(small)) != -1 || errno != ENODATA) {
    return fail(20, "a removed name is ENODATA");
  }
  if (removexattr(f, "user.n0") == 0 || errno != ENODATA) return fail(21, "remove it again");
  if (setxattr(dir, "user.on-dir", "d", 1, 0) != 0) return fail(22, "an xattr on a directory");
  return 0;
}

static int check_mode(const char* f, const char* dir) {
  static char big[BIG], got[BIG + 1];
  fill_big(big);
  if (!value_is(f, "user.colour", "green")) return fail(30, "user.colour after a remount");
  if (getxattr(f, "user.big", got, sizeof(got)) != BIG || memcmp(got, big, BIG) != 0) {
    return fail(31, "the 64 KiB value after a remount");
  }
  const char* want[] = {"user.colour", "user.big", "user.n1", "user.n29", NULL};
  if (!list_has(f, want, 2 + NAMES - 1)) return fail(32, "listxattr after a remount");
  if (getxattr(f, "user.n0", got, sizeof(got)) != -1 || errno != ENODATA) {
    return fail(33, "the removed name stays removed");
  }
  if (!value_is(dir, "user.on-dir", "d")) return fail(34, "the directory's xattr");
  return 0;
}

static int deny_mode(const char* f) {
  if (!value_is(f, "user.colour", "green")) return fail(40, "another user reads a 0644 file's");
  if (setxattr(f, "user.colour", "x", 1, 0) == 0 || errno != EACCES) {
    return fail(41, "another user's setxattr is EACCES");
  }
  if (removexattr(f, "user.colour") == 0 || errno != EACCES) {
    return fail(42, "another user's removexattr is EACCES");
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 4 && strcmp(argv[1], "set") == 0) return set_mode(argv[2], argv[3]);
  if (argc >= 4 && strcmp(argv[1], "check") == 0) return check_mode(argv[2], argv[3]);
  if (argc >= 3 && strcmp(argv[1], "deny") == 0) return deny_mode(argv[2]);
  if (argc >= 3 && strcmp(argv[1], "early-set") == 0) {
    return setxattr(argv[2], "user.early", "before the restart", 18, XATTR_CREATE) == 0
               ? 0
               : fail(50, "early setxattr");
  }
  if (argc >= 3 && strcmp(argv[1], "early-check") == 0) {
    return value_is(argv[2], "user.early", "before the restart") ? 0 : fail(51, "early xattr");
  }
  fprintf(stderr, "usage: xattrprobe set|check FILE DIR | deny|early-set|early-check FILE\n");
  return 2;
}
