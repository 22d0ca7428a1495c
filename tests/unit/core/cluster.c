/*
 * Unit tests for core/cluster.c: owner picks follow the ring, unroutable paths and suspect
 * workers are skipped, the backoff ends, and ring swaps take effect.
 */
#include "core/cluster.h"
#include "core/log.h"

#include <criterion/criterion.h>
#include <string.h>

static struct ring *three_workers(void)
{
    struct ring_worker w[3];
    size_t n = 0, skipped = 0;
    const char *hosts = "10.0.0.1,10.0.0.2,10.0.0.3";
    cr_assert_eq(ring_workers_from_hosts(hosts, strlen(hosts), 28080, w, 3, &n, &skipped), 0);
    cr_assert_eq(n, 3);
    struct ring *r;
    cr_assert_eq(ring_new(w, n, 5, &r), 0);
    return r;
}

static void init(void)
{
    log_set_level(LOG_ERROR);
}

Test(cluster, picks_the_ring_owner, .init = init)
{
    struct cluster *c = cluster_create(1000);
    struct cluster_target t;
    const char *path = "s3://bucket/some/key";
    cr_assert(!cluster_pick(c, path, strlen(path), 0, &t), "no ring yet");
    struct ring *r = three_workers();
    const struct ring_worker *owner;
    cr_assert_eq(ring_lookup(r, path, strlen(path), 1, &owner), 1);
    char want[RING_HOST_MAX_BYTES + 1];
    strcpy(want, owner->host);
    cluster_set_ring(c, r);
    cr_assert_eq(cluster_worker_count(c), 3);
    cr_assert(cluster_pick(c, path, strlen(path), 0, &t));
    cr_assert_str_eq(t.host, want);
    cr_assert_eq(t.port, 28080);
    const char *unsafe = "s3://bucket/a+b";
    cr_assert(!cluster_pick(c, unsafe, strlen(unsafe), 0, &t));
    cluster_set_ring(c, NULL);
    cr_assert(!cluster_pick(c, path, strlen(path), 0, &t));
    cr_assert_eq(cluster_worker_count(c), 0);
    cluster_destroy(c);
}

Test(cluster, suspect_for_the_backoff_then_probed, .init = init)
{
    struct cluster *c = cluster_create(1000);
    cluster_set_ring(c, three_workers());
    const char *path = "s3://bucket/x";
    struct cluster_target t, again;
    cr_assert(cluster_pick(c, path, strlen(path), 5000, &t));
    cluster_worker_failed(c, &t, 5000, "test");
    cr_assert(!cluster_pick(c, path, strlen(path), 5000, &again));
    cr_assert(!cluster_pick(c, path, strlen(path), 5999, &again));
    cr_assert(cluster_pick(c, path, strlen(path), 6000, &again), "backoff over");
    cr_assert_str_eq(again.host, t.host);
    /* Failing again restarts the backoff from then. */
    cluster_worker_failed(c, &t, 6000, "test");
    cr_assert(!cluster_pick(c, path, strlen(path), 6500, &again));
    cluster_destroy(c);
}

Test(cluster, other_workers_unaffected_and_table_overflow, .init = init)
{
    struct cluster *c = cluster_create(1000);
    cluster_set_ring(c, three_workers());
    /* Fill the suspect table with workers that are not in the ring. */
    for (unsigned i = 0; i < 200; i++) {
        struct cluster_target t = {.port = (uint16_t)(1000 + i)};
        strcpy(t.host, "elsewhere");
        cluster_worker_failed(c, &t, 100 + i, "test");
    }
    const char *path = "s3://bucket/y";
    struct cluster_target t;
    cr_assert(cluster_pick(c, path, strlen(path), 300, &t));
    cluster_worker_failed(c, &t, 300, "test");
    cr_assert(!cluster_pick(c, path, strlen(path), 301, &t));
    cluster_destroy(c);
}

Test(cluster, zero_backoff_never_suspects, .init = init)
{
    struct cluster *c = cluster_create(0);
    cluster_set_ring(c, three_workers());
    const char *path = "s3://bucket/z";
    struct cluster_target t;
    cr_assert(cluster_pick(c, path, strlen(path), 0, &t));
    cluster_worker_failed(c, &t, 0, "test");
    cr_assert(cluster_pick(c, path, strlen(path), 0, &t));
    cluster_destroy(c);
}

Test(cluster, own_pages_are_local, .init = init)
{
    struct cluster *c = cluster_create(1000);
    struct ring *r = three_workers();
    const char *path = "s3://bucket/mine";
    const struct ring_worker *owner;
    cr_assert_eq(ring_lookup(r, path, strlen(path), 1, &owner), 1);
    struct ring_worker self = *owner;
    cluster_set_ring(c, r);
    struct cluster_target t;
    cr_assert(cluster_pick(c, path, strlen(path), 0, &t));
    cluster_set_self(c, &self);
    cr_assert(!cluster_pick(c, path, strlen(path), 0, &t), "the owner is this process");
    cluster_set_self(c, NULL);
    cr_assert(cluster_pick(c, path, strlen(path), 0, &t));
    cluster_destroy(c);
}
