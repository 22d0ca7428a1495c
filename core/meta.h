/*
 * meta: what the proxy knows about one object (size, ETag, dates, the headers S3 returns with
 * it) and a short-TTL cache of it shared by all loops. A meta is immutable and refcounted: a
 * request keeps the one it started with even if the cache replaces it meanwhile.
 */
#ifndef CORE_META_H
#define CORE_META_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct meta {
    atomic_uint refs;
    uint64_t size;
    time_t last_modified;
    char *etag; /* quoted, as S3 sends it: "\"abc...\"" */
    /* Each NULL when the object has none. */
    char *content_type;
    char *content_encoding;
    char *content_disposition;
    char *content_language;
    char *cache_control;
    char *expires;
    char *storage_class;
    char *version_id;
    /* The object's other response headers S3 returns as-is, already formatted as
     * "x-amz-meta-name: value\r\n..." (user metadata, checksum, sse...); NULL when none. */
    char *extra_headers;
    /* The object's part of a GET/HEAD response, formatted once by whoever fetched the meta,
     * before it is shared (server/s3/object.c), so a cache hit does not format dates and
     * headers again; NULL when not made. Owned. */
    char *response_headers;
    size_t response_headers_len;
};

/* A zeroed meta with one reference; fields are filled with meta_set (strdup'd). NULL on ENOMEM */
struct meta *meta_new(void);
/* Set one of the char* fields above: *field = strndup(value, len). 0 or -ENOMEM. */
int meta_set(char **field, const char *value, size_t len) __attribute__((warn_unused_result));
/* Append "name: value\r\n" to extra_headers. 0 or -ENOMEM; -EINVAL (nothing appended) when
 * name is empty or has ':', or either has CR, LF or NUL: they would split the response. */
int meta_add_extra_header(struct meta *m, const char *name, size_t name_len, const char *value,
                          size_t value_len) __attribute__((warn_unused_result));
struct meta *meta_ref(struct meta *m);
void meta_unref(struct meta *m);

/* The cache: keyed by full UFS path; entries older than ttl_ms are misses. At most max_entries
 * (oldest dropped first). ttl_ms == 0 disables caching (every get misses). Thread-safe. */
struct meta_cache;
/* NULL with errno set (ENOMEM, or getrandom()'s error for the hash seed). */
struct meta_cache *meta_cache_create(uint64_t ttl_ms, size_t max_entries);
/* NULL is ignored. Metas still referenced by requests stay valid until their last unref. */
void meta_cache_destroy(struct meta_cache *c);
/* A new reference, or NULL when absent or expired. now_ms: a monotonic clock in ms. An entry put
 * at t hits while now_ms < t + ttl_ms; a now_ms behind t (another loop's cached clock) counts
 * as age 0. */
struct meta *meta_cache_get(struct meta_cache *c, const char *path, size_t len, uint64_t now_ms);
/* The cache takes its own reference to m (the caller keeps its one) and replaces path's entry:
 * a fresh insertion, so its age and its place in the drop order restart. On ENOMEM path's old
 * entry is dropped instead (best effort, but never a stale meta left behind). */
void meta_cache_put(struct meta_cache *c, const char *path, size_t len, struct meta *m,
                    uint64_t now_ms);
void meta_cache_invalidate(struct meta_cache *c, const char *path, size_t len);

#endif
