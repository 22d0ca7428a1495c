/*
 * membership: the etcd membership thread (see membership.h).
 *
 * One session = connect to the next host, list the prefix, publish if the worker set changed,
 * then watch from the listed revision + 1 and apply events until something breaks. A compacted
 * watch lists again on the same connection; any other failure ends the session, and the loop
 * backs off (100 ms doubling to 2 s, with jitter so proxies restarted together do not retry in
 * step) and starts the next session on the next host. The ring in use is never dropped for an
 * etcd failure: workers outlive etcd hiccups, and a stale ring only costs misses.
 *
 * Stopping must not wait for etcd: membership_stop interrupts the client (cancelling the call
 * in flight, e.g. a watch wait or a connect to a dead host) and signals the condition variable
 * the backoff sleeps on. The client is created in membership_start and freed after the join,
 * so the stopping thread can always reach it.
 */
#include "membership.h"

#include "../log.h"
#include "member_map.h"
#include "stop_flag.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Where the thread stands, as far as the log is concerned: one line per change of state. */
enum membership_state {
    MEMBERSHIP_STARTING,     /* no list yet */
    MEMBERSHIP_CONNECTED,    /* listed, watching; "connected to" said */
    MEMBERSHIP_RECONNECTING, /* a connection was lost; "lost" said */
    MEMBERSHIP_UNREACHABLE,  /* every host failed in turn; said so */
};

/* The thread's own state: touched by the membership thread only. */
struct membership_run {
    enum membership_state state;
    struct member_map map;
    struct member_set set; /* of the last ring published */
    bool published;
    int64_t revision;
    bool session_listed;            /* this session got as far as a list */
    char why[ETCD_ERROR_MAX_BYTES]; /* a failure of ours (not etcd's) that ended the session */
    size_t failures;                /* sessions failed before listing, in a row */
    unsigned backoff_ms;
    unsigned int seed; /* jitter */
};

static struct {
    pthread_mutex_t lock;  /* guards running and status */
    struct stop_flag stop; /* raised by membership_stop */
    bool running;
    pthread_t thread;
    struct etcd_client *client; /* set in start, freed after the join */
    membership_publish_fn publish;
    void *arg;
    struct etcd_hosts hosts;
    char hosts_text[MEMBERSHIP_HOSTS_TEXT_MAX];
    char prefix[MEMBERSHIP_PREFIX_MAX_BYTES + 1];
    size_t prefix_len;
    unsigned vnodes;
    struct membership_status status;
} membership = {.lock = PTHREAD_MUTEX_INITIALIZER};

int membership_prefix(const char *cluster_name, char out[MEMBERSHIP_PREFIX_MAX_BYTES + 1])
{
    if (cluster_name == NULL || cluster_name[0] == '\0')
        cluster_name = MEMBERSHIP_CLUSTER_DEFAULT;
    if (strlen(cluster_name) > MEMBERSHIP_CLUSTER_MAX_BYTES)
        return -EINVAL;
    /* alluxiofs const.py ETCD_PREFIX_FORMAT, trailing slash included: "cluster1" must not
     * match "cluster10". */
    snprintf(out, MEMBERSHIP_PREFIX_MAX_BYTES + 1, "/ServiceDiscovery/%s/", cluster_name);
    return 0;
}

/* ---- status ------------------------------------------------------------------------------ */

void membership_get_status(struct membership_status *out)
{
    pthread_mutex_lock(&membership.lock);
    *out = membership.status;
    pthread_mutex_unlock(&membership.lock);
}

static void membership_set_error(const char *host, const char *error)
{
    pthread_mutex_lock(&membership.lock);
    membership.status.connected = false;
    snprintf(membership.status.host, sizeof membership.status.host, "%s", host);
    snprintf(membership.status.last_error, sizeof membership.status.last_error, "%s", error);
    pthread_mutex_unlock(&membership.lock);
}

static void membership_set_host(const char *host)
{
    pthread_mutex_lock(&membership.lock);
    snprintf(membership.status.host, sizeof membership.status.host, "%s", host);
    pthread_mutex_unlock(&membership.lock);
}

static void membership_set_connected(const char *host, int64_t revision, size_t skipped)
{
    pthread_mutex_lock(&membership.lock);
    membership.status.connected = true;
    snprintf(membership.status.host, sizeof membership.status.host, "%s", host);
    membership.status.revision = revision;
    membership.status.skipped = skipped;
    pthread_mutex_unlock(&membership.lock);
}

static bool membership_stopping(void)
{
    return stop_flag_raised(&membership.stop);
}

/* Sleep ms unless membership_stop comes first. false when stopping. */
static bool membership_sleep(unsigned ms)
{
    return stop_flag_sleep(&membership.stop, ms);
}

/* ---- ring updates ------------------------------------------------------------------------ */

/* Name each key whose value is not a usable worker, once: when it first shows up (in a list
 * or an event) or its reason changes. A worker that keeps rewriting a bad value, or a
 * reconnect that lists it again, logs nothing new. */
static void membership_log_skipped(struct membership_run *r)
{
    size_t named = 0, unnamed = 0, skipped = member_map_skipped(&r->map);
    for (size_t i = 0; i < r->map.n; i++) {
        struct member_entry *e = &r->map.entries[i];
        if (e->parse == RING_PARSE_OK || e->logged)
            continue;
        e->logged = true;
        if (named == MEMBERSHIP_SKIPPED_LOG_MAX) {
            unnamed++;
            continue;
        }
        char key[256];
        log_escape(e->key, e->key_len, key, sizeof key);
        log_warn("etcd: skipping %s: %s (%zu of %zu values are not usable workers)", key,
                 ring_parse_str(e->parse), skipped, r->map.n);
        named++;
    }
    if (unnamed > 0)
        log_warn("etcd: skipping %zu more values that are not usable workers", unnamed);
}

/* Publish a new ring if the worker set differs from the one last published (or nothing was
 * published yet). A failure keeps the old ring and leaves r->set alone, so the next change
 * tries again. */
static void membership_update(struct membership_run *r)
{
    struct member_set set;
    if (member_set_build(&r->map, &set) != 0) {
        log_error("etcd: out of memory comparing worker sets; keeping the current ring");
        return;
    }
    if (r->published && member_set_equal(&set, &r->set)) {
        member_set_free(&set);
        return;
    }
    struct ring *ring;
    int rc = member_map_ring(&r->map, membership.vnodes, &ring);
    if (rc != 0) {
        log_error("etcd: cannot build a ring of %zu workers: %s; keeping the current ring", set.n,
                  strerror(-rc));
        member_set_free(&set);
        return;
    }
    log_info("etcd: %s%zu worker%s at revision %lld", r->published ? "ring now has " : "ring of ",
             set.n, set.n == 1 ? "" : "s", (long long)r->revision);
    if (set.n == 0)
        log_warn("etcd: no workers registered under %s; every page comes from the UFS",
                 membership.prefix);
    member_set_free(&r->set);
    r->set = set;
    r->published = true;
    pthread_mutex_lock(&membership.lock);
    membership.status.published = true;
    membership.status.workers = set.n;
    membership.status.revision = r->revision;
    membership.status.skipped = member_map_skipped(&r->map);
    pthread_mutex_unlock(&membership.lock);
    membership.publish(membership.arg, ring);
}

/* ---- one session ------------------------------------------------------------------------- */

/* The only writer of r->state; entering a state logs it, so the log gets one line per change
 * of state and none per retry. why: the failure, for the failing states. */
static void membership_enter(struct membership_run *r, enum membership_state to,
                             enum etcd_status st, const char *why)
{
    const char *host = etcd_client_host(membership.client);
    switch (to) {
    case MEMBERSHIP_STARTING:
        break;
    case MEMBERSHIP_CONNECTED:
        if (r->state != MEMBERSHIP_CONNECTED)
            log_info("etcd: connected to %s (revision %lld, %zu keys under %s)", host,
                     (long long)r->revision, r->map.n, membership.prefix);
        break;
    case MEMBERSHIP_RECONNECTING:
        log_warn("etcd: lost %s (%s); keeping the current ring, reconnecting", host, why);
        break;
    case MEMBERSHIP_UNREACHABLE:
        /* A refused password or missing permission is not a reachability problem: say so. */
        log_warn("etcd: %s %s (%s); %s, retrying",
                 st == ETCD_ERR_UNAVAILABLE || st == ETCD_ERR_DEADLINE
                     ? "cannot reach any of"
                     : "cannot list workers from any of",
                 membership.hosts_text, why,
                 r->published ? "keeping the current ring" : "no ring yet");
        break;
    }
    r->state = to;
}

static enum etcd_status membership_list(struct membership_run *r)
{
    struct etcd_client *c = membership.client;
    struct etcd_range_result res;
    enum etcd_status st = etcd_range_prefix(c, membership.prefix, membership.prefix_len, &res);
    if (st != ETCD_OK)
        return st;
    int rc = member_map_load(&r->map, &res);
    int64_t revision = res.revision;
    etcd_range_result_free(&res);
    if (rc != 0) {
        snprintf(r->why, sizeof r->why, "cannot hold the worker list: %s", strerror(-rc));
        return rc == -ENOMEM ? ETCD_ERR_NOMEM : ETCD_ERR_INVALID;
    }
    r->revision = revision;
    if (!r->session_listed) {
        r->session_listed = true;
        membership_enter(r, MEMBERSHIP_CONNECTED, ETCD_OK, NULL);
        r->failures = 0;
        r->backoff_ms = 0;
    }
    membership_set_connected(etcd_client_host(c), revision, member_map_skipped(&r->map));
    membership_log_skipped(r);
    membership_update(r);
    return ETCD_OK;
}

static enum etcd_status membership_watch(struct membership_run *r)
{
    struct etcd_client *c = membership.client;
    struct etcd_watch *w;
    enum etcd_status st =
        etcd_watch_open(c, membership.prefix, membership.prefix_len, r->revision + 1, &w);
    if (st != ETCD_OK)
        return st;
    while (!membership_stopping()) {
        struct etcd_watch_response resp;
        st = etcd_watch_next(w, MEMBERSHIP_WATCH_POLL_MS, &resp);
        if (st == ETCD_TIMEDOUT)
            continue;
        if (st != ETCD_OK)
            break;
        int rc = member_map_apply(&r->map, resp.events, resp.n_events);
        bool changed = resp.n_events > 0;
        if (resp.revision > r->revision)
            r->revision = resp.revision;
        etcd_watch_response_free(&resp);
        if (rc != 0) {
            /* The map may be half updated: list again from scratch on a new session. */
            snprintf(r->why, sizeof r->why, "cannot apply watch events: %s", strerror(-rc));
            st = rc == -ENOMEM ? ETCD_ERR_NOMEM : ETCD_ERR_INVALID;
            break;
        }
        membership_set_connected(etcd_client_host(c), r->revision, member_map_skipped(&r->map));
        if (changed) {
            membership_log_skipped(r);
            membership_update(r);
        }
    }
    if (st == ETCD_OK || st == ETCD_TIMEDOUT)
        st = ETCD_ERR_CANCELLED; /* left because of stop */
    etcd_watch_close(w);
    return st;
}

static enum etcd_status membership_session(struct membership_run *r)
{
    r->session_listed = false;
    r->why[0] = '\0';
    enum etcd_status st = etcd_connect(membership.client);
    membership_set_host(etcd_client_host(membership.client));
    while (st == ETCD_OK) {
        st = membership_list(r);
        if (st != ETCD_OK)
            break;
        st = membership_watch(r);
        if (st == ETCD_ERR_COMPACTED)
            log_info("etcd: %s; listing again", etcd_client_error(membership.client));
        if (st == ETCD_ERR_COMPACTED && !membership_stopping())
            st = ETCD_OK;
    }
    return st;
}

/* Log a failed session once per change of state, not once per retry. */
static void membership_failed(struct membership_run *r, enum etcd_status st)
{
    struct etcd_client *c = membership.client;
    const char *why = r->why[0] != '\0' ? r->why : etcd_client_error(c);
    if (why[0] == '\0')
        why = etcd_status_str(st);
    membership_set_error(etcd_client_host(c), why);
    if (r->session_listed) {
        membership_enter(r, MEMBERSHIP_RECONNECTING, st, why);
        r->failures = 0;
    } else if (r->state != MEMBERSHIP_UNREACHABLE && ++r->failures >= membership.hosts.n) {
        membership_enter(r, MEMBERSHIP_UNREACHABLE, st, why);
    } else {
        log_debug("etcd: %s", why);
    }
    r->backoff_ms = r->backoff_ms == 0 ? MEMBERSHIP_BACKOFF_MIN_MS : r->backoff_ms * 2;
    if (r->backoff_ms > MEMBERSHIP_BACKOFF_MAX_MS)
        r->backoff_ms = MEMBERSHIP_BACKOFF_MAX_MS;
}

static void *membership_main(void *unused)
{
    (void)unused;
    struct membership_run r = {0};
    if (getrandom(&r.seed, sizeof r.seed, GRND_NONBLOCK) != (ssize_t)sizeof r.seed)
        r.seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
    while (!membership_stopping()) {
        if (r.backoff_ms > 0) {
            /* Equal jitter: half the backoff, plus up to the other half at random. */
            unsigned half = r.backoff_ms / 2;
            if (!membership_sleep(half + (unsigned)rand_r(&r.seed) % (half + 1)))
                break;
        }
        enum etcd_status st = membership_session(&r);
        if (st == ETCD_ERR_CANCELLED && membership_stopping())
            break;
        membership_failed(&r, st);
    }
    member_map_free(&r.map);
    member_set_free(&r.set);
    return NULL;
}

/* ---- start and stop ---------------------------------------------------------------------- */

/* The host list as given, made safe for logs (it came from the config: printable already). */
static void membership_hosts_text(const struct etcd_hosts *hs, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < hs->n && used + 1 < size; i++) {
        char target[ETCD_TARGET_MAX_BYTES + 1];
        etcd_host_target(&hs->hosts[i], target);
        int n = snprintf(out + used, size - used, "%s%s", i > 0 ? "," : "", target);
        if (n < 0)
            break;
        used += (size_t)n < size - used ? (size_t)n : size - used - 1;
    }
}

/* What start and list_once both need from a config. */
static int membership_resolve(const struct membership_config *cfg, struct etcd_hosts *hosts,
                              char prefix[MEMBERSHIP_PREFIX_MAX_BYTES + 1],
                              struct etcd_config *ecfg)
{
    if (cfg == NULL || cfg->etcd_hosts == NULL)
        return -EINVAL;
    int rc = etcd_hosts_parse(cfg->etcd_hosts,
                              cfg->etcd_port != 0 ? cfg->etcd_port : ETCD_PORT_DEFAULT, hosts);
    if (rc != 0)
        return -EINVAL;
    rc = membership_prefix(cfg->cluster_name, prefix);
    if (rc != 0)
        return rc;
    *ecfg = (struct etcd_config){.hosts = hosts,
                                 .username = cfg->username,
                                 .password = cfg->password,
                                 .call_timeout_ms = cfg->call_timeout_ms};
    return 0;
}

static enum etcd_status membership_new_client(const struct etcd_config *ecfg,
                                              struct etcd_client **out)
{
    sigset_t old;
    etcd_signals_block(&old);
    enum etcd_status st = etcd_client_new(ecfg, out);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return st;
}

int membership_start(const struct membership_config *cfg, membership_publish_fn publish, void *arg)
{
    struct etcd_hosts hosts;
    char prefix[MEMBERSHIP_PREFIX_MAX_BYTES + 1];
    struct etcd_config ecfg;
    if (publish == NULL || (cfg != NULL && cfg->vnodes > RING_VNODES_MAX))
        return -EINVAL;
    int rc = membership_resolve(cfg, &hosts, prefix, &ecfg);
    if (rc != 0)
        return rc;

    pthread_mutex_lock(&membership.lock);
    bool running = membership.running;
    pthread_mutex_unlock(&membership.lock);
    if (running)
        return -EALREADY;

    struct etcd_client *client;
    enum etcd_status st = membership_new_client(&ecfg, &client);
    if (st != ETCD_OK)
        return st == ETCD_ERR_NOMEM ? -ENOMEM : -EINVAL;

    rc = stop_flag_init(&membership.stop);
    if (rc != 0) {
        etcd_client_free(client);
        return -rc;
    }
    membership.client = client;
    membership.publish = publish;
    membership.arg = arg;
    membership.hosts = hosts;
    membership_hosts_text(&hosts, membership.hosts_text, sizeof membership.hosts_text);
    memcpy(membership.prefix, prefix, sizeof prefix);
    membership.prefix_len = strlen(prefix);
    membership.vnodes = cfg->vnodes != 0 ? cfg->vnodes : RING_VNODES_DEFAULT;
    pthread_mutex_lock(&membership.lock);
    membership.status = (struct membership_status){.running = true};
    pthread_mutex_unlock(&membership.lock);

    sigset_t old;
    etcd_signals_block(&old);
    rc = pthread_create(&membership.thread, NULL, membership_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        stop_flag_destroy(&membership.stop);
        etcd_client_free(client);
        membership.client = NULL;
        pthread_mutex_lock(&membership.lock);
        membership.status.running = false;
        pthread_mutex_unlock(&membership.lock);
        return -rc;
    }
    pthread_mutex_lock(&membership.lock);
    membership.running = true;
    pthread_mutex_unlock(&membership.lock);
    log_info("etcd: watching %s on %s", membership.prefix, membership.hosts_text);
    return 0;
}

void membership_stop(void)
{
    pthread_mutex_lock(&membership.lock);
    if (!membership.running) {
        pthread_mutex_unlock(&membership.lock);
        return;
    }
    pthread_mutex_unlock(&membership.lock);
    stop_flag_raise(&membership.stop);
    etcd_client_interrupt(membership.client);
    pthread_join(membership.thread, NULL);
    etcd_client_free(membership.client);
    membership.client = NULL;
    stop_flag_destroy(&membership.stop);
    pthread_mutex_lock(&membership.lock);
    membership.running = false;
    membership.status.running = false;
    membership.status.connected = false;
    pthread_mutex_unlock(&membership.lock);
}

/* ---- one-shot list ----------------------------------------------------------------------- */

int membership_list_once(const struct membership_config *cfg, struct etcd_range_result *out,
                         char *err, size_t err_size)
{
    struct etcd_hosts hosts;
    char prefix[MEMBERSHIP_PREFIX_MAX_BYTES + 1];
    struct etcd_config ecfg;
    *out = (struct etcd_range_result){0};
    if (err_size > 0)
        err[0] = '\0';
    int rc = membership_resolve(cfg, &hosts, prefix, &ecfg);
    if (rc != 0) {
        snprintf(err, err_size, "bad etcd_hosts or cluster name");
        return rc;
    }
    struct etcd_client *c;
    enum etcd_status st = membership_new_client(&ecfg, &c);
    if (st != ETCD_OK) {
        snprintf(err, err_size, "%s", st == ETCD_ERR_NOMEM ? "out of memory" : "bad credentials");
        return st == ETCD_ERR_NOMEM ? -ENOMEM : -EINVAL;
    }
    rc = -EIO;
    for (size_t i = 0; i < hosts.n; i++) {
        st = etcd_connect(c);
        if (st == ETCD_OK)
            st = etcd_range_prefix(c, prefix, strlen(prefix), out);
        if (st == ETCD_OK) {
            rc = 0;
            break;
        }
        if (st == ETCD_ERR_NOMEM) {
            rc = -ENOMEM;
            break;
        }
    }
    if (rc != 0) {
        char text[MEMBERSHIP_HOSTS_TEXT_MAX];
        membership_hosts_text(&hosts, text, sizeof text);
        snprintf(err, err_size, "cannot list workers from any of %s (last: %s)", text,
                 etcd_client_error(c));
    }
    etcd_client_free(c);
    return rc;
}
