/*
 * range: the HTTP Range header as S3 answers it (../shared/S3-BEHAVIOUR.md "Range").
 *
 * One range per request: "bytes=a-b", "bytes=a-", "bytes=-n". S3 ignores a header that does not
 * parse and a multi-range header (200, whole object); an end past the size is clamped; a start at
 * or past the size, "bytes=-0", and any range on a 0-byte object are unsatisfiable (416).
 */
#ifndef CORE_RANGE_H
#define CORE_RANGE_H

#include <stddef.h>
#include <stdint.h>

enum range_result {
    RANGE_NONE,          /* no header, malformed, or several ranges: send the whole object */
    RANGE_PARTIAL,       /* out holds the clamped inclusive range: 206 */
    RANGE_UNSATISFIABLE, /* 416 InvalidRange with Content-Range: bytes *\/size */
};

struct byte_range {
    uint64_t first; /* inclusive */
    uint64_t last;  /* inclusive, < object size */
};

/* header may be NULL (len 0). Pure; never reads past header+len. */
enum range_result range_resolve(const char *header, size_t len, uint64_t size,
                                struct byte_range *out);

/* Parse a Content-Range response header "bytes a-b/size" (size may be "*"; total then
 * UINT64_MAX). 0 on success, -1 on anything else. Used to check upstream pages strictly. */
int range_parse_content_range(const char *value, size_t len, uint64_t *first, uint64_t *last,
                              uint64_t *total);

#endif
