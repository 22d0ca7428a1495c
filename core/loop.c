/*
 * loop: io_uring event loop, timers (binary min-heap), deferred calls and a cross-thread
 * mailbox woken through an eventfd read kept armed on the ring. See loop.h for the turn order.
 */
#include "loop.h"

#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_WAIT_MAX_MS 1000 /* wake at least this often even with no timer */
#define LOOP_CQE_BATCH   256  /* CQEs copied out at once */
#define LOOP_CQE_ROUNDS  16   /* batches per turn before timers and deferred calls get a go */

struct loop_call {
    void (*fn)(void *arg);
    void *arg;
};

/* A FIFO of calls that grows by doubling; run() swaps it out so calls may queue more. */
struct loop_calls {
    struct loop_call *items;
    size_t count, cap;
};

struct loop {
    struct io_uring ring;
    unsigned index;
    bool stopping;
    uint64_t now_ms;

    struct loop_timer **heap;
    size_t heap_count, heap_cap;

    struct loop_calls deferred;

    /* Mailbox: other threads append under the lock and write the eventfd. */
    pthread_mutex_t mail_lock;
    struct loop_calls mail;
    int mail_fd;
    uint64_t mail_value;
    struct loop_op mail_op;

    void *slots[LOOP_SLOT_COUNT];
};

uint64_t loop_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void loop_calls_push(struct loop_calls *q, void (*fn)(void *), void *arg)
{
    if (q->count == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        struct loop_call *items = realloc(q->items, cap * sizeof(*items));
        if (!items) {
            log_error("loop: out of memory queueing a call");
            abort();
        }
        q->items = items;
        q->cap = cap;
    }
    q->items[q->count].fn = fn;
    q->items[q->count].arg = arg;
    q->count++;
}

/* Run the calls queued so far; calls they queue run on the next round. */
static void loop_calls_run(struct loop_calls *q)
{
    while (q->count) {
        struct loop_calls batch = *q;
        q->items = NULL;
        q->count = q->cap = 0;
        for (size_t i = 0; i < batch.count; i++)
            batch.items[i].fn(batch.items[i].arg);
        if (!q->items) {
            /* Nothing new was queued: keep the batch's storage for reuse. */
            q->items = batch.items;
            q->cap = batch.cap;
        } else {
            free(batch.items);
        }
    }
}

static void loop_mail_arm(struct loop *l);

static void loop_mail_complete(struct loop_op *op, int res, uint32_t flags)
{
    (void)flags;
    struct loop *l = (struct loop *)((char *)op - offsetof(struct loop, mail_op));
    if (res < 0 && res != -EAGAIN && res != -EINTR && res != -ECANCELED)
        log_warn("loop %u: mailbox read failed: %s", l->index, strerror(-res));
    pthread_mutex_lock(&l->mail_lock);
    struct loop_calls batch = l->mail;
    memset(&l->mail, 0, sizeof(l->mail));
    pthread_mutex_unlock(&l->mail_lock);
    for (size_t i = 0; i < batch.count; i++)
        batch.items[i].fn(batch.items[i].arg);
    free(batch.items);
    if (!l->stopping || res != -ECANCELED)
        loop_mail_arm(l);
}

static void loop_mail_arm(struct loop *l)
{
    struct io_uring_sqe *sqe = loop_sqe(l);
    io_uring_prep_read(sqe, l->mail_fd, &l->mail_value, sizeof(l->mail_value), 0);
    io_uring_sqe_set_data(sqe, &l->mail_op);
}

struct loop *loop_create(unsigned sq_entries, unsigned index)
{
    struct loop *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->index = index;
    l->mail_fd = -1;
    struct io_uring_params params;
    memset(&params, 0, sizeof(params));
    /* One thread submits and reaps; the kernel may defer task work to our wait. */
    params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN;
    params.flags |= IORING_SETUP_CQSIZE;
    params.cq_entries = sq_entries * 4;
    int rc = io_uring_queue_init_params(sq_entries, &l->ring, &params);
    if (rc < 0) {
        free(l);
        errno = -rc;
        return NULL;
    }
    l->mail_fd = eventfd(0, EFD_CLOEXEC);
    if (l->mail_fd < 0) {
        int e = errno;
        io_uring_queue_exit(&l->ring);
        free(l);
        errno = e;
        return NULL;
    }
    pthread_mutex_init(&l->mail_lock, NULL);
    l->mail_op.complete = loop_mail_complete;
    l->now_ms = loop_clock_ms();
    loop_mail_arm(l);
    return l;
}

void loop_destroy(struct loop *l)
{
    if (!l)
        return;
    /* Run what is still queued so owners can release their objects. */
    loop_calls_run(&l->deferred);
    io_uring_queue_exit(&l->ring);
    close(l->mail_fd);
    pthread_mutex_destroy(&l->mail_lock);
    free(l->mail.items);
    free(l->deferred.items);
    free(l->heap);
    free(l);
}

unsigned loop_index(const struct loop *l)
{
    return l->index;
}

struct io_uring *loop_ring(struct loop *l)
{
    return &l->ring;
}

void **loop_slot(struct loop *l, enum loop_slot slot)
{
    return &l->slots[slot];
}

uint64_t loop_now_ms(const struct loop *l)
{
    return l->now_ms;
}

struct io_uring_sqe *loop_sqe(struct loop *l)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
    while (!sqe) {
        int rc = io_uring_submit(&l->ring);
        if (rc < 0 && rc != -EAGAIN && rc != -EBUSY && rc != -EINTR) {
            log_error("loop %u: io_uring_submit: %s", l->index, strerror(-rc));
            abort();
        }
        sqe = io_uring_get_sqe(&l->ring);
    }
    return sqe;
}

void loop_defer(struct loop *l, void (*fn)(void *), void *arg)
{
    loop_calls_push(&l->deferred, fn, arg);
}

void loop_post(struct loop *l, void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&l->mail_lock);
    bool wake = l->mail.count == 0;
    loop_calls_push(&l->mail, fn, arg);
    pthread_mutex_unlock(&l->mail_lock);
    if (wake) {
        uint64_t one = 1;
        ssize_t w = write(l->mail_fd, &one, sizeof(one));
        (void)w; /* an eventfd write only fails at a counter overflow: it is awake then */
    }
}

void loop_stop(struct loop *l)
{
    l->stopping = true;
}

/* --- timers: a binary min-heap on deadline_ms ------------------------------------------ */

static void heap_swap(struct loop *l, size_t a, size_t b)
{
    struct loop_timer *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->heap_index = a;
    l->heap[b]->heap_index = b;
}

static void heap_up(struct loop *l, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (l->heap[parent]->deadline_ms <= l->heap[i]->deadline_ms)
            break;
        heap_swap(l, i, parent);
        i = parent;
    }
}

static void heap_down(struct loop *l, size_t i)
{
    for (;;) {
        size_t left = 2 * i + 1, right = left + 1, min = i;
        if (left < l->heap_count && l->heap[left]->deadline_ms < l->heap[min]->deadline_ms)
            min = left;
        if (right < l->heap_count && l->heap[right]->deadline_ms < l->heap[min]->deadline_ms)
            min = right;
        if (min == i)
            return;
        heap_swap(l, i, min);
        i = min;
    }
}

void loop_timer_init(struct loop_timer *t, loop_timer_cb fire)
{
    t->deadline_ms = 0;
    t->heap_index = SIZE_MAX;
    t->fire = fire;
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
    size_t i = t->heap_index;
    if (i == SIZE_MAX)
        return;
    t->heap_index = SIZE_MAX;
    l->heap_count--;
    if (i == l->heap_count)
        return;
    l->heap[i] = l->heap[l->heap_count];
    l->heap[i]->heap_index = i;
    heap_up(l, i);
    heap_down(l, l->heap[i]->heap_index);
}

void loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t delay_ms)
{
    loop_timer_cancel(l, t);
    if (l->heap_count == l->heap_cap) {
        size_t cap = l->heap_cap ? l->heap_cap * 2 : 256;
        struct loop_timer **heap = realloc(l->heap, cap * sizeof(*heap));
        if (!heap) {
            log_error("loop: out of memory arming a timer");
            abort();
        }
        l->heap = heap;
        l->heap_cap = cap;
    }
    t->deadline_ms = l->now_ms + delay_ms;
    t->heap_index = l->heap_count;
    l->heap[l->heap_count++] = t;
    heap_up(l, t->heap_index);
}

static void loop_run_timers(struct loop *l)
{
    while (l->heap_count && l->heap[0]->deadline_ms <= l->now_ms) {
        struct loop_timer *t = l->heap[0];
        loop_timer_cancel(l, t);
        t->fire(t);
    }
}

/* Copy ready CQEs out and release their slots before running handlers, so a handler that
 * submits or waits never sees a half-consumed CQ. Bounded per batch (STYLE.md: bound the work
 * per turn); the loop takes the rest on its next pass with a zero wait. */
static void loop_dispatch(struct loop *l)
{
    struct io_uring_cqe *cqes[LOOP_CQE_BATCH];
    struct {
        struct loop_op *op;
        int res;
        uint32_t flags;
    } ready[LOOP_CQE_BATCH];
    for (int round = 0; round < LOOP_CQE_ROUNDS; round++) {
        unsigned n = io_uring_peek_batch_cqe(&l->ring, cqes, LOOP_CQE_BATCH);
        if (n == 0)
            return;
        for (unsigned i = 0; i < n; i++) {
            ready[i].op = io_uring_cqe_get_data(cqes[i]);
            ready[i].res = cqes[i]->res;
            ready[i].flags = cqes[i]->flags;
        }
        io_uring_cq_advance(&l->ring, n);
        for (unsigned i = 0; i < n; i++) {
            if (ready[i].op)
                ready[i].op->complete(ready[i].op, ready[i].res, ready[i].flags);
        }
    }
}

/* --- the turn ---------------------------------------------------------------------------- */

int loop_run(struct loop *l)
{
    while (!l->stopping) {
        loop_calls_run(&l->deferred);
        uint64_t wait_ms = LOOP_WAIT_MAX_MS;
        if (l->deferred.count)
            wait_ms = 0;
        else if (l->heap_count) {
            uint64_t d = l->heap[0]->deadline_ms;
            wait_ms = d <= l->now_ms ? 0 : d - l->now_ms;
            if (wait_ms > LOOP_WAIT_MAX_MS)
                wait_ms = LOOP_WAIT_MAX_MS;
        }
        struct __kernel_timespec ts = {.tv_sec = (long long)(wait_ms / 1000),
                                       .tv_nsec = (long long)(wait_ms % 1000) * 1000000};
        struct io_uring_cqe *cqe = NULL;
        int rc = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);
        if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
            log_error("loop %u: io_uring wait: %s", l->index, strerror(-rc));
            return rc;
        }
        l->now_ms = loop_clock_ms();
        loop_dispatch(l);
        loop_run_timers(l);
        loop_calls_run(&l->deferred);
    }
    return 0;
}
