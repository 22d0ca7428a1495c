/*
 * meta: immutable, refcounted object metadata and the short-TTL cache all loops share (see
 * meta.h). The cache spares a UFS HEAD per request for hot objects; the TTL bounds how long an
 * object changed behind our back can be served with stale metadata.
 *
 * The cache is one hash table (chained, SipHash-2-4 under a random seed: paths are chosen by
 * clients, core/hash.h) behind one mutex, plus a FIFO list in insertion order. When full, the
 * oldest insertion goes: with a TTL of seconds an entry dies soon anyway, so recency tracking
 * (LRU) would buy little and cost a relink on every hit.
 */
#include "meta.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define META_CACHE_MIN_BUCKETS  64u        /* at creation */
#define META_CACHE_MAX_BUCKETS  (1u << 20) /* 8 MiB of pointers; past it chains lengthen */
#define META_CACHE_REAP_PER_PUT 8          /* expired FIFO heads dropped per put, at most */

struct meta *meta_new(void)
{
    struct meta *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    atomic_init(&m->refs, 1);
    return m;
}

int meta_set(char **field, const char *value, size_t len)
{
    /* strndup stops at a NUL, so a value is never longer than its C string. A NULL value of
     * length 0 stands for "". */
    char *v = strndup(len ? value : "", len);
    if (!v)
        return -ENOMEM;
    free(*field);
    *field = v;
    return 0;
}

/* Bytes that would let a value end its header line and start another (response splitting). */
static bool meta_header_bytes_ok(const char *p, size_t len, bool is_name)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
            return false;
        if (is_name && p[i] == ':')
            return false;
    }
    return true;
}

int meta_add_extra_header(struct meta *m, const char *name, size_t name_len, const char *value,
                          size_t value_len)
{
    if (name_len == 0 || !meta_header_bytes_ok(name, name_len, true) ||
        !meta_header_bytes_ok(value, value_len, false))
        return -EINVAL;
    /* Our own NUL-terminated string, not wire data, so strlen is fine here. */
    size_t old = m->extra_headers ? strlen(m->extra_headers) : 0;
    size_t add, size;
    if (__builtin_add_overflow(name_len, value_len, &add) ||
        __builtin_add_overflow(add, sizeof(": \r\n"), &add) ||
        __builtin_add_overflow(old, add, &size))
        return -ENOMEM;
    char *s = realloc(m->extra_headers, size);
    if (!s)
        return -ENOMEM;
    char *p = s + old;
    memcpy(p, name, name_len);
    p += name_len;
    memcpy(p, ": ", 2);
    p += 2;
    if (value_len)
        memcpy(p, value, value_len);
    p += value_len;
    memcpy(p, "\r\n", 3); /* with the NUL */
    m->extra_headers = s;
    return 0;
}

struct meta *meta_ref(struct meta *m)
{
    /* No ordering needed: the caller's own reference keeps m alive. */
    if (m)
        atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

void meta_unref(struct meta *m)
{
    if (!m)
        return;
    /* acq_rel so other threads' reads of the fields happen before the frees (as page_unref,
     * core/page_store/page.c, which says why not a separate fence). */
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(m->etag);
    free(m->content_type);
    free(m->content_encoding);
    free(m->content_disposition);
    free(m->content_language);
    free(m->cache_control);
    free(m->expires);
    free(m->storage_class);
    free(m->version_id);
    free(m->extra_headers);
    free(m->response_headers);
    free(m);
}

struct meta_entry {
    struct meta_entry *next;      /* bucket chain; after unlinking, the to-free list */
    struct meta_entry *fifo_prev; /* insertion order: toward the oldest */
    struct meta_entry *fifo_next; /* toward the newest */
    struct meta *meta;            /* the cache's reference */
    uint64_t hash;
    uint64_t inserted_ms;
    size_t path_len;
    char path[]; /* not NUL-terminated; any bytes */
};

struct meta_cache {
    pthread_mutex_t lock; /* guards everything below the constants */
    uint64_t ttl_ms;
    size_t max_entries;
    uint8_t seed[HASH_SIPHASH_KEY_BYTES];
    struct meta_entry **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    struct meta_entry *oldest; /* FIFO head: dropped first when full */
    struct meta_entry *newest;
};

static bool meta_bytes_eq(const char *a, const char *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

/* Loops pass a clock cached once per turn, so a loop may hand in a now_ms slightly behind the
 * one another loop stored an entry with: count that as age 0 rather than a huge unsigned age. */
static bool meta_cache_expired(const struct meta_cache *c, const struct meta_entry *e,
                               uint64_t now_ms)
{
    uint64_t age = now_ms > e->inserted_ms ? now_ms - e->inserted_ms : 0;
    return age >= c->ttl_ms;
}

static struct meta_entry **meta_cache_find(struct meta_cache *c, uint64_t hash, const char *path,
                                           size_t len)
{
    struct meta_entry **link = &c->buckets[hash & (c->nbuckets - 1)];
    while (*link) {
        struct meta_entry *e = *link;
        if (e->hash == hash && e->path_len == len && meta_bytes_eq(e->path, path, len))
            break;
        link = &e->next;
    }
    return link;
}

/* Take the entry at *link out and push it on *dead, freed once the lock is dropped. */
static void meta_cache_unlink(struct meta_cache *c, struct meta_entry **link,
                              struct meta_entry **dead)
{
    struct meta_entry *e = *link;
    *link = e->next;
    if (e->fifo_prev)
        e->fifo_prev->fifo_next = e->fifo_next;
    else
        c->oldest = e->fifo_next;
    if (e->fifo_next)
        e->fifo_next->fifo_prev = e->fifo_prev;
    else
        c->newest = e->fifo_prev;
    c->count--;
    e->next = *dead;
    *dead = e;
}

static void meta_cache_unlink_entry(struct meta_cache *c, struct meta_entry *e,
                                    struct meta_entry **dead)
{
    struct meta_entry **link = &c->buckets[e->hash & (c->nbuckets - 1)];
    while (*link != e)
        link = &(*link)->next;
    meta_cache_unlink(c, link, dead);
}

static void meta_cache_free_entries(struct meta_entry *e)
{
    while (e) {
        struct meta_entry *next = e->next;
        meta_unref(e->meta);
        free(e);
        e = next;
    }
}

/* Double the buckets when entries outnumber them (bounded by max_entries and the cap). On ENOMEM
 * keep the old array: chains get longer, nothing breaks. */
static void meta_cache_maybe_grow(struct meta_cache *c)
{
    if (c->count <= c->nbuckets || c->nbuckets >= META_CACHE_MAX_BUCKETS)
        return;
    size_t n = c->nbuckets * 2;
    struct meta_entry **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct meta_entry *e = c->buckets[i];
        while (e) {
            struct meta_entry *next = e->next;
            struct meta_entry **slot = &b[e->hash & (n - 1)];
            e->next = *slot;
            *slot = e;
            e = next;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
}

struct meta_cache *meta_cache_create(uint64_t ttl_ms, size_t max_entries)
{
    struct meta_cache *c = calloc(1, sizeof(*c));
    int err = ENOMEM;
    if (!c)
        goto fail;
    c->ttl_ms = ttl_ms;
    c->max_entries = max_entries;
    int rc = hash_seed_random(c->seed);
    if (rc < 0) {
        err = -rc;
        goto fail;
    }
    c->nbuckets = META_CACHE_MIN_BUCKETS;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (!c->buckets)
        goto fail;
    if (pthread_mutex_init(&c->lock, NULL) != 0)
        goto fail;
    return c;

fail:
    if (c)
        free(c->buckets);
    free(c);
    errno = err;
    return NULL;
}

void meta_cache_destroy(struct meta_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++)
        meta_cache_free_entries(c->buckets[i]);
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

struct meta *meta_cache_get(struct meta_cache *c, const char *path, size_t len, uint64_t now_ms)
{
    if (c->ttl_ms == 0)
        return NULL;
    uint64_t hash = hash_siphash24(c->seed, path, len);
    struct meta *m = NULL;
    struct meta_entry *dead = NULL;

    pthread_mutex_lock(&c->lock);
    struct meta_entry **link = meta_cache_find(c, hash, path, len);
    if (*link) {
        if (meta_cache_expired(c, *link, now_ms))
            meta_cache_unlink(c, link, &dead);
        else
            m = meta_ref((*link)->meta);
    }
    pthread_mutex_unlock(&c->lock);

    meta_cache_free_entries(dead);
    return m;
}

void meta_cache_put(struct meta_cache *c, const char *path, size_t len, struct meta *m,
                    uint64_t now_ms)
{
    if (c->ttl_ms == 0 || c->max_entries == 0)
        return;
    uint64_t hash = hash_siphash24(c->seed, path, len);
    struct meta_entry *dead = NULL;

    /* Allocate before taking the lock. */
    struct meta_entry *e = NULL;
    if (len <= SIZE_MAX - sizeof(*e))
        e = malloc(sizeof(*e) + len);
    if (!e) {
        /* Best effort, but never leave the previous meta of path behind: the caller is putting
         * a newer one, maybe because the object changed. */
        meta_cache_invalidate(c, path, len);
        return;
    }
    e->meta = meta_ref(m);
    e->hash = hash;
    e->inserted_ms = now_ms;
    e->path_len = len;
    if (len)
        memcpy(e->path, path, len);

    pthread_mutex_lock(&c->lock);
    struct meta_entry **link = meta_cache_find(c, hash, path, len);
    if (*link)
        meta_cache_unlink(c, link, &dead);
    /* Entries nobody asks for again would otherwise sit until pushed out by max_entries; reap a
     * few expired ones from the old end on each put (bounded work under the lock). */
    for (int i = 0; i < META_CACHE_REAP_PER_PUT && c->oldest; i++) {
        if (!meta_cache_expired(c, c->oldest, now_ms))
            break;
        meta_cache_unlink_entry(c, c->oldest, &dead);
    }
    while (c->count >= c->max_entries)
        meta_cache_unlink_entry(c, c->oldest, &dead);
    struct meta_entry **slot = &c->buckets[hash & (c->nbuckets - 1)];
    e->next = *slot;
    *slot = e;
    e->fifo_next = NULL;
    e->fifo_prev = c->newest;
    if (c->newest)
        c->newest->fifo_next = e;
    else
        c->oldest = e;
    c->newest = e;
    c->count++;
    meta_cache_maybe_grow(c);
    pthread_mutex_unlock(&c->lock);

    meta_cache_free_entries(dead);
}

void meta_cache_invalidate(struct meta_cache *c, const char *path, size_t len)
{
    uint64_t hash = hash_siphash24(c->seed, path, len);
    struct meta_entry *dead = NULL;
    pthread_mutex_lock(&c->lock);
    struct meta_entry **link = meta_cache_find(c, hash, path, len);
    if (*link)
        meta_cache_unlink(c, link, &dead);
    pthread_mutex_unlock(&c->lock);
    meta_cache_free_entries(dead);
}
