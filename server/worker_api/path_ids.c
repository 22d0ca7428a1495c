/*
 * path_ids: a chained hash table (SipHash of the id with a secret seed, so a client cannot
 * aim its paths at one chain) threaded on an LRU list; see path_ids.h.
 */
#include "path_ids.h"

#include "../../core/hash.h"
#include "target.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct worker_api_path_id_entry {
    struct worker_api_path_id_entry *chain;         /* next in the bucket */
    struct worker_api_path_id_entry *newer, *older; /* LRU list */
    char id[WORKER_API_PATH_ID_BYTES];
    size_t len;
    char path[]; /* len bytes and a NUL */
};

struct worker_api_path_ids {
    pthread_mutex_t lock;
    uint8_t seed[HASH_SIPHASH_KEY_BYTES];
    size_t max, count, mask;
    struct worker_api_path_id_entry **buckets;
    struct worker_api_path_id_entry *newest, *oldest;
};

struct worker_api_path_ids *worker_api_path_ids_create(size_t max_entries)
{
    struct worker_api_path_ids *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    size_t n = 16;
    while (n < max_entries)
        n *= 2;
    m->buckets = calloc(n, sizeof(*m->buckets));
    if (!m->buckets || hash_seed_random(m->seed) != 0) {
        free(m->buckets);
        free(m);
        return NULL;
    }
    m->mask = n - 1;
    m->max = max_entries ? max_entries : 1;
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void worker_api_path_ids_destroy(struct worker_api_path_ids *m)
{
    if (!m)
        return;
    for (struct worker_api_path_id_entry *e = m->newest; e;) {
        struct worker_api_path_id_entry *next = e->older;
        free(e);
        e = next;
    }
    pthread_mutex_destroy(&m->lock);
    free(m->buckets);
    free(m);
}

static struct worker_api_path_id_entry **worker_api_path_ids_bucket(struct worker_api_path_ids *m,
                                                                    const char *id)
{
    return &m->buckets[hash_siphash24(m->seed, id, WORKER_API_PATH_ID_BYTES) & m->mask];
}

static void worker_api_path_ids_unlink_lru(struct worker_api_path_ids *m,
                                           struct worker_api_path_id_entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        m->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        m->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void worker_api_path_ids_push_newest(struct worker_api_path_ids *m,
                                            struct worker_api_path_id_entry *e)
{
    e->older = m->newest;
    e->newer = NULL;
    if (m->newest)
        m->newest->newer = e;
    m->newest = e;
    if (!m->oldest)
        m->oldest = e;
}

/* The entry of id and the link that points at it (for removal), under the lock. */
static struct worker_api_path_id_entry *
worker_api_path_ids_find(struct worker_api_path_ids *m, const char *id,
                         struct worker_api_path_id_entry ***link_out)
{
    struct worker_api_path_id_entry **link = worker_api_path_ids_bucket(m, id);
    for (; *link; link = &(*link)->chain) {
        if (memcmp((*link)->id, id, WORKER_API_PATH_ID_BYTES) == 0) {
            if (link_out)
                *link_out = link;
            return *link;
        }
    }
    return NULL;
}

static void worker_api_path_ids_remove(struct worker_api_path_ids *m,
                                       struct worker_api_path_id_entry *e)
{
    struct worker_api_path_id_entry **link = NULL;
    if (worker_api_path_ids_find(m, e->id, &link) != e)
        return;
    *link = e->chain;
    worker_api_path_ids_unlink_lru(m, e);
    m->count--;
    free(e);
}

void worker_api_path_ids_put(struct worker_api_path_ids *m, const char *path_id, const char *path,
                             size_t len)
{
    struct worker_api_path_id_entry *fresh = malloc(sizeof(*fresh) + len + 1);
    if (!fresh)
        return;
    memset(fresh, 0, sizeof(*fresh));
    memcpy(fresh->id, path_id, WORKER_API_PATH_ID_BYTES);
    memcpy(fresh->path, path, len);
    fresh->path[len] = '\0';
    fresh->len = len;

    pthread_mutex_lock(&m->lock);
    struct worker_api_path_id_entry *old = worker_api_path_ids_find(m, path_id, NULL);
    if (old) {
        /* Same id, so the same path (SHA-256): only its place in the LRU moves. */
        worker_api_path_ids_unlink_lru(m, old);
        worker_api_path_ids_push_newest(m, old);
        pthread_mutex_unlock(&m->lock);
        free(fresh);
        return;
    }
    if (m->count >= m->max && m->oldest)
        worker_api_path_ids_remove(m, m->oldest);
    struct worker_api_path_id_entry **bucket = worker_api_path_ids_bucket(m, path_id);
    fresh->chain = *bucket;
    *bucket = fresh;
    worker_api_path_ids_push_newest(m, fresh);
    m->count++;
    pthread_mutex_unlock(&m->lock);
}

char *worker_api_path_ids_get(struct worker_api_path_ids *m, const char *path_id, size_t *len)
{
    char *out = NULL;
    pthread_mutex_lock(&m->lock);
    struct worker_api_path_id_entry *e = worker_api_path_ids_find(m, path_id, NULL);
    if (e) {
        worker_api_path_ids_unlink_lru(m, e);
        worker_api_path_ids_push_newest(m, e);
        out = malloc(e->len + 1);
        if (out) {
            memcpy(out, e->path, e->len + 1);
            *len = e->len;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return out;
}
