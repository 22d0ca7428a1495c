/*
 * etcd: the etcd v3 calls the proxy makes (see etcd.h for the contracts): building etcd's
 * request messages, decoding its answers into our plain structs, the client's connection to
 * one host at a time, and the watch and keep-alive streams. The gRPC plumbing (calls, queues,
 * cancellation, status mapping) is in etcd_call.c; host lists in etcd_hosts.c.
 *
 * Messages are etcd's own (proto/etcd_rpc.proto, proto/etcd_kv.proto), packed and unpacked by
 * the protobuf-c code generated at build time; method paths are etcd's service names.
 */
#include "etcd.h"

#include "../log.h"
#include "etcd_call.h"
#include "etcd_rpc.pb-c.h"

#include <arpa/inet.h>
#include <grpc/grpc_security.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define ETCD_METHOD_RANGE        "/etcdserverpb.KV/Range"
#define ETCD_METHOD_PUT          "/etcdserverpb.KV/Put"
#define ETCD_METHOD_DELETE_RANGE "/etcdserverpb.KV/DeleteRange"
#define ETCD_METHOD_WATCH        "/etcdserverpb.Watch/Watch"
#define ETCD_METHOD_LEASE_GRANT  "/etcdserverpb.Lease/LeaseGrant"
#define ETCD_METHOD_LEASE_REVOKE "/etcdserverpb.Lease/LeaseRevoke"
#define ETCD_METHOD_KEEPALIVE    "/etcdserverpb.Lease/LeaseKeepAlive"
#define ETCD_METHOD_AUTHENTICATE "/etcdserverpb.Auth/Authenticate"

struct etcd_watch {
    struct etcd_stream s;
    int64_t watch_id;
};

struct etcd_keepalive {
    struct etcd_stream s;
};

const char *etcd_status_str(enum etcd_status s)
{
    switch (s) {
    case ETCD_OK:
        return "ok";
    case ETCD_TIMEDOUT:
        return "nothing received in time";
    case ETCD_ERR_INVALID:
        return "invalid argument";
    case ETCD_ERR_NOMEM:
        return "out of memory";
    case ETCD_ERR_UNAVAILABLE:
        return "etcd unavailable";
    case ETCD_ERR_DEADLINE:
        return "deadline exceeded";
    case ETCD_ERR_AUTH:
        return "authentication failed";
    case ETCD_ERR_CANCELLED:
        return "cancelled";
    case ETCD_ERR_COMPACTED:
        return "watch revision compacted";
    case ETCD_ERR_WATCH_CANCELED:
        return "watch canceled by etcd";
    case ETCD_ERR_CLOSED:
        return "stream closed by etcd";
    case ETCD_ERR_PROTOCOL:
        return "malformed response";
    case ETCD_ERR_SERVER:
        return "etcd error";
    }
    return "unknown etcd status";
}

/* What gRPC dials: address literals by their own scheme, so no resolver runs for them; names
 * through gRPC's DNS resolver (c-ares, which also reads /etc/hosts). */
static void etcd_grpc_target(const struct etcd_host *h, char *out, size_t size)
{
    unsigned char addr[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, h->host, addr) == 1)
        snprintf(out, size, "ipv4:%s:%u", h->host, (unsigned)h->port);
    else if (inet_pton(AF_INET6, h->host, addr) == 1)
        snprintf(out, size, "ipv6:[%s]:%u", h->host, (unsigned)h->port);
    else
        snprintf(out, size, "dns:///%s:%u", h->host, (unsigned)h->port);
}

/* ---- client ------------------------------------------------------------------------------ */

static bool etcd_copy_credential(char *dst, const char *src)
{
    size_t len = src != NULL ? strlen(src) : 0;
    if (len > ETCD_CREDENTIAL_MAX_BYTES)
        return false;
    if (len > 0)
        memcpy(dst, src, len);
    dst[len] = '\0';
    return true;
}

enum etcd_status etcd_client_new(const struct etcd_config *cfg, struct etcd_client **out)
{
    if (cfg == NULL || cfg->hosts == NULL || cfg->hosts->n == 0 || cfg->hosts->n > ETCD_HOSTS_MAX)
        return ETCD_ERR_INVALID;
    struct etcd_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ETCD_ERR_NOMEM;
    c->hosts = *cfg->hosts;
    if (!etcd_copy_credential(c->username, cfg->username) ||
        !etcd_copy_credential(c->password, cfg->password)) {
        explicit_bzero(c, sizeof *c);
        free(c);
        return ETCD_ERR_INVALID;
    }
    /* Both or neither, as alluxiofs (section 1.3): one without the other is a config error. */
    if ((c->username[0] != '\0') != (c->password[0] != '\0')) {
        explicit_bzero(c, sizeof *c);
        free(c);
        return ETCD_ERR_INVALID;
    }
    c->auth = c->username[0] != '\0';
    c->call_timeout_ms = cfg->call_timeout_ms != 0 ? cfg->call_timeout_ms : ETCD_CALL_TIMEOUT_MS;
    atomic_init(&c->interrupted, false);
    pthread_mutex_init(&c->lock, NULL);
    /* gRPC starts once per process and stays up (its threads and global state are shared by
     * every client); etcd_global_shutdown ends it at exit. */
    if (!etcd__grpc_start()) {
        etcd_client_free(c);
        return ETCD_ERR_INVALID;
    }
    *out = c;
    return ETCD_OK;
}

static void etcd_drop_token(struct etcd_client *c)
{
    if (c->token != NULL) {
        explicit_bzero(c->token, strlen(c->token));
        free(c->token);
        c->token = NULL;
    }
}

static void etcd_disconnect(struct etcd_client *c)
{
    etcd_drop_token(c);
    if (c->channel != NULL) {
        grpc_channel_destroy(c->channel);
        c->channel = NULL;
    }
}

void etcd_client_free(struct etcd_client *c)
{
    if (c == NULL)
        return;
    etcd_disconnect(c);
    pthread_mutex_destroy(&c->lock);
    explicit_bzero(c->password, sizeof c->password);
    free(c);
}

const char *etcd_client_host(const struct etcd_client *c)
{
    return c->target;
}

const char *etcd_client_error(const struct etcd_client *c)
{
    return c->error;
}

void etcd_client_interrupt(struct etcd_client *c)
{
    etcd__interrupt(c);
}

/* Decode a reply with its message descriptor and drop the bytes: *msg (free it with
 * protobuf_c_message_free_unpacked) or ETCD_ERR_PROTOCOL. */
static enum etcd_status etcd_decode(struct etcd_client *c, const char *method,
                                    const ProtobufCMessageDescriptor *desc, grpc_slice raw,
                                    ProtobufCMessage **msg)
{
    *msg = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(raw), GRPC_SLICE_START_PTR(raw));
    grpc_slice_unref(raw);
    return *msg != NULL ? ETCD_OK : etcd__bad_reply(c, method);
}

static enum etcd_status etcd_authenticate(struct etcd_client *c)
{
    Etcdserverpb__AuthenticateRequest req = ETCDSERVERPB__AUTHENTICATE_REQUEST__INIT;
    req.name = c->username;
    req.password = c->password;
    grpc_slice raw;
    ProtobufCMessage *msg;
    enum etcd_status st = etcd__unary(c, ETCD_METHOD_AUTHENTICATE, &req.base, &raw);
    if (st == ETCD_OK)
        st = etcd_decode(c, ETCD_METHOD_AUTHENTICATE,
                         &etcdserverpb__authenticate_response__descriptor, raw, &msg);
    if (st != ETCD_OK)
        return st;
    Etcdserverpb__AuthenticateResponse *resp = (Etcdserverpb__AuthenticateResponse *)msg;
    /* No token: auth is off on the server, and calls work without one. */
    if (resp->token != NULL && resp->token[0] != '\0') {
        c->token = strdup(resp->token);
        explicit_bzero(resp->token, strlen(resp->token));
        if (c->token == NULL)
            st = etcd__fail(c, ETCD_ERR_NOMEM, "%s Authenticate: out of memory", c->target);
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    return st;
}

/* A unary call that survives the auth token expiring: etcd's simple tokens lapse after
 * --auth-token-ttl (300 s) without use, and a long-lived client (a registration thread
 * between keep-alives, a watch that outlived its token) would otherwise fail once per lapse.
 * On an auth error, authenticate again and retry once; a real permission problem just fails
 * twice. */
static enum etcd_status etcd_unary_authed(struct etcd_client *c, const char *method,
                                          const ProtobufCMessage *req, grpc_slice *reply)
{
    enum etcd_status st = etcd__unary(c, method, req, reply);
    if (st != ETCD_ERR_AUTH || !c->auth || strcmp(method, ETCD_METHOD_AUTHENTICATE) == 0)
        return st;
    etcd_drop_token(c);
    st = etcd_authenticate(c);
    if (st != ETCD_OK)
        return st;
    return etcd__unary(c, method, req, reply);
}

/* One unary call (re-authenticating once if needed) and its decoded reply. */
static enum etcd_status etcd_request(struct etcd_client *c, const char *method,
                                     const ProtobufCMessage *req,
                                     const ProtobufCMessageDescriptor *reply_desc,
                                     ProtobufCMessage **reply)
{
    grpc_slice raw;
    enum etcd_status st = etcd_unary_authed(c, method, req, &raw);
    if (st != ETCD_OK)
        return st;
    return etcd_decode(c, method, reply_desc, raw, reply);
}

static size_t etcd_random_index(size_t n)
{
    unsigned int r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (unsigned int)time(NULL) ^ (unsigned int)getpid();
    return r % n;
}

enum etcd_status etcd_connect(struct etcd_client *c)
{
    etcd_disconnect(c);
    c->error[0] = '\0';
    if (!c->host_picked) {
        c->next_host = etcd_random_index(c->hosts.n);
        c->host_picked = true;
    }
    const struct etcd_host *h = &c->hosts.hosts[c->next_host];
    c->next_host = (c->next_host + 1) % c->hosts.n;
    etcd_host_target(h, c->target);
    if (atomic_load(&c->interrupted))
        return etcd__fail(c, ETCD_ERR_CANCELLED, "%s: interrupted", c->target);

    grpc_arg args[] = {
        /* Pings while a call is open notice a dead etcd (or a dead path to it) on an idle
         * watch within keepalive time + timeout. Not without calls: etcd's default
         * enforcement policy (--grpc-keepalive-min-time 5s, no pings without streams) would
         * answer those with GOAWAY. */
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_KEEPALIVE_TIME_MS,
         .value.integer = ETCD_KEEPALIVE_TIME_MS},
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
         .value.integer = ETCD_KEEPALIVE_TIMEOUT_MS},
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
         .value.integer = 0},
        /* A watch may sit silent for hours: keep pinging it. */
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA,
         .value.integer = 0},
        {.type = GRPC_ARG_INTEGER,
         .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
         .value.integer = ETCD_MAX_RECV_BYTES},
        /* We retry (next host, with backoff) ourselves. */
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_RETRIES, .value.integer = 0},
        /* Subchannels are shared process-wide by default: a new channel to a host that just
         * failed would reuse the old subchannel, still in its reconnect backoff, and fail at
         * once. Each channel gets its own. */
        {.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, .value.integer = 1},
    };
    grpc_channel_args chargs = {.num_args = sizeof args / sizeof args[0], .args = args};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    if (creds == NULL)
        return etcd__fail(c, ETCD_ERR_NOMEM, "%s: no channel credentials", c->target);
    char grpc_target[ETCD_TARGET_MAX_BYTES + 16];
    etcd_grpc_target(h, grpc_target, sizeof grpc_target);
    c->channel = grpc_channel_create(grpc_target, creds, &chargs);
    grpc_channel_credentials_release(creds);
    if (c->channel == NULL)
        return etcd__fail(c, ETCD_ERR_NOMEM, "%s: cannot create channel", c->target);
    if (c->auth) {
        enum etcd_status st = etcd_authenticate(c);
        if (st != ETCD_OK) {
            etcd_disconnect(c);
            return st;
        }
    }
    return ETCD_OK;
}

/* ---- unary calls -------------------------------------------------------------------------- */

/* Copy a key-value pair: key and value in one allocation, both NUL-terminated. */
static bool etcd_kv_copy(struct etcd_kv *dst, const Mvccpb__KeyValue *src)
{
    size_t klen = src->key.len, vlen = src->value.len;
    char *buf = malloc(klen + vlen + 2);
    if (buf == NULL)
        return false;
    if (klen > 0)
        memcpy(buf, src->key.data, klen);
    buf[klen] = '\0';
    if (vlen > 0)
        memcpy(buf + klen + 1, src->value.data, vlen);
    buf[klen + 1 + vlen] = '\0';
    *dst = (struct etcd_kv){.key = buf,
                            .key_len = klen,
                            .value = buf + klen + 1,
                            .value_len = vlen,
                            .mod_revision = src->mod_revision,
                            .lease = src->lease};
    return true;
}

static void etcd_kv_free(struct etcd_kv *kv)
{
    free(kv->key); /* the value shares the allocation */
    kv->key = kv->value = NULL;
}

void etcd_range_result_free(struct etcd_range_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        etcd_kv_free(&r->kvs[i]);
    free(r->kvs);
    *r = (struct etcd_range_result){0};
}

enum etcd_status etcd_range_prefix(struct etcd_client *c, const char *prefix, size_t len,
                                   struct etcd_range_result *out)
{
    *out = (struct etcd_range_result){0};
    if (prefix == NULL || len == 0)
        return etcd__fail(c, ETCD_ERR_INVALID, "Range: empty prefix");
    char *end = malloc(len);
    if (end == NULL)
        return etcd__fail(c, ETCD_ERR_NOMEM, "Range: out of memory");
    size_t end_len = etcd_prefix_end(prefix, len, end);
    Etcdserverpb__RangeRequest req = ETCDSERVERPB__RANGE_REQUEST__INIT;
    req.key = (ProtobufCBinaryData){.len = len, .data = (uint8_t *)prefix};
    req.range_end = (ProtobufCBinaryData){.len = end_len, .data = (uint8_t *)end};
    ProtobufCMessage *msg;
    enum etcd_status st = etcd_request(c, ETCD_METHOD_RANGE, &req.base,
                                       &etcdserverpb__range_response__descriptor, &msg);
    free(end);
    if (st != ETCD_OK)
        return st;
    Etcdserverpb__RangeResponse *resp = (Etcdserverpb__RangeResponse *)msg;
    if (resp->header == NULL) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return etcd__bad_reply(c, ETCD_METHOD_RANGE);
    }
    struct etcd_range_result r = {.revision = resp->header->revision};
    r.kvs = calloc(resp->n_kvs > 0 ? resp->n_kvs : 1, sizeof *r.kvs);
    st = r.kvs != NULL ? ETCD_OK : ETCD_ERR_NOMEM;
    for (size_t i = 0; st == ETCD_OK && i < resp->n_kvs; i++) {
        if (!etcd_kv_copy(&r.kvs[i], resp->kvs[i]))
            st = ETCD_ERR_NOMEM;
        else
            r.n++;
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    if (st != ETCD_OK) {
        etcd_range_result_free(&r);
        return etcd__fail(c, st, "%s Range: out of memory", c->target);
    }
    *out = r;
    return ETCD_OK;
}

enum etcd_status etcd_put(struct etcd_client *c, const char *key, size_t key_len, const char *value,
                          size_t value_len, int64_t lease, int64_t *revision)
{
    if (key == NULL || key_len == 0 || (value == NULL && value_len > 0))
        return etcd__fail(c, ETCD_ERR_INVALID, "Put: empty key");
    Etcdserverpb__PutRequest req = ETCDSERVERPB__PUT_REQUEST__INIT;
    req.key = (ProtobufCBinaryData){.len = key_len, .data = (uint8_t *)key};
    req.value = (ProtobufCBinaryData){.len = value_len, .data = (uint8_t *)value};
    req.lease = lease;
    ProtobufCMessage *msg;
    enum etcd_status st =
        etcd_request(c, ETCD_METHOD_PUT, &req.base, &etcdserverpb__put_response__descriptor, &msg);
    if (st != ETCD_OK)
        return st;
    Etcdserverpb__PutResponse *resp = (Etcdserverpb__PutResponse *)msg;
    if (revision != NULL)
        *revision = resp->header != NULL ? resp->header->revision : 0;
    protobuf_c_message_free_unpacked(msg, NULL);
    return ETCD_OK;
}

enum etcd_status etcd_delete(struct etcd_client *c, const char *key, size_t key_len,
                             int64_t *deleted)
{
    if (key == NULL || key_len == 0)
        return etcd__fail(c, ETCD_ERR_INVALID, "DeleteRange: empty key");
    Etcdserverpb__DeleteRangeRequest req = ETCDSERVERPB__DELETE_RANGE_REQUEST__INIT;
    req.key = (ProtobufCBinaryData){.len = key_len, .data = (uint8_t *)key};
    ProtobufCMessage *msg;
    enum etcd_status st = etcd_request(c, ETCD_METHOD_DELETE_RANGE, &req.base,
                                       &etcdserverpb__delete_range_response__descriptor, &msg);
    if (st != ETCD_OK)
        return st;
    if (deleted != NULL)
        *deleted = ((Etcdserverpb__DeleteRangeResponse *)msg)->deleted;
    protobuf_c_message_free_unpacked(msg, NULL);
    return ETCD_OK;
}

enum etcd_status etcd_lease_grant(struct etcd_client *c, int64_t ttl_s, int64_t *id,
                                  int64_t *granted_ttl)
{
    if (ttl_s <= 0)
        return etcd__fail(c, ETCD_ERR_INVALID, "LeaseGrant: TTL must be positive");
    Etcdserverpb__LeaseGrantRequest req = ETCDSERVERPB__LEASE_GRANT_REQUEST__INIT;
    req.ttl = ttl_s;
    ProtobufCMessage *msg;
    enum etcd_status st = etcd_request(c, ETCD_METHOD_LEASE_GRANT, &req.base,
                                       &etcdserverpb__lease_grant_response__descriptor, &msg);
    if (st != ETCD_OK)
        return st;
    Etcdserverpb__LeaseGrantResponse *resp = (Etcdserverpb__LeaseGrantResponse *)msg;
    if (resp->error != NULL && resp->error[0] != '\0') {
        char msg[200];
        log_escape(resp->error, strlen(resp->error), msg, sizeof msg);
        st = etcd__fail(c, ETCD_ERR_SERVER, "%s LeaseGrant: %s", c->target, msg);
    } else if (resp->id == 0) {
        st = etcd__bad_reply(c, ETCD_METHOD_LEASE_GRANT);
    } else {
        *id = resp->id;
        if (granted_ttl != NULL)
            *granted_ttl = resp->ttl;
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    return st;
}

enum etcd_status etcd_lease_revoke(struct etcd_client *c, int64_t id)
{
    Etcdserverpb__LeaseRevokeRequest req = ETCDSERVERPB__LEASE_REVOKE_REQUEST__INIT;
    req.id = id;
    ProtobufCMessage *msg;
    enum etcd_status st = etcd_request(c, ETCD_METHOD_LEASE_REVOKE, &req.base,
                                       &etcdserverpb__lease_revoke_response__descriptor, &msg);
    if (st == ETCD_OK)
        protobuf_c_message_free_unpacked(msg, NULL);
    return st;
}

/* ---- watch ------------------------------------------------------------------------------- */

void etcd_watch_response_free(struct etcd_watch_response *r)
{
    for (size_t i = 0; i < r->n_events; i++)
        etcd_kv_free(&r->events[i].kv);
    free(r->events);
    *r = (struct etcd_watch_response){0};
}

/* Decode one WatchResponse: *resp (free_unpacked) or ETCD_ERR_PROTOCOL. */
static enum etcd_status etcd_watch_read(struct etcd_watch *w, gpr_timespec deadline,
                                        Etcdserverpb__WatchResponse **resp)
{
    grpc_slice raw;
    enum etcd_status st = etcd__stream_recv(&w->s, deadline, &raw);
    if (st != ETCD_OK)
        return st;
    ProtobufCMessage *msg;
    st = etcd_decode(w->s.k.c, ETCD_METHOD_WATCH, &etcdserverpb__watch_response__descriptor, raw,
                     &msg);
    *resp = (Etcdserverpb__WatchResponse *)msg;
    return st;
}

/* A response that ends the watch: compaction or another cancel reason. */
static enum etcd_status etcd_watch_ended(struct etcd_watch *w,
                                         const Etcdserverpb__WatchResponse *resp)
{
    struct etcd_client *c = w->s.k.c;
    if (resp->compact_revision != 0)
        return etcd__fail(c, ETCD_ERR_COMPACTED, "%s Watch: revision compacted (now %lld)",
                          c->target, (long long)resp->compact_revision);
    char msg[200];
    const char *reason = resp->cancel_reason != NULL ? resp->cancel_reason : "";
    log_escape(reason, strlen(reason), msg, sizeof msg);
    return etcd__fail(c, ETCD_ERR_WATCH_CANCELED, "%s Watch: canceled by etcd%s%s", c->target,
                      msg[0] != '\0' ? ": " : "", msg);
}

enum etcd_status etcd_watch_open(struct etcd_client *c, const char *prefix, size_t len,
                                 int64_t start_revision, struct etcd_watch **out)
{
    if (prefix == NULL || len == 0 || start_revision < 0)
        return etcd__fail(c, ETCD_ERR_INVALID, "Watch: bad prefix or revision");
    struct etcd_watch *w = calloc(1, sizeof *w);
    char *end = malloc(len);
    if (w == NULL || end == NULL) {
        free(w);
        free(end);
        return etcd__fail(c, ETCD_ERR_NOMEM, "Watch: out of memory");
    }
    enum etcd_status st = etcd__stream_open(c, &w->s, ETCD_METHOD_WATCH);
    if (st != ETCD_OK) {
        free(w);
        free(end);
        return st;
    }
    size_t end_len = etcd_prefix_end(prefix, len, end);
    Etcdserverpb__WatchCreateRequest create = ETCDSERVERPB__WATCH_CREATE_REQUEST__INIT;
    create.key = (ProtobufCBinaryData){.len = len, .data = (uint8_t *)prefix};
    create.range_end = (ProtobufCBinaryData){.len = end_len, .data = (uint8_t *)end};
    create.start_revision = start_revision;
    Etcdserverpb__WatchRequest req = ETCDSERVERPB__WATCH_REQUEST__INIT;
    req.request_union_case = ETCDSERVERPB__WATCH_REQUEST__REQUEST_UNION_CREATE_REQUEST;
    req.create_request = &create;

    gpr_timespec deadline = etcd__deadline_ms(c->call_timeout_ms);
    st = etcd__stream_send(&w->s, &req.base, deadline);
    free(end);
    /* etcd answers a create with created=true (and canceled=true if it refused it) before
     * any event of that watch (v3rpc watch.go sends it on the control path first). Anything
     * else first would be events we could not place: refuse rather than drop them. */
    Etcdserverpb__WatchResponse *resp = NULL;
    if (st == ETCD_OK)
        st = etcd_watch_read(w, deadline, &resp);
    if (st == ETCD_TIMEDOUT)
        st = etcd__fail(c, ETCD_ERR_DEADLINE, "%s Watch: not confirmed in time", c->target);
    if (st == ETCD_OK && !resp->created)
        st =
            etcd__fail(c, ETCD_ERR_PROTOCOL, "%s Watch: events before the confirmation", c->target);
    else if (st == ETCD_OK && (resp->canceled || resp->compact_revision != 0))
        st = etcd_watch_ended(w, resp);
    if (resp != NULL) {
        w->watch_id = resp->watch_id;
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    if (st != ETCD_OK) {
        etcd_watch_close(w);
        return st;
    }
    *out = w;
    return ETCD_OK;
}

enum etcd_status etcd_watch_next(struct etcd_watch *w, int timeout_ms,
                                 struct etcd_watch_response *out)
{
    struct etcd_client *c = w->s.k.c;
    *out = (struct etcd_watch_response){0};
    Etcdserverpb__WatchResponse *resp;
    enum etcd_status st = etcd_watch_read(w, etcd__deadline_ms(timeout_ms), &resp);
    if (st != ETCD_OK)
        return st;
    if (resp->compact_revision != 0 || resp->canceled) {
        st = etcd_watch_ended(w, resp);
        protobuf_c_message_free_unpacked(&resp->base, NULL);
        return st;
    }
    if (resp->watch_id != w->watch_id) {
        /* One watch per stream: anything else is not ours to apply. */
        protobuf_c_message_free_unpacked(&resp->base, NULL);
        return etcd__fail(c, ETCD_ERR_PROTOCOL, "%s Watch: response for another watch", c->target);
    }
    struct etcd_watch_response r = {.revision = resp->header != NULL ? resp->header->revision : 0};
    r.events = calloc(resp->n_events > 0 ? resp->n_events : 1, sizeof *r.events);
    st = r.events != NULL ? ETCD_OK : ETCD_ERR_NOMEM;
    for (size_t i = 0; st == ETCD_OK && i < resp->n_events; i++) {
        const Mvccpb__Event *e = resp->events[i];
        if (e->kv == NULL) {
            st = ETCD_ERR_PROTOCOL;
            break;
        }
        if (!etcd_kv_copy(&r.events[r.n_events].kv, e->kv)) {
            st = ETCD_ERR_NOMEM;
            break;
        }
        r.events[r.n_events].type =
            e->type == MVCCPB__EVENT__EVENT_TYPE__DELETE ? ETCD_EVENT_DELETE : ETCD_EVENT_PUT;
        r.n_events++;
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    if (st != ETCD_OK) {
        etcd_watch_response_free(&r);
        if (st == ETCD_ERR_PROTOCOL)
            return etcd__fail(c, st, "%s Watch: event without a key", c->target);
        return etcd__fail(c, st, "%s Watch: out of memory", c->target);
    }
    *out = r;
    return ETCD_OK;
}

void etcd_watch_cancel(struct etcd_watch *w)
{
    etcd__stream_cancel(&w->s);
}

void etcd_watch_close(struct etcd_watch *w)
{
    if (w == NULL)
        return;
    etcd__stream_close(&w->s);
    free(w);
}

/* ---- lease keep-alive -------------------------------------------------------------------- */

enum etcd_status etcd_keepalive_open(struct etcd_client *c, struct etcd_keepalive **out)
{
    struct etcd_keepalive *k = calloc(1, sizeof *k);
    if (k == NULL)
        return etcd__fail(c, ETCD_ERR_NOMEM, "LeaseKeepAlive: out of memory");
    enum etcd_status st = etcd__stream_open(c, &k->s, ETCD_METHOD_KEEPALIVE);
    if (st != ETCD_OK) {
        free(k);
        return st;
    }
    *out = k;
    return ETCD_OK;
}

enum etcd_status etcd_keepalive_send(struct etcd_keepalive *k, int64_t id, int timeout_ms,
                                     int64_t *ttl)
{
    struct etcd_client *c = k->s.k.c;
    gpr_timespec deadline =
        etcd__deadline_ms(timeout_ms >= 0 ? (int64_t)timeout_ms : (int64_t)c->call_timeout_ms);
    enum etcd_status st;
    grpc_slice msg;
    /* An answer left over from a call that timed out comes first: drop it. */
    while (k->s.recv_busy) {
        st = etcd__stream_recv(&k->s, deadline, &msg);
        if (st == ETCD_TIMEDOUT)
            return etcd__fail(c, ETCD_TIMEDOUT, "%s LeaseKeepAlive: no answer in time", c->target);
        if (st != ETCD_OK)
            return st;
        grpc_slice_unref(msg);
    }
    Etcdserverpb__LeaseKeepAliveRequest req = ETCDSERVERPB__LEASE_KEEP_ALIVE_REQUEST__INIT;
    req.id = id;
    st = etcd__stream_send(&k->s, &req.base, deadline);
    if (st != ETCD_OK)
        return st;
    st = etcd__stream_recv(&k->s, deadline, &msg);
    if (st == ETCD_TIMEDOUT)
        return etcd__fail(c, ETCD_TIMEDOUT, "%s LeaseKeepAlive: no answer in time", c->target);
    if (st != ETCD_OK)
        return st;
    ProtobufCMessage *decoded;
    st = etcd_decode(c, ETCD_METHOD_KEEPALIVE, &etcdserverpb__lease_keep_alive_response__descriptor,
                     msg, &decoded);
    if (st != ETCD_OK)
        return st;
    Etcdserverpb__LeaseKeepAliveResponse *resp = (Etcdserverpb__LeaseKeepAliveResponse *)decoded;
    if (resp->id != id)
        st = etcd__fail(c, ETCD_ERR_PROTOCOL, "%s LeaseKeepAlive: answer for another lease",
                        c->target);
    else
        *ttl = resp->ttl > 0 ? resp->ttl : 0;
    protobuf_c_message_free_unpacked(decoded, NULL);
    return st;
}

void etcd_keepalive_close(struct etcd_keepalive *k)
{
    if (k == NULL)
        return;
    etcd__stream_close(&k->s);
    free(k);
}

void etcd_signals_block(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    pthread_sigmask(SIG_BLOCK, &all, old);
}
