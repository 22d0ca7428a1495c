/*
 * registration: the worker role's presence in etcd (../../shared/ALLUXIO-PROTOCOL.md section
 * 1.6). A thread grants a lease, puts this worker's value (section 1.2, compact JSON) under
 * /ServiceDiscovery/<cluster>/worker-<uuid> attached to it, and keeps the lease alive; when
 * the lease is lost (etcd restarted, a long partition) it registers again. Stopping revokes
 * the lease, so the key disappears at once and clients stop routing here within a watch event
 * rather than a lease TTL.
 *
 * One registration per process; start and stop from one thread.
 */
#ifndef CORE_MEMBERSHIP_REGISTRATION_H
#define CORE_MEMBERSHIP_REGISTRATION_H

#include "../buf.h"
#include "../ring.h"

#include <stdint.h>

#define REGISTRATION_WARN_UNUSED __attribute__((warn_unused_result))

struct registration_config {
    const char *etcd_hosts; /* as membership_config */
    uint16_t etcd_port;
    const char *username, *password;
    const char *cluster_name;
    struct ring_worker self; /* identity (version 1, 16 bytes) and the address to publish */
    uint64_t lease_ttl_ms;   /* rounded up to whole seconds, at least 1 s */
};

/* The etcd value of a worker, compact JSON with alluxiofs's defaults for the members it does
 * not use (section 1.2). 0 or -ENOMEM. */
int registration_value(const struct ring_worker *w, struct buf *out) REGISTRATION_WARN_UNUSED;

/* The key: "/ServiceDiscovery/<cluster>/worker-<uuid with dashes>". 0, -EINVAL (the identity
 * is not 16 bytes, or the cluster name is too long) or -ENOMEM. */
int registration_key(const char *cluster_name, const struct ring_worker *w,
                     struct buf *out) REGISTRATION_WARN_UNUSED;

/* Start the thread; it keeps trying until etcd answers. 0, -EINVAL, -EALREADY, -ENOMEM. */
int registration_start(const struct registration_config *cfg) REGISTRATION_WARN_UNUSED;

/* Revoke the lease (waiting at most about a second for etcd) and join the thread. */
void registration_stop(void);

#endif
