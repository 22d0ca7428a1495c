/*
 * cluster_mode: cluster setup from the config (see cluster_mode.h).
 */
#include "cluster_mode.h"

#include "../core/log.h"
#include "../core/membership/membership.h"
#include "../core/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTER_MODE_STATIC_WORKERS_MAX 4096 /* entries of a worker_hosts list */

struct cluster_mode {
    struct cluster *cluster;
    bool membership; /* the etcd membership thread runs */
};

static void cluster_mode_membership_config(const struct config *cfg, struct membership_config *out)
{
    *out = (struct membership_config){
        .etcd_hosts = cfg->etcd_hosts,
        .etcd_port = (uint16_t)cfg->etcd_port,
        .username = cfg->etcd_username,
        .password = cfg->etcd_password,
        .cluster_name = cfg->cluster_name,
        .vnodes = cfg->virtual_nodes,
    };
}

/* On the membership thread: a new worker set. */
static void cluster_mode_publish(void *arg, struct ring *ring)
{
    struct cluster_mode *m = arg;
    cluster_set_ring(m->cluster, ring);
}

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
    if (!cfg->etcd_hosts) {
        log_error("ring: the config names neither etcd_hosts nor worker_hosts");
        return -1;
    }
    struct membership_config mc;
    cluster_mode_membership_config(cfg, &mc);
    struct etcd_range_result listed = {0};
    char err[ETCD_ERROR_MAX_BYTES];
    int rc = membership_list_once(&mc, &listed, err, sizeof(err));
    if (rc != 0) {
        log_error("ring: cannot read the membership from etcd (%s): %s", cfg->etcd_hosts,
                  rc == -EIO ? err : strerror(-rc));
        return -1;
    }
    const char **values = calloc(listed.n ? listed.n : 1, sizeof(*values));
    size_t *lens = calloc(listed.n ? listed.n : 1, sizeof(*lens));
    size_t skipped = 0;
    rc = values && lens ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < listed.n; i++) {
        values[i] = listed.kvs[i].value;
        lens[i] = listed.kvs[i].value_len;
    }
    if (rc == 0)
        rc = ring_new_from_values(values, lens, listed.n, cfg->virtual_nodes, out, &skipped);
    free(values);
    free(lens);
    etcd_range_result_free(&listed);
    if (rc != 0) {
        log_error("ring: cannot build the ring: %s", strerror(-rc));
        return -1;
    }
    if (skipped)
        log_warn("ring: %zu malformed worker values in etcd skipped", skipped);
    return 0;
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
    } else {
        struct membership_config mc;
        cluster_mode_membership_config(cfg, &mc);
        int rc = membership_start(&mc, cluster_mode_publish, m);
        if (rc != 0) {
            log_error("etcd_hosts: cannot start the membership: %s", strerror(-rc));
            goto fail;
        }
        m->membership = true;
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
    if (m->membership)
        membership_stop();
    cluster_destroy(m->cluster);
    free(m);
}
