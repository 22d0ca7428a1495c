/*
 * worker_role: what `roles: [worker]` adds to the process: a persisted worker identity, the
 * Alluxio worker REST API (server/worker_api) served on its own listener by the same loops, and
 * the registration in etcd (core/membership/registration) when etcd_hosts is set. With a
 * cluster, the S3 front learns this identity so pages this process owns are read locally.
 */
#ifndef SERVER_WORKER_ROLE_H
#define SERVER_WORKER_ROLE_H

#include "../conf/config.h"
#include "../core/cluster.h"
#include "../core/meta.h"
#include "../core/route.h"
#include "../core/ufs/ufs.h"

struct worker_role;

/* NULL after logging on failure. cluster may be NULL (no ring: E8 answers with this worker). */
struct worker_role *worker_role_start(const struct config *cfg, struct cluster *cluster,
                                      struct route *route, struct ufs *ufs,
                                      struct meta_cache *meta_cache);
/* The handler_data of the worker listener (struct worker_api *). */
void *worker_role_api(struct worker_role *w);
/* Leave etcd now (revoke the lease: the key disappears at once), before draining. */
void worker_role_unregister(struct worker_role *w);
/* After the loops stopped: unregister if not done, free everything. NULL is fine. */
void worker_role_stop(struct worker_role *w);

#endif
