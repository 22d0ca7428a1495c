/*
 * page_store memory backend: pages held in RAM, shared by every event-loop thread.
 *
 * The byte budget is split over N shards (a power of two) chosen by the key's hash, so loops
 * hitting different pages rarely take the same lock. Each shard is a chained hash table, a mutex
 * and a CLOCK ring (second-chance LRU approximation): get sets an entry's reference bit; to make
 * room the hand clears set bits as it passes and evicts the first entry whose bit is already
 * clear. CLOCK is used rather than an exact LRU list because a hit then only sets a flag instead
 * of relinking a list node. A shard's bytes never exceed its share of the capacity, so the store's
 * never exceed the capacity.
 *
 * The store holds one page reference per entry. Eviction drops only that reference: a sender that
 * took its own with get keeps the bytes alive until it lets go (page_store.h).
 *
 * Keys are hashed with SipHash-2-4 under a random per-store seed (core/hash.h) because the path
 * is chosen by clients: an unkeyed hash would let them pile entries into one bucket.
 */
#include "page_store.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../hash.h"

#define MEM_MIN_BUCKETS     64u        /* per shard at creation */
#define MEM_MAX_BUCKETS     (1u << 20) /* per shard: 8 MiB of pointers; past it chains lengthen */
#define MEM_MAX_SHARDS      4096u      /* far more than loops; a typo, not a config */
#define MEM_CACHELINE_BYTES 64         /* shards are aligned to it so their locks don't share one */

struct mem_entry {
    struct mem_entry *next;       /* bucket chain; after unlinking, the to-free list */
    struct mem_entry *clock_prev; /* circular CLOCK ring, in insertion order */
    struct mem_entry *clock_next;
    struct page *page; /* the store's own reference */
    uint64_t hash;
    uint64_t index;
    size_t path_len;
    size_t etag_len;
    bool referenced; /* CLOCK bit: got since the hand last passed */
    char key[];      /* path bytes, then etag bytes; not NUL-terminated, any bytes */
};

struct mem_shard {
    pthread_mutex_t lock; /* guards everything below */
    struct mem_entry **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    struct mem_entry *hand; /* next CLOCK candidate; NULL when the shard is empty */
    uint64_t bytes;         /* sum of page->len held */
    uint64_t capacity;      /* this shard's share of the store's capacity */
    uint64_t hits, misses, puts, evictions;
} __attribute__((aligned(MEM_CACHELINE_BYTES)));

struct mem_store {
    struct page_store super; /* first: the ops callbacks cast back from it */
    uint64_t capacity;
    unsigned nshards; /* power of two */
    uint8_t seed[HASH_SIPHASH_KEY_BYTES];
    struct mem_shard *shards;
};

static const struct page_store_ops mem_ops;

static struct mem_store *mem_of(struct page_store *s)
{
    return (struct mem_store *)s;
}

/* The lengths go into the hash too, so ("ab","c") and ("a","bc") feed different bytes. */
static uint64_t mem_hash(const struct mem_store *m, const struct page_key *key)
{
    struct hash_sip h;
    uint64_t path_len = key->path_len, etag_len = key->etag_len;
    hash_sip_init(&h, m->seed);
    hash_sip_update(&h, &path_len, sizeof path_len);
    hash_sip_update(&h, key->path, key->path_len);
    hash_sip_update(&h, &etag_len, sizeof etag_len);
    hash_sip_update(&h, key->etag, key->etag_len);
    hash_sip_update(&h, &key->index, sizeof key->index);
    return hash_sip_final(&h);
}

/* The shard takes the high half of the hash, the bucket the low half, so the two choices are
 * independent and all buckets of a shard get used. */
static struct mem_shard *mem_shard_of(struct mem_store *m, uint64_t hash)
{
    return &m->shards[(hash >> 32) & (m->nshards - 1)];
}

static struct mem_entry **mem_bucket(struct mem_shard *sh, uint64_t hash)
{
    return &sh->buckets[hash & (sh->nbuckets - 1)];
}

/* memcmp with a length of 0 still wants valid pointers; a key may carry NULL for an empty etag. */
static bool mem_bytes_eq(const char *a, const char *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

static bool mem_entry_is(const struct mem_entry *e, uint64_t hash, const struct page_key *key)
{
    return e->hash == hash && e->index == key->index && e->path_len == key->path_len &&
           e->etag_len == key->etag_len && mem_bytes_eq(e->key, key->path, key->path_len) &&
           mem_bytes_eq(e->key + e->path_len, key->etag, key->etag_len);
}

/* The link that points at key's entry (for unlinking), or at the chain's terminating NULL. */
static struct mem_entry **mem_find(struct mem_shard *sh, uint64_t hash, const struct page_key *key)
{
    struct mem_entry **link = mem_bucket(sh, hash);
    while (*link && !mem_entry_is(*link, hash, key))
        link = &(*link)->next;
    return link;
}

/* New entries go just behind the hand: the hand reaches them last, so a page is not evicted by
 * the put right after its own (with its bit clear it would otherwise be the next victim). */
static void mem_ring_insert(struct mem_shard *sh, struct mem_entry *e)
{
    if (!sh->hand) {
        e->clock_prev = e->clock_next = e;
        sh->hand = e;
        return;
    }
    e->clock_next = sh->hand;
    e->clock_prev = sh->hand->clock_prev;
    sh->hand->clock_prev->clock_next = e;
    sh->hand->clock_prev = e;
}

static void mem_ring_remove(struct mem_shard *sh, struct mem_entry *e)
{
    if (e->clock_next == e) {
        sh->hand = NULL;
        return;
    }
    if (sh->hand == e)
        sh->hand = e->clock_next;
    e->clock_prev->clock_next = e->clock_next;
    e->clock_next->clock_prev = e->clock_prev;
}

/* Take e (found at *link) out of the shard and push it on *dead, to be freed after the lock is
 * dropped: page_unref may free() and there is no need to do that while other loops wait. */
static void mem_unlink(struct mem_shard *sh, struct mem_entry **link, struct mem_entry **dead)
{
    struct mem_entry *e = *link;
    *link = e->next;
    mem_ring_remove(sh, e);
    sh->bytes -= e->page->len;
    sh->count--;
    e->next = *dead;
    *dead = e;
}

static void mem_free_entries(struct mem_entry *e)
{
    while (e) {
        struct mem_entry *next = e->next;
        page_unref(e->page);
        free(e);
        e = next;
    }
}

/* One CLOCK step: clear bits until an unreferenced entry comes under the hand, evict it. At most
 * one full turn of the ring, since the first turn leaves every bit clear. */
static void mem_evict_one(struct mem_shard *sh, struct mem_entry **dead)
{
    assert(sh->hand);
    while (sh->hand->referenced) {
        sh->hand->referenced = false;
        sh->hand = sh->hand->clock_next;
    }
    struct mem_entry *victim = sh->hand;
    struct mem_entry **link = mem_bucket(sh, victim->hash);
    while (*link != victim)
        link = &(*link)->next;
    mem_unlink(sh, link, dead);
    sh->evictions++;
}

/* Double the bucket array when entries outnumber buckets, up to MEM_MAX_BUCKETS. The rehash runs
 * under the shard lock, but entries per shard are bounded by its bytes over the page size (a few
 * thousand with 1 MiB pages), and doubling makes it rare. On ENOMEM keep the old array: lookups
 * just walk longer chains. */
static void mem_maybe_grow(struct mem_shard *sh)
{
    if (sh->count <= sh->nbuckets || sh->nbuckets >= MEM_MAX_BUCKETS)
        return;
    size_t n = sh->nbuckets * 2;
    struct mem_entry **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < sh->nbuckets; i++) {
        struct mem_entry *e = sh->buckets[i];
        while (e) {
            struct mem_entry *next = e->next;
            struct mem_entry **slot = &b[e->hash & (n - 1)];
            e->next = *slot;
            *slot = e;
            e = next;
        }
    }
    free(sh->buckets);
    sh->buckets = b;
    sh->nbuckets = n;
}

static struct page *mem_get(struct page_store *s, const struct page_key *key)
{
    struct mem_store *m = mem_of(s);
    uint64_t hash = mem_hash(m, key);
    struct mem_shard *sh = mem_shard_of(m, hash);
    struct page *p = NULL;

    pthread_mutex_lock(&sh->lock);
    struct mem_entry *e = *mem_find(sh, hash, key);
    if (e) {
        e->referenced = true;
        p = page_ref(e->page);
        sh->hits++;
    } else {
        sh->misses++;
    }
    pthread_mutex_unlock(&sh->lock);
    return p;
}

static int mem_put(struct page_store *s, const struct page_key *key, struct page *page)
{
    struct mem_store *m = mem_of(s);
    uint64_t hash = mem_hash(m, key);
    struct mem_shard *sh = mem_shard_of(m, hash);

    /* Too large for the shard's share: caching is best effort, the caller still serves it.
     * Empty pages are skipped too: objects have none (core/pages.h) and they would escape the
     * byte budget. */
    if (page->len == 0 || page->len > sh->capacity)
        return 0;
    size_t size;
    if (__builtin_add_overflow(key->path_len, key->etag_len, &size) ||
        __builtin_add_overflow(size, sizeof(struct mem_entry), &size))
        return -ENOMEM;

    /* Allocate and copy the key before taking the lock. */
    struct mem_entry *e = malloc(size);
    if (!e)
        return -ENOMEM;
    e->hash = hash;
    e->index = key->index;
    e->path_len = key->path_len;
    e->etag_len = key->etag_len;
    e->referenced = false;
    if (key->path_len)
        memcpy(e->key, key->path, key->path_len);
    if (key->etag_len)
        memcpy(e->key + key->path_len, key->etag, key->etag_len);
    e->page = page_ref(page);

    struct mem_entry *dead = NULL;
    pthread_mutex_lock(&sh->lock);
    struct mem_entry **link = mem_find(sh, hash, key);
    if (*link)
        mem_unlink(sh, link, &dead); /* replaced, not evicted: not counted */
    while (sh->bytes + page->len > sh->capacity)
        mem_evict_one(sh, &dead);
    struct mem_entry **slot = mem_bucket(sh, hash);
    e->next = *slot;
    *slot = e;
    mem_ring_insert(sh, e);
    sh->bytes += page->len;
    sh->count++;
    sh->puts++;
    mem_maybe_grow(sh);
    pthread_mutex_unlock(&sh->lock);

    mem_free_entries(dead);
    return 0;
}

/* Rare (object overwritten or deleted), so a scan of every shard rather than a per-path index. */
static void mem_remove_path(struct page_store *s, const char *path, size_t path_len)
{
    struct mem_store *m = mem_of(s);
    for (unsigned i = 0; i < m->nshards; i++) {
        struct mem_shard *sh = &m->shards[i];
        struct mem_entry *dead = NULL;
        pthread_mutex_lock(&sh->lock);
        for (size_t b = 0; b < sh->nbuckets; b++) {
            struct mem_entry **link = &sh->buckets[b];
            while (*link) {
                struct mem_entry *e = *link;
                if (e->path_len == path_len && mem_bytes_eq(e->key, path, path_len))
                    mem_unlink(sh, link, &dead);
                else
                    link = &e->next;
            }
        }
        pthread_mutex_unlock(&sh->lock);
        mem_free_entries(dead);
    }
}

/* puts counts pages stored (replacements included), not pages refused for size. Each shard is
 * read under its lock, so every counter is exact for that shard; the sum is not one atomic
 * snapshot across shards. */
static void mem_stats(struct page_store *s, struct page_store_stats *out)
{
    struct mem_store *m = mem_of(s);
    memset(out, 0, sizeof(*out));
    out->capacity = m->capacity;
    for (unsigned i = 0; i < m->nshards; i++) {
        struct mem_shard *sh = &m->shards[i];
        pthread_mutex_lock(&sh->lock);
        out->hits += sh->hits;
        out->misses += sh->misses;
        out->puts += sh->puts;
        out->evictions += sh->evictions;
        out->bytes += sh->bytes;
        out->pages += sh->count;
        pthread_mutex_unlock(&sh->lock);
    }
}

static void mem_destroy(struct page_store *s)
{
    struct mem_store *m = mem_of(s);
    for (unsigned i = 0; i < m->nshards; i++) {
        struct mem_shard *sh = &m->shards[i];
        for (size_t b = 0; b < sh->nbuckets; b++)
            mem_free_entries(sh->buckets[b]);
        free(sh->buckets);
        pthread_mutex_destroy(&sh->lock);
    }
    free(m->shards);
    free(m);
}

static const struct page_store_ops mem_ops = {
    .get = mem_get,
    .put = mem_put,
    .remove_path = mem_remove_path,
    .stats = mem_stats,
    .destroy = mem_destroy,
};

struct page_store *page_store_memory_create(uint64_t capacity, unsigned shards)
{
    struct mem_store *m = NULL;
    unsigned ready = 0; /* shards whose lock and buckets exist */
    int err = ENOMEM;

    if (shards == 0 || (shards & (shards - 1)) != 0 || shards > MEM_MAX_SHARDS) {
        err = EINVAL;
        goto fail;
    }
    m = calloc(1, sizeof(*m));
    if (!m)
        goto fail;
    m->super.ops = &mem_ops;
    m->capacity = capacity;
    m->nshards = shards;
    int rc = hash_seed_random(m->seed);
    if (rc < 0) {
        err = -rc;
        goto fail;
    }
    m->shards = aligned_alloc(MEM_CACHELINE_BYTES, shards * sizeof(*m->shards));
    if (!m->shards)
        goto fail;
    for (; ready < shards; ready++) {
        struct mem_shard *sh = &m->shards[ready];
        memset(sh, 0, sizeof(*sh));
        sh->nbuckets = MEM_MIN_BUCKETS;
        sh->buckets = calloc(sh->nbuckets, sizeof(*sh->buckets));
        if (!sh->buckets)
            goto fail;
        if (pthread_mutex_init(&sh->lock, NULL) != 0) {
            free(sh->buckets);
            goto fail;
        }
        /* Spread the remainder over the first shards so the shares add up to capacity. */
        sh->capacity = capacity / shards + (ready < capacity % shards ? 1 : 0);
    }
    return &m->super;

fail:
    if (m) {
        m->nshards = ready;
        if (m->shards)
            mem_destroy(&m->super);
        else
            free(m);
    }
    errno = err;
    return NULL;
}
