/*
 * member_map: the membership thread's picture of the worker keys under the etcd prefix
 * (/ServiceDiscovery/<cluster>/, ../../shared/ALLUXIO-PROTOCOL.md section 1.1), kept current
 * from one Range and then the Watch events, and the rule for "did the worker set change".
 *
 * Each key's value is parsed once, when it arrives (ring_worker_parse), and only the result is
 * kept: the worker, or why the value was rejected. The ring only moves when the set of
 * (identity, Host, HttpServerPort) changes, since that is all a ring is made of (section 2.2);
 * a rewrite of the same worker, a change to a member alluxiofs ignores, or a malformed value
 * coming and going leaves it alone. Pure data, no I/O, no locking: one thread owns a map.
 */
#ifndef CORE_MEMBERSHIP_MEMBER_MAP_H
#define CORE_MEMBERSHIP_MEMBER_MAP_H

#include "etcd.h"
#include "../ring.h"

#include <stdbool.h>
#include <stddef.h>

#define MEMBER_MAP_WARN_UNUSED __attribute__((warn_unused_result))

#define MEMBER_MAP_MAX_KEYS (2 * RING_WORKERS_MAX) /* keys under the prefix, malformed included */

/* One key under the prefix. */
struct member_entry {
    char *key; /* NUL-terminated copy */
    size_t key_len;
    enum ring_parse_result parse; /* RING_PARSE_OK: worker is valid */
    struct ring_worker worker;
    bool logged; /* the caller has logged this rejection; kept while parse stays the same */
};

/* Keys in ascending byte order (etcd's Range order), so a ring built from the map lists
 * workers in the order alluxiofs would see them. Zero-initialised is empty. */
struct member_map {
    struct member_entry *entries;
    size_t n, cap;
};

void member_map_free(struct member_map *m);

/* Set key to value (parsed now). 0, -ENOMEM, or -E2BIG (more than MEMBER_MAP_MAX_KEYS keys).
 * The map is unchanged on error. A key whose parse result changes loses its logged mark. */
int member_map_put(struct member_map *m, const char *key, size_t key_len, const char *value,
                   size_t value_len) MEMBER_MAP_WARN_UNUSED;

/* Remove key; false if it was not there. */
bool member_map_delete(struct member_map *m, const char *key, size_t key_len);

/* Replace the whole map with a Range result; keys whose parse result is unchanged keep their
 * logged mark, so a re-list does not log old rejections again. On error the map is left as
 * it was. */
int member_map_load(struct member_map *m, const struct etcd_range_result *r) MEMBER_MAP_WARN_UNUSED;

/* Apply watch events in order (PUT sets, DELETE removes). On error (-ENOMEM, -E2BIG) the
 * events before the failing one have been applied: re-list to recover. */
int member_map_apply(struct member_map *m, const struct etcd_event *events,
                     size_t n) MEMBER_MAP_WARN_UNUSED;

/* Entries whose value was rejected. */
size_t member_map_skipped(const struct member_map *m);

/* A ring of the valid entries, in key order (ring_new: duplicates of one identity become one
 * worker with the address of the last key). Results as ring_new. */
int member_map_ring(const struct member_map *m, unsigned vnodes,
                    struct ring **out) MEMBER_MAP_WARN_UNUSED;

/* The set a ring is made of: distinct identities, each with the address of its last key in key
 * order (as ring_new keeps it), sorted by identity. Zero-initialised is the empty set. */
struct member_set {
    struct ring_worker *workers;
    size_t n;
};

/* The set of the map's valid entries. 0 or -ENOMEM (*out then empty). */
int member_set_build(const struct member_map *m, struct member_set *out) MEMBER_MAP_WARN_UNUSED;

/* Same identities with the same Host and HttpServerPort. */
bool member_set_equal(const struct member_set *a, const struct member_set *b);

void member_set_free(struct member_set *s);

#endif
