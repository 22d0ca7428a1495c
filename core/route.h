/*
 * route: decides where page i of an object comes from, and makes concurrent misses of one page
 * share one fetch (single-flight across every loop of the process).
 *
 * The sources, in order: the memory page store, the disk page store (when configured; a page
 * read from disk is kept in memory too), the Alluxio worker that owns the file on the ring (in
 * cluster mode), then the UFS (a fetched page goes to both stores). A worker that fails, stalls
 * or sends a wrong length costs that one page a trip to the UFS, mid-stream, and is skipped
 * for a while (core/cluster). A fetched page is stored only after its length was checked
 * against the object's size (the UFS backends check status, Content-Range and ETag before
 * that; a worker is trusted for the bytes, as alluxiofs trusts it).
 */
#ifndef CORE_ROUTE_H
#define CORE_ROUTE_H

#include "cluster.h"
#include "meta.h"
#include "page_store/page_store.h"
#include "ufs/ufs.h"
#include "worker_client.h"

#include <stddef.h>
#include <stdint.h>

struct loop;
struct route;

struct disk_store;

struct route_config {
    struct page_store *store;      /* not owned */
    struct disk_store *disk;       /* not owned; NULL: memory only */
    struct meta_cache *meta_cache; /* not owned */
    /* Called on a fresh meta before the cache shares it (the S3 front formats its response
     * headers there); may be NULL. */
    void (*meta_prepare)(struct meta *m);
    struct ufs *ufs; /* not owned */
    uint64_t page_size;
    struct cluster *cluster; /* not owned; NULL: no workers (embedded cache) */
    struct worker_client_config worker;
};

struct route_stats {
    uint64_t ufs_page_reads;    /* pages fetched from the UFS */
    uint64_t worker_page_reads; /* pages served by their owning worker */
    uint64_t worker_fallbacks;  /* pages a worker failed, then read from the UFS */
    uint64_t disk_page_reads;   /* pages served from the disk store */
    uint64_t disk_part_reads;   /* parts of pages served from it (route_read_page_range) */
    uint64_t shared_waits;      /* misses that joined a fetch already in flight */
    uint64_t meta_fetches;      /* HEADs sent to the UFS */
    uint64_t meta_shared_waits; /* metadata misses that joined a HEAD in flight */
    uint64_t failures;          /* page fetches that failed */
};

struct route *route_create(const struct route_config *cfg);
void route_destroy(struct route *r);
void route_get_stats(struct route *r, struct route_stats *out);

/* One object version, as the request knows it. All pointers stay valid for the call only. */
struct route_object {
    const char *bucket;
    const char *key;
    size_t key_len;
    const char *path; /* full UFS path: "s3://bucket/key" */
    size_t path_len;
    uint64_t size;
    const char *etag;
    /* Never ask a worker (the Alluxio worker role reads for other proxies: asking the ring
     * again there could bounce a page between two members that disagree on the ring). */
    bool local_only;
};

/* cb gets a new page reference on success (NULL and the reason otherwise). */
typedef void (*route_page_cb)(void *arg, uint64_t index, enum ufs_status st, struct page *page);

/*
 * Page index of o. Returns a new reference at once when the page is cached (cb not called);
 * otherwise NULL, and cb runs later on loop l exactly once (never inside this call).
 */
struct page *route_read_page(struct route *r, struct loop *l, const struct route_object *o,
                             uint64_t index, route_page_cb cb, void *arg);

/*
 * Like route_read_page for a caller that needs only bytes [from, from + count) of the page: a
 * page on disk and not in memory is then read and checked only around those bytes (the disk
 * store's checksum blocks), and handed to cb as a part: page->base is where its data starts in
 * the page, page->len how much there is, and it covers [from, from + count). A part is not kept
 * in memory (it is not a page), and is read by each request that needs it, outside the
 * single-flight table: disk reads are cheap next to the UFS, and sharing a read between
 * requests wanting different parts would read more than either needs. Anything else (in
 * memory, not on disk, a bad page on disk) goes the way of route_read_page, whole.
 */
struct page *route_read_page_range(struct route *r, struct loop *l, const struct route_object *o,
                                   uint64_t index, uint32_t from, uint32_t count, route_page_cb cb,
                                   void *arg);

/* cb gets a new meta reference on success (NULL and the reason otherwise). */
typedef void (*route_meta_cb)(void *arg, enum ufs_status st, struct meta *m);

/*
 * Metadata of bucket/key (full UFS path path): a new reference at once from the metadata
 * cache, or NULL and cb runs later on loop l exactly once. Concurrent misses of one path, on
 * any loop, share one UFS HEAD, whose result is cached (after meta_prepare).
 */
struct meta *route_read_meta(struct route *r, struct loop *l, const char *bucket, const char *key,
                             size_t key_len, const char *path, size_t path_len, route_meta_cb cb,
                             void *arg);

/* Keep page index of o, which a client handed over (an Alluxio page write): in memory, and on
 * disk when there is a disk store. The caller checked its length against o's size. */
void route_store_page(struct route *r, struct loop *l, const struct route_object *o, uint64_t index,
                      struct page *page);

/* Forget every cached page of path (after the UFS said the object changed). */
void route_forget_path(struct route *r, const char *path, size_t path_len);

#endif
