/*
 * cluster: what route needs to know about the Alluxio workers: the current ring (replaced
 * whole by the membership thread, or set once from `worker_hosts`), which workers are suspect
 * (failed recently, so their pages go to the UFS until a backoff passes and they are tried
 * again), and a once-only warning when a worker's page size is not ours.
 *
 * Any thread may call anything here: loops pick owners while the membership thread swaps rings.
 */
#ifndef CORE_CLUSTER_H
#define CORE_CLUSTER_H

#include "ring.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cluster;

/* The worker picked for a page: its address, copied (the ring may be gone by the time the
 * page arrives). */
struct cluster_target {
    char host[RING_HOST_MAX_BYTES + 1];
    uint16_t port;
};

/* suspect_ms: how long a failed worker is skipped. NULL on ENOMEM. */
struct cluster *cluster_create(uint64_t suspect_ms);
void cluster_destroy(struct cluster *c);

/* Install a new ring (ownership passes; NULL means "no ring": read everything from the UFS).
 * The old ring is freed once no lookup runs on it. */
void cluster_set_ring(struct cluster *c, struct ring *ring);

/* This process's own worker identity (the worker role): pages it owns are read locally, not
 * over HTTP from itself. Call before the first pick; NULL clears it. */
void cluster_set_self(struct cluster *c, const struct ring_worker *self);

/* The owner of path (alluxiofs's first choice) when it may be asked now: false when there is no
 * ring, the ring is empty, the path is not routable (worker_path_routable), the owner is this
 * process (cluster_set_self) or the owner is suspect. now_ms is the caller's monotonic clock. */
bool cluster_pick(struct cluster *c, const char *path, size_t path_len, uint64_t now_ms,
                  struct cluster_target *out);

/* The owner of path on the current ring whatever its state (suspect, this process, a path
 * worker_path_routable refuses): what a worker answers to alluxiofs's /v1/node. false when
 * there is no ring or it is empty. */
bool cluster_owner(struct cluster *c, const char *path, size_t len, struct cluster_target *out);

/* The worker failed a page (why: for the log): skip it for suspect_ms from now_ms. Logged when
 * a worker becomes suspect, not for every page. */
void cluster_worker_failed(struct cluster *c, const struct cluster_target *t, uint64_t now_ms,
                           const char *why);

/* A full page (not the file's last) came back with got bytes where page_size were asked for:
 * the worker's page size differs from ours. Warned once per process, with both sizes. */
void cluster_page_size_mismatch(struct cluster *c, const struct cluster_target *t, uint64_t got,
                                uint64_t page_size);

/* Workers in the current ring (0 without one). */
size_t cluster_worker_count(struct cluster *c);

#endif
