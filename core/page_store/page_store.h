/*
 * page_store: where cached pages live, behind one small interface (STYLE.md section 1: an ops
 * struct in the header, one .c per backend). Today: memory.c. The disk store (issue 6) adds
 * disk.c behind the same ops.
 *
 * A page is an immutable, refcounted byte block: once put in a store it is never written again,
 * and a sender holding a reference may keep sending from it after the store evicted it. All
 * functions are thread-safe: every loop shares one store.
 */
#ifndef CORE_PAGE_STORE_H
#define CORE_PAGE_STORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct page {
    atomic_uint refs;
    uint32_t len;      /* bytes of data */
    uint32_t base;     /* where data[0] sits in the object's page: 0 for a whole page, more for
                        * a part of one (disk_store_read, route_read_page_range) */
    uint32_t capacity; /* bytes allocated for data, >= len */
    char data[];       /* len bytes; read-only once the page is shared */
};

/* Keep some freed pages of page_len bytes (the configured page size) and parts of pages for
 * reuse, at most 32 MiB of them (see page.c). Call at start. */
void page_pool_init(uint32_t page_len);
/* Unmap what the pool holds and keep nothing more (at exit). */
void page_pool_drain(void);

/* A page of len bytes (contents undefined, base 0) with one reference; NULL on ENOMEM. A
 * part may later shrink len (never past capacity) and set base. */
struct page *page_alloc(uint32_t len);
/* A buffer for len bytes of a part of a page (read from disk): capacity may be larger (a size
 * class of the pool), memory is not touched ahead of the writes. */
struct page *page_alloc_sparse(uint32_t len);
struct page *page_ref(struct page *p);
/* Drop a reference; frees at zero. NULL is ignored. */
void page_unref(struct page *p);

/* Identity of a page: an overwritten object has another ETag, so its old pages never match. */
struct page_key {
    const char *path; /* full UFS path, e.g. "s3://bucket/key" (any bytes) */
    size_t path_len;
    const char *etag; /* as the UFS reports it, quotes included */
    size_t etag_len;
    uint64_t index;
};

struct page_store_stats {
    uint64_t hits, misses, puts, evictions;
    uint64_t bytes, pages; /* currently held */
    uint64_t capacity;
};

struct page_store;

struct page_store_ops {
    /* A new reference to the page, or NULL. */
    struct page *(*get)(struct page_store *s, const struct page_key *key);
    /* Keep page under key (the store takes its own reference; the caller keeps its one).
     * Replaces an existing entry. Evicts to stay within capacity. 0 or -ENOMEM; a page larger
     * than the whole capacity is not stored (returns 0: caching is best effort). */
    int (*put)(struct page_store *s, const struct page_key *key, struct page *page);
    /* Drop every page of path (any ETag). */
    void (*remove_path)(struct page_store *s, const char *path, size_t path_len);
    void (*stats)(struct page_store *s, struct page_store_stats *out);
    void (*destroy)(struct page_store *s);
};

struct page_store {
    const struct page_store_ops *ops;
};

/* Memory store: capacity in bytes of page data, split over shards (power of two, >= 1) each
 * with its own lock and CLOCK hand. NULL on ENOMEM.
 * Also NULL with errno EINVAL when shards is not a power of two (or above 4096), or with the
 * errno of getrandom() when no hash seed can be had. Each shard holds at most its share,
 * capacity / shards, so put skips a page longer than that share (not only one longer than the
 * whole capacity); it skips empty pages too. Entry overhead (keys, table) is not counted. */
struct page_store *page_store_memory_create(uint64_t capacity, unsigned shards);

static inline struct page *page_store_get(struct page_store *s, const struct page_key *key)
{
    return s->ops->get(s, key);
}
static inline int page_store_put(struct page_store *s, const struct page_key *key,
                                 struct page *page)
{
    return s->ops->put(s, key, page);
}
static inline void page_store_remove_path(struct page_store *s, const char *path, size_t len)
{
    s->ops->remove_path(s, path, len);
}
static inline void page_store_stats(struct page_store *s, struct page_store_stats *out)
{
    s->ops->stats(s, out);
}
static inline void page_store_destroy(struct page_store *s)
{
    if (s)
        s->ops->destroy(s);
}

#endif
