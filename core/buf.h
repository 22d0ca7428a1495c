/*
 * buf: a growable byte buffer with a hard cap set at creation.
 *
 * Everything in the project that grows (response headers, XML bodies, canonical requests,
 * list results) grows through this, so every growth has a limit (STYLE.md section 5: curl's
 * dynbuf takes a "toobig" limit the same way). data is always NUL-terminated when non-NULL, so a
 * buffer can be handed to C string APIs, but len is what counts: bytes may contain NULs.
 */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define BUF_WARN_UNUSED __attribute__((warn_unused_result))

struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* appends that would pass this fail with -E2BIG */
};

/* Start empty with a cap of max bytes. Allocates nothing until the first append. */
void buf_init(struct buf *b, size_t max);
/* Free the storage; the buffer may be reused after buf_init. */
void buf_free(struct buf *b);
/* Forget the contents, keep the storage. */
void buf_reset(struct buf *b);

/* Append n bytes. 0, -ENOMEM, or -E2BIG (nothing appended then). */
int buf_append(struct buf *b, const void *p, size_t n) BUF_WARN_UNUSED;
int buf_append_str(struct buf *b, const char *s) BUF_WARN_UNUSED;
int buf_append_char(struct buf *b, char c) BUF_WARN_UNUSED;
/* Append v in decimal. Not printf: response heads append numbers on every request. */
int buf_append_u64(struct buf *b, uint64_t v) BUF_WARN_UNUSED;
int buf_appendf(struct buf *b, const char *fmt, ...) BUF_WARN_UNUSED
    __attribute__((format(printf, 2, 3)));
int buf_vappendf(struct buf *b, const char *fmt, va_list ap) BUF_WARN_UNUSED;

/* Hand the storage to the caller (who frees it) and leave the buffer empty. Never NULL on
 * success: an empty buffer yields an allocated "". Returns NULL only on -ENOMEM. */
char *buf_take(struct buf *b, size_t *len);

#endif
