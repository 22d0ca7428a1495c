/*
 * Unit tests for core/loop.c: timers fire in deadline order and can be cancelled or moved,
 * deferred calls run after the current call returns and in order, posts from another thread
 * wake the loop, and a NOP submitted on the ring completes through its loop_op.
 */
#include "core/loop.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

struct timer_probe {
    struct loop_timer timer;
    struct loop *loop;
    int id;
    int *order;
    int *count;
};

static void probe_fire(struct loop_timer *t)
{
    struct timer_probe *p = (struct timer_probe *)t;
    p->order[(*p->count)++] = p->id;
    if (*p->count == 3)
        loop_stop(p->loop);
}

Test(loop, timers_fire_in_deadline_order)
{
    struct loop *l = loop_create(64, 0);
    cr_assert_not_null(l);
    int order[8], count = 0;
    struct timer_probe p[4];
    const uint64_t delays[4] = {30, 10, 20, 5};
    for (int i = 0; i < 4; i++) {
        p[i] = (struct timer_probe){.loop = l, .id = i, .order = order, .count = &count};
        loop_timer_init(&p[i].timer, probe_fire);
        loop_timer_arm(l, &p[i].timer, delays[i]);
    }
    loop_timer_cancel(l, &p[3].timer); /* the earliest never fires */
    cr_assert(!loop_timer_armed(&p[3].timer));
    cr_assert_eq(loop_run(l), 0);
    cr_assert_eq(count, 3);
    cr_assert_eq(order[0], 1);
    cr_assert_eq(order[1], 2);
    cr_assert_eq(order[2], 0);
    loop_destroy(l);
}

Test(loop, rearming_moves_the_deadline)
{
    struct loop *l = loop_create(64, 0);
    int order[8], count = 0;
    struct timer_probe p[3];
    for (int i = 0; i < 3; i++) {
        p[i] = (struct timer_probe){.loop = l, .id = i, .order = order, .count = &count};
        loop_timer_init(&p[i].timer, probe_fire);
    }
    loop_timer_arm(l, &p[0].timer, 1);
    loop_timer_arm(l, &p[1].timer, 15);
    loop_timer_arm(l, &p[2].timer, 30);
    loop_timer_arm(l, &p[0].timer, 40); /* moved to the end */
    cr_assert_eq(loop_run(l), 0);
    cr_assert_eq(order[0], 1);
    cr_assert_eq(order[1], 2);
    cr_assert_eq(order[2], 0);
    loop_destroy(l);
}

struct defer_probe {
    struct loop *loop;
    char log[16];
    size_t len;
};

static void defer_b(void *arg)
{
    struct defer_probe *d = arg;
    d->log[d->len++] = 'b';
    loop_stop(d->loop);
}

static void defer_a(void *arg)
{
    struct defer_probe *d = arg;
    d->log[d->len++] = 'a';
    loop_defer(d->loop, defer_b, d); /* queued from a deferred call: runs after it */
    d->log[d->len++] = 'A';
}

Test(loop, deferred_calls_run_after_their_caller_in_order)
{
    struct defer_probe d = {.len = 0};
    d.loop = loop_create(64, 0);
    loop_defer(d.loop, defer_a, &d);
    cr_assert_eq(d.len, 0, "deferred call ran inline");
    cr_assert_eq(loop_run(d.loop), 0);
    d.log[d.len] = '\0';
    cr_assert_str_eq(d.log, "aAb");
    loop_destroy(d.loop);
}

struct post_probe {
    struct loop *loop;
    int received;
};

static void post_count(void *arg)
{
    struct post_probe *p = arg;
    if (++p->received == 1000)
        loop_stop(p->loop);
}

static void *post_thread(void *arg)
{
    struct post_probe *p = arg;
    for (int i = 0; i < 1000; i++)
        loop_post(p->loop, post_count, p);
    return NULL;
}

Test(loop, posts_from_another_thread_all_arrive)
{
    struct post_probe p = {.received = 0};
    p.loop = loop_create(64, 0);
    pthread_t t;
    pthread_create(&t, NULL, post_thread, &p);
    cr_assert_eq(loop_run(p.loop), 0);
    pthread_join(t, NULL);
    cr_assert_eq(p.received, 1000);
    loop_destroy(p.loop);
}

struct nop_probe {
    struct loop_op op;
    struct loop *loop;
    int res;
    int completions;
};

static void nop_complete(struct loop_op *op, int res, uint32_t flags)
{
    (void)flags;
    struct nop_probe *n = (struct nop_probe *)op;
    n->res = res;
    n->completions++;
    loop_stop(n->loop);
}

Test(loop, ring_completion_reaches_its_op)
{
    struct nop_probe n = {.op = {nop_complete}, .res = -1};
    n.loop = loop_create(64, 0);
    struct io_uring_sqe *sqe = loop_sqe(n.loop);
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data(sqe, &n.op);
    cr_assert_eq(loop_run(n.loop), 0);
    cr_assert_eq(n.completions, 1);
    cr_assert_eq(n.res, 0);
    loop_destroy(n.loop);
}
