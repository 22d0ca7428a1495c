/*
 * membership: the thread that keeps the worker ring current from etcd.
 *
 * alluxiofs re-reads /ServiceDiscovery/<cluster>/ every 120 s (../../shared/ALLUXIO-PROTOCOL.md
 * section 1.3); we list it once and then watch it, so a worker that joins or leaves (or whose
 * lease expires) moves the ring within a second. Each change of the worker set becomes a new
 * immutable ring handed to the caller whole (STYLE.md section 3: threads share snapshots, not
 * objects). When etcd is unreachable the last ring stays in use and the thread keeps retrying
 * the listed hosts in turn, with backoff; it logs when the state changes, not per attempt.
 *
 * One membership per process (like the loops it feeds); start and stop from one thread.
 */
#ifndef CORE_MEMBERSHIP_MEMBERSHIP_H
#define CORE_MEMBERSHIP_MEMBERSHIP_H

#include "../ring.h"
#include "etcd.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEMBERSHIP_WARN_UNUSED __attribute__((warn_unused_result))

#define MEMBERSHIP_CLUSTER_DEFAULT   "DefaultAlluxioCluster" /* alluxiofs const.py */
#define MEMBERSHIP_CLUSTER_MAX_BYTES 255
#define MEMBERSHIP_PREFIX_MAX_BYTES                                                                \
    (MEMBERSHIP_CLUSTER_MAX_BYTES + 20) /* + "/ServiceDiscovery//" */
#define MEMBERSHIP_BACKOFF_MIN_MS  100  /* first retry after a failure */
#define MEMBERSHIP_BACKOFF_MAX_MS  2000 /* retries never further apart (plus jitter) */
#define MEMBERSHIP_WATCH_POLL_MS   1000 /* a watch wait's slice; stop does not depend on it */
#define MEMBERSHIP_SKIPPED_LOG_MAX 16   /* malformed keys named in one log burst */
#define MEMBERSHIP_HOSTS_TEXT_MAX  512  /* the host list as logged */

struct membership_config {
    const char *etcd_hosts;   /* "h1,h2:2380,[::1]:2379" (etcd_hosts_parse) */
    uint16_t etcd_port;       /* port of entries without one; 0: ETCD_PORT_DEFAULT */
    const char *username;     /* NULL/"" for none; with password, as alluxiofs */
    const char *password;     /* never logged */
    const char *cluster_name; /* NULL/"": MEMBERSHIP_CLUSTER_DEFAULT */
    unsigned vnodes;          /* ring points per worker; 0: RING_VNODES_DEFAULT */
    unsigned call_timeout_ms; /* one etcd call; 0: ETCD_CALL_TIMEOUT_MS */
};

/* Called on the membership thread with a new ring; the callee owns it (frees it, or hands it
 * on, e.g. cluster_set_ring). Must not block for long and must not call membership_stop. */
typedef void (*membership_publish_fn)(void *arg, struct ring *ring);

/* The key prefix of a cluster, "/ServiceDiscovery/<cluster>/", NUL-terminated in out. 0 or
 * -EINVAL (cluster longer than MEMBERSHIP_CLUSTER_MAX_BYTES). NULL/"" is the default cluster. */
int membership_prefix(const char *cluster_name,
                      char out[MEMBERSHIP_PREFIX_MAX_BYTES + 1]) MEMBERSHIP_WARN_UNUSED;

/* Start the thread. publish runs on it: after the first successful list (even when no worker
 * is registered: an empty ring means every read goes to the UFS) and after every change of the
 * set of (identity, Host, HttpServerPort) from then on. Returns at once, before any etcd
 * contact; failures to reach etcd are the thread's to log and retry. 0, -EINVAL (bad host
 * list, cluster name, vnodes or half credentials: nothing started), -EALREADY, -ENOMEM, or
 * -errno from pthread_create. */
int membership_start(const struct membership_config *cfg, membership_publish_fn publish,
                     void *arg) MEMBERSHIP_WARN_UNUSED;

/* Wake the thread (its etcd call is cancelled, its backoff sleep cut short), join it and free
 * everything. Returns promptly whatever etcd is doing; no publish runs after it returns. A
 * no-op when not started. */
void membership_stop(void);

struct membership_status {
    bool running;                          /* between membership_start and membership_stop */
    bool connected;                        /* listed and watching right now */
    bool published;                        /* at least one ring was published */
    char host[ETCD_TARGET_MAX_BYTES + 1];  /* current or last etcd host, "" before the first */
    int64_t revision;                      /* etcd revision the ring reflects */
    size_t workers;                        /* workers in the last ring published */
    size_t skipped;                        /* keys whose value was not a usable worker */
    char last_error[ETCD_ERROR_MAX_BYTES]; /* most recent failure, "" if none yet */
};

/* A copy of the current status. Any thread, any time. */
void membership_get_status(struct membership_status *out);

/* For the CLI (`ring show -c CONF`): connect and Range the prefix once, trying each host of
 * cfg once (from a random one, like alluxiofs's shuffle), with no thread. 0 with *out holding the
 * raw keys and values (etcd_range_result_free them); -EINVAL (bad cfg), -ENOMEM, or -EIO when no
 * host answered, with the reason (the last host's error) in err. */
int membership_list_once(const struct membership_config *cfg, struct etcd_range_result *out,
                         char *err, size_t err_size) MEMBERSHIP_WARN_UNUSED;

#endif
