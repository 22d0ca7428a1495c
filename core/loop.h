/*
 * loop: one io_uring event loop per thread, and the few services every async module needs from
 * it: completion dispatch, timers, calls deferred to the end of the turn, and a mailbox other
 * threads post to.
 *
 * Order of one turn (STYLE.md section 3, after nginx's ngx_process_events_and_timers): run
 * deferred calls; submit queued SQEs and wait for one completion or the nearest timer; dispatch
 * every ready CQE; fire expired timers; run deferred calls again. Handlers only queue SQEs;
 * the loop submits them.
 *
 * Every SQE's user_data is a struct loop_op * (or 0 for fire-and-forget ops whose completion
 * nobody needs). The op lives inside the object that issued it (a connection, a file read),
 * and that object must not be freed while it has ops in flight.
 */
#ifndef CORE_LOOP_H
#define CORE_LOOP_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct loop_op;

/* res is the CQE's result (>= 0, or -errno), flags its flags (IORING_CQE_F_MORE...). */
typedef void (*loop_op_cb)(struct loop_op *op, int res, uint32_t flags);

struct loop_op {
    loop_op_cb complete;
};

struct loop_timer;
typedef void (*loop_timer_cb)(struct loop_timer *t);

/* Embed in the object it guards; re-arming moves the deadline (one timer per phase). */
struct loop_timer {
    uint64_t deadline_ms;
    size_t heap_index; /* private: position in the loop's heap, SIZE_MAX when not armed */
    loop_timer_cb fire;
};

/* Slots for per-loop state of modules above core/loop (one pointer each). */
enum loop_slot {
    LOOP_SLOT_HTTP_CLIENT, /* core/http_client.c */
    LOOP_SLOT_SERVER,      /* server/: the loop's listeners and connections */
    LOOP_SLOT_COUNT,
};

/* A loop on the calling thread's behalf: create it on the thread that runs it. index is its
 * number among the loops (for logs and sharding). NULL with errno set on failure. */
struct loop *loop_create(unsigned sq_entries, unsigned index);
void loop_destroy(struct loop *l);

/* Run until loop_stop; returns 0, or -errno if the ring fails. */
int loop_run(struct loop *l);
/* Ask the loop to return from loop_run after the current turn. Loop thread only. */
void loop_stop(struct loop *l);

unsigned loop_index(const struct loop *l);
struct io_uring *loop_ring(struct loop *l);

/* A free SQE, submitting queued ones first if the SQ is full. Never NULL. The caller fills it
 * and sets user_data (io_uring_sqe_set_data) before its next call into the loop. */
struct io_uring_sqe *loop_sqe(struct loop *l);

/* Monotonic milliseconds, read once per turn. */
uint64_t loop_now_ms(const struct loop *l);
/* Monotonic milliseconds, read now (for threads without a loop, and tests). */
uint64_t loop_clock_ms(void);

void loop_timer_init(struct loop_timer *t, loop_timer_cb fire);
/* (Re)arm t to fire delay_ms from now. Loop thread only. */
void loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t delay_ms);
/* Disarm; harmless when not armed. */
void loop_timer_cancel(struct loop *l, struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t)
{
    return t->heap_index != SIZE_MAX;
}

/* Call fn(arg) on this loop at the end of the current turn, in FIFO order. Loop thread only.
 * Used to keep callbacks from running inside their caller (callbacks are always async).
 * Bookkeeping memory for these two is small; running out of it aborts (as Redis's zmalloc). */
void loop_defer(struct loop *l, void (*fn)(void *arg), void *arg);

/* Call fn(arg) on loop l soon. Any thread. */
void loop_post(struct loop *l, void (*fn)(void *arg), void *arg);

void **loop_slot(struct loop *l, enum loop_slot slot);

#endif
