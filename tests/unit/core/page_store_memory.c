/*
 * Tests for core/page_store/memory.c (and page.c): lookups and key identity, the byte budget
 * under a random workload, CLOCK's choice of victim, pages outliving eviction while a sender
 * holds them, remove_path, size limits, exact stats and concurrent use from several threads.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/page_store/page_store.h"

#define TEST_ETAG "\"0123456789abcdef\""

/* Deterministic so a failure reproduces. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static struct page *page_filled(uint32_t len, char fill)
{
    struct page *p = page_alloc(len);
    cr_assert_not_null(p);
    memset(p->data, fill, len);
    return p;
}

static struct page_key key_of(const char *path, const char *etag, uint64_t index)
{
    struct page_key k = {
        .path = path,
        .path_len = strlen(path),
        .etag = etag,
        .etag_len = strlen(etag),
        .index = index,
    };
    return k;
}

/* Put a fresh page of len bytes of fill under key; the test drops its own reference. */
static void put_filled(struct page_store *s, const struct page_key *k, uint32_t len, char fill)
{
    struct page *p = page_filled(len, fill);
    cr_assert_eq(page_store_put(s, k, p), 0);
    page_unref(p);
}

/* Whether key is present, and if so that it is len bytes of fill. Sets the CLOCK bit. */
static bool has_page(struct page_store *s, const struct page_key *k, uint32_t len, char fill)
{
    struct page *p = page_store_get(s, k);
    if (!p)
        return false;
    cr_assert_eq(p->len, len);
    for (uint32_t i = 0; i < len; i++)
        cr_assert_eq(p->data[i], fill);
    page_unref(p);
    return true;
}

static struct page_store_stats stats_of(struct page_store *s)
{
    struct page_store_stats st;
    page_store_stats(s, &st);
    return st;
}

Test(page_store_memory, create_rejects_bad_shards)
{
    errno = 0;
    cr_assert_null(page_store_memory_create(1 << 20, 0));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(page_store_memory_create(1 << 20, 3));
    cr_assert_eq(errno, EINVAL);
    page_store_destroy(NULL);
}

Test(page_store_memory, page_refcount)
{
    struct page *p = page_alloc(10);
    cr_assert_not_null(p);
    cr_assert_eq(p->len, 10);
    cr_assert_eq(atomic_load(&p->refs), 1);
    cr_assert_eq(page_ref(p), p);
    cr_assert_eq(atomic_load(&p->refs), 2);
    page_unref(p);
    cr_assert_eq(atomic_load(&p->refs), 1);
    page_unref(p);
    page_unref(NULL);
    cr_assert_null(page_ref(NULL));
}

Test(page_store_memory, get_put_replace)
{
    struct page_store *s = page_store_memory_create(1 << 20, 4);
    cr_assert_not_null(s);
    struct page_key k = key_of("s3://bucket/a", TEST_ETAG, 0);

    cr_assert_null(page_store_get(s, &k));
    put_filled(s, &k, 100, 'a');
    cr_assert(has_page(s, &k, 100, 'a'));

    /* Replacing keeps one entry and accounts the new length only. */
    put_filled(s, &k, 300, 'b');
    cr_assert(has_page(s, &k, 300, 'b'));
    struct page_store_stats st = stats_of(s);
    cr_assert_eq(st.pages, 1);
    cr_assert_eq(st.bytes, 300);
    cr_assert_eq(st.evictions, 0);

    /* The store holds its own reference: the caller's copy is independent. */
    struct page *p = page_filled(50, 'c');
    cr_assert_eq(page_store_put(s, &k, p), 0);
    cr_assert_eq(atomic_load(&p->refs), 2);
    struct page *got = page_store_get(s, &k);
    cr_assert_eq(got, p);
    cr_assert_eq(atomic_load(&p->refs), 3);
    page_unref(got);
    page_unref(p);
    page_store_destroy(s);
}

/* Keys are copied: the caller's buffers may change after put. */
Test(page_store_memory, key_is_copied)
{
    struct page_store *s = page_store_memory_create(1 << 20, 1);
    char path[] = "s3://bucket/key", etag[] = "\"e\"";
    struct page_key k = key_of(path, etag, 7);
    put_filled(s, &k, 10, 'x');
    memset(path, 'z', sizeof path - 1);
    memset(etag, 'z', sizeof etag - 1);
    cr_assert_null(page_store_get(s, &k));
    struct page_key orig = key_of("s3://bucket/key", "\"e\"", 7);
    cr_assert(has_page(s, &orig, 10, 'x'));
    page_store_destroy(s);
}

Test(page_store_memory, key_identity)
{
    struct page_store *s = page_store_memory_create(1 << 20, 4);
    struct page_key keys[] = {
        key_of("s3://b/obj", "\"e1\"", 0),
        key_of("s3://b/obj", "\"e2\"", 0),
        key_of("s3://b/obj", "\"e1\"", 1),
        key_of("s3://b/obj2", "\"e1\"", 0),
        key_of("s3://b/ob", "j\"e1\"", 0), /* same bytes as keys[0] concatenated */
        key_of("", "", 0),
    };
    size_t n = sizeof keys / sizeof keys[0];
    for (size_t i = 0; i < n; i++)
        put_filled(s, &keys[i], 10 + (uint32_t)i, (char)('a' + i));
    for (size_t i = 0; i < n; i++)
        cr_assert(has_page(s, &keys[i], 10 + (uint32_t)i, (char)('a' + i)), "key %zu", i);
    cr_assert_eq(stats_of(s).pages, n);
    struct page_key other = key_of("s3://b/obj", "\"e1\"", 2);
    cr_assert_null(page_store_get(s, &other));
    /* A NULL etag of length 0 is the same key as "". */
    struct page_key null_etag = {.path = "", .path_len = 0, .etag = NULL, .etag_len = 0};
    cr_assert(has_page(s, &null_etag, 10 + (uint32_t)n - 1, (char)('a' + n - 1)));
    page_store_destroy(s);
}

#define WORKLOAD_KEYS 300
#define WORKLOAD_OPS  20000

/* Random sizes and keys: after every put the bytes stay within capacity, a hit always returns
 * the last page put under its key, and at the end the stats match what get can find. */
Test(page_store_memory, eviction_random_workload)
{
    const uint64_t capacity = 64 * 1024;
    const unsigned shards = 4;
    struct page_store *s = page_store_memory_create(capacity, shards);
    cr_assert_not_null(s);
    char paths[WORKLOAD_KEYS][32];
    uint32_t lens[WORKLOAD_KEYS] = {0};
    char fills[WORKLOAD_KEYS] = {0};
    for (int i = 0; i < WORKLOAD_KEYS; i++)
        snprintf(paths[i], sizeof paths[i], "s3://bucket/obj-%d", i);

    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    uint64_t puts = 0, gets = 0, hits = 0;
    for (int op = 0; op < WORKLOAD_OPS; op++) {
        int i = (int)(rng_next(&rng) % WORKLOAD_KEYS);
        struct page_key k = key_of(paths[i], TEST_ETAG, (uint64_t)i % 3);
        if (rng_next(&rng) % 3 == 0) {
            gets++;
            struct page *p = page_store_get(s, &k);
            if (p) {
                hits++;
                cr_assert_eq(p->len, lens[i]);
                cr_assert_eq(p->data[0], fills[i]);
                cr_assert_eq(p->data[p->len - 1], fills[i]);
                page_unref(p);
            }
            continue;
        }
        /* Up to the shard share (capacity / shards) so every put is stored. */
        uint32_t len = 1 + (uint32_t)(rng_next(&rng) % (capacity / shards));
        char fill = (char)(rng_next(&rng) & 0x7f);
        put_filled(s, &k, len, fill);
        puts++;
        lens[i] = len;
        fills[i] = fill;
        struct page_store_stats st = stats_of(s);
        cr_assert_leq(st.bytes, capacity, "op %d: %lu bytes", op, (unsigned long)st.bytes);
    }

    struct page_store_stats st = stats_of(s);
    cr_assert_eq(st.puts, puts);
    cr_assert_eq(st.hits, hits);
    cr_assert_eq(st.misses, gets - hits);
    cr_assert_gt(st.evictions, 0);
    uint64_t found = 0, bytes = 0;
    for (int i = 0; i < WORKLOAD_KEYS; i++) {
        struct page_key k = key_of(paths[i], TEST_ETAG, (uint64_t)i % 3);
        if (lens[i] && has_page(s, &k, lens[i], fills[i])) {
            found++;
            bytes += lens[i];
        }
    }
    cr_assert_eq(found, st.pages);
    cr_assert_eq(bytes, st.bytes);
    page_store_destroy(s);
}

/* One shard, room for four pages. A and B are read, C and D are not: the next two puts must
 * evict C and D (the hand clears A's and B's bits and passes them), keeping A and B. */
Test(page_store_memory, clock_keeps_recently_used)
{
    struct page_store *s = page_store_memory_create(4000, 1);
    struct page_key a = key_of("a", "e", 0), b = key_of("b", "e", 0), c = key_of("c", "e", 0),
                    d = key_of("d", "e", 0), e = key_of("e", "e", 0), f = key_of("f", "e", 0);
    put_filled(s, &a, 1000, 'a');
    put_filled(s, &b, 1000, 'b');
    put_filled(s, &c, 1000, 'c');
    put_filled(s, &d, 1000, 'd');
    cr_assert(has_page(s, &a, 1000, 'a'));
    cr_assert(has_page(s, &b, 1000, 'b'));
    put_filled(s, &e, 1000, 'e');
    put_filled(s, &f, 1000, 'f');
    cr_assert_eq(stats_of(s).evictions, 2);
    cr_assert_null(page_store_get(s, &c));
    cr_assert_null(page_store_get(s, &d));
    cr_assert(has_page(s, &a, 1000, 'a'));
    cr_assert(has_page(s, &b, 1000, 'b'));
    cr_assert(has_page(s, &e, 1000, 'e'));
    cr_assert(has_page(s, &f, 1000, 'f'));
    page_store_destroy(s);
}

/* A page put just now is not the next victim: it sits behind the hand. */
Test(page_store_memory, clock_new_page_not_next_victim)
{
    struct page_store *s = page_store_memory_create(2000, 1);
    struct page_key a = key_of("a", "e", 0), b = key_of("b", "e", 0), c = key_of("c", "e", 0);
    put_filled(s, &a, 1000, 'a');
    put_filled(s, &b, 1000, 'b');
    put_filled(s, &c, 1000, 'c'); /* evicts a */
    cr_assert_null(page_store_get(s, &a));
    put_filled(s, &a, 1000, 'A'); /* evicts b, not c */
    cr_assert_null(page_store_get(s, &b));
    cr_assert(has_page(s, &c, 1000, 'c'));
    cr_assert(has_page(s, &a, 1000, 'A'));
    page_store_destroy(s);
}

/* A sender's reference keeps the bytes valid after eviction; ASan would flag a use after free
 * and LeakSanitizer a page the store forgot to release. */
Test(page_store_memory, sender_reference_survives_eviction)
{
    struct page_store *s = page_store_memory_create(2000, 1);
    struct page_key a = key_of("s3://b/a", TEST_ETAG, 0);
    put_filled(s, &a, 1000, 'A');
    struct page *sending = page_store_get(s, &a);
    cr_assert_not_null(sending);
    for (int i = 0; i < 4; i++) {
        struct page_key k = key_of("s3://b/other", TEST_ETAG, (uint64_t)i);
        put_filled(s, &k, 1000, (char)('0' + i));
    }
    cr_assert_null(page_store_get(s, &a));
    cr_assert_geq(stats_of(s).evictions, 3);
    cr_assert_eq(atomic_load(&sending->refs), 1);
    for (uint32_t i = 0; i < sending->len; i++)
        cr_assert_eq(sending->data[i], 'A');
    page_unref(sending);
    page_store_destroy(s);
}

Test(page_store_memory, remove_path)
{
    struct page_store *s = page_store_memory_create(1 << 20, 4);
    const char *paths[] = {"s3://b/a", "s3://b/ab", "s3://b/b"};
    for (int p = 0; p < 3; p++) {
        for (uint64_t i = 0; i < 20; i++) {
            struct page_key k1 = key_of(paths[p], "\"v1\"", i);
            struct page_key k2 = key_of(paths[p], "\"v2\"", i);
            put_filled(s, &k1, 100, 'x');
            put_filled(s, &k2, 100, 'y');
        }
    }
    cr_assert_eq(stats_of(s).pages, 120);
    page_store_remove_path(s, "s3://b/a", strlen("s3://b/a"));
    struct page_store_stats st = stats_of(s);
    cr_assert_eq(st.pages, 80);
    cr_assert_eq(st.bytes, 8000);
    for (uint64_t i = 0; i < 20; i++) {
        struct page_key gone = key_of("s3://b/a", "\"v1\"", i);
        struct page_key kept = key_of("s3://b/ab", "\"v2\"", i);
        cr_assert_null(page_store_get(s, &gone));
        cr_assert(has_page(s, &kept, 100, 'y'));
    }
    page_store_remove_path(s, "s3://b/zzz", strlen("s3://b/zzz"));
    cr_assert_eq(stats_of(s).pages, 80);
    page_store_destroy(s);
}

/* capacity 4096 over 4 shards: 1024 bytes each. Longer pages are skipped (put still succeeds:
 * caching is best effort), as are empty ones. */
Test(page_store_memory, too_large_page)
{
    struct page_store *s = page_store_memory_create(4096, 4);
    struct page_key big = key_of("s3://b/big", TEST_ETAG, 0);
    struct page_key fits = key_of("s3://b/fits", TEST_ETAG, 0);
    struct page_key empty = key_of("s3://b/empty", TEST_ETAG, 0);
    put_filled(s, &big, 1025, 'b');
    put_filled(s, &empty, 0, 'e');
    cr_assert_null(page_store_get(s, &big));
    cr_assert_null(page_store_get(s, &empty));
    struct page_store_stats st = stats_of(s);
    cr_assert_eq(st.pages, 0);
    cr_assert_eq(st.puts, 0);
    put_filled(s, &fits, 1024, 'f');
    cr_assert(has_page(s, &fits, 1024, 'f'));

    /* A zero capacity stores nothing. */
    struct page_store *z = page_store_memory_create(0, 1);
    put_filled(z, &fits, 1, 'f');
    cr_assert_null(page_store_get(z, &fits));
    page_store_destroy(z);
    page_store_destroy(s);
}

Test(page_store_memory, stats_exact)
{
    struct page_store *s = page_store_memory_create(3000, 1);
    struct page_key a = key_of("a", "e", 0), b = key_of("b", "e", 0), c = key_of("c", "e", 0),
                    d = key_of("d", "e", 0);
    put_filled(s, &a, 1000, 'a');
    put_filled(s, &b, 1000, 'b');
    put_filled(s, &a, 500, 'A'); /* replace */
    cr_assert(has_page(s, &a, 500, 'A'));
    cr_assert_null(page_store_get(s, &c));
    put_filled(s, &c, 1000, 'c');
    put_filled(s, &d, 1000, 'd'); /* 3500 > 3000: evicts b (a is referenced) */
    struct page_store_stats st = stats_of(s);
    cr_assert_eq(st.hits, 1);
    cr_assert_eq(st.misses, 1);
    cr_assert_eq(st.puts, 5);
    cr_assert_eq(st.evictions, 1);
    cr_assert_eq(st.pages, 3);
    cr_assert_eq(st.bytes, 2500);
    cr_assert_eq(st.capacity, 3000);
    cr_assert_null(page_store_get(s, &b));
    page_store_destroy(s);
}

/* Many entries in one shard: the bucket array grows and everything stays reachable. */
Test(page_store_memory, table_grows)
{
    struct page_store *s = page_store_memory_create(1 << 20, 1);
    char path[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(path, sizeof path, "s3://b/%d", i);
        struct page_key k = key_of(path, "e", 0);
        put_filled(s, &k, 8, (char)(i & 0x7f));
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(path, sizeof path, "s3://b/%d", i);
        struct page_key k = key_of(path, "e", 0);
        cr_assert(has_page(s, &k, 8, (char)(i & 0x7f)));
    }
    cr_assert_eq(stats_of(s).pages, 5000);
    page_store_destroy(s);
}

#define CONC_THREADS 4
#define CONC_KEYS    64
#define CONC_OPS     20000
#define CONC_LEN     256

struct conc_arg {
    struct page_store *s;
    uint64_t seed;
    uint64_t gets;
};

/* Each page starts with its key number and is otherwise one byte value, so a reader can tell a
 * page that is torn or belongs to another key. */
static void *conc_worker(void *arg)
{
    struct conc_arg *a = arg;
    uint64_t rng = a->seed;
    char path[32];
    for (int op = 0; op < CONC_OPS; op++) {
        uint8_t id = (uint8_t)(rng_next(&rng) % CONC_KEYS);
        snprintf(path, sizeof path, "s3://b/%u", id);
        struct page_key k = key_of(path, TEST_ETAG, id % 4);
        if (rng_next(&rng) & 1) {
            a->gets++;
            struct page *p = page_store_get(a->s, &k);
            if (!p)
                continue;
            cr_assert_eq(p->len, CONC_LEN);
            cr_assert_eq((uint8_t)p->data[0], id);
            for (int i = 2; i < CONC_LEN; i++)
                cr_assert_eq(p->data[i], p->data[1]);
            page_unref(p);
        } else {
            struct page *p = page_alloc(CONC_LEN);
            cr_assert_not_null(p);
            p->data[0] = (char)id;
            memset(p->data + 1, (int)(rng_next(&rng) & 0xff), CONC_LEN - 1);
            cr_assert_eq(page_store_put(a->s, &k, p), 0);
            page_unref(p);
        }
        if (op % 5000 == 0) {
            page_store_remove_path(a->s, path, strlen(path));
            struct page_store_stats st;
            page_store_stats(a->s, &st);
            cr_assert_leq(st.bytes, st.capacity);
        }
    }
    return NULL;
}

/* Capacity for a quarter of the keys, so gets, puts and evictions race on every shard. */
Test(page_store_memory, concurrent_get_put)
{
    struct page_store *s = page_store_memory_create(CONC_KEYS / 4 * CONC_LEN, 4);
    pthread_t t[CONC_THREADS];
    struct conc_arg args[CONC_THREADS];
    for (int i = 0; i < CONC_THREADS; i++) {
        args[i] = (struct conc_arg){.s = s, .seed = 0x1234567ULL * (uint64_t)(i + 1)};
        cr_assert_eq(pthread_create(&t[i], NULL, conc_worker, &args[i]), 0);
    }
    uint64_t gets = 0;
    for (int i = 0; i < CONC_THREADS; i++) {
        pthread_join(t[i], NULL);
        gets += args[i].gets;
    }
    struct page_store_stats st = stats_of(s);
    cr_assert_eq(st.hits + st.misses, gets);
    cr_assert_leq(st.bytes, st.capacity);
    cr_assert_eq(st.bytes, st.pages * CONC_LEN);
    page_store_destroy(s);
}
