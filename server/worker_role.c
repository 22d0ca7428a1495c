/*
 * worker_role: identity, worker API and registration of the worker role (see worker_role.h).
 */
#include "worker_role.h"

#include "../core/log.h"
#include "../core/membership/registration.h"
#include "../core/worker_identity.h"
#include "worker_api/worker_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WORKER_ROLE_IDENTITY_FILE "worker_identity" /* in the first page store dir */

struct worker_role {
    struct ring_worker self; /* identity and the address registered */
    struct worker_api *api;
    bool registered; /* the registration thread runs */
};

/* Where the identity is kept: the configured file, else the first disk page store dir (it
 * lives as long as the cached pages it names), else nowhere. */
static int worker_role_identity_path(const struct config *cfg, char *out, size_t size,
                                     bool *persisted)
{
    *persisted = true;
    if (cfg->worker_identity_file) {
        snprintf(out, size, "%s", cfg->worker_identity_file);
        return 0;
    }
    if (strcasecmp(cfg->page_store_type, "LOCAL") == 0) {
        struct config_disk_dir dirs[CONFIG_MAX_DISK_DIRS];
        char err[512];
        if (config_disk_dirs(cfg, dirs, err, sizeof(err)) < 1) {
            log_error("worker role: %s", err);
            return -1;
        }
        if (snprintf(out, size, "%s/%s", dirs[0].path, WORKER_ROLE_IDENTITY_FILE) >= (int)size) {
            log_error("worker role: page store dir name too long for the identity file");
            return -1;
        }
        return 0;
    }
    *persisted = false;
    return 0;
}

static int worker_role_self(const struct config *cfg, struct ring_worker *self)
{
    char path[4096];
    bool persisted;
    if (worker_role_identity_path(cfg, path, sizeof(path), &persisted) != 0)
        return -1;
    bool created;
    int rc = worker_identity_load(persisted ? path : NULL, self->identifier, &created);
    if (rc != 0) {
        log_error("worker role: identity %s: %s", path, strerror(-rc));
        return -1;
    }
    self->version = 1;
    self->identifier_len = WORKER_IDENTITY_BYTES;
    if (!persisted)
        log_warn("worker role: the identity is not kept (memory page store and no "
                 "options.alluxio.worker.identity.uuid.file.path): a restart moves this "
                 "worker's pages on the ring");
    else if (created)
        log_info("worker role: new identity written to %s", path);

    const char *host = cfg->worker_hostname;
    char name[RING_HOST_MAX_BYTES + 1];
    if (!host) {
        if (gethostname(name, sizeof(name)) != 0 || !name[0]) {
            log_error("worker role: no host name; set options.alluxio.worker.hostname");
            return -1;
        }
        name[sizeof(name) - 1] = '\0';
        host = name;
    }
    if (strlen(host) > RING_HOST_MAX_BYTES || !host[0]) {
        log_error("worker role: options.alluxio.worker.hostname: empty or too long");
        return -1;
    }
    memcpy(self->host, host, strlen(host) + 1);
    self->http_port = (uint16_t)cfg->worker_http_server_port;
    return 0;
}

struct worker_role *worker_role_start(const struct config *cfg, struct cluster *cluster,
                                      struct route *route, struct ufs *ufs,
                                      struct meta_cache *meta_cache)
{
    struct worker_role *w = calloc(1, sizeof(*w));
    if (!w || worker_role_self(cfg, &w->self) != 0)
        goto fail;
    const struct ring_worker *self = &w->self;
    if (cluster)
        cluster_set_self(cluster, self);
    struct worker_api_config ac = {
        .route = route,
        .ufs = ufs,
        .page_size = cfg->page_size,
        .window_pages = cfg->read_window_pages,
        .cluster = cluster,
        .self_host = self->host,
        .self_port = self->http_port,
        .meta_cache = meta_cache,
        .accept_page_writes = cfg->worker_page_writes,
    };
    w->api = worker_api_create(&ac);
    if (!w->api) {
        log_error("worker role: out of memory");
        goto fail;
    }
    if (cfg->etcd_hosts) {
        struct registration_config rc = {
            .etcd_hosts = cfg->etcd_hosts,
            .etcd_port = (uint16_t)cfg->etcd_port,
            .username = cfg->etcd_username,
            .password = cfg->etcd_password,
            .cluster_name = cfg->cluster_name,
            .self = *self,
            .lease_ttl_ms = cfg->worker_lease_ttl_ms,
        };
        int rc2 = registration_start(&rc);
        if (rc2 != 0) {
            log_error("worker role: cannot start the etcd registration: %s", strerror(-rc2));
            goto fail;
        }
        w->registered = true;
    }
    char hex[2 * WORKER_IDENTITY_BYTES + 1];
    for (size_t i = 0; i < WORKER_IDENTITY_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", self->identifier[i]);
    log_info("worker role: identity %s, serving the Alluxio worker API on %s:%u as %s:%u%s", hex,
             cfg->worker_bind_host, cfg->worker_http_server_port, self->host,
             (unsigned)self->http_port, cfg->etcd_hosts ? ", registering in etcd" : "");
    return w;

fail:
    worker_role_stop(w);
    return NULL;
}

void *worker_role_api(struct worker_role *w)
{
    return w->api;
}

void worker_role_unregister(struct worker_role *w)
{
    if (!w)
        return;
    /* Load jobs start no new UFS reads from here on, so the loops can drain. */
    worker_api_stop_jobs(w->api);
    if (w->registered) {
        registration_stop();
        w->registered = false;
    }
}

void worker_role_stop(struct worker_role *w)
{
    if (!w)
        return;
    worker_role_unregister(w);
    worker_api_destroy(w->api);
    free(w);
}
