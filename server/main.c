/*
 * main: the alluxio-s3-proxy process. Reads the configuration (file, then environment, then
 * --set flags), builds the shared engine (UFS, page store, metadata cache, route), starts one
 * io_uring loop thread per core, each with its own SO_REUSEPORT listener, and waits for signals.
 *
 * SIGTERM/SIGINT: every loop stops accepting, finishes the responses in flight (up to
 * shutdown_timeout), then the process exits 0. Signals are taken by sigwait on the main thread
 * only, so no handler ever runs on a loop.
 */
#include "../conf/config.h"
#include "../core/http_client.h"
#include "cluster_mode.h"
#include "ring_cli.h"
#include "worker_api/worker_api.h"
#include "worker_role.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "../core/meta.h"
#include "../core/offload.h"
#include "../core/page_store/disk.h"
#include "../core/page_store/page_store.h"
#include "../core/route.h"
#include "../core/ufs/ufs.h"
#include "http/server.h"
#include "s3/auth.h"
#include "s3/s3.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAIN_MAX_LOOPS       256
#define MAIN_RING_ENTRIES    1024
#define MAIN_OFFLOAD_THREADS 2
#define MAIN_META_ENTRIES    (64 * 1024)
#define MAIN_VERSION         "0.1.0"

#define MAIN_QUIESCE_POLL_MS 20   /* after the drain, how often to look for UFS transfers */
#define MAIN_QUIESCE_MAX_MS  3000 /* and how long at most to wait for them */

struct main_loop {
    pthread_t thread;
    struct loop_timer quiesce_timer;
    uint64_t quiesce_waited_ms;
    struct loop *loop;
    struct http_server *servers[CONFIG_MAX_LISTEN + 1]; /* S3 listeners, then the worker's */
    size_t server_count;
    size_t servers_open; /* not yet drained after shutdown began */
    uint64_t shutdown_ms;
};

static atomic_uint main_loops_running;
static struct disk_store *main_disk; /* NULL unless page.store.type is LOCAL */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: alluxio-s3-proxy [-c FILE] [--set KEY=VALUE]... [--print-config]\n"
            "       alluxio-s3-proxy ring lookup|show ... (which worker owns a file; --help)\n"
            "\n"
            "An S3 endpoint that serves objects of a UFS (S3 or a local directory) through an\n"
            "Alluxio-style page cache.\n"
            "\n"
            "  -c, --config FILE   YAML configuration (see conf/local.yaml)\n"
            "  --set KEY=VALUE     set one key, dotted: --set target_options.endpoint_url=URL\n"
            "                      --set options.alluxio.worker.page.store.page.size=4MB\n"
            "  --print-config      print the effective configuration (secrets masked) and exit\n"
            "  --version           print the version and exit\n"
            "Precedence: --set > environment (AWS_*, ALLUXIO_S3_PROXY_*) > file > defaults.\n");
}

/* Clients are gone; UFS fetches they started (prefetched pages) and disk page reads and
 * writes may still be running: let them land (bounded) so nothing is cut off mid-transfer or
 * leaked at exit. A write cut off here leaves only a temp file, removed at the next start. */
static void main_quiesce(struct loop_timer *t)
{
    struct main_loop *ml =
        (struct main_loop *)((char *)t - offsetof(struct main_loop, quiesce_timer));
    struct http_client *hc = *loop_slot(ml->loop, LOOP_SLOT_HTTP_CLIENT);
    bool disk_idle = !main_disk || disk_store_pending(main_disk) == 0;
    if ((http_client_active(hc) == 0 && disk_idle) ||
        ml->quiesce_waited_ms >= MAIN_QUIESCE_MAX_MS) {
        loop_stop(ml->loop);
        return;
    }
    ml->quiesce_waited_ms += MAIN_QUIESCE_POLL_MS;
    loop_timer_arm(ml->loop, &ml->quiesce_timer, MAIN_QUIESCE_POLL_MS);
}

static void main_server_drained(void *arg)
{
    struct main_loop *ml = arg;
    if (--ml->servers_open == 0) {
        loop_timer_init(&ml->quiesce_timer, main_quiesce);
        loop_timer_arm(ml->loop, &ml->quiesce_timer, 0);
    }
}

/* Runs on each loop through its mailbox. */
static void main_begin_shutdown(void *arg)
{
    struct main_loop *ml = arg;
    ml->servers_open = ml->server_count;
    if (ml->server_count == 0) {
        loop_stop(ml->loop);
        return;
    }
    for (size_t i = 0; i < ml->server_count; i++)
        http_server_shutdown(ml->servers[i], ml->shutdown_ms, main_server_drained, ml);
}

static void *main_loop_thread(void *arg)
{
    struct main_loop *ml = arg;
    int rc = loop_run(ml->loop);
    if (rc < 0)
        log_error("loop %u stopped: %s", loop_index(ml->loop), strerror(-rc));
    atomic_fetch_sub(&main_loops_running, 1);
    return NULL;
}

static unsigned main_loop_count(const struct config *cfg)
{
    if (cfg->threads)
        return cfg->threads > MAIN_MAX_LOOPS ? MAIN_MAX_LOOPS : cfg->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > MAIN_MAX_LOOPS ? MAIN_MAX_LOOPS : (unsigned)n;
}

/* Shards of the memory store: enough to spread the loops' locks, few enough that a shard's
 * share of the budget still holds several pages (a page above its shard's share is not kept). */
static unsigned main_store_shards(const struct config *cfg)
{
    unsigned shards = 64;
    while (shards > 1 && cfg->memory_store_size / shards < cfg->page_size * 4)
        shards /= 2;
    return shards;
}

static struct ufs *main_create_ufs(const struct config *cfg)
{
    if (cfg->target_protocol == CONFIG_TARGET_FILE)
        return ufs_file_create(cfg->target_options.root);
    struct ufs_s3_config s3 = {
        .endpoint_url = cfg->target_options.endpoint_url,
        .region = cfg->target_options.region,
        .access_key = cfg->target_options.key,
        .secret_key = cfg->target_options.secret,
        .session_token = cfg->target_options.token,
        .anon = cfg->target_options.anon,
        .virtual_host = cfg->target_options.addressing_style == CONFIG_ADDRESSING_VIRTUAL ||
                        (cfg->target_options.addressing_style == CONFIG_ADDRESSING_AUTO &&
                         !cfg->target_options.endpoint_url),
        .connect_timeout_ms = cfg->ufs_connect_timeout_ms,
        .request_timeout_ms = cfg->ufs_request_timeout_ms,
        .retries = cfg->ufs_retries,
    };
    if (!s3.anon && (!s3.access_key || !s3.secret_key))
        log_warn("target_options: no key/secret given: UFS requests go unsigned (anon)");
    return ufs_s3_create(&s3);
}

/* Loopback: 127.0.0.0/8, ::1, "localhost". Anonymous access stays there unless forced. */
static bool main_is_loopback(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (!strcmp(host, "localhost"))
        return true;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

/* auth: none is a decision; say it loudly, and keep it off the network unless forced. */
static int main_check_anonymous(const struct config *cfg)
{
    if (strcmp(cfg->auth, "none") != 0)
        return 0;
    for (size_t i = 0; i < cfg->listen_count; i++) {
        if (!main_is_loopback(cfg->listen[i].host) && !cfg->auth_anonymous_on_any_address) {
            log_error("auth: none on %s:%u, which is not loopback: refusing to serve the cache "
                      "to anyone who can connect (set auth_anonymous_on_any_address: true to "
                      "force it)",
                      cfg->listen[i].host, cfg->listen[i].port);
            return -1;
        }
    }
    log_warn("auth: none: every client is served without a signature check");
    return 0;
}

/* The disk page store (page.store.type LOCAL): dirs created, index rebuilt from what is on
 * disk before the first request, so warm pages serve at once after a restart. */
static struct disk_store *main_open_disk(const struct config *cfg)
{
    static struct config_disk_dir dirs[CONFIG_MAX_DISK_DIRS];
    char err[1024];
    int n = config_disk_dirs(cfg, dirs, err, sizeof(err));
    if (n < 0) {
        log_error("%s", err);
        return NULL;
    }
    const char *paths[CONFIG_MAX_DISK_DIRS];
    uint64_t capacities[CONFIG_MAX_DISK_DIRS];
    for (int i = 0; i < n; i++) {
        paths[i] = dirs[i].path;
        capacities[i] = dirs[i].capacity;
    }
    struct disk_store_config dc = {.dirs = paths,
                                   .capacities = capacities,
                                   .dir_count = (size_t)n,
                                   .page_size = cfg->page_size};
    uint64_t t0 = loop_clock_ms();
    struct disk_store *d = disk_store_open(&dc, err, sizeof(err));
    if (!d) {
        log_error("disk page store: %s", err);
        return NULL;
    }
    struct disk_store_stats st;
    disk_store_stats(d, &st);
    log_info("disk page store: %d dirs, %llu pages (%llu bytes of %llu) indexed in %llu ms", n,
             (unsigned long long)st.pages, (unsigned long long)st.bytes,
             (unsigned long long)st.capacity, (unsigned long long)(loop_clock_ms() - t0));
    return d;
}

static int main_load_config(struct config *cfg, int argc, char **argv, bool *print_only)
{
    char err[1024];
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            file = argv[++i];
        else if (!strcmp(argv[i], "--set") && i + 1 < argc)
            i++;
        else if (!strcmp(argv[i], "--print-config"))
            *print_only = true;
        else if (!strcmp(argv[i], "--version")) {
            printf("alluxio-s3-proxy %s\n", MAIN_VERSION);
            exit(0);
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "alluxio-s3-proxy: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return -1;
        }
    }
    if (file && config_load_file(cfg, file, err, sizeof(err)) != 0)
        goto fail;
    extern char **environ;
    if (config_load_env(cfg, environ, err, sizeof(err)) != 0)
        goto fail;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc &&
            config_set(cfg, argv[++i], err, sizeof(err)) != 0)
            goto fail;
        else if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            i++;
    }
    if (config_validate(cfg, err, sizeof(err)) != 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "alluxio-s3-proxy: bad configuration: %s\n", err);
    return -1;
}

/* SIGHUP: read the configuration again (file, environment, flags) and swap in its client
 * credentials (key rotation). Connections are not touched; other keys need a restart. */
static void main_reload_credentials(struct s3_auth *auth, int argc, char **argv)
{
    struct config fresh;
    config_init(&fresh);
    bool print_only = false;
    char err[1024];
    if (main_load_config(&fresh, argc, argv, &print_only) != 0) {
        log_error("SIGHUP: configuration not reloaded (see the error above); old credentials "
                  "stay");
    } else if (s3_auth_reload(auth, &fresh, err, sizeof(err)) != 0) {
        log_error("SIGHUP: %s; old credentials stay", err);
    } else {
        log_info("SIGHUP: client credentials reloaded (%zu keys); other settings need a "
                 "restart",
                 s3_auth_key_count(auth));
    }
    config_free(&fresh);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "ring") == 0)
        return ring_cli_main(argc - 2, argv + 2);
    struct config cfg;
    config_init(&cfg);
    bool print_only = false;
    if (main_load_config(&cfg, argc, argv, &print_only) != 0) {
        config_free(&cfg);
        return 2;
    }
    if (print_only) {
        char *text = config_print(&cfg);
        if (!text) {
            config_free(&cfg);
            return 1;
        }
        fputs(text, stdout);
        free(text);
        config_free(&cfg);
        return 0;
    }
    enum log_level level;
    if (cfg.log_level && log_level_parse(cfg.log_level, &level) == 0)
        log_set_level(level);

    /* Signals go to sigwait on this thread only; the loop threads inherit the mask. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    int exit_code = 1;
    struct ufs *ufs = NULL;
    struct page_store *store = NULL;
    struct meta_cache *meta = NULL;
    struct route *route = NULL;
    struct cluster_mode *cluster = NULL;
    struct worker_role *worker = NULL;
    struct s3_auth *auth = NULL;
    unsigned loops = main_loop_count(&cfg);
    struct main_loop *ml = calloc(loops, sizeof(*ml));
    bool offload = false;
    if (!ml || http_client_global_init() != 0)
        goto out;
    /* Client credentials guard the S3 front only: a worker-only process has none to check
     * (the Alluxio worker API has no authentication, as in Alluxio). */
    if (cfg.roles & CONFIG_ROLE_S3) {
        char auth_err[1024];
        if (main_check_anonymous(&cfg) != 0)
            goto out;
        auth = s3_auth_create(&cfg, auth_err, sizeof(auth_err));
        if (!auth) {
            log_error("cannot start: %s", auth_err);
            goto out;
        }
    }
    if (offload_start(MAIN_OFFLOAD_THREADS) != 0) {
        log_error("cannot start the offload threads");
        goto out;
    }
    offload = true;
    ufs = main_create_ufs(&cfg);
    /* Reuse freed page buffers: a few windows' worth per loop. */
    page_pool_init((uint32_t)cfg.page_size);
    store = page_store_memory_create(cfg.memory_store_size, main_store_shards(&cfg));
    meta = meta_cache_create(cfg.metadata_cache_ttl_ms, MAIN_META_ENTRIES);
    if (!strcasecmp(cfg.page_store_type, "LOCAL")) {
        main_disk = main_open_disk(&cfg);
        if (!main_disk)
            goto out;
    }
    bool cluster_failed;
    cluster = cluster_mode_start(&cfg, &cluster_failed);
    if (cluster_failed)
        goto out;
    struct route_config rc = {
        .store = store,
        .disk = main_disk,
        .meta_cache = meta,
        .meta_prepare = s3_meta_prepare,
        .ufs = ufs,
        .page_size = cfg.page_size,
        .cluster = cluster_mode_cluster(cluster),
        .worker = {.connect_timeout_ms = cfg.worker_connect_timeout_ms,
                   .first_byte_timeout_ms = cfg.worker_first_byte_timeout_ms,
                   .timeout_ms = cfg.worker_timeout_ms},
    };
    if (ufs && store)
        route = route_create(&rc);
    if (!ufs || !store || !meta || !route) {
        log_error("cannot start: %s", !ufs ? "UFS setup failed" : "out of memory");
        goto out;
    }
    if (cfg.roles & CONFIG_ROLE_WORKER) {
        worker = worker_role_start(&cfg, cluster_mode_cluster(cluster), route, ufs, meta);
        if (!worker)
            goto out;
    }
    struct s3_server s3 = {
        .ufs = ufs,
        .route = route,
        .meta_cache = meta,
        .page_size = cfg.page_size,
        .window_pages = cfg.read_window_pages,
        .virtual_host_domain = cfg.virtual_host_domain,
        .region = cfg.target_options.region,
        .auth = auth,
    };

    for (unsigned i = 0; i < loops; i++) {
        ml[i].loop = loop_create(MAIN_RING_ENTRIES, i);
        if (!ml[i].loop) {
            log_error("io_uring setup failed: %s", strerror(errno));
            goto out;
        }
        ml[i].shutdown_ms = cfg.shutdown_timeout_ms;
        size_t s3_listeners = (cfg.roles & CONFIG_ROLE_S3) ? cfg.listen_count : 0;
        for (size_t j = 0; j <= s3_listeners; j++) {
            bool worker_listener = j == s3_listeners;
            if (worker_listener && !worker)
                break;
            struct http_server_config hc = {
                .host = worker_listener ? cfg.worker_bind_host : cfg.listen[j].host,
                .port =
                    worker_listener ? (uint16_t)cfg.worker_http_server_port : cfg.listen[j].port,
                .max_connections = cfg.max_connections,
                .header_timeout_ms = cfg.header_timeout_ms,
                .idle_timeout_ms = cfg.idle_timeout_ms,
                .body_timeout_ms = cfg.body_timeout_ms,
                .send_timeout_ms = cfg.send_timeout_ms,
                /* E4 page writes carry one page; the S3 front takes no bodies. */
                .max_body_bytes = worker_listener && cfg.worker_page_writes ? cfg.page_size : 0,
                .handler = worker_listener ? worker_api_handle : s3_handle,
                .handler_data = worker_listener ? worker_role_api(worker) : (void *)&s3,
            };
            ml[i].servers[ml[i].server_count] = http_server_start(ml[i].loop, &hc);
            if (!ml[i].servers[ml[i].server_count])
                goto out;
            ml[i].server_count++;
        }
    }
    for (unsigned i = 0; i < loops; i++) {
        atomic_fetch_add(&main_loops_running, 1);
        if (pthread_create(&ml[i].thread, NULL, main_loop_thread, &ml[i]) != 0) {
            atomic_fetch_sub(&main_loops_running, 1);
            log_error("cannot start loop thread %u", i);
            goto out;
        }
    }
    for (size_t j = 0; (cfg.roles & CONFIG_ROLE_S3) && j < cfg.listen_count; j++)
        log_info("listening on http://%s:%u (%u loops, UFS %s%s%s, page size %llu, memory store "
                 "%llu bytes)",
                 cfg.listen[j].host, cfg.listen[j].port, loops, ufs->scheme,
                 cfg.target_protocol == CONFIG_TARGET_FILE ? " " : "",
                 cfg.target_protocol == CONFIG_TARGET_FILE ? cfg.target_options.root : "",
                 (unsigned long long)cfg.page_size, (unsigned long long)cfg.memory_store_size);
    if (!cfg.listen_count)
        log_warn("no listen address configured");

    for (;;) {
        int sig = 0;
        if (sigwait(&signals, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            if (auth)
                main_reload_credentials(auth, argc, argv);
            continue;
        }
        log_info("signal %d: draining (up to %llu ms)", sig,
                 (unsigned long long)cfg.shutdown_timeout_ms);
        break;
    }
    /* Leave etcd first: other members stop routing here while the responses in flight end. */
    worker_role_unregister(worker);
    for (unsigned i = 0; i < loops; i++)
        loop_post(ml[i].loop, main_begin_shutdown, &ml[i]);
    exit_code = 0;

out:
    if (ml) {
        if (exit_code != 0) {
            /* Start-up failed: stop loops that already run. */
            for (unsigned i = 0; i < loops; i++)
                if (ml[i].thread && ml[i].loop)
                    loop_post(ml[i].loop, main_begin_shutdown, &ml[i]);
        }
        for (unsigned i = 0; i < loops; i++)
            if (ml[i].thread)
                pthread_join(ml[i].thread, NULL);
        for (unsigned i = 0; i < loops; i++) {
            for (size_t j = 0; j < ml[i].server_count; j++)
                http_server_free(ml[i].servers[j]);
            if (ml[i].loop) {
                http_client_destroy(*loop_slot(ml[i].loop, LOOP_SLOT_HTTP_CLIENT));
                loop_destroy(ml[i].loop);
            }
        }
        free(ml);
    }
    if (offload)
        offload_stop();
    if (main_disk) {
        struct disk_store_stats ds;
        disk_store_stats(main_disk, &ds);
        log_info("disk store: hits=%llu misses=%llu bad_pages=%llu read_errors=%llu writes=%llu "
                 "write_errors=%llu write_drops=%llu evictions=%llu bytes=%llu pages=%llu",
                 (unsigned long long)ds.hits, (unsigned long long)ds.misses,
                 (unsigned long long)ds.bad_pages, (unsigned long long)ds.read_errors,
                 (unsigned long long)ds.writes, (unsigned long long)ds.write_errors,
                 (unsigned long long)ds.write_drops, (unsigned long long)ds.evictions,
                 (unsigned long long)ds.bytes, (unsigned long long)ds.pages);
        if (disk_store_pending(main_disk) == 0)
            disk_store_close(main_disk);
        else
            log_warn("disk store: I/O still in flight at exit; not closed");
        main_disk = NULL;
    }
    worker_role_stop(worker);
    cluster_mode_stop(cluster);
    if (route) {
        struct route_stats rs;
        route_get_stats(route, &rs);
        log_info("route: ufs_pages=%llu worker_pages=%llu worker_fallbacks=%llu disk_pages=%llu "
                 "shared_waits=%llu failures=%llu disk_parts=%llu",
                 (unsigned long long)rs.ufs_page_reads, (unsigned long long)rs.worker_page_reads,
                 (unsigned long long)rs.worker_fallbacks, (unsigned long long)rs.disk_page_reads,
                 (unsigned long long)rs.shared_waits, (unsigned long long)rs.failures,
                 (unsigned long long)rs.disk_part_reads);
    }
    route_destroy(route);
    s3_auth_destroy(auth);
    meta_cache_destroy(meta);
    page_store_destroy(store);
    page_pool_drain();
    ufs_destroy(ufs);
    curl_global_cleanup();
    config_free(&cfg);
    if (exit_code == 0)
        log_info("stopped");
    return exit_code;
}
