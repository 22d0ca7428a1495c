/*
 * member_map: worker keys under the etcd prefix and the worker set they make (see
 * member_map.h). A sorted array with binary search: the map holds one key per worker (tens to
 * thousands) and changes a few times a minute at most, so an insert's memmove costs nothing
 * that matters, and key order comes for free.
 */
#include "member_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int member_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Index of key, or of where it would go; *found tells which. */
static size_t member_map_find(const struct member_map *m, const char *key, size_t key_len,
                              bool *found)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = member_key_cmp(m->entries[mid].key, m->entries[mid].key_len, key, key_len);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

void member_map_free(struct member_map *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->entries[i].key);
    free(m->entries);
    *m = (struct member_map){0};
}

static void member_entry_parse(struct member_entry *e, const char *value, size_t value_len)
{
    struct ring_worker w;
    enum ring_parse_result was = e->parse;
    e->parse = ring_worker_parse(value, value_len, &w);
    if (e->parse != was)
        e->logged = false;
    if (e->parse == RING_PARSE_OK)
        e->worker = w;
    else
        memset(&e->worker, 0, sizeof e->worker);
}

int member_map_put(struct member_map *m, const char *key, size_t key_len, const char *value,
                   size_t value_len)
{
    bool found;
    size_t i = member_map_find(m, key, key_len, &found);
    if (found) {
        member_entry_parse(&m->entries[i], value, value_len);
        return 0;
    }
    if (m->n == MEMBER_MAP_MAX_KEYS)
        return -E2BIG;
    if (m->n == m->cap) {
        size_t cap = m->cap > 0 ? m->cap * 2 : 16;
        if (cap > MEMBER_MAP_MAX_KEYS)
            cap = MEMBER_MAP_MAX_KEYS;
        struct member_entry *e = realloc(m->entries, cap * sizeof *e);
        if (e == NULL)
            return -ENOMEM;
        m->entries = e;
        m->cap = cap;
    }
    char *k = malloc(key_len + 1);
    if (k == NULL)
        return -ENOMEM;
    if (key_len > 0)
        memcpy(k, key, key_len);
    k[key_len] = '\0';
    memmove(&m->entries[i + 1], &m->entries[i], (m->n - i) * sizeof m->entries[0]);
    m->entries[i] = (struct member_entry){.key = k, .key_len = key_len, .parse = RING_PARSE_OK};
    member_entry_parse(&m->entries[i], value, value_len);
    m->n++;
    return 0;
}

bool member_map_delete(struct member_map *m, const char *key, size_t key_len)
{
    bool found;
    size_t i = member_map_find(m, key, key_len, &found);
    if (!found)
        return false;
    free(m->entries[i].key);
    memmove(&m->entries[i], &m->entries[i + 1], (m->n - i - 1) * sizeof m->entries[0]);
    m->n--;
    return true;
}

int member_map_load(struct member_map *m, const struct etcd_range_result *r)
{
    struct member_map fresh = {0};
    for (size_t i = 0; i < r->n; i++) {
        /* Range returns keys sorted and distinct, so each put appends; put still sorts in case
         * a server does not. */
        int rc = member_map_put(&fresh, r->kvs[i].key, r->kvs[i].key_len, r->kvs[i].value,
                                r->kvs[i].value_len);
        if (rc < 0) {
            member_map_free(&fresh);
            return rc;
        }
    }
    for (size_t i = 0; i < fresh.n; i++) {
        struct member_entry *e = &fresh.entries[i];
        bool found;
        size_t j = member_map_find(m, e->key, e->key_len, &found);
        if (found && m->entries[j].parse == e->parse)
            e->logged = m->entries[j].logged;
    }
    member_map_free(m);
    *m = fresh;
    return 0;
}

int member_map_apply(struct member_map *m, const struct etcd_event *events, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct etcd_kv *kv = &events[i].kv;
        if (events[i].type == ETCD_EVENT_DELETE) {
            (void)member_map_delete(m, kv->key, kv->key_len);
            continue;
        }
        int rc = member_map_put(m, kv->key, kv->key_len, kv->value, kv->value_len);
        if (rc < 0)
            return rc;
    }
    return 0;
}

size_t member_map_skipped(const struct member_map *m)
{
    size_t bad = 0;
    for (size_t i = 0; i < m->n; i++)
        bad += m->entries[i].parse != RING_PARSE_OK;
    return bad;
}

int member_map_ring(const struct member_map *m, unsigned vnodes, struct ring **out)
{
    struct ring_worker *ws = calloc(m->n > 0 ? m->n : 1, sizeof *ws);
    if (ws == NULL)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->entries[i].parse == RING_PARSE_OK)
            ws[n++] = m->entries[i].worker;
    }
    int rc = ring_new(ws, n, vnodes, out);
    free(ws);
    return rc;
}

/* ---- worker sets ------------------------------------------------------------------------- */

static int member_identity_cmp(const struct ring_worker *a, const struct ring_worker *b)
{
    if (a->version != b->version)
        return a->version < b->version ? -1 : 1;
    if (a->identifier_len != b->identifier_len)
        return a->identifier_len < b->identifier_len ? -1 : 1;
    return memcmp(a->identifier, b->identifier, a->identifier_len);
}

struct member_slot {
    const struct ring_worker *w;
    size_t pos; /* key order */
};

static int member_slot_cmp(const void *pa, const void *pb)
{
    const struct member_slot *a = pa, *b = pb;
    int c = member_identity_cmp(a->w, b->w);
    if (c != 0)
        return c;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

int member_set_build(const struct member_map *m, struct member_set *out)
{
    *out = (struct member_set){0};
    struct member_slot *slots = calloc(m->n > 0 ? m->n : 1, sizeof *slots);
    struct ring_worker *ws = calloc(m->n > 0 ? m->n : 1, sizeof *ws);
    if (slots == NULL || ws == NULL) {
        free(slots);
        free(ws);
        return -ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->entries[i].parse == RING_PARSE_OK)
            slots[n++] = (struct member_slot){.w = &m->entries[i].worker, .pos = i};
    }
    qsort(slots, n, sizeof *slots, member_slot_cmp);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        /* The last key of an identity gives the address, as in ring_new. */
        if (i + 1 < n && member_identity_cmp(slots[i].w, slots[i + 1].w) == 0)
            continue;
        ws[kept++] = *slots[i].w;
    }
    free(slots);
    *out = (struct member_set){.workers = ws, .n = kept};
    return 0;
}

bool member_set_equal(const struct member_set *a, const struct member_set *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const struct ring_worker *x = &a->workers[i], *y = &b->workers[i];
        if (member_identity_cmp(x, y) != 0 || x->http_port != y->http_port ||
            strcmp(x->host, y->host) != 0)
            return false;
    }
    return true;
}

void member_set_free(struct member_set *s)
{
    free(s->workers);
    *s = (struct member_set){0};
}
