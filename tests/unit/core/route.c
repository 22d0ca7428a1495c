/*
 * Unit tests for core/route.c with a fake UFS: a miss is fetched once however many requests
 * (on however many loops) wait for it, a hit never reaches the UFS, a page of the wrong length
 * is refused and not cached, and failures reach every waiter.
 */
#include "core/loop.h"
#include "core/page_store/page_store.h"
#include "core/route.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define PAGE 4096

struct fake_read {
    ufs_page_cb cb;
    void *arg;
    uint32_t len;
    uint64_t offset;
};

struct fake_ufs {
    struct ufs base;
    atomic_int reads;
    int delay_ms;
    int short_by; /* return pages this many bytes short */
    enum ufs_status fail;
};

static struct fake_ufs fake;

static void fake_complete(void *p)
{
    struct fake_read *r = p;
    if (fake.fail != UFS_OK) {
        r->cb(r->arg, fake.fail, NULL);
    } else {
        struct page *page = page_alloc(r->len - (uint32_t)fake.short_by);
        for (uint32_t i = 0; i < page->len; i++)
            page->data[i] = (char)((r->offset + i) & 0xff);
        r->cb(r->arg, UFS_OK, page);
    }
    free(r);
}

struct delayed {
    struct loop_timer timer;
    struct loop *loop;
    struct fake_read *read;
};

static void fake_delay_fire(struct loop_timer *t)
{
    struct delayed *d = (struct delayed *)t;
    fake_complete(d->read);
    free(d);
}

static void fake_read_page(struct ufs *u, struct loop *l, const char *bucket, const char *key,
                           size_t key_len, const char *etag, uint64_t offset, uint32_t len,
                           ufs_page_cb cb, void *arg)
{
    (void)u, (void)bucket, (void)key, (void)key_len, (void)etag;
    atomic_fetch_add(&fake.reads, 1);
    struct fake_read *r = malloc(sizeof(*r));
    *r = (struct fake_read){cb, arg, len, offset};
    struct delayed *d = malloc(sizeof(*d));
    d->loop = l;
    d->read = r;
    loop_timer_init(&d->timer, fake_delay_fire);
    loop_timer_arm(l, &d->timer, (uint64_t)fake.delay_ms);
}

struct fake_head {
    struct loop_timer timer;
    ufs_meta_cb cb;
    void *arg;
};

static void fake_head_fire(struct loop_timer *t)
{
    struct fake_head *h = (struct fake_head *)t;
    if (fake.fail != UFS_OK) {
        h->cb(h->arg, fake.fail, NULL);
    } else {
        struct meta *m = meta_new();
        m->size = 10 * PAGE;
        cr_assert_eq(meta_set(&m->etag, "\"e1\"", 4), 0);
        h->cb(h->arg, UFS_OK, m);
    }
    free(h);
}

static void fake_head_object(struct ufs *u, struct loop *l, const char *bucket, const char *key,
                             size_t key_len, ufs_meta_cb cb, void *arg)
{
    (void)u, (void)bucket, (void)key, (void)key_len;
    atomic_fetch_add(&fake.reads, 1);
    struct fake_head *h = malloc(sizeof(*h));
    h->cb = cb;
    h->arg = arg;
    loop_timer_init(&h->timer, fake_head_fire);
    loop_timer_arm(l, &h->timer, (uint64_t)fake.delay_ms);
}

static const struct ufs_ops fake_ops = {.read_page = fake_read_page,
                                        .head_object = fake_head_object};

struct waiter_state {
    struct loop *loop;
    int done, ok, failed;
    int expect;
    uint64_t offset;
};

static void on_page(void *arg, uint64_t index, enum ufs_status st, struct page *page)
{
    struct waiter_state *w = arg;
    if (st == UFS_OK && page && page->len == PAGE &&
        (unsigned char)page->data[0] == ((index * PAGE) & 0xff))
        w->ok++;
    else
        w->failed++;
    page_unref(page);
    if (++w->done == w->expect)
        loop_stop(w->loop);
}

static struct route_object object(void)
{
    return (struct route_object){.bucket = "b",
                                 .key = "k",
                                 .key_len = 1,
                                 .path = "s3://b/k",
                                 .path_len = 8,
                                 .size = 10 * PAGE,
                                 .etag = "\"e1\""};
}

static struct route *setup(struct page_store **store)
{
    memset(&fake, 0, sizeof(fake));
    fake.base.ops = &fake_ops;
    fake.base.scheme = "s3";
    fake.delay_ms = 20;
    *store = page_store_memory_create(1 << 20, 1);
    struct route_config cfg = {.store = *store, .ufs = &fake.base, .page_size = PAGE};
    return route_create(&cfg);
}

Test(route, concurrent_misses_on_one_loop_share_one_fetch)
{
    struct page_store *store;
    struct route *r = setup(&store);
    struct loop *l = loop_create(64, 0);
    struct waiter_state w = {.loop = l, .expect = 5};
    struct route_object o = object();
    for (int i = 0; i < 5; i++)
        cr_assert_null(route_read_page(r, l, &o, 3, on_page, &w));
    loop_run(l);
    cr_assert_eq(w.ok, 5);
    cr_assert_eq(atomic_load(&fake.reads), 1);
    /* Now cached: returned at once, no UFS read. */
    struct page *p = route_read_page(r, l, &o, 3, on_page, &w);
    cr_assert_not_null(p);
    page_unref(p);
    cr_assert_eq(atomic_load(&fake.reads), 1);
    loop_destroy(l);
    route_destroy(r);
    page_store_destroy(store);
}

struct thread_arg {
    struct route *route;
    struct waiter_state w;
    pthread_barrier_t *barrier;
};

static void *loop_thread(void *p)
{
    struct thread_arg *a = p;
    a->w.loop = loop_create(64, 1);
    struct route_object o = object();
    pthread_barrier_wait(a->barrier);
    for (int i = 0; i < a->w.expect; i++) {
        struct page *page = route_read_page(a->route, a->w.loop, &o, 7, on_page, &a->w);
        if (page) { /* the other loop's fetch already landed */
            page_unref(page);
            a->w.ok++;
            a->w.done++;
        }
    }
    if (a->w.done < a->w.expect)
        loop_run(a->w.loop);
    loop_destroy(a->w.loop);
    return NULL;
}

Test(route, misses_on_two_loops_share_one_fetch)
{
    struct page_store *store;
    struct route *r = setup(&store);
    fake.delay_ms = 100;
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    struct thread_arg a[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        a[i] = (struct thread_arg){.route = r, .barrier = &barrier};
        a[i].w.expect = 3;
        pthread_create(&t[i], NULL, loop_thread, &a[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(a[0].w.ok + a[1].w.ok, 6);
    cr_assert_eq(atomic_load(&fake.reads), 1);
    pthread_barrier_destroy(&barrier);
    route_destroy(r);
    page_store_destroy(store);
}

Test(route, wrong_length_page_is_refused_and_not_cached)
{
    struct page_store *store;
    struct route *r = setup(&store);
    fake.short_by = 1;
    struct loop *l = loop_create(64, 0);
    struct waiter_state w = {.loop = l, .expect = 2};
    struct route_object o = object();
    route_read_page(r, l, &o, 0, on_page, &w);
    route_read_page(r, l, &o, 0, on_page, &w);
    loop_run(l);
    cr_assert_eq(w.failed, 2);
    struct route_stats stats;
    route_get_stats(r, &stats);
    cr_assert_eq(stats.failures, 1);
    struct page_key key = {"s3://b/k", 8, "\"e1\"", 4, 0};
    cr_assert_null(page_store_get(store, &key));
    loop_destroy(l);
    route_destroy(r);
    page_store_destroy(store);
}

Test(route, failures_reach_every_waiter)
{
    struct page_store *store;
    struct route *r = setup(&store);
    fake.fail = UFS_UNAVAILABLE;
    struct loop *l = loop_create(64, 0);
    struct waiter_state w = {.loop = l, .expect = 3};
    struct route_object o = object();
    for (int i = 0; i < 3; i++)
        route_read_page(r, l, &o, 1, on_page, &w);
    loop_run(l);
    cr_assert_eq(w.failed, 3);
    cr_assert_eq(atomic_load(&fake.reads), 1);
    loop_destroy(l);
    route_destroy(r);
    page_store_destroy(store);
}

Test(route, another_etag_is_another_page)
{
    struct page_store *store;
    struct route *r = setup(&store);
    fake.delay_ms = 0;
    struct loop *l = loop_create(64, 0);
    struct waiter_state w = {.loop = l, .expect = 1};
    struct route_object o = object();
    route_read_page(r, l, &o, 2, on_page, &w);
    loop_run(l);
    o.etag = "\"e2\"";
    w.done = 0;
    cr_assert_null(route_read_page(r, l, &o, 2, on_page, &w));
    loop_run(l);
    cr_assert_eq(atomic_load(&fake.reads), 2);
    loop_destroy(l);
    route_destroy(r);
    page_store_destroy(store);
}

struct meta_waiter {
    struct loop *loop;
    int done, ok, expect;
};

static void on_meta(void *arg, enum ufs_status st, struct meta *m)
{
    struct meta_waiter *w = arg;
    if (st == UFS_OK && m && m->size == 10 * PAGE)
        w->ok++;
    meta_unref(m);
    if (++w->done == w->expect)
        loop_stop(w->loop);
}

Test(route, concurrent_metadata_misses_share_one_head)
{
    memset(&fake, 0, sizeof(fake));
    fake.base.ops = &fake_ops;
    fake.base.scheme = "s3";
    fake.delay_ms = 20;
    struct page_store *store = page_store_memory_create(1 << 20, 1);
    struct meta_cache *cache = meta_cache_create(60000, 16);
    struct route_config cfg = {
        .store = store, .meta_cache = cache, .ufs = &fake.base, .page_size = PAGE};
    struct route *r = route_create(&cfg);
    struct loop *l = loop_create(64, 0);
    struct meta_waiter w = {.loop = l, .expect = 4};
    for (int i = 0; i < 4; i++)
        cr_assert_null(route_read_meta(r, l, "b", "k", 1, "s3://b/k", 8, on_meta, &w));
    loop_run(l);
    cr_assert_eq(w.ok, 4);
    cr_assert_eq(atomic_load(&fake.reads), 1);
    struct meta *m = route_read_meta(r, l, "b", "k", 1, "s3://b/k", 8, on_meta, &w);
    cr_assert_not_null(m, "the HEAD's answer is cached");
    meta_unref(m);
    cr_assert_eq(atomic_load(&fake.reads), 1);
    struct route_stats stats;
    route_get_stats(r, &stats);
    cr_assert_eq(stats.meta_fetches, 1);
    cr_assert_eq(stats.meta_shared_waits, 3);
    loop_destroy(l);
    route_destroy(r);
    meta_cache_destroy(cache);
    page_store_destroy(store);
}
