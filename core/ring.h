/*
 * ring: Alluxio's consistent-hash ring, the rule that says which worker caches a file, computed
 * exactly as alluxiofs 1.0.x computes it (../shared/ALLUXIO-PROTOCOL.md section 2; golden data
 * in tests/vectors/ring). A ring is built once from a worker list and never changes: the
 * membership thread builds a new one and hands it over whole, so lookups need no lock.
 *
 * Also here: the two ways a worker list is obtained, one etcd value per worker (section 1.2) and
 * the static `worker_hosts` list (section 1.5), and the path id workers key files by (3.2).
 * Nothing here does I/O.
 */
#ifndef CORE_RING_H
#define CORE_RING_H

#include <stddef.h>
#include <stdint.h>

#define RING_WARN_UNUSED __attribute__((warn_unused_result))

#define RING_VNODES_DEFAULT         5           /* alluxiofs's default points per worker (2.7) */
#define RING_VNODES_MAX             100000      /* points per worker (Alluxio Java default: 2000) */
#define RING_WORKERS_MAX            65536       /* distinct worker identities in one ring */
#define RING_POINTS_MAX             (1u << 22)  /* workers x points, 32 MiB of ring at most */
#define RING_LOOKUP_ATTEMPTS        100         /* key hashes tried per lookup (2.5) */
#define RING_IDENTIFIER_MAX_BYTES   64          /* identity bytes (16 for version 1, 8 for 0) */
#define RING_HOST_MAX_BYTES         255         /* WorkerNetAddress.Host, or a worker_hosts entry */
#define RING_WORKER_VALUE_MAX_BYTES 65536       /* one etcd value */
#define RING_JSON_MAX_DEPTH         16          /* nesting of one etcd value */
#define RING_HTTP_PORT_DEFAULT      28080       /* HttpServerPort when absent; worker_http_port */
#define RING_HOST_DEFAULT           "localhost" /* WorkerNetAddress.Host when absent */
#define RING_PATH_ID_HEX_BYTES      64          /* SHA-256 in lowercase hex, without the NUL */

/* One worker: its identity (the only thing hashed onto the ring) and the address of its REST
 * API (section 1.4: Host and HttpServerPort; every other member of the etcd value is ignored).
 * Plain data, copied freely; callers allocate it. */
struct ring_worker {
    uint32_t version;                              /* identity scheme: 1 = UUID, 0 = legacy */
    size_t identifier_len;                         /* bytes used in identifier, >= 1 */
    uint8_t identifier[RING_IDENTIFIER_MAX_BYTES]; /* hashed as is, whatever its length */
    char host[RING_HOST_MAX_BYTES + 1];            /* NUL-terminated, non-empty */
    uint16_t http_port;                            /* nonzero */
};

/* Why one etcd value was rejected. Identity by value; ring_parse_str() gives text for logs. */
enum ring_parse_result {
    RING_PARSE_OK = 0,
    RING_PARSE_TOO_BIG,        /* value longer than RING_WORKER_VALUE_MAX_BYTES */
    RING_PARSE_NOT_JSON,       /* not one complete JSON text (junk after it counts) */
    RING_PARSE_NOT_OBJECT,     /* top level is not an object */
    RING_PARSE_NO_IDENTITY,    /* Identity missing or not an object */
    RING_PARSE_BAD_VERSION,    /* Identity.version missing, or not an integer in 0..2^32-1 */
    RING_PARSE_BAD_IDENTIFIER, /* Identity.identifier missing, not hex, empty or too long */
    RING_PARSE_BAD_ADDRESS,    /* WorkerNetAddress present but not an object */
    RING_PARSE_BAD_HOST,       /* Host not a string, empty, too long, or holds a NUL */
    RING_PARSE_BAD_PORT,       /* HttpServerPort not an integer in 1..65535 */
};

/* Static text for a result, never NULL. */
const char *ring_parse_str(enum ring_parse_result r);

/* Parse one etcd value (section 1.2; len bytes, need not be NUL-terminated) into *out.
 * Identity.version may be a JSON integer or a string of decimal digits (alluxiofs applies int());
 * identifier is hex in either case. Absent WorkerNetAddress members take alluxiofs's defaults
 * (Host "localhost", HttpServerPort 28080); members other than Identity, Host and
 * HttpServerPort are not looked at. *out is written only on RING_PARSE_OK. Thread-safe. */
enum ring_parse_result ring_worker_parse(const char *value, size_t len,
                                         struct ring_worker *out) RING_WARN_UNUSED;

/* The worker alluxiofs derives from one `worker_hosts` entry (section 1.5): identity version 1,
 * identifier = the name-based (MD5, version 3) UUID of the host's bytes with an empty namespace
 * (Java UUID.nameUUIDFromBytes), port http_port. host is used as given (not trimmed, a ":port"
 * suffix stays part of it). 0, -EINVAL (empty, longer than RING_HOST_MAX_BYTES, holds a NUL, or
 * http_port 0) or -ENOMEM / -EIO from the digest. */
int ring_worker_from_host(const char *host, size_t len, uint16_t http_port,
                          struct ring_worker *out) RING_WARN_UNUSED;

/* Split a `worker_hosts` list on ',' and trim ASCII whitespace around each entry, as alluxiofs
 * does (Python str.strip() also trims non-ASCII spaces; we do not). Entries that are empty after
 * trimming, or that ring_worker_from_host rejects, are skipped and counted in *skipped. Writes
 * up to cap workers to out and their number to *n. 0, -E2BIG (more than cap entries: nothing is
 * dropped silently), or -ENOMEM / -EIO. */
int ring_workers_from_hosts(const char *list, size_t len, uint16_t http_port,
                            struct ring_worker *out, size_t cap, size_t *n,
                            size_t *skipped) RING_WARN_UNUSED;

struct ring;

/* Build a ring of vnodes points per worker from n workers (copied; the caller keeps its array).
 * Workers with the same identity (version and identifier) are one worker: the last one listed
 * gives the address, as in alluxiofs's identity -> address map. A point hashed by two workers
 * goes to the one listed later (alluxiofs: the later insertion wins). n may be 0: that ring owns
 * nothing. 0 with *out set (free with ring_free), -EINVAL (vnodes 0 or above RING_VNODES_MAX),
 * -E2BIG (more than RING_WORKERS_MAX workers or RING_POINTS_MAX points) or -ENOMEM. */
int ring_new(const struct ring_worker *workers, size_t n, unsigned vnodes,
             struct ring **out) RING_WARN_UNUSED;

/* Parse n etcd values (values[i] of lens[i] bytes) and build a ring from those that parse; each
 * malformed one is skipped and counted in *skipped (alluxiofs would drop the whole snapshot, we
 * keep the good workers). Results as ring_new. */
int ring_new_from_values(const char *const *values, const size_t *lens, size_t n, unsigned vnodes,
                         struct ring **out, size_t *skipped) RING_WARN_UNUSED;

/* Free a ring; NULL is fine. No lookup may be running on it or use its workers afterwards. */
void ring_free(struct ring *r);

/* The owners of a file: up to count distinct workers, in alluxiofs's order (section 2.5: key
 * hash of the path and attempt 1, 2, ... up to RING_LOOKUP_ATTEMPTS, first point strictly
 * greater, wrapping). path is the full UFS path as alluxiofs hashes it (2.6: "s3://bucket/key"),
 * path_len bytes. Writes pointers into the ring (valid while it lives) to out[0..count) and
 * returns how many: min(count, workers) unless the attempts run out first; 0 on an empty ring.
 * Pure and thread-safe: any number of threads may look up in one ring at once. */
size_t ring_lookup(const struct ring *r, const char *path, size_t path_len, size_t count,
                   const struct ring_worker **out);

/* Distinct workers in the ring, and the i-th of them (i < ring_worker_count), in first-listed
 * order; for `ring show`. */
size_t ring_worker_count(const struct ring *r);
const struct ring_worker *ring_worker_at(const struct ring *r, size_t i);
unsigned ring_vnodes(const struct ring *r);

/* The point of virtual node index of a worker (section 2.2) and the key hash of attempt a
 * (2.3), as signed 32-bit values; exposed for tests and `ring show`. */
int32_t ring_point_hash(const struct ring_worker *w, uint32_t index);
int32_t ring_key_hash(const char *path, size_t path_len, uint32_t attempt);

/* The id alluxiofs puts in worker URLs for a file (section 3.2): lowercase hex SHA-256 of the
 * full UFS path, NUL-terminated in out. 0, or -ENOMEM / -EIO from the digest. */
int ring_path_id(const char *path, size_t path_len,
                 char out[RING_PATH_ID_HEX_BYTES + 1]) RING_WARN_UNUSED;

#endif
