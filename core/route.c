/*
 * route: page sources and single-flight (see route.h).
 *
 * In-flight fetches live in one table under one mutex, keyed like pages (path, ETag, index).
 * A miss first looks in the store, then, under the table lock, joins a fetch in flight or
 * starts one; the store is checked again under the lock, so a fetch that finished in between
 * is seen (a finished fetch puts its page in the store before it leaves the table). The fetch
 * runs on the loop of the request that started it; waiters on other loops are woken through
 * their mailboxes.
 */
#include "route.h"

#include "hash.h"
#include "log.h"
#include "loop.h"
#include "page_store/disk.h"
#include "pages.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTE_FLIGHT_BUCKETS 4096 /* power of two; in-flight pages are few (windows x requests) */

struct route_waiter {
    struct route_waiter *next;
    struct loop *loop;
    route_page_cb cb;
    void *arg;
    uint64_t index;
    enum ufs_status status;
    struct page *page;
};

struct route_flight {
    struct route_flight *next;
    struct route *route;
    struct loop *loop; /* the loop running the fetch */
    uint64_t hash;
    uint64_t index;
    char *path;
    size_t path_len;
    char *etag;
    size_t etag_len;
    char *bucket;
    char *key;
    size_t key_len;
    uint32_t len;
    bool local_only;              /* started by a request that must not reach a worker */
    bool full_middle;             /* a full page that is not the object's last: its length is P */
    struct cluster_target worker; /* the worker asked, when one was */
    struct route_waiter *waiters;
};

/* A HEAD in flight and the requests waiting for it. */
struct route_meta_waiter {
    struct route_meta_waiter *next;
    struct loop *loop;
    route_meta_cb cb;
    void *arg;
    enum ufs_status status;
    struct meta *meta;
};

struct route_meta_flight {
    struct route_meta_flight *next;
    struct route *route;
    struct loop *loop;
    uint64_t hash;
    char *path;
    size_t path_len;
    char *bucket;
    char *key;
    size_t key_len;
    struct route_meta_waiter *waiters;
};

struct route {
    struct page_store *store;
    struct disk_store *disk;
    struct meta_cache *meta_cache;
    void (*meta_prepare)(struct meta *m);
    struct route_meta_flight *meta_flights[ROUTE_FLIGHT_BUCKETS];
    struct ufs *ufs;
    uint64_t page_size;
    struct cluster *cluster;
    struct worker_client_config worker;
    uint8_t seed[HASH_SIPHASH_KEY_BYTES];
    pthread_mutex_t lock;
    struct route_flight *flights[ROUTE_FLIGHT_BUCKETS];
    atomic_uint_fast64_t ufs_page_reads, disk_page_reads, disk_part_reads, shared_waits, failures;
    atomic_uint_fast64_t worker_page_reads, worker_fallbacks;
    atomic_uint_fast64_t meta_fetches, meta_shared_waits;
};

struct route *route_create(const struct route_config *cfg)
{
    struct route *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->store = cfg->store;
    r->disk = cfg->disk;
    r->meta_cache = cfg->meta_cache;
    r->meta_prepare = cfg->meta_prepare;
    r->ufs = cfg->ufs;
    r->page_size = cfg->page_size;
    r->cluster = cfg->cluster;
    r->worker = cfg->worker;
    if (hash_seed_random(r->seed) != 0) {
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

void route_destroy(struct route *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

void route_get_stats(struct route *r, struct route_stats *out)
{
    out->ufs_page_reads = atomic_load(&r->ufs_page_reads);
    out->disk_page_reads = atomic_load(&r->disk_page_reads);
    out->disk_part_reads = atomic_load(&r->disk_part_reads);
    out->worker_page_reads = atomic_load(&r->worker_page_reads);
    out->worker_fallbacks = atomic_load(&r->worker_fallbacks);
    out->shared_waits = atomic_load(&r->shared_waits);
    out->failures = atomic_load(&r->failures);
    out->meta_fetches = atomic_load(&r->meta_fetches);
    out->meta_shared_waits = atomic_load(&r->meta_shared_waits);
}

static uint64_t route_hash(struct route *r, const struct route_object *o, uint64_t index)
{
    struct hash_sip h;
    hash_sip_init(&h, r->seed);
    hash_sip_update(&h, o->path, o->path_len);
    hash_sip_update(&h, "", 1);
    hash_sip_update(&h, o->etag, strlen(o->etag));
    hash_sip_update(&h, &index, sizeof(index));
    return hash_sip_final(&h);
}

static bool route_flight_matches(const struct route_flight *f, uint64_t hash,
                                 const struct route_object *o, uint64_t index)
{
    size_t etag_len = strlen(o->etag);
    return f->hash == hash && f->index == index && f->path_len == o->path_len &&
           f->etag_len == etag_len && memcmp(f->path, o->path, o->path_len) == 0 &&
           memcmp(f->etag, o->etag, etag_len) == 0;
}

static void route_flight_free(struct route_flight *f)
{
    free(f->path);
    free(f->etag);
    free(f->bucket);
    free(f->key);
    free(f);
}

static char *route_copy(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* Run fn(arg) on loop to: at the end of this turn when that is the loop we are on (callbacks
 * never run inside their caller), through its mailbox otherwise. */
static void route_deliver(struct loop *from, struct loop *to, void (*fn)(void *), void *arg)
{
    if (to == from)
        loop_defer(to, fn, arg);
    else
        loop_post(to, fn, arg);
}

static void route_waiter_fire(void *arg)
{
    struct route_waiter *w = arg;
    w->cb(w->arg, w->index, w->status, w->page);
    free(w);
}

/* Finish a flight: keep the page (memory always; disk when it came from the UFS), leave the
 * table, wake every waiter. */
static void route_flight_complete(struct route_flight *f, enum ufs_status st, struct page *page,
                                  bool from_disk);

static void route_fetch_done(void *arg, enum ufs_status st, struct page *page)
{
    route_flight_complete(arg, st, page, false);
}

static void route_fetch_from_ufs(struct route_flight *f)
{
    struct route *r = f->route;
    atomic_fetch_add(&r->ufs_page_reads, 1);
    r->ufs->ops->read_page(r->ufs, f->loop, f->bucket, f->key, f->key_len, f->etag,
                           pages_offset(f->index, r->page_size), f->len, route_fetch_done, f);
}

/* The owning worker answered. Anything but the exact page sends this page to the UFS. */
static void route_worker_done(void *arg, enum worker_read_result result, struct page *page,
                              long http_status, uint64_t body_len)
{
    struct route_flight *f = arg;
    struct route *r = f->route;
    if (result == WORKER_READ_OK) {
        atomic_fetch_add(&r->worker_page_reads, 1);
        route_flight_complete(f, UFS_OK, page, false);
        return;
    }
    atomic_fetch_add(&r->worker_fallbacks, 1);
    if (result == WORKER_READ_WRONG_LENGTH && f->full_middle)
        cluster_page_size_mismatch(r->cluster, &f->worker, body_len, r->page_size);
    char why[96];
    if (result == WORKER_READ_HTTP_ERROR)
        snprintf(why, sizeof(why), "HTTP %ld", http_status);
    else if (result == WORKER_READ_WRONG_LENGTH)
        snprintf(why, sizeof(why), "%llu bytes where %u were due", (unsigned long long)body_len,
                 f->len);
    else
        snprintf(why, sizeof(why), "%s", worker_read_result_str(result));
    cluster_worker_failed(r->cluster, &f->worker, loop_now_ms(f->loop), why);
    route_fetch_from_ufs(f);
}

/* Past the local stores: the owning worker when there is one to ask, else the UFS. */
static void route_fetch_remote(struct route_flight *f)
{
    struct route *r = f->route;
    if (r->cluster && !f->local_only &&
        cluster_pick(r->cluster, f->path, f->path_len, loop_now_ms(f->loop), &f->worker)) {
        worker_read_page(f->loop, &r->worker, f->worker.host, f->worker.port, f->path, f->path_len,
                         f->index, f->len, route_worker_done, f);
        return;
    }
    route_fetch_from_ufs(f);
}

/* The disk store answered: a verified page, or nothing usable (absent, bad, I/O error). */
static void route_disk_done(void *arg, int result, struct page *page)
{
    struct route_flight *f = arg;
    if (result == 0 && page) {
        atomic_fetch_add(&f->route->disk_page_reads, 1);
        route_flight_complete(f, UFS_OK, page, true);
        return;
    }
    page_unref(page);
    route_fetch_remote(f);
}

static void route_flight_complete(struct route_flight *f, enum ufs_status st, struct page *page,
                                  bool from_disk)
{
    struct route *r = f->route;
    if (st == UFS_OK && (!page || page->len != f->len)) {
        /* The backends check lengths; this is the last line of defence before caching. */
        log_warn("route: page %llu of a %s object came back with %u bytes, wanted %u",
                 (unsigned long long)f->index, r->ufs->scheme, page ? page->len : 0, f->len);
        page_unref(page);
        page = NULL;
        st = UFS_ERROR;
    }
    if (st == UFS_OK) {
        struct page_key key = {f->path, f->path_len, f->etag, f->etag_len, f->index};
        if (page_store_put(r->store, &key, page) != 0)
            log_debug("route: page not cached (out of memory)");
        if (r->disk && !from_disk)
            disk_store_write(r->disk, f->loop, &key, page);
    } else {
        atomic_fetch_add(&r->failures, 1);
    }

    pthread_mutex_lock(&r->lock);
    struct route_flight **link = &r->flights[f->hash & (ROUTE_FLIGHT_BUCKETS - 1)];
    while (*link != f)
        link = &(*link)->next;
    *link = f->next;
    struct route_waiter *waiters = f->waiters;
    pthread_mutex_unlock(&r->lock);

    while (waiters) {
        struct route_waiter *w = waiters;
        waiters = w->next;
        w->status = st;
        w->page = page ? page_ref(page) : NULL;
        route_deliver(f->loop, w->loop, route_waiter_fire, w);
    }
    page_unref(page);
    route_flight_free(f);
}

struct page *route_read_page(struct route *r, struct loop *l, const struct route_object *o,
                             uint64_t index, route_page_cb cb, void *arg)
{
    size_t etag_len = strlen(o->etag);
    struct page_key key = {o->path, o->path_len, o->etag, etag_len, index};
    struct page *page = page_store_get(r->store, &key);
    if (page)
        return page;

    struct route_waiter *w = calloc(1, sizeof(*w));
    if (!w) {
        log_error("route: out of memory");
        abort();
    }
    w->loop = l;
    w->cb = cb;
    w->arg = arg;
    w->index = index;

    uint64_t hash = route_hash(r, o, index);
    pthread_mutex_lock(&r->lock);
    struct route_flight **bucket = &r->flights[hash & (ROUTE_FLIGHT_BUCKETS - 1)];
    for (struct route_flight *f = *bucket; f; f = f->next) {
        if (route_flight_matches(f, hash, o, index)) {
            w->next = f->waiters;
            f->waiters = w;
            pthread_mutex_unlock(&r->lock);
            atomic_fetch_add(&r->shared_waits, 1);
            return NULL;
        }
    }
    page = page_store_get(r->store, &key);
    if (page) {
        pthread_mutex_unlock(&r->lock);
        free(w);
        return page;
    }
    struct route_flight *f = calloc(1, sizeof(*f));
    if (f) {
        f->route = r;
        f->loop = l;
        f->hash = hash;
        f->index = index;
        f->path = route_copy(o->path, o->path_len);
        f->path_len = o->path_len;
        f->etag = route_copy(o->etag, etag_len);
        f->etag_len = etag_len;
        f->bucket = route_copy(o->bucket, strlen(o->bucket));
        f->key = route_copy(o->key, o->key_len);
        f->key_len = o->key_len;
        f->len = (uint32_t)pages_length(o->size, r->page_size, index);
        f->full_middle = pages_offset(index + 1, r->page_size) < o->size;
        f->local_only = o->local_only;
        f->waiters = w;
    }
    if (!f || !f->path || !f->etag || !f->bucket || !f->key) {
        log_error("route: out of memory");
        abort();
    }
    f->next = *bucket;
    *bucket = f;
    pthread_mutex_unlock(&r->lock);

    if (r->disk && disk_store_read(r->disk, l, &key, f->len, 0, f->len, route_disk_done, f))
        return NULL;
    route_fetch_remote(f);
    return NULL;
}

/* A part of a page read from disk for one request (route_read_page_range), with its own copy
 * of the object, which a failed read needs to fetch the page the usual way. */
struct route_part {
    struct route *route;
    struct loop *loop;
    route_page_cb cb;
    void *arg;
    uint64_t index;
    struct route_object object; /* strings point into bytes */
    char bytes[];
};

static void route_part_done(void *arg, int result, struct page *page)
{
    struct route_part *p = arg;
    struct route *r = p->route;
    if (result == 0 && page) {
        uint64_t page_len = pages_length(p->object.size, r->page_size, p->index);
        if (page->base == 0 && page->len == page_len) {
            /* The part needed every block: a whole page, kept like any page read from disk. */
            struct page_key key = {p->object.path, p->object.path_len, p->object.etag,
                                   strlen(p->object.etag), p->index};
            if (page_store_put(r->store, &key, page) != 0)
                log_debug("route: page not cached (out of memory)");
            atomic_fetch_add(&r->disk_page_reads, 1);
        } else {
            atomic_fetch_add(&r->disk_part_reads, 1);
        }
        p->cb(p->arg, p->index, UFS_OK, page);
    } else {
        /* Bad or gone: the disk store dropped it, so this finds it in memory, joins a fetch in
         * flight or starts one from the next source. This is a callback already, so cb may run
         * from here. */
        page = route_read_page(r, p->loop, &p->object, p->index, p->cb, p->arg);
        if (page)
            p->cb(p->arg, p->index, UFS_OK, page);
    }
    free(p);
}

static struct route_part *route_part_new(struct route *r, struct loop *l,
                                         const struct route_object *o, uint64_t index,
                                         route_page_cb cb, void *arg)
{
    size_t bucket_len = strlen(o->bucket), etag_len = strlen(o->etag);
    struct route_part *p =
        malloc(sizeof(*p) + bucket_len + 1 + o->key_len + 1 + o->path_len + 1 + etag_len + 1);
    if (!p)
        return NULL;
    *p = (struct route_part){.route = r, .loop = l, .cb = cb, .arg = arg, .index = index};
    p->object = *o;
    char *at = p->bytes;
    const char *src[4] = {o->bucket, o->key, o->path, o->etag};
    size_t len[4] = {bucket_len, o->key_len, o->path_len, etag_len};
    const char *copy[4];
    for (int i = 0; i < 4; i++) {
        memcpy(at, src[i], len[i]);
        at[len[i]] = '\0';
        copy[i] = at;
        at += len[i] + 1;
    }
    p->object.bucket = copy[0];
    p->object.key = copy[1];
    p->object.path = copy[2];
    p->object.etag = copy[3];
    return p;
}

struct page *route_read_page_range(struct route *r, struct loop *l, const struct route_object *o,
                                   uint64_t index, uint32_t from, uint32_t count, route_page_cb cb,
                                   void *arg)
{
    uint32_t page_len = (uint32_t)pages_length(o->size, r->page_size, index);
    if (!r->disk || count >= page_len)
        return route_read_page(r, l, o, index, cb, arg);
    struct page_key key = {o->path, o->path_len, o->etag, strlen(o->etag), index};
    struct page *page = page_store_get(r->store, &key);
    if (page)
        return page;
    struct route_part *p = route_part_new(r, l, o, index, cb, arg);
    if (p && disk_store_read(r->disk, l, &key, page_len, from, count, route_part_done, p))
        return NULL;
    free(p);
    return route_read_page(r, l, o, index, cb, arg);
}

void route_store_page(struct route *r, struct loop *l, const struct route_object *o, uint64_t index,
                      struct page *page)
{
    struct page_key key = {o->path, o->path_len, o->etag, strlen(o->etag), index};
    if (page_store_put(r->store, &key, page) != 0)
        log_debug("route: page not cached (out of memory)");
    if (r->disk)
        disk_store_write(r->disk, l, &key, page);
}

void route_forget_path(struct route *r, const char *path, size_t path_len)
{
    page_store_remove_path(r->store, path, path_len);
}

/* --- metadata ------------------------------------------------------------------------------ */

static void route_meta_waiter_fire(void *arg)
{
    struct route_meta_waiter *w = arg;
    w->cb(w->arg, w->status, w->meta);
    free(w);
}

static void route_meta_done(void *arg, enum ufs_status st, struct meta *m)
{
    struct route_meta_flight *f = arg;
    struct route *r = f->route;
    if (st == UFS_OK && m) {
        if (r->meta_prepare)
            r->meta_prepare(m);
        /* Cached before the flight leaves the table: a request arriving in between finds one
         * or the other, never neither. */
        meta_cache_put(r->meta_cache, f->path, f->path_len, m, loop_clock_ms());
    }
    pthread_mutex_lock(&r->lock);
    struct route_meta_flight **link = &r->meta_flights[f->hash & (ROUTE_FLIGHT_BUCKETS - 1)];
    while (*link != f)
        link = &(*link)->next;
    *link = f->next;
    struct route_meta_waiter *waiters = f->waiters;
    pthread_mutex_unlock(&r->lock);
    while (waiters) {
        struct route_meta_waiter *w = waiters;
        waiters = w->next;
        w->status = st;
        w->meta = m ? meta_ref(m) : NULL;
        route_deliver(f->loop, w->loop, route_meta_waiter_fire, w);
    }
    meta_unref(m);
    free(f->path);
    free(f->bucket);
    free(f->key);
    free(f);
}

struct meta *route_read_meta(struct route *r, struct loop *l, const char *bucket, const char *key,
                             size_t key_len, const char *path, size_t path_len, route_meta_cb cb,
                             void *arg)
{
    struct meta *m = meta_cache_get(r->meta_cache, path, path_len, loop_now_ms(l));
    if (m)
        return m;
    struct route_meta_waiter *w = calloc(1, sizeof(*w));
    if (!w) {
        log_error("route: out of memory");
        abort();
    }
    w->loop = l;
    w->cb = cb;
    w->arg = arg;
    struct hash_sip h;
    hash_sip_init(&h, r->seed);
    hash_sip_update(&h, path, path_len);
    uint64_t hash = hash_sip_final(&h);
    pthread_mutex_lock(&r->lock);
    struct route_meta_flight **bucket_link = &r->meta_flights[hash & (ROUTE_FLIGHT_BUCKETS - 1)];
    for (struct route_meta_flight *f = *bucket_link; f; f = f->next) {
        if (f->hash == hash && f->path_len == path_len && !memcmp(f->path, path, path_len)) {
            w->next = f->waiters;
            f->waiters = w;
            pthread_mutex_unlock(&r->lock);
            atomic_fetch_add(&r->meta_shared_waits, 1);
            return NULL;
        }
    }
    m = meta_cache_get(r->meta_cache, path, path_len, loop_now_ms(l));
    if (m) {
        pthread_mutex_unlock(&r->lock);
        free(w);
        return m;
    }
    struct route_meta_flight *f = calloc(1, sizeof(*f));
    if (f) {
        f->route = r;
        f->loop = l;
        f->hash = hash;
        f->path = route_copy(path, path_len);
        f->path_len = path_len;
        f->bucket = route_copy(bucket, strlen(bucket));
        f->key = route_copy(key, key_len);
        f->key_len = key_len;
        f->waiters = w;
    }
    if (!f || !f->path || !f->bucket || !f->key) {
        log_error("route: out of memory");
        abort();
    }
    f->next = *bucket_link;
    *bucket_link = f;
    pthread_mutex_unlock(&r->lock);
    atomic_fetch_add(&r->meta_fetches, 1);
    r->ufs->ops->head_object(r->ufs, l, f->bucket, f->key, f->key_len, route_meta_done, f);
    return NULL;
}
