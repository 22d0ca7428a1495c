/*
 * disk_index: slot array + chained hash table + CLOCK hand for one disk store directory (see
 * disk_index.h). The table doubles when entries outnumber buckets; the slot array doubles when
 * full. Both grow under the caller's lock, amortised O(1) per add.
 */
#include "disk_index.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DISK_INDEX_MIN_SLOTS   64u
#define DISK_INDEX_MIN_BUCKETS 64u

struct disk_index {
    struct disk_entry *slots;
    uint32_t nslots;   /* allocated */
    uint32_t used;     /* slots [0, used) have been handed out at least once */
    uint32_t free;     /* free list head, DISK_INDEX_NONE when empty */
    uint32_t count;    /* entries not FREE */
    uint32_t ready;    /* READY entries */
    uint32_t hand;     /* CLOCK position */
    uint32_t *buckets; /* slot ids, DISK_INDEX_NONE at a chain's end */
    uint32_t nbuckets; /* power of two */
    uint8_t seed[HASH_SIPHASH_KEY_BYTES];
};

static uint64_t disk_index_hash(const struct disk_index *x, uint64_t name_hash, uint64_t index)
{
    uint64_t k[2] = {name_hash, index};
    return hash_siphash24(x->seed, k, sizeof k);
}

static uint32_t *disk_index_bucket(const struct disk_index *x, uint64_t name_hash, uint64_t index)
{
    return &x->buckets[disk_index_hash(x, name_hash, index) & (x->nbuckets - 1)];
}

static uint32_t next_pow2(uint32_t v, uint32_t min)
{
    uint32_t n = min;
    while (n < v && n < (1u << 31))
        n <<= 1;
    return n;
}

struct disk_index *disk_index_create(uint32_t expect)
{
    struct disk_index *x = calloc(1, sizeof(*x));
    if (!x)
        goto fail;
    int rc = hash_seed_random(x->seed);
    if (rc < 0) {
        free(x);
        errno = -rc;
        return NULL;
    }
    x->nslots = expect > DISK_INDEX_MIN_SLOTS ? expect : DISK_INDEX_MIN_SLOTS;
    x->nbuckets = next_pow2(x->nslots, DISK_INDEX_MIN_BUCKETS);
    x->slots = calloc(x->nslots, sizeof(*x->slots));
    x->buckets = malloc((size_t)x->nbuckets * sizeof(*x->buckets));
    if (!x->slots || !x->buckets)
        goto fail;
    memset(x->buckets, 0xff, (size_t)x->nbuckets * sizeof(*x->buckets));
    x->free = DISK_INDEX_NONE;
    return x;
fail:
    disk_index_destroy(x);
    errno = ENOMEM;
    return NULL;
}

void disk_index_destroy(struct disk_index *x)
{
    if (!x)
        return;
    free(x->slots);
    free(x->buckets);
    free(x);
}

struct disk_entry *disk_index_entry(struct disk_index *x, uint32_t slot)
{
    assert(slot < x->used);
    return &x->slots[slot];
}

struct disk_entry *disk_index_get(struct disk_index *x, struct disk_ref ref)
{
    if (ref.slot >= x->used)
        return NULL;
    struct disk_entry *e = &x->slots[ref.slot];
    return e->state != DISK_ENTRY_FREE && e->gen == ref.gen ? e : NULL;
}

uint32_t disk_index_find(const struct disk_index *x, uint64_t name_hash, uint64_t index)
{
    uint32_t s = *disk_index_bucket(x, name_hash, index);
    while (s != DISK_INDEX_NONE) {
        const struct disk_entry *e = &x->slots[s];
        if (e->name_hash == name_hash && e->index == index)
            return s;
        s = e->next;
    }
    return DISK_INDEX_NONE;
}

/* Double the buckets when entries outnumber them. On ENOMEM keep the old array: chains just
 * get longer. */
static void disk_index_maybe_grow_table(struct disk_index *x)
{
    if (x->count <= x->nbuckets || x->nbuckets >= (1u << 31))
        return;
    uint32_t n = x->nbuckets * 2;
    uint32_t *b = malloc((size_t)n * sizeof(*b));
    if (!b)
        return;
    memset(b, 0xff, (size_t)n * sizeof(*b));
    uint32_t *old = x->buckets;
    x->buckets = b;
    x->nbuckets = n;
    for (uint32_t s = 0; s < x->used; s++) {
        struct disk_entry *e = &x->slots[s];
        if (e->state == DISK_ENTRY_FREE)
            continue;
        uint32_t *head = disk_index_bucket(x, e->name_hash, e->index);
        e->next = *head;
        *head = s;
    }
    free(old);
}

static int disk_index_take_slot(struct disk_index *x, uint32_t *out)
{
    if (x->free != DISK_INDEX_NONE) {
        *out = x->free;
        x->free = x->slots[*out].next;
        return 0;
    }
    if (x->used == x->nslots) {
        if (x->nslots >= DISK_INDEX_MAX_SLOTS)
            return -ENOMEM;
        uint32_t n = x->nslots * 2;
        struct disk_entry *s = realloc(x->slots, (size_t)n * sizeof(*s));
        if (!s)
            return -ENOMEM;
        memset(s + x->nslots, 0, (size_t)(n - x->nslots) * sizeof(*s));
        x->slots = s;
        x->nslots = n;
    }
    *out = x->used++;
    return 0;
}

int disk_index_add(struct disk_index *x, uint64_t name_hash, uint64_t index, uint32_t file_size,
                   enum disk_entry_state state, struct disk_ref *out)
{
    assert(state != DISK_ENTRY_FREE);
    uint32_t s;
    int rc = disk_index_take_slot(x, &s);
    if (rc < 0)
        return rc;
    struct disk_entry *e = &x->slots[s];
    e->name_hash = name_hash;
    e->index = index;
    e->gen++;
    e->file_size = file_size;
    e->state = (uint8_t)state;
    e->referenced = false;
    uint32_t *head = disk_index_bucket(x, name_hash, index);
    e->next = *head;
    *head = s;
    x->count++;
    if (state == DISK_ENTRY_READY)
        x->ready++;
    disk_index_maybe_grow_table(x);
    out->slot = s;
    out->gen = e->gen;
    return 0;
}

void disk_index_remove(struct disk_index *x, uint32_t slot)
{
    struct disk_entry *e = disk_index_entry(x, slot);
    assert(e->state != DISK_ENTRY_FREE);
    uint32_t *link = disk_index_bucket(x, e->name_hash, e->index);
    while (*link != slot)
        link = &x->slots[*link].next;
    *link = e->next;
    if (e->state == DISK_ENTRY_READY)
        x->ready--;
    e->state = DISK_ENTRY_FREE;
    e->next = x->free;
    x->free = slot;
    x->count--;
}

void disk_index_set_state(struct disk_index *x, uint32_t slot, enum disk_entry_state state)
{
    struct disk_entry *e = disk_index_entry(x, slot);
    assert(e->state != DISK_ENTRY_FREE && state != DISK_ENTRY_FREE);
    if (e->state == DISK_ENTRY_READY)
        x->ready--;
    if (state == DISK_ENTRY_READY)
        x->ready++;
    e->state = (uint8_t)state;
}

uint32_t disk_index_clock_victim(struct disk_index *x)
{
    if (x->ready == 0)
        return DISK_INDEX_NONE;
    /* The first pass clears every bit it meets, so the second finds a READY entry clear. */
    for (uint64_t step = 0; step <= 2 * (uint64_t)x->used; step++) {
        if (x->hand >= x->used)
            x->hand = 0;
        uint32_t s = x->hand++;
        struct disk_entry *e = &x->slots[s];
        if (e->state != DISK_ENTRY_READY)
            continue;
        if (!e->referenced)
            return s;
        e->referenced = false;
    }
    assert(!"disk_index: CLOCK found no victim among READY entries");
    return DISK_INDEX_NONE;
}

uint32_t disk_index_count(const struct disk_index *x)
{
    return x->count;
}

uint32_t disk_index_ready(const struct disk_index *x)
{
    return x->ready;
}
