/*
 * cluster: the ring in use and the suspect workers (see cluster.h).
 *
 * The ring sits behind a read-write lock: lookups (every page miss, on every loop) share it,
 * a swap (a membership change, seconds apart at most) takes it alone, and the old ring is freed
 * after the swap, when no reader can still hold it. Suspects are a small table under a mutex,
 * skipped entirely while it is empty, which is the normal state.
 */
#include "cluster.h"

#include "log.h"
#include "worker_client.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTER_SUSPECTS_MAX 64 /* workers remembered as failing at once */

struct cluster_suspect {
    struct cluster_target target;
    uint64_t until_ms; /* 0: free slot */
};

struct cluster {
    pthread_rwlock_t ring_lock;
    struct ring *ring;
    uint64_t suspect_ms;
    pthread_mutex_t suspect_lock;
    atomic_uint suspect_count; /* slots in use; 0 lets cluster_pick skip the lock */
    struct cluster_suspect suspects[CLUSTER_SUSPECTS_MAX];
    atomic_bool mismatch_warned;
    bool has_self;
    struct ring_worker self;
};

struct cluster *cluster_create(uint64_t suspect_ms)
{
    struct cluster *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->suspect_ms = suspect_ms;
    pthread_rwlock_init(&c->ring_lock, NULL);
    pthread_mutex_init(&c->suspect_lock, NULL);
    return c;
}

void cluster_destroy(struct cluster *c)
{
    if (!c)
        return;
    ring_free(c->ring);
    pthread_rwlock_destroy(&c->ring_lock);
    pthread_mutex_destroy(&c->suspect_lock);
    free(c);
}

void cluster_set_ring(struct cluster *c, struct ring *ring)
{
    pthread_rwlock_wrlock(&c->ring_lock);
    struct ring *old = c->ring;
    c->ring = ring;
    pthread_rwlock_unlock(&c->ring_lock);
    ring_free(old);
    if (ring)
        log_info("membership: %zu workers in the ring (%u virtual nodes each)",
                 ring_worker_count(ring), ring_vnodes(ring));
    else
        log_info("membership: no ring; every page comes from the UFS");
}

void cluster_set_self(struct cluster *c, const struct ring_worker *self)
{
    pthread_rwlock_wrlock(&c->ring_lock);
    c->has_self = self != NULL;
    if (self)
        c->self = *self;
    pthread_rwlock_unlock(&c->ring_lock);
}

static bool cluster_is_self(const struct cluster *c, const struct ring_worker *w)
{
    return c->has_self && w->version == c->self.version &&
           w->identifier_len == c->self.identifier_len &&
           memcmp(w->identifier, c->self.identifier, w->identifier_len) == 0;
}

size_t cluster_worker_count(struct cluster *c)
{
    pthread_rwlock_rdlock(&c->ring_lock);
    size_t n = c->ring ? ring_worker_count(c->ring) : 0;
    pthread_rwlock_unlock(&c->ring_lock);
    return n;
}

static bool cluster_target_eq(const struct cluster_target *a, const struct cluster_target *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

static bool cluster_is_suspect(struct cluster *c, const struct cluster_target *t, uint64_t now_ms)
{
    if (atomic_load_explicit(&c->suspect_count, memory_order_relaxed) == 0)
        return false;
    bool suspect = false;
    pthread_mutex_lock(&c->suspect_lock);
    for (size_t i = 0; i < CLUSTER_SUSPECTS_MAX; i++) {
        struct cluster_suspect *s = &c->suspects[i];
        if (s->until_ms == 0)
            continue;
        if (s->until_ms <= now_ms) {
            /* The backoff is over: the next page probes the worker again. */
            s->until_ms = 0;
            atomic_fetch_sub(&c->suspect_count, 1);
            continue;
        }
        if (cluster_target_eq(&s->target, t))
            suspect = true;
    }
    pthread_mutex_unlock(&c->suspect_lock);
    return suspect;
}

bool cluster_pick(struct cluster *c, const char *path, size_t path_len, uint64_t now_ms,
                  struct cluster_target *out)
{
    if (!worker_path_routable(path, path_len))
        return false;
    bool found = false;
    pthread_rwlock_rdlock(&c->ring_lock);
    const struct ring_worker *owner = NULL;
    if (c->ring && ring_lookup(c->ring, path, path_len, 1, &owner) == 1 &&
        !cluster_is_self(c, owner)) {
        memcpy(out->host, owner->host, strlen(owner->host) + 1);
        out->port = owner->http_port;
        found = true;
    }
    pthread_rwlock_unlock(&c->ring_lock);
    return found && !cluster_is_suspect(c, out, now_ms);
}

bool cluster_owner(struct cluster *c, const char *path, size_t len, struct cluster_target *out)
{
    bool found = false;
    pthread_rwlock_rdlock(&c->ring_lock);
    const struct ring_worker *owner = NULL;
    if (c->ring && ring_lookup(c->ring, path, len, 1, &owner) == 1) {
        memcpy(out->host, owner->host, strlen(owner->host) + 1);
        out->port = owner->http_port;
        found = true;
    }
    pthread_rwlock_unlock(&c->ring_lock);
    return found;
}

void cluster_worker_failed(struct cluster *c, const struct cluster_target *t, uint64_t now_ms,
                           const char *why)
{
    if (c->suspect_ms == 0)
        return;
    uint64_t until = now_ms + c->suspect_ms;
    bool fresh = true;
    pthread_mutex_lock(&c->suspect_lock);
    struct cluster_suspect *slot = NULL;
    for (size_t i = 0; i < CLUSTER_SUSPECTS_MAX; i++) {
        struct cluster_suspect *s = &c->suspects[i];
        if (s->until_ms && cluster_target_eq(&s->target, t)) {
            slot = s;
            fresh = false;
            break;
        }
        if (!slot && s->until_ms == 0)
            slot = s;
    }
    if (!slot) {
        /* Full: replace the one whose backoff ends first. */
        slot = &c->suspects[0];
        for (size_t i = 1; i < CLUSTER_SUSPECTS_MAX; i++) {
            if (c->suspects[i].until_ms < slot->until_ms)
                slot = &c->suspects[i];
        }
        atomic_fetch_sub(&c->suspect_count, 1);
    }
    if (fresh) {
        slot->target = *t;
        atomic_fetch_add(&c->suspect_count, 1);
    }
    slot->until_ms = until;
    pthread_mutex_unlock(&c->suspect_lock);
    if (fresh)
        log_warn("cluster: worker %s:%u failed a page (%s); its pages come from the UFS for "
                 "%llu ms, then it is tried again",
                 t->host, (unsigned)t->port, why, (unsigned long long)c->suspect_ms);
}

void cluster_page_size_mismatch(struct cluster *c, const struct cluster_target *t, uint64_t got,
                                uint64_t page_size)
{
    if (atomic_exchange(&c->mismatch_warned, true))
        return;
    log_warn("cluster: page size mismatch: worker %s:%u sent %llu bytes for a full page; this "
             "proxy's page size is %llu (options.alluxio.worker.page.store.page.size must equal "
             "the workers'); such pages are read from the UFS",
             t->host, (unsigned)t->port, (unsigned long long)got, (unsigned long long)page_size);
}
