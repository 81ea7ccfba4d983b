/*
 * xdr_strings.c -- XDR string routines for names that must not hold a NUL.
 *
 * libtirpc's xdr_string decodes a string<N> of L bytes into L + 1 bytes with a
 * NUL after them, and accepts NUL bytes inside: C code then sees only the part
 * before the first NUL.  For file names that turns "a\0b" into "a".  These
 * routines decode as xdr_string does and fail (the call is GARBAGE_ARGS, as
 * knfsd answers) when a NUL is among the L bytes.  Encoding and freeing are
 * xdr_string's.
 */
#include <stdlib.h>
#include <string.h>

#include <rpc/rpc.h>

#include "mount3.h"
#include "nfs3.h"

static bool_t xdr_string_without_nul(XDR *xdrs, char **objp, u_int max) {
  if (xdrs->x_op != XDR_DECODE) return xdr_string(xdrs, objp, max);
  u_int size;
  if (!xdr_u_int(xdrs, &size) || size > max) return FALSE;
  int allocated = 0;
  if (*objp == NULL) {
    *objp = malloc((size_t)size + 1);
    if (*objp == NULL) return FALSE;
    allocated = 1;
  }
  char *s = *objp;
  if (!xdr_opaque(xdrs, s, size) || memchr(s, '\0', size) != NULL) {
    if (allocated) {
      free(s);
      *objp = NULL;
    }
    return FALSE;
  }
  s[size] = '\0';
  return TRUE;
}

bool_t xdr_manifold_name3(XDR *xdrs, manifold_name3 *objp) {
  return xdr_string_without_nul(xdrs, objp, MANIFOLD_NFS3_NAME_MAX);
}

bool_t xdr_manifold_path3(XDR *xdrs, manifold_path3 *objp) {
  return xdr_string_without_nul(xdrs, objp, MANIFOLD_NFS3_PATH_MAX);
}

bool_t xdr_manifold_dirpath(XDR *xdrs, manifold_dirpath *objp) {
  return xdr_string_without_nul(xdrs, objp, MNTPATHLEN);
}
