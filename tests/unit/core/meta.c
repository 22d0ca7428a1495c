/*
 * Tests for core/meta.c: meta fields and refcounts, extra header formatting, and the TTL cache
 * (expiry against an injected clock, the max_entries cap, invalidate, replacement).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/meta.h"

#define P(s) (s), strlen(s)

static struct meta *meta_with_etag(const char *etag, uint64_t size)
{
    struct meta *m = meta_new();
    cr_assert_not_null(m);
    cr_assert_eq(meta_set(&m->etag, P(etag)), 0);
    m->size = size;
    return m;
}

/* Put a fresh meta and drop the test's reference: the cache's is then the only one. */
static void put_new(struct meta_cache *c, const char *path, const char *etag, uint64_t now)
{
    struct meta *m = meta_with_etag(etag, 1);
    meta_cache_put(c, P(path), m, now);
    meta_unref(m);
}

/* Whether path is cached at now with this etag (the reference taken is dropped again). */
static bool cached_etag_is(struct meta_cache *c, const char *path, const char *etag, uint64_t now)
{
    struct meta *m = meta_cache_get(c, P(path), now);
    if (!m)
        return false;
    bool same = strcmp(m->etag, etag) == 0;
    meta_unref(m);
    return same;
}

Test(meta, new_and_set)
{
    struct meta *m = meta_new();
    cr_assert_not_null(m);
    cr_assert_eq(atomic_load(&m->refs), 1);
    cr_assert_null(m->etag);
    cr_assert_null(m->content_type);
    cr_assert_null(m->extra_headers);
    cr_assert_eq(m->size, 0);

    cr_assert_eq(meta_set(&m->etag, "\"abc\"garbage", 5), 0);
    cr_assert_str_eq(m->etag, "\"abc\"");
    /* Setting again replaces without leaking (LeakSanitizer checks). */
    cr_assert_eq(meta_set(&m->etag, P("\"def\"")), 0);
    cr_assert_str_eq(m->etag, "\"def\"");
    cr_assert_eq(meta_set(&m->content_type, NULL, 0), 0);
    cr_assert_str_eq(m->content_type, "");
    cr_assert_eq(meta_set(&m->cache_control, P("no-cache")), 0);
    cr_assert_eq(meta_set(&m->version_id, P("v1")), 0);
    meta_unref(m);
    meta_unref(NULL);
    cr_assert_null(meta_ref(NULL));
}

Test(meta, extra_headers_format)
{
    struct meta *m = meta_new();
    cr_assert_eq(meta_add_extra_header(m, P("x-amz-meta-color"), P("blue")), 0);
    cr_assert_str_eq(m->extra_headers, "x-amz-meta-color: blue\r\n");
    cr_assert_eq(meta_add_extra_header(m, P("x-amz-checksum-crc32"), P("AAAAAA==")), 0);
    cr_assert_eq(meta_add_extra_header(m, P("x-amz-meta-empty"), NULL, 0), 0);
    cr_assert_str_eq(m->extra_headers, "x-amz-meta-color: blue\r\n"
                                       "x-amz-checksum-crc32: AAAAAA==\r\n"
                                       "x-amz-meta-empty: \r\n");
    /* Only name_len / value_len bytes are taken. */
    cr_assert_eq(meta_add_extra_header(m, "x-amz-meta-ab", 12, "123", 2), 0);
    cr_assert(strstr(m->extra_headers, "\r\nx-amz-meta-a: 12\r\n") != NULL);
    meta_unref(m);
}

/* A value that could end the header line and inject another is refused, and the headers
 * already there are left as they were. */
Test(meta, extra_headers_reject_splitting)
{
    struct meta *m = meta_new();
    cr_assert_eq(meta_add_extra_header(m, P("x-amz-meta-a"), P("1")), 0);
    cr_assert_eq(meta_add_extra_header(m, P("x-amz-meta-b"), P("1\r\nSet-Cookie: x")), -EINVAL);
    cr_assert_eq(meta_add_extra_header(m, P("x-amz-meta-b"), P("1\nx")), -EINVAL);
    cr_assert_eq(meta_add_extra_header(m, P("x-amz-meta-b\r\nx"), P("1")), -EINVAL);
    cr_assert_eq(meta_add_extra_header(m, P("x-amz-meta-b: y"), P("1")), -EINVAL);
    cr_assert_eq(meta_add_extra_header(m, "x-amz-meta-b\0x", 14, P("1")), -EINVAL);
    cr_assert_eq(meta_add_extra_header(m, "", 0, P("1")), -EINVAL);
    cr_assert_str_eq(m->extra_headers, "x-amz-meta-a: 1\r\n");
    meta_unref(m);
}

Test(meta, ttl_expiry)
{
    struct meta_cache *c = meta_cache_create(1000, 100);
    cr_assert_not_null(c);
    put_new(c, "s3://b/k", "\"e\"", 5000);
    cr_assert(cached_etag_is(c, "s3://b/k", "\"e\"", 5000));
    cr_assert(cached_etag_is(c, "s3://b/k", "\"e\"", 5999));
    cr_assert_null(meta_cache_get(c, P("s3://b/k"), 6000));
    /* Dropped on the expired get: an earlier clock does not bring it back. */
    cr_assert_null(meta_cache_get(c, P("s3://b/k"), 5500));
    cr_assert_null(meta_cache_get(c, P("s3://b/other"), 5500));
    meta_cache_destroy(c);
}

/* Another loop's cached clock may lag the one the entry was stored with. */
Test(meta, clock_behind_insertion_is_fresh)
{
    struct meta_cache *c = meta_cache_create(1000, 100);
    put_new(c, "s3://b/k", "\"e\"", 5000);
    cr_assert(cached_etag_is(c, "s3://b/k", "\"e\"", 4990));
    meta_cache_destroy(c);
}

/* A re-put restarts the entry's age. */
Test(meta, put_refreshes_ttl)
{
    struct meta_cache *c = meta_cache_create(1000, 100);
    put_new(c, "s3://b/k", "\"old\"", 0);
    put_new(c, "s3://b/k", "\"new\"", 900);
    cr_assert(cached_etag_is(c, "s3://b/k", "\"new\"", 1500));
    cr_assert_null(meta_cache_get(c, P("s3://b/k"), 1900));
    meta_cache_destroy(c);
}

Test(meta, ttl_zero_disables)
{
    struct meta_cache *c = meta_cache_create(0, 100);
    cr_assert_not_null(c);
    put_new(c, "s3://b/k", "\"e\"", 0);
    cr_assert_null(meta_cache_get(c, P("s3://b/k"), 0));
    meta_cache_destroy(c);

    c = meta_cache_create(1000, 0); /* no room at all */
    put_new(c, "s3://b/k", "\"e\"", 0);
    cr_assert_null(meta_cache_get(c, P("s3://b/k"), 0));
    meta_cache_destroy(c);
}

/* Full: the oldest insertion goes, whatever was read since (FIFO, not LRU). */
Test(meta, max_entries)
{
    struct meta_cache *c = meta_cache_create(60000, 3);
    put_new(c, "a", "\"a\"", 0);
    put_new(c, "b", "\"b\"", 1);
    put_new(c, "c", "\"c\"", 2);
    cr_assert(cached_etag_is(c, "a", "\"a\"", 3));
    put_new(c, "d", "\"d\"", 4);
    cr_assert_null(meta_cache_get(c, P("a"), 5));
    cr_assert(cached_etag_is(c, "b", "\"b\"", 5));
    cr_assert(cached_etag_is(c, "c", "\"c\"", 5));
    cr_assert(cached_etag_is(c, "d", "\"d\"", 5));

    /* Replacing b makes it the newest insertion: c is now the oldest. */
    put_new(c, "b", "\"b2\"", 6);
    put_new(c, "e", "\"e\"", 7);
    cr_assert_null(meta_cache_get(c, P("c"), 8));
    cr_assert(cached_etag_is(c, "b", "\"b2\"", 8));
    cr_assert(cached_etag_is(c, "d", "\"d\"", 8));
    cr_assert(cached_etag_is(c, "e", "\"e\"", 8));
    meta_cache_destroy(c);
}

/* Many paths: the table grows and the cap holds with a large max_entries too. */
Test(meta, many_entries)
{
    struct meta_cache *c = meta_cache_create(60000, 1000);
    char path[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(path, sizeof path, "s3://b/%d", i);
        put_new(c, path, path, (uint64_t)i);
    }
    for (int i = 0; i < 3000; i++) {
        snprintf(path, sizeof path, "s3://b/%d", i);
        if (i < 2000)
            cr_assert_null(meta_cache_get(c, P(path), 3000), "%d", i);
        else
            cr_assert(cached_etag_is(c, path, path, 3000), "%d", i);
    }
    meta_cache_destroy(c);
}

Test(meta, invalidate)
{
    struct meta_cache *c = meta_cache_create(60000, 10);
    put_new(c, "s3://b/k", "\"e\"", 0);
    put_new(c, "s3://b/k2", "\"e2\"", 0);
    meta_cache_invalidate(c, P("s3://b/k"));
    cr_assert_null(meta_cache_get(c, P("s3://b/k"), 1));
    cr_assert(cached_etag_is(c, "s3://b/k2", "\"e2\"", 1));
    meta_cache_invalidate(c, P("s3://b/missing"));
    /* Paths are byte strings: a prefix is another key. */
    meta_cache_invalidate(c, "s3://b/k", 7);
    cr_assert(cached_etag_is(c, "s3://b/k2", "\"e2\"", 1));
    meta_cache_destroy(c);
}

/* A request keeps the meta it started with while the cache replaces, invalidates or is
 * destroyed; ASan would flag a premature free, LeakSanitizer a missed one. */
Test(meta, refcount_lifetime)
{
    struct meta_cache *c = meta_cache_create(60000, 10);
    struct meta *m = meta_with_etag("\"v1\"", 42);
    cr_assert_eq(meta_add_extra_header(m, P("x-amz-meta-k"), P("v")), 0);
    meta_cache_put(c, P("s3://b/k"), m, 0);
    cr_assert_eq(atomic_load(&m->refs), 2);
    meta_unref(m);
    cr_assert_eq(atomic_load(&m->refs), 1);

    struct meta *held = meta_cache_get(c, P("s3://b/k"), 1);
    cr_assert_eq(held, m);
    cr_assert_eq(atomic_load(&held->refs), 2);

    put_new(c, "s3://b/k", "\"v2\"", 2); /* replaced: the cache drops its reference */
    cr_assert_eq(atomic_load(&held->refs), 1);
    cr_assert_str_eq(held->etag, "\"v1\"");
    cr_assert_eq(held->size, 42);
    cr_assert_str_eq(held->extra_headers, "x-amz-meta-k: v\r\n");

    struct meta *held2 = meta_cache_get(c, P("s3://b/k"), 3);
    cr_assert_str_eq(held2->etag, "\"v2\"");
    meta_cache_destroy(c);
    cr_assert_str_eq(held2->etag, "\"v2\"");
    cr_assert_eq(atomic_load(&held2->refs), 1);
    meta_unref(held2);
    meta_unref(held);
    meta_cache_destroy(NULL);
}
