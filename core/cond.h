/*
 * cond: conditional GET/HEAD as S3 evaluates them (RFC 7232 section 6 precedence):
 * If-Match, else If-Unmodified-Since; then If-None-Match, else If-Modified-Since.
 */
#ifndef CORE_COND_H
#define CORE_COND_H

#include <stddef.h>
#include <time.h>

struct cond_headers {
    const char *if_match; /* each NULL when absent; values as received, not NUL-terminated */
    size_t if_match_len;
    const char *if_none_match;
    size_t if_none_match_len;
    const char *if_modified_since;
    size_t if_modified_since_len;
    const char *if_unmodified_since;
    size_t if_unmodified_since_len;
};

enum cond_result {
    COND_PROCEED,             /* 200/206 */
    COND_NOT_MODIFIED,        /* 304 */
    COND_PRECONDITION_FAILED, /* 412 */
};

/* etag is the quoted strong ETag of the object. ETag lists ("a", "b"), "*", weak W/ prefixes
 * and unquoted values (S3 accepts them) are understood. An unparsable date is ignored. */
enum cond_result cond_evaluate(const struct cond_headers *h, const char *etag,
                               time_t last_modified);

#endif
