/*
 * registration: the worker's key in etcd, kept alive (see registration.h).
 *
 * The thread's cycle: connect, grant a lease, put the key on it, then send a keep-alive every
 * third of the TTL (so two can be lost before the key goes). A keep-alive answered with TTL 0
 * means the lease is gone (etcd lost it, or it expired during a partition): grant a new one and
 * put the key again. Any call failing ends the session; the next one starts on the next host
 * after a jittered backoff. Every call has a short deadline, so registration_stop never waits
 * more than about a second for a dead etcd before the key is given up on (its lease then
 * expires by itself).
 */
#include "registration.h"

#include "../log.h"
#include "etcd.h"
#include "membership.h"
#include "stop_flag.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REGISTRATION_CALL_TIMEOUT_MS 1000 /* each etcd call: bounds how long a stop can take */
#define REGISTRATION_BACKOFF_MIN_MS  100
#define REGISTRATION_BACKOFF_MAX_MS  2000
#define REGISTRATION_UUID_BYTES      16

static struct {
    pthread_mutex_t lock;  /* guards running */
    struct stop_flag stop; /* raised by registration_stop */
    bool running;
    pthread_t thread;
    struct etcd_client *client;
    struct buf key, value;
    int64_t ttl_s;
    char hosts_text[MEMBERSHIP_HOSTS_TEXT_MAX];
} registration = {.lock = PTHREAD_MUTEX_INITIALIZER};

int registration_value(const struct ring_worker *w, struct buf *out)
{
    char hex[RING_IDENTIFIER_MAX_BYTES * 2 + 1];
    for (size_t i = 0; i < w->identifier_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", w->identifier[i]);
    hex[2 * w->identifier_len] = '\0';

    json_object *root = json_object_new_object();
    json_object *identity = json_object_new_object();
    json_object *address = json_object_new_object();
    int rc = root && identity && address ? 0 : -ENOMEM;
    /* Member order and defaults as the Java worker writes them; alluxiofs reads Identity,
     * Host and HttpServerPort only (section 1.2). */
    rc = rc ? rc : json_object_object_add(identity, "version", json_object_new_int64(w->version));
    rc = rc ? rc : json_object_object_add(identity, "identifier", json_object_new_string(hex));
    rc = rc ? rc : json_object_object_add(address, "Host", json_object_new_string(w->host));
    rc = rc ? rc : json_object_object_add(address, "ContainerHost", json_object_new_string(""));
    rc = rc ? rc : json_object_object_add(address, "RpcPort", json_object_new_int(29999));
    rc = rc ? rc : json_object_object_add(address, "DataPort", json_object_new_int(29997));
    rc = rc ? rc : json_object_object_add(address, "SecureRpcPort", json_object_new_int(0));
    rc = rc ? rc : json_object_object_add(address, "NettyDataPort", json_object_new_int(29997));
    rc = rc ? rc : json_object_object_add(address, "WebPort", json_object_new_int(30000));
    rc = rc ? rc : json_object_object_add(address, "DomainSocketPath", json_object_new_string(""));
    rc = rc ? rc
            : json_object_object_add(address, "HttpServerPort", json_object_new_int(w->http_port));
    if (rc == 0) {
        rc = json_object_object_add(root, "Identity", identity);
        identity = NULL;
    }
    if (rc == 0) {
        rc = json_object_object_add(root, "WorkerNetAddress", address);
        address = NULL;
    }
    if (rc == 0) {
        const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
                                                                    JSON_C_TO_STRING_NOSLASHESCAPE);
        rc = text && buf_append_str(out, text) == 0 ? 0 : -ENOMEM;
    }
    json_object_put(identity);
    json_object_put(address);
    json_object_put(root);
    return rc ? -ENOMEM : 0;
}

int registration_key(const char *cluster_name, const struct ring_worker *w, struct buf *out)
{
    char prefix[MEMBERSHIP_PREFIX_MAX_BYTES + 1];
    if (w->identifier_len != REGISTRATION_UUID_BYTES || membership_prefix(cluster_name, prefix))
        return -EINVAL;
    const uint8_t *u = w->identifier;
    if (buf_appendf(out,
                    "%sworker-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                    prefix, u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
                    u[11], u[12], u[13], u[14], u[15]))
        return -ENOMEM;
    return 0;
}

static bool registration_stopping(void)
{
    return stop_flag_raised(&registration.stop);
}

/* Sleep ms unless registration_stop comes first. false when stopping. */
static bool registration_sleep(unsigned ms)
{
    return stop_flag_sleep(&registration.stop, ms);
}

/* Grant a lease and put the key on it. */
static enum etcd_status registration_put(int64_t *lease)
{
    struct etcd_client *c = registration.client;
    int64_t granted = 0;
    enum etcd_status st = etcd_lease_grant(c, registration.ttl_s, lease, &granted);
    if (st != ETCD_OK)
        return st;
    st = etcd_put(c, registration.key.data, registration.key.len, registration.value.data,
                  registration.value.len, *lease, NULL);
    if (st != ETCD_OK) {
        enum etcd_status ignored = etcd_lease_revoke(c, *lease);
        (void)ignored; /* unrevoked, it expires in ttl_s */
        *lease = 0;
    }
    return st;
}

/* One session: register, then keep the lease alive until stop (0 lease on return) or a
 * failure. *registered tells the caller whether the key was written in this session. */
static enum etcd_status registration_session(int64_t *lease, bool *registered)
{
    enum etcd_status st = etcd_connect(registration.client);
    if (st == ETCD_OK)
        st = registration_put(lease);
    if (st != ETCD_OK)
        return st;
    *registered = true;
    log_info("etcd: registered %s on %s (lease %lld, %llds)", registration.key.data,
             etcd_client_host(registration.client), (long long)*lease,
             (long long)registration.ttl_s);
    struct etcd_keepalive *k = NULL;
    st = etcd_keepalive_open(registration.client, &k);
    unsigned period_ms = (unsigned)(registration.ttl_s * 1000 / 3);
    while (st == ETCD_OK && registration_sleep(period_ms)) {
        int64_t ttl = 0;
        st = etcd_keepalive_send(k, *lease, REGISTRATION_CALL_TIMEOUT_MS, &ttl);
        if (st == ETCD_TIMEDOUT) {
            st = ETCD_OK; /* one lost keep-alive is within the TTL's slack */
            continue;
        }
        if (st == ETCD_OK && ttl == 0) {
            log_warn("etcd: the lease of %s was lost; registering again", registration.key.data);
            *lease = 0;
            st = registration_put(lease);
            if (st == ETCD_OK)
                log_info("etcd: registered %s again (lease %lld)", registration.key.data,
                         (long long)*lease);
        }
    }
    etcd_keepalive_close(k);
    return st;
}

static void *registration_main(void *unused)
{
    (void)unused;
    int64_t lease = 0;
    unsigned backoff_ms = 0;
    bool said_failure = false;
    unsigned seed = (unsigned)time(NULL);
    while (!registration_stopping()) {
        if (backoff_ms) {
            unsigned half = backoff_ms / 2;
            if (!registration_sleep(half + (unsigned)rand_r(&seed) % (half + 1)))
                break;
        }
        bool registered = false;
        enum etcd_status st = registration_session(&lease, &registered);
        if (registration_stopping())
            break;
        if (registered) {
            said_failure = false;
            backoff_ms = 0;
        }
        if (!said_failure) {
            log_warn("etcd: cannot keep %s registered on %s (%s); retrying", registration.key.data,
                     registration.hosts_text, etcd_client_error(registration.client));
            said_failure = true;
        }
        (void)st;
        backoff_ms = backoff_ms ? backoff_ms * 2 : REGISTRATION_BACKOFF_MIN_MS;
        if (backoff_ms > REGISTRATION_BACKOFF_MAX_MS)
            backoff_ms = REGISTRATION_BACKOFF_MAX_MS;
    }
    if (lease) {
        /* Graceful exit: the key goes now, not after the TTL. */
        enum etcd_status st = etcd_lease_revoke(registration.client, lease);
        if (st == ETCD_OK)
            log_info("etcd: unregistered %s", registration.key.data);
        else
            log_warn("etcd: could not revoke the lease of %s (%s); it expires in %llds",
                     registration.key.data, etcd_status_str(st), (long long)registration.ttl_s);
    }
    return NULL;
}

int registration_start(const struct registration_config *cfg)
{
    struct etcd_hosts hosts;
    if (!cfg->etcd_hosts ||
        etcd_hosts_parse(cfg->etcd_hosts, cfg->etcd_port ? cfg->etcd_port : ETCD_PORT_DEFAULT,
                         &hosts) != 0)
        return -EINVAL;
    pthread_mutex_lock(&registration.lock);
    bool running = registration.running;
    pthread_mutex_unlock(&registration.lock);
    if (running)
        return -EALREADY;

    buf_init(&registration.key, 1024);
    buf_init(&registration.value, 4096);
    int rc = registration_key(cfg->cluster_name, &cfg->self, &registration.key);
    if (rc == 0)
        rc = registration_value(&cfg->self, &registration.value);
    registration.ttl_s = (int64_t)((cfg->lease_ttl_ms + 999) / 1000);
    if (registration.ttl_s < 1)
        registration.ttl_s = 1;
    snprintf(registration.hosts_text, sizeof registration.hosts_text, "%s", cfg->etcd_hosts);

    struct etcd_config ecfg = {.hosts = &hosts,
                               .username = cfg->username,
                               .password = cfg->password,
                               .call_timeout_ms = REGISTRATION_CALL_TIMEOUT_MS};
    sigset_t old;
    etcd_signals_block(&old);
    if (rc == 0 && etcd_client_new(&ecfg, &registration.client) != ETCD_OK)
        rc = -ENOMEM;
    if (rc == 0)
        rc = -stop_flag_init(&registration.stop);
    if (rc == 0) {
        rc = -pthread_create(&registration.thread, NULL, registration_main, NULL);
        if (rc)
            stop_flag_destroy(&registration.stop);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        etcd_client_free(registration.client);
        registration.client = NULL;
        buf_free(&registration.key);
        buf_free(&registration.value);
        return rc;
    }
    pthread_mutex_lock(&registration.lock);
    registration.running = true;
    pthread_mutex_unlock(&registration.lock);
    return 0;
}

void registration_stop(void)
{
    pthread_mutex_lock(&registration.lock);
    if (!registration.running) {
        pthread_mutex_unlock(&registration.lock);
        return;
    }
    pthread_mutex_unlock(&registration.lock);
    stop_flag_raise(&registration.stop);
    pthread_join(registration.thread, NULL);
    etcd_client_free(registration.client);
    registration.client = NULL;
    stop_flag_destroy(&registration.stop);
    buf_free(&registration.key);
    buf_free(&registration.value);
    pthread_mutex_lock(&registration.lock);
    registration.running = false;
    pthread_mutex_unlock(&registration.lock);
}
