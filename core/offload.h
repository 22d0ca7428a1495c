/*
 * offload: run a blocking job (a directory walk, say) on a helper thread and hand its result
 * back to the loop that asked, through the loop's mailbox. For work io_uring cannot do here
 * (getdents has no ring op on this kernel); file data reads use the ring, not this.
 */
#ifndef CORE_OFFLOAD_H
#define CORE_OFFLOAD_H

struct loop;

/* Start the helper threads (process-wide). 0 or -errno. */
int offload_start(unsigned threads);
/* Finish queued jobs and join the threads. */
void offload_stop(void);

/* Run work(arg) on a helper thread, then done(arg) on loop l. Never calls either inline. */
void offload_submit(struct loop *l, void (*work)(void *arg), void (*done)(void *arg), void *arg);

#endif
