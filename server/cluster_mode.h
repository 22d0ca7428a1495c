/*
 * cluster_mode: turns the membership keys of the config (etcd_hosts, or a static worker_hosts
 * list) into a running core/cluster: builds the static ring once, or starts the etcd
 * membership thread that keeps replacing it. Embedded mode (neither key) has no cluster.
 */
#ifndef SERVER_CLUSTER_MODE_H
#define SERVER_CLUSTER_MODE_H

#include "../conf/config.h"
#include "../core/cluster.h"

struct cluster_mode;

/* NULL with *failed false: embedded mode. NULL with *failed true: a setup error (logged). */
struct cluster_mode *cluster_mode_start(const struct config *cfg, bool *failed);
struct cluster *cluster_mode_cluster(struct cluster_mode *m);
/* The ring the config's membership gives right now, for `ring lookup/show`: the static list,
 * or one read of etcd. 0 with *out set (ring_free it), or -1 (logged). */
int cluster_mode_ring_once(const struct config *cfg, struct ring **out);
/* Stop the membership thread (promptly: it never waits for etcd timeouts) and free all. */
void cluster_mode_stop(struct cluster_mode *m);

#endif
