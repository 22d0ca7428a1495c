/*
 * uri: percent-encoding exactly as AWS SigV4 and S3 define it.
 *
 * Unreserved characters (A-Z a-z 0-9 - _ . ~) stay, everything else becomes %XY with upper-case
 * hex; '/' stays only when asked (object key paths). Decoding is done exactly once (S3 paths are
 * neither normalized nor double-encoded: ../shared/S3-BEHAVIOUR.md).
 */
#ifndef CORE_URI_H
#define CORE_URI_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>

int uri_encode(struct buf *b, const char *s, size_t len, bool keep_slash) BUF_WARN_UNUSED;
/* Decode %XY sequences; with plus_as_space, '+' becomes ' ' (form/query values).
 * Returns -EINVAL on a bad escape, leaving b with what was decoded so far. */
int uri_decode(struct buf *b, const char *s, size_t len, bool plus_as_space) BUF_WARN_UNUSED;

#endif
