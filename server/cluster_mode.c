/*
 * cluster_mode: cluster setup from the config (see cluster_mode.h).
 */
#include "cluster_mode.h"

#include "../core/log.h"
#include "../core/ring.h"

#include <stdlib.h>
#include <string.h>

#define CLUSTER_MODE_STATIC_WORKERS_MAX 4096 /* entries of a worker_hosts list */

struct cluster_mode {
    struct cluster *cluster;
};

/* The ring of a worker_hosts list (identities as alluxiofs derives them). */
static int cluster_mode_static_ring(const struct config *cfg, struct ring **out)
{
    struct ring_worker *workers = calloc(CLUSTER_MODE_STATIC_WORKERS_MAX, sizeof(*workers));
    if (!workers)
        return -1;
    size_t n = 0, skipped = 0;
    int rc = ring_workers_from_hosts(cfg->worker_hosts, strlen(cfg->worker_hosts),
                                     (uint16_t)cfg->worker_http_port, workers,
                                     CLUSTER_MODE_STATIC_WORKERS_MAX, &n, &skipped);
    if (rc == 0)
        rc = ring_new(workers, n, cfg->virtual_nodes, out);
    free(workers);
    if (rc != 0) {
        log_error("worker_hosts: cannot build the ring: %s", strerror(-rc));
        return -1;
    }
    if (skipped)
        log_warn("worker_hosts: %zu entries skipped (empty or longer than %d bytes)", skipped,
                 RING_HOST_MAX_BYTES);
    if (n == 0)
        log_warn("worker_hosts: no workers listed; every page comes from the UFS");
    return 0;
}

int cluster_mode_ring_once(const struct config *cfg, struct ring **out)
{
    if (cfg->worker_hosts)
        return cluster_mode_static_ring(cfg, out);
    log_error("ring: the config names neither etcd_hosts nor worker_hosts");
    return -1;
}

struct cluster_mode *cluster_mode_start(const struct config *cfg, bool *failed)
{
    *failed = false;
    if (!cfg->worker_hosts && !cfg->etcd_hosts)
        return NULL;
    struct cluster_mode *m = calloc(1, sizeof(*m));
    if (m)
        m->cluster = cluster_create(cfg->worker_suspect_ms);
    if (!m || !m->cluster) {
        log_error("cannot start: out of memory");
        goto fail;
    }
    if (cfg->worker_hosts) {
        struct ring *ring;
        if (cluster_mode_static_ring(cfg, &ring) != 0)
            goto fail;
        cluster_set_ring(m->cluster, ring);
    }
    return m;

fail:
    cluster_mode_stop(m);
    *failed = true;
    return NULL;
}

struct cluster *cluster_mode_cluster(struct cluster_mode *m)
{
    return m ? m->cluster : NULL;
}

void cluster_mode_stop(struct cluster_mode *m)
{
    if (!m)
        return;
    cluster_destroy(m->cluster);
    free(m);
}
