/*
 * etcd: a small blocking etcd v3 client over gRPC (the gRPC core C API and protobuf-c), for the
 * few calls the proxy needs: Range over a key prefix and Watch it (worker membership,
 * ../../shared/ALLUXIO-PROTOCOL.md section 1), Put/Delete/Lease calls and a lease keep-alive
 * stream (worker registration, section 1.6), and Authenticate for clusters with auth enabled.
 *
 * Why our own client: there is no maintained C etcd client, and the JSON gateway would need a
 * second HTTP stack and base64 for every key. gRPC core is what etcd itself speaks.
 *
 * One client belongs to ONE thread: every call blocks that thread until an answer, an error or
 * its deadline. The only calls other threads may make are etcd_client_interrupt and
 * etcd_watch_cancel, which wake a blocked owner at once (that is how a shutdown avoids waiting
 * for etcd timeouts). Plain TCP, no TLS, like alluxiofs.
 */
#ifndef CORE_MEMBERSHIP_ETCD_H
#define CORE_MEMBERSHIP_ETCD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETCD_WARN_UNUSED __attribute__((warn_unused_result))

#define ETCD_PORT_DEFAULT         2379 /* alluxiofs's etcd_port default */
#define ETCD_HOSTS_MAX            32   /* entries in one etcd_hosts list */
#define ETCD_HOST_MAX_BYTES       253  /* one host name or address, without brackets */
#define ETCD_TARGET_MAX_BYTES     (ETCD_HOST_MAX_BYTES + 8) /* "[host]:65535" */
#define ETCD_CALL_TIMEOUT_MS      5000                      /* default deadline of one unary call */
#define ETCD_KEEPALIVE_TIME_MS    10000      /* HTTP/2 ping interval while a call is open */
#define ETCD_KEEPALIVE_TIMEOUT_MS 5000       /* no ping ack within this: connection is dead */
#define ETCD_MAX_RECV_BYTES       (64 << 20) /* one response (a Range of 65536 workers fits) */
#define ETCD_ERROR_MAX_BYTES      384        /* etcd_client_error text, NUL included */
#define ETCD_CREDENTIAL_MAX_BYTES 256        /* username, password */

/* Result of every call. Identity by value; etcd_status_str gives static text, and
 * etcd_client_error the detail of the client's last failure (host, method, server message). */
enum etcd_status {
    ETCD_OK = 0,
    ETCD_TIMEDOUT,           /* etcd_watch_next/keepalive: nothing arrived in time; still usable */
    ETCD_ERR_INVALID,        /* bad argument (nothing was sent) */
    ETCD_ERR_NOMEM,          /* allocation failed */
    ETCD_ERR_UNAVAILABLE,    /* cannot connect, or the connection broke */
    ETCD_ERR_DEADLINE,       /* a unary call's deadline passed */
    ETCD_ERR_AUTH,           /* authentication refused, token invalid or permission denied */
    ETCD_ERR_CANCELLED,      /* etcd_client_interrupt or etcd_watch_cancel was called */
    ETCD_ERR_COMPACTED,      /* watch: start revision compacted away; list again, then watch */
    ETCD_ERR_WATCH_CANCELED, /* watch: the server ended the watch for another reason */
    ETCD_ERR_CLOSED,         /* stream: the server ended it */
    ETCD_ERR_PROTOCOL,       /* a response that does not decode, or is not what was asked */
    ETCD_ERR_SERVER,         /* any other error status from etcd */
};

const char *etcd_status_str(enum etcd_status s);

/* ---- host lists ------------------------------------------------------------------------- */

/* One etcd endpoint. host holds no brackets (an IPv6 address is stored bare). */
struct etcd_host {
    char host[ETCD_HOST_MAX_BYTES + 1];
    uint16_t port;
};

struct etcd_hosts {
    size_t n;
    struct etcd_host hosts[ETCD_HOSTS_MAX];
};

/* Parse an `etcd_hosts` list like "h1, h2:2380,[::1]:2379,::1": split on ',', trim ASCII
 * whitespace, skip entries that are empty after trimming. An entry's own ":port" wins over
 * default_port; an IPv6 address takes a port only inside brackets ("[::1]:2379"); a bare
 * address with more than one ':' is an IPv6 address with default_port. (alluxiofs applies one
 * etcd_port to all hosts and would dial "h:p:2379" for "h:p", section 1.3; ports per entry
 * are our extension.) 0, or -EINVAL (no entry left, a bad port, an unclosed '[', an empty or
 * too long host, default_port 0) or -E2BIG (more than ETCD_HOSTS_MAX entries). out is
 * written in full only on 0. */
int etcd_hosts_parse(const char *list, uint16_t default_port,
                     struct etcd_hosts *out) ETCD_WARN_UNUSED;

/* The gRPC target of a host, "host:port" or "[v6]:port", NUL-terminated in out. */
void etcd_host_target(const struct etcd_host *h, char out[ETCD_TARGET_MAX_BYTES + 1]);

/* The range_end that makes [prefix, range_end) mean "every key starting with prefix" (etcd's
 * rule, the one alluxiofs's get_prefix uses): prefix with its last byte incremented, trailing
 * 0xff bytes dropped first. A prefix of only 0xff bytes (or empty) has no such end: the result
 * is the single byte "\0", which etcd reads as "to the end of the key space". out has room for
 * max(len, 1) bytes; returns the number written. */
size_t etcd_prefix_end(const char *prefix, size_t len, char *out);

/* Block every signal but those a fault raises (a blocked SIGSEGV kills without a report), the
 * old mask in *old: wrap client creation and pthread_create in this, so the threads started
 * meanwhile, ours and gRPC's (grpc_init starts some, others come later from the threads that
 * exist), never take a signal the proxy's main thread waits for, whatever the caller's mask. */
void etcd_signals_block(sigset_t *old);

/* ---- client --------------------------------------------------------------------------- */

struct etcd_config {
    const struct etcd_hosts *hosts; /* copied; at least one */
    const char *username;           /* NULL or "": no auth; auth needs both (as alluxiofs) */
    const char *password;           /* copied, wiped on free, never logged */
    unsigned call_timeout_ms;       /* deadline of each unary call; 0: ETCD_CALL_TIMEOUT_MS */
};

struct etcd_client;

/* A client with no connection yet. The first one in the process starts gRPC (grpc_init, once:
 * its threads and global state are shared by all clients and stay up until
 * etcd_global_shutdown). 0 with *out set, ETCD_ERR_INVALID (no hosts, half or over-long
 * credentials, gRPC already shut down) or ETCD_ERR_NOMEM. */
enum etcd_status etcd_client_new(const struct etcd_config *cfg,
                                 struct etcd_client **out) ETCD_WARN_UNUSED;

/* Close everything and free; NULL is fine. Streams must have been closed. Owner thread. */
void etcd_client_free(struct etcd_client *c);

/* Stop gRPC (grpc_shutdown) at process exit, after every client is freed; optional (without
 * it gRPC's threads simply end with the process). No client may be created afterwards:
 * etcd_client_new then fails with ETCD_ERR_INVALID. */
void etcd_global_shutdown(void);

/* Drop the current connection (if any) and open one to the next host in the list, round robin
 * (the first call picks a random start, like alluxiofs's shuffle). With credentials, calls
 * Authenticate and keeps the token for every later call. Opening a channel does not prove the
 * host is up: gRPC connects lazily, so an unreachable host shows up as ETCD_ERR_UNAVAILABLE
 * in the first call (Authenticate, or the caller's first Range). Streams must have been
 * closed. Owner thread. */
enum etcd_status etcd_connect(struct etcd_client *c) ETCD_WARN_UNUSED;

/* "host:port" of the host of the last etcd_connect ("" before the first). Owner thread. */
const char *etcd_client_host(const struct etcd_client *c);

/* Detail of the last failure of any call ("" if none): host, method, gRPC status and etcd's
 * message, escaped; never a credential. Valid until the next call. Owner thread. */
const char *etcd_client_error(const struct etcd_client *c);

/* Thread-safe, from any thread while the client lives: cancel every call and stream of the
 * client now and make all later ones fail with ETCD_ERR_CANCELLED. For shutting down. */
void etcd_client_interrupt(struct etcd_client *c);

/* ---- unary calls ------------------------------------------------------------------------
 * Each is bounded by call_timeout_ms. With credentials, an auth error (etcd's token lapsed
 * after --auth-token-ttl of disuse) authenticates again and retries the call once. */

/* One key-value pair, key and value copied and NUL-terminated (the NUL is not counted). */
struct etcd_kv {
    char *key;
    size_t key_len;
    char *value;
    size_t value_len;
    int64_t mod_revision;
    int64_t lease;
};

struct etcd_range_result {
    struct etcd_kv *kvs; /* in key order */
    size_t n;
    int64_t revision; /* store revision the result reflects; watch from revision + 1 */
};

/* Every key starting with prefix (Range key=prefix, range_end=etcd_prefix_end(prefix)).
 * 0 with *out filled (free with etcd_range_result_free), or an error with *out empty. */
enum etcd_status etcd_range_prefix(struct etcd_client *c, const char *prefix, size_t len,
                                   struct etcd_range_result *out) ETCD_WARN_UNUSED;
/* Free what a Range returned and empty *r; an empty or zeroed *r is fine. */
void etcd_range_result_free(struct etcd_range_result *r);

/* Put key = value, attached to lease (0: none). *revision (may be NULL): the new revision. */
enum etcd_status etcd_put(struct etcd_client *c, const char *key, size_t key_len, const char *value,
                          size_t value_len, int64_t lease, int64_t *revision) ETCD_WARN_UNUSED;

/* Delete one key (no range). *deleted (may be NULL): 1 if it existed, else 0. */
enum etcd_status etcd_delete(struct etcd_client *c, const char *key, size_t key_len,
                             int64_t *deleted) ETCD_WARN_UNUSED;

/* Grant a lease of ttl_s seconds; *id gets its ID, *granted_ttl (may be NULL) the TTL the
 * server chose. */
enum etcd_status etcd_lease_grant(struct etcd_client *c, int64_t ttl_s, int64_t *id,
                                  int64_t *granted_ttl) ETCD_WARN_UNUSED;

/* Revoke a lease: every key attached to it goes at once. */
enum etcd_status etcd_lease_revoke(struct etcd_client *c, int64_t id) ETCD_WARN_UNUSED;

/* ---- watch stream ----------------------------------------------------------------------- */

enum etcd_event_type {
    ETCD_EVENT_PUT,    /* key created or changed: kv.value is the new value */
    ETCD_EVENT_DELETE, /* key deleted or its lease expired: kv.value is empty */
};

struct etcd_event {
    enum etcd_event_type type;
    struct etcd_kv kv;
};

struct etcd_watch_response {
    int64_t revision; /* store revision at the time of the response */
    struct etcd_event *events;
    size_t n_events;
};

struct etcd_watch;

/* Open a watch of every key under prefix, from start_revision (inclusive; 0: from now), and
 * wait (up to call_timeout_ms) for etcd to confirm it. ETCD_ERR_COMPACTED if start_revision
 * is already compacted. 0 with *out set (close with etcd_watch_close). Owner thread. */
enum etcd_status etcd_watch_open(struct etcd_client *c, const char *prefix, size_t len,
                                 int64_t start_revision, struct etcd_watch **out) ETCD_WARN_UNUSED;

/* Wait up to timeout_ms (< 0: no limit) for the next batch of events. 0 with *out filled (free
 * with etcd_watch_response_free; events may be empty for a progress notice); ETCD_TIMEDOUT:
 * nothing yet, call again; ETCD_ERR_COMPACTED: the watch fell behind a compaction, list again;
 * any other error: the stream is over, close it. Owner thread. */
enum etcd_status etcd_watch_next(struct etcd_watch *w, int timeout_ms,
                                 struct etcd_watch_response *out) ETCD_WARN_UNUSED;
void etcd_watch_response_free(struct etcd_watch_response *r);

/* Thread-safe while the watch is open: end it now; a blocked etcd_watch_next returns
 * ETCD_ERR_CANCELLED at once. */
void etcd_watch_cancel(struct etcd_watch *w);

/* Cancel if still open and free; NULL is fine. Owner thread. */
void etcd_watch_close(struct etcd_watch *w);

/* ---- lease keep-alive stream ------------------------------------------------------------ */

struct etcd_keepalive;

/* Open a LeaseKeepAlive stream (no request sent yet). Owner thread. */
enum etcd_status etcd_keepalive_open(struct etcd_client *c,
                                     struct etcd_keepalive **out) ETCD_WARN_UNUSED;

/* Send one keep-alive for lease id and wait up to timeout_ms (< 0: call_timeout_ms) for the
 * answer. *ttl: the lease's new TTL in seconds, 0 if the lease no longer exists (register
 * again). After ETCD_TIMEDOUT the late answer, if it comes, is skipped by the next call. Any
 * other error ends the stream: close it. Owner thread. */
enum etcd_status etcd_keepalive_send(struct etcd_keepalive *k, int64_t id, int timeout_ms,
                                     int64_t *ttl) ETCD_WARN_UNUSED;

/* Cancel and free; NULL is fine. Owner thread. */
void etcd_keepalive_close(struct etcd_keepalive *k);

#endif
