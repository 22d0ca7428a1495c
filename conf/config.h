/*
 * config: YAML file, environment and command-line flags turned into one plain struct.
 *
 * Precedence: flags > env > file > defaults. Keys keep the alluxiofs names (etcd-era Alluxio
 * users know them); proxy-only keys have plain names. Every key, its default and its meaning is
 * listed in the table in README.md; config.c holds the one list the parser walks.
 */
#ifndef CONF_CONFIG_H
#define CONF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_LISTEN 8

#define CONFIG_WARN_UNUSED __attribute__((warn_unused_result))

struct config_listen {
    char host[256]; /* numeric IPv4/IPv6 or "localhost" */
    uint16_t port;
};

enum config_target {
    CONFIG_TARGET_S3,
    CONFIG_TARGET_FILE,
};

enum config_addressing {
    CONFIG_ADDRESSING_AUTO, /* virtual for AWS (no endpoint_url), path for custom endpoints */
    CONFIG_ADDRESSING_PATH,
    CONFIG_ADDRESSING_VIRTUAL,
};

/* roles: what the process serves (a bit set). */
#define CONFIG_ROLE_S3     0x1u /* the S3 endpoint on listen */
#define CONFIG_ROLE_WORKER 0x2u /* the Alluxio worker REST API, registered in etcd */

struct config {
    char *source_file; /* the -c file, or NULL */

    struct config_listen listen[CONFIG_MAX_LISTEN]; /* listen: "HOST:PORT" or a list */
    size_t listen_count;
    unsigned threads;          /* threads: "auto" (0 = one loop per CPU) or N */
    char *virtual_host_domain; /* bucket.<domain> requests are virtual-hosted; NULL = path only */
    char *log_level;           /* debug|info|warn|error */
    unsigned roles;            /* roles: "s3", "worker" or both (CONFIG_ROLE_*), default s3 */

    /* Client authentication (apart from the UFS credentials in target_options). */
    char *auth;                         /* auth: "sigv4" (default) or "none" */
    bool auth_anonymous_on_any_address; /* auth none also on non-loopback listeners */
    char *credentials;                  /* credentials: "AKID:SECRET[:TOKEN],..." (secret) */
    char *credentials_file;             /* credentials_file: lines AKID:SECRET[:TOKEN], mode 0600 */
    char *region;                /* region: the one clients must sign for, default us-east-1 */
    bool require_content_sha256; /* refuse header auth without x-amz-content-sha256 */

    enum config_target target_protocol; /* target_protocol: s3 | file */
    struct {
        char *endpoint_url; /* NULL = AWS (https://s3.<region>.amazonaws.com) */
        char *key;
        char *secret;
        char *token;
        char *region; /* default us-east-1 */
        bool anon;    /* unsigned requests to the UFS */
        char *root;   /* file: the directory whose top-level folders are buckets */
        enum config_addressing addressing_style;
    } target_options;

    /* options: alluxio.* keys */
    uint64_t page_size;     /* alluxio.worker.page.store.page.size, default 1MiB */
    char *page_store_type;  /* alluxio.worker.page.store.type: MEM (default) or LOCAL (disk) */
    char *page_store_dirs;  /* alluxio.worker.page.store.dirs: "dir1,dir2" */
    char *page_store_sizes; /* alluxio.worker.page.store.sizes: "10GB,10GB" or one for all */
    char *cluster_name;     /* alluxio.cluster.name (alluxiofs: cluster_name) */
    unsigned virtual_nodes; /* alluxio.user.consistent.hash.virtual.node.count.per.worker, 5 */
    char *etcd_username;    /* alluxio.etcd.username (alluxiofs: etcd_username) */
    char *etcd_password;    /* alluxio.etcd.password (alluxiofs: etcd_password), secret */
    unsigned worker_http_server_port; /* alluxio.worker.http.server.port: worker role, 28080 */
    char *worker_bind_host;           /* alluxio.worker.bind.host: default 0.0.0.0 */
    char *worker_hostname;        /* alluxio.worker.hostname: Host registered in etcd (default: the
                                   * machine's host name) */
    char *worker_identity_file;   /* alluxio.worker.identity.uuid.file.path: the persisted
                                   * identity (default: worker_identity in the first page store
                                   * dir; none with a memory-only store: a new one per start) */
    uint64_t worker_lease_ttl_ms; /* worker_lease_ttl: etcd lease of the registration, 5s */
    bool worker_page_writes;      /* worker_page_writes: keep E4 page writes (off) */

    /* Cluster membership, alluxiofs's keywords: at most one of etcd_hosts and worker_hosts. */
    char *etcd_hosts;          /* etcd_hosts: "h1,h2:2380" (an entry's own port wins) */
    unsigned etcd_port;        /* etcd_port: default 2379 */
    char *worker_hosts;        /* worker_hosts: "a,b,c", a static worker list */
    unsigned worker_http_port; /* worker_http_port: REST port of worker_hosts, default 28080 */
    uint64_t worker_connect_timeout_ms;    /* worker_connect_timeout, default 1s */
    uint64_t worker_first_byte_timeout_ms; /* worker_first_byte_timeout, default 2s */
    uint64_t worker_timeout_ms;            /* worker_timeout: a whole page request, 10s */
    uint64_t worker_suspect_ms; /* worker_suspect_time: a failed worker is skipped, 10s */

    /* Proxy-only keys. */
    uint64_t memory_store_size;     /* memory_store_size: page budget in bytes; "auto" (the
                                     * default) is 1GiB, or 64MiB of hot pages for a proxy
                                     * that reads from a cluster without being a worker */
    uint64_t metadata_cache_ttl_ms; /* metadata_cache_ttl, default 5s */
    unsigned read_window_pages; /* read_window_pages: pages fetched ahead per request, default 4 */
    uint64_t ufs_connect_timeout_ms; /* ufs_connect_timeout, default 3s */
    uint64_t ufs_request_timeout_ms; /* ufs_request_timeout: whole UFS request, default 30s */
    unsigned ufs_retries;         /* ufs_retries: extra attempts on idempotent reads, default 3 */
    unsigned max_connections;     /* max_connections, default 10000 (all loops together) */
    uint64_t header_timeout_ms;   /* header_timeout: request head must arrive, default 30s */
    uint64_t idle_timeout_ms;     /* idle_timeout: keep-alive idle, default 60s */
    uint64_t body_timeout_ms;     /* body_timeout: gap between body bytes, default 30s */
    uint64_t send_timeout_ms;     /* send_timeout: a stalled client send, default 60s */
    uint64_t shutdown_timeout_ms; /* shutdown_timeout: SIGTERM drain deadline, default 10s */
};

/* Fill defaults (the table in config.c). Aborts only if out of memory at start. */
void config_init(struct config *c);
/* Free the strings (secrets wiped first) and zero the struct; config_init may follow. */
void config_free(struct config *c);

/*
 * Load in precedence order. Each returns 0, or -1 after writing "<file>: <key>: <reason>"
 * (or "env <NAME>: ..." / "--set <key>: ...") into err.
 */
int config_load_file(struct config *c, const char *path, char *err,
                     size_t err_size) CONFIG_WARN_UNUSED;
/* The same from memory (data need not be NUL-terminated); name is used in messages. For tests
 * and the YAML fuzzer. Does not set source_file. */
int config_load_buffer(struct config *c, const char *name, const char *data, size_t len, char *err,
                       size_t err_size) CONFIG_WARN_UNUSED;
/* AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ENDPOINT_URL, AWS_REGION
 * (AWS_DEFAULT_REGION), and ALLUXIO_S3_PROXY_<KEY> for any key (dots as "__"; an unknown KEY is
 * an error; ALLUXIO_S3_PROXY_ wins over AWS_*). envp NULL means environ. */
int config_load_env(struct config *c, char *const *envp, char *err,
                    size_t err_size) CONFIG_WARN_UNUSED;
/* One "--set dotted.key=value": "options.alluxio.worker.page.store.page.size=4MB". */
int config_set(struct config *c, const char *assignment, char *err,
               size_t err_size) CONFIG_WARN_UNUSED;
/* Cross-key checks after everything is loaded (file target needs root, ...). */
int config_validate(struct config *c, char *err, size_t err_size) CONFIG_WARN_UNUSED;

#define CONFIG_MAX_DISK_DIRS 64

struct config_disk_dir {
    char path[1024];
    uint64_t capacity; /* bytes */
};

/* The disk page store's dirs and capacities (page.store.dirs / .sizes): the count, or -1 with
 * err. out holds CONFIG_MAX_DISK_DIRS entries. */
int config_disk_dirs(const struct config *c, struct config_disk_dir *out, char *err,
                     size_t err_size) CONFIG_WARN_UNUSED;

/* The effective config as YAML, secrets masked ("****"); config_load_buffer reads it back.
 * Returns a malloc'd string the caller frees, or NULL when out of memory. */
char *config_print(const struct config *c) CONFIG_WARN_UNUSED;

#endif
