/*
 * config: the one table of configuration keys, and the three ways to set them (YAML file,
 * environment, --set), all funnelled through one per-key parser so a value means the same thing
 * wherever it is written. See config.h for the contract and DESIGN.md "Configuration".
 *
 * Why a table: every key, its type, bounds and default is one row of config_keys[] below. The
 * YAML walker, the env reader, --set, config_init (defaults) and config_print all walk it, so a
 * new key (etcd_hosts, the next alluxio.* option) is one row plus a struct field, nothing else.
 *
 * Key names are dotted paths. "options." is followed by an Alluxio property name, which has dots
 * of its own, so a key is looked up whole ("options.alluxio.worker.page.store.page.size"), never
 * split. In YAML, a nested mapping just joins its keys with dots, which makes the nested form
 * (options: {alluxio: {worker: ...}}), the flat form (options: {alluxio.worker...: 4MB}) and
 * mixtures of the two all mean the same.
 *
 * Errors: "<where>: <key>: <reason>", where is the file name (YAML line and column appended at
 * the end, so the prefix stays "<file>: <key>:"), "env NAME" or "--set". Bad values are echoed
 * quoted, capped and escaped; secret values are never echoed. On error the config may be left
 * partly updated: callers exit on a bad config.
 *
 * The YAML file reader is conf/yaml.c; it reaches the table through config_keys.h.
 */
#include "config.h"

#include "config_keys.h"
#include "core/buf.h"
#include "units.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern char **environ;

/* Limits (STYLE.md section 2: named, with a unit, listed together). */
#define CONFIG_KEY_MAX_BYTES   CONFIG__KEY_MAX_BYTES
#define CONFIG_VALUE_MAX_BYTES 16384 /* one value (STS session tokens run to ~2KiB) */
#define CONFIG_ECHO_MAX_BYTES  64    /* of a bad value quoted in an error */
#define CONFIG_WHY_MAX_BYTES   CONFIG__WHY_MAX_BYTES
#define CONFIG_PRINT_MAX_BYTES (256 * 1024) /* config_print output */
#define CONFIG_THREADS_MAX     256
#define CONFIG_PAGE_SIZE_MIN   (UINT64_C(4) << 10) /* 4KiB: below this, per-page costs win */
#define CONFIG_PAGE_SIZE_MAX   (UINT64_C(1) << 30) /* 1GiB: one page must fit in memory */
#define CONFIG_READ_WINDOW_MAX 64
#define CONFIG_UFS_RETRIES_MAX 10
#define CONFIG_CONNECTIONS_MAX 1000000
#define CONFIG_TIMEOUT_MAX_MS  (UINT64_C(24) * 3600 * 1000)       /* 1 day */
#define CONFIG_TTL_MAX_MS      (UINT64_C(365) * 24 * 3600 * 1000) /* 1 year */
#define CONFIG_VNODES_MAX      100000 /* virtual nodes per worker (RING_VNODES_MAX) */
#define CONFIG_SIZE_AUTO       UINT64_MAX
#define CONFIG_MEMORY_DEFAULT  (UINT64_C(1) << 30)  /* memory_store_size auto, embedded cache */
#define CONFIG_MEMORY_CLUSTER  (UINT64_C(64) << 20) /* auto in cluster mode: hot pages only */

#define CONFIG_ENV_PREFIX  "ALLUXIO_S3_PROXY_"
#define CONFIG_SECRET_MASK "****"

enum config_key_type {
    CONFIG_KEY_LISTEN,     /* listen[] + listen_count: "HOST:PORT", a comma list or a sequence */
    CONFIG_KEY_THREADS,    /* unsigned: "auto" (0) or min..max */
    CONFIG_KEY_STRING,     /* char *: any text */
    CONFIG_KEY_URL,        /* char *: http:// or https://, trailing '/' dropped */
    CONFIG_KEY_LOG_LEVEL,  /* char *: one of config_log_levels */
    CONFIG_KEY_TARGET,     /* enum config_target */
    CONFIG_KEY_ADDRESSING, /* enum config_addressing */
    CONFIG_KEY_BOOL,       /* bool: true/false/yes/no/on/off/1/0 */
    CONFIG_KEY_UINT,       /* unsigned: decimal, min..max */
    CONFIG_KEY_SIZE,       /* uint64_t bytes: units_parse_size, min..max */
    CONFIG_KEY_DURATION,   /* uint64_t ms: units_parse_duration_ms, min..max */
    CONFIG_KEY_ROLES,      /* unsigned CONFIG_ROLE_* bits: "s3,worker" or a sequence */
};

#define CONFIG_KEY_NULLABLE 0x1u /* char * only: YAML null or "" unsets it (NULL) */
#define CONFIG_KEY_SECRET   0x2u /* masked by config_print, never echoed in errors, wiped */
#define CONFIG_KEY_ALIAS    0x4u /* another name for the row before it: no default, not printed */
#define CONFIG_KEY_AUTO     0x8u /* size only: "auto" stores CONFIG_SIZE_AUTO (resolved later) */

struct config_key {
    const char *name;
    enum config_key_type type;
    size_t offset; /* of the field in struct config */
    uint64_t min, max;
    unsigned flags;
    const char *def; /* default, parsed like any other value; NULL = unset */
};

#define CONFIG_OFF(field) offsetof(struct config, field)

/*
 * Every key. Keys sharing a section ("target_options.", "options.") stay together: config_print
 * opens a section when the prefix changes. Defaults are the ones in DESIGN.md / config.h.
 */
static const struct config_key config_keys[] = {
    {"listen", CONFIG_KEY_LISTEN, CONFIG_OFF(listen), 0, 0, 0, "127.0.0.1:9000"},
    {"threads", CONFIG_KEY_THREADS, CONFIG_OFF(threads), 1, CONFIG_THREADS_MAX, 0, "auto"},
    {"virtual_host_domain", CONFIG_KEY_STRING, CONFIG_OFF(virtual_host_domain), 0, 0,
     CONFIG_KEY_NULLABLE, NULL},
    {"log_level", CONFIG_KEY_LOG_LEVEL, CONFIG_OFF(log_level), 0, 0, 0, "info"},
    {"roles", CONFIG_KEY_ROLES, CONFIG_OFF(roles), 0, 0, 0, "s3"},
    {"auth", CONFIG_KEY_STRING, CONFIG_OFF(auth), 0, 0, 0, "sigv4"},
    {"auth_anonymous_on_any_address", CONFIG_KEY_BOOL, CONFIG_OFF(auth_anonymous_on_any_address), 0,
     0, 0, "false"},
    {"credentials", CONFIG_KEY_STRING, CONFIG_OFF(credentials), 0, 0,
     CONFIG_KEY_NULLABLE | CONFIG_KEY_SECRET, NULL},
    {"credentials_file", CONFIG_KEY_STRING, CONFIG_OFF(credentials_file), 0, 0, CONFIG_KEY_NULLABLE,
     NULL},
    {"region", CONFIG_KEY_STRING, CONFIG_OFF(region), 0, 0, 0, "us-east-1"},
    {"require_content_sha256", CONFIG_KEY_BOOL, CONFIG_OFF(require_content_sha256), 0, 0, 0,
     "false"},
    {"target_protocol", CONFIG_KEY_TARGET, CONFIG_OFF(target_protocol), 0, 0, 0, "s3"},
    {"target_options.endpoint_url", CONFIG_KEY_URL, CONFIG_OFF(target_options.endpoint_url), 0, 0,
     CONFIG_KEY_NULLABLE, NULL},
    {"target_options.key", CONFIG_KEY_STRING, CONFIG_OFF(target_options.key), 0, 0,
     CONFIG_KEY_NULLABLE, NULL},
    {"target_options.secret", CONFIG_KEY_STRING, CONFIG_OFF(target_options.secret), 0, 0,
     CONFIG_KEY_NULLABLE | CONFIG_KEY_SECRET, NULL},
    {"target_options.token", CONFIG_KEY_STRING, CONFIG_OFF(target_options.token), 0, 0,
     CONFIG_KEY_NULLABLE | CONFIG_KEY_SECRET, NULL},
    {"target_options.region", CONFIG_KEY_STRING, CONFIG_OFF(target_options.region), 0, 0, 0,
     "us-east-1"},
    {"target_options.anon", CONFIG_KEY_BOOL, CONFIG_OFF(target_options.anon), 0, 0, 0, "false"},
    {"target_options.root", CONFIG_KEY_STRING, CONFIG_OFF(target_options.root), 0, 0,
     CONFIG_KEY_NULLABLE, NULL},
    {"target_options.addressing_style", CONFIG_KEY_ADDRESSING,
     CONFIG_OFF(target_options.addressing_style), 0, 0, 0, "auto"},
    {"options.alluxio.worker.page.store.page.size", CONFIG_KEY_SIZE, CONFIG_OFF(page_size),
     CONFIG_PAGE_SIZE_MIN, CONFIG_PAGE_SIZE_MAX, 0, "1MiB"},
    {"options.alluxio.worker.page.store.type", CONFIG_KEY_STRING, CONFIG_OFF(page_store_type), 0, 0,
     0, "MEM"},
    {"options.alluxio.worker.page.store.dirs", CONFIG_KEY_STRING, CONFIG_OFF(page_store_dirs), 0, 0,
     CONFIG_KEY_NULLABLE, NULL},
    {"options.alluxio.worker.page.store.sizes", CONFIG_KEY_STRING, CONFIG_OFF(page_store_sizes), 0,
     0, CONFIG_KEY_NULLABLE, NULL},
    {"options.alluxio.cluster.name", CONFIG_KEY_STRING, CONFIG_OFF(cluster_name), 0, 0, 0,
     "DefaultAlluxioCluster"},
    {"cluster_name", CONFIG_KEY_STRING, CONFIG_OFF(cluster_name), 0, 0, CONFIG_KEY_ALIAS, NULL},
    {"options.alluxio.user.consistent.hash.virtual.node.count.per.worker", CONFIG_KEY_UINT,
     CONFIG_OFF(virtual_nodes), 1, CONFIG_VNODES_MAX, 0, "5"},
    {"options.alluxio.user.worker.selection.policy.consistent.hash.virtual.node.count.per.worker",
     CONFIG_KEY_UINT, CONFIG_OFF(virtual_nodes), 1, CONFIG_VNODES_MAX, CONFIG_KEY_ALIAS, NULL},
    {"hash_node_per_worker", CONFIG_KEY_UINT, CONFIG_OFF(virtual_nodes), 1, CONFIG_VNODES_MAX,
     CONFIG_KEY_ALIAS, NULL},
    {"options.alluxio.etcd.username", CONFIG_KEY_STRING, CONFIG_OFF(etcd_username), 0, 0,
     CONFIG_KEY_NULLABLE, NULL},
    {"etcd_username", CONFIG_KEY_STRING, CONFIG_OFF(etcd_username), 0, 0,
     CONFIG_KEY_NULLABLE | CONFIG_KEY_ALIAS, NULL},
    {"options.alluxio.etcd.password", CONFIG_KEY_STRING, CONFIG_OFF(etcd_password), 0, 0,
     CONFIG_KEY_NULLABLE | CONFIG_KEY_SECRET, NULL},
    {"etcd_password", CONFIG_KEY_STRING, CONFIG_OFF(etcd_password), 0, 0,
     CONFIG_KEY_NULLABLE | CONFIG_KEY_SECRET | CONFIG_KEY_ALIAS, NULL},
    {"options.alluxio.worker.http.server.port", CONFIG_KEY_UINT,
     CONFIG_OFF(worker_http_server_port), 1, 65535, 0, "28080"},
    {"options.alluxio.worker.bind.host", CONFIG_KEY_STRING, CONFIG_OFF(worker_bind_host), 0, 0, 0,
     "0.0.0.0"},
    {"options.alluxio.worker.hostname", CONFIG_KEY_STRING, CONFIG_OFF(worker_hostname), 0, 0,
     CONFIG_KEY_NULLABLE, NULL},
    {"options.alluxio.worker.identity.uuid.file.path", CONFIG_KEY_STRING,
     CONFIG_OFF(worker_identity_file), 0, 0, CONFIG_KEY_NULLABLE, NULL},
    {"worker_lease_ttl", CONFIG_KEY_DURATION, CONFIG_OFF(worker_lease_ttl_ms), 1000,
     CONFIG_TIMEOUT_MAX_MS, 0, "5s"},
    {"worker_page_writes", CONFIG_KEY_BOOL, CONFIG_OFF(worker_page_writes), 0, 0, 0, "false"},
    {"etcd_hosts", CONFIG_KEY_STRING, CONFIG_OFF(etcd_hosts), 0, 0, CONFIG_KEY_NULLABLE, NULL},
    {"etcd_port", CONFIG_KEY_UINT, CONFIG_OFF(etcd_port), 1, 65535, 0, "2379"},
    {"worker_hosts", CONFIG_KEY_STRING, CONFIG_OFF(worker_hosts), 0, 0, CONFIG_KEY_NULLABLE, NULL},
    {"worker_http_port", CONFIG_KEY_UINT, CONFIG_OFF(worker_http_port), 1, 65535, 0, "28080"},
    {"worker_connect_timeout", CONFIG_KEY_DURATION, CONFIG_OFF(worker_connect_timeout_ms), 1,
     CONFIG_TIMEOUT_MAX_MS, 0, "1s"},
    {"worker_first_byte_timeout", CONFIG_KEY_DURATION, CONFIG_OFF(worker_first_byte_timeout_ms), 1,
     CONFIG_TIMEOUT_MAX_MS, 0, "2s"},
    {"worker_timeout", CONFIG_KEY_DURATION, CONFIG_OFF(worker_timeout_ms), 1, CONFIG_TIMEOUT_MAX_MS,
     0, "10s"},
    {"worker_suspect_time", CONFIG_KEY_DURATION, CONFIG_OFF(worker_suspect_ms), 0,
     CONFIG_TIMEOUT_MAX_MS, 0, "10s"},
    {"memory_store_size", CONFIG_KEY_SIZE, CONFIG_OFF(memory_store_size), 0, UINT64_MAX - 1,
     CONFIG_KEY_AUTO, "auto"},
    {"metadata_cache_ttl", CONFIG_KEY_DURATION, CONFIG_OFF(metadata_cache_ttl_ms), 0,
     CONFIG_TTL_MAX_MS, 0, "5s"},
    {"read_window_pages", CONFIG_KEY_UINT, CONFIG_OFF(read_window_pages), 1, CONFIG_READ_WINDOW_MAX,
     0, "4"},
    {"ufs_connect_timeout", CONFIG_KEY_DURATION, CONFIG_OFF(ufs_connect_timeout_ms), 1,
     CONFIG_TIMEOUT_MAX_MS, 0, "3s"},
    {"ufs_request_timeout", CONFIG_KEY_DURATION, CONFIG_OFF(ufs_request_timeout_ms), 1,
     CONFIG_TIMEOUT_MAX_MS, 0, "30s"},
    {"ufs_retries", CONFIG_KEY_UINT, CONFIG_OFF(ufs_retries), 0, CONFIG_UFS_RETRIES_MAX, 0, "3"},
    {"max_connections", CONFIG_KEY_UINT, CONFIG_OFF(max_connections), 1, CONFIG_CONNECTIONS_MAX, 0,
     "10000"},
    {"header_timeout", CONFIG_KEY_DURATION, CONFIG_OFF(header_timeout_ms), 1, CONFIG_TIMEOUT_MAX_MS,
     0, "30s"},
    {"idle_timeout", CONFIG_KEY_DURATION, CONFIG_OFF(idle_timeout_ms), 1, CONFIG_TIMEOUT_MAX_MS, 0,
     "60s"},
    {"body_timeout", CONFIG_KEY_DURATION, CONFIG_OFF(body_timeout_ms), 1, CONFIG_TIMEOUT_MAX_MS, 0,
     "30s"},
    {"send_timeout", CONFIG_KEY_DURATION, CONFIG_OFF(send_timeout_ms), 1, CONFIG_TIMEOUT_MAX_MS, 0,
     "60s"},
    /* 0 is allowed: close at once on SIGTERM. */
    {"shutdown_timeout", CONFIG_KEY_DURATION, CONFIG_OFF(shutdown_timeout_ms), 0,
     CONFIG_TIMEOUT_MAX_MS, 0, "10s"},
};

#define CONFIG_KEY_COUNT (sizeof(config_keys) / sizeof(config_keys[0]))

static const char *const config_log_levels[] = {"debug", "info", "warn", "error", NULL};
/* Indexed by enum config_target / enum config_addressing. */
static const char *const config_targets[] = {"s3", "file", NULL};
static const char *const config_addressings[] = {"auto", "path", "virtual", NULL};

/* Standard AWS variables, in the order applied: AWS_REGION beats AWS_DEFAULT_REGION, as in the
 * AWS CLI and SDKs. Empty values are treated as unset. */
static const struct {
    const char *env;
    const char *key;
} config_aws_env[] = {
    {"AWS_DEFAULT_REGION", "target_options.region"},
    {"AWS_REGION", "target_options.region"},
    {"AWS_ACCESS_KEY_ID", "target_options.key"},
    {"AWS_SECRET_ACCESS_KEY", "target_options.secret"},
    {"AWS_SESSION_TOKEN", "target_options.token"},
    {"AWS_ENDPOINT_URL", "target_options.endpoint_url"},
};

/* ---- small helpers ---------------------------------------------------------------------- */

static void *config_field(struct config *c, const struct config_key *k)
{
    return (char *)c + k->offset;
}

static const void *config_field_const(const struct config *c, const struct config_key *k)
{
    return (const char *)c + k->offset;
}

static const struct config_key *config_key_find(const char *name)
{
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        if (strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    }
    return NULL;
}

/* True when name is a section: some key starts with "name.". */
static bool config_is_section(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        if (strncmp(config_keys[i].name, name, n) == 0 && config_keys[i].name[n] == '.')
            return true;
    }
    return false;
}

static char config_ascii_lower(char ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

static bool config_eq_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        if (config_ascii_lower(*a) != config_ascii_lower(*b))
            return false;
    }
    return *a == *b;
}

void config__errf(char *err, size_t err_size, const char *fmt, ...)
{
    if (!err || err_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

/*
 * Write a reason into why: the formatted text, then ", got '<value>'" with the value capped and
 * escaped (outside bytes reach logs; STYLE.md "What to avoid"), unless the key is secret.
 */
static void config_why(char *why, size_t why_size, const struct config_key *k, const char *value,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void config_why(char *why, size_t why_size, const struct config_key *k, const char *value,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= why_size || !value || (k && (k->flags & CONFIG_KEY_SECRET)))
        return;

    char shown[CONFIG_ECHO_MAX_BYTES * 4 + 8];
    size_t o = 0;
    size_t i = 0;
    for (; value[i] && i < CONFIG_ECHO_MAX_BYTES; i++) {
        unsigned char ch = (unsigned char)value[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\'' && ch != '\\')
            shown[o++] = (char)ch;
        else
            o += (size_t)snprintf(shown + o, sizeof(shown) - o, "\\x%02x", ch);
    }
    if (value[i]) {
        memcpy(shown + o, "...", 3);
        o += 3;
    }
    shown[o] = '\0';
    snprintf(why + n, why_size - (size_t)n, ", got '%s'", shown);
}

/* Replace *slot with a copy of v (NULL unsets). Secrets are wiped before they are freed. */
static int config_str_replace(char **slot, const char *v, bool secret)
{
    char *copy = NULL;
    if (v) {
        copy = strdup(v);
        if (!copy)
            return -ENOMEM;
    }
    if (*slot && secret)
        explicit_bzero(*slot, strlen(*slot));
    free(*slot);
    *slot = copy;
    return 0;
}

/* Strict unsigned decimal: digits only, no sign, no spaces, no overflow. */
static bool config_parse_u64(const char *s, uint64_t *out)
{
    if (!*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool config_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (config_eq_nocase(s, yes[i])) {
            *out = true;
            return true;
        }
        if (config_eq_nocase(s, no[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Index of s in a NULL-terminated name list (case-insensitive), or -1. */
static int config_parse_enum(const char *s, const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        if (config_eq_nocase(s, names[i]))
            return i;
    }
    return -1;
}

/* "a|b|c" for messages. */
static void config_enum_list(const char *const *names, char *out, size_t out_size)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; names[i] && o < out_size; i++) {
        int n = snprintf(out + o, out_size - o, "%s%s", i ? "|" : "", names[i]);
        if (n < 0)
            return;
        o += (size_t)n;
    }
}

/* ---- listen addresses ------------------------------------------------------------------- */

/* One "HOST:PORT" (s, len: not NUL-terminated). Host: IPv4, [IPv6] or localhost. */
static int config_listen_parse_one(const char *s, size_t len, struct config_listen *out,
                                   const struct config_key *k, char *why, size_t why_size)
{
    char item[CONFIG_KEY_MAX_BYTES + 16];
    if (len >= sizeof(item)) {
        config_why(why, why_size, NULL, NULL, "address too long");
        return -1;
    }
    memcpy(item, s, len);
    item[len] = '\0';

    const char *host = item;
    size_t host_len;
    const char *port;
    bool v6 = false;
    if (item[0] == '[') {
        const char *close = strchr(item, ']');
        if (!close || close[1] != ':')
            goto bad;
        host = item + 1;
        host_len = (size_t)(close - host);
        port = close + 2;
        v6 = true;
    } else {
        const char *colon = strrchr(item, ':');
        if (!colon)
            goto bad;
        if (memchr(item, ':', (size_t)(colon - item))) {
            config_why(why, why_size, k, item, "IPv6 addresses go in brackets, as in [::1]:9000");
            return -1;
        }
        host_len = (size_t)(colon - item);
        port = colon + 1;
    }
    if (host_len == 0 || host_len >= sizeof(out->host))
        goto bad;

    char host_z[sizeof(out->host)];
    memcpy(host_z, host, host_len);
    host_z[host_len] = '\0';
    unsigned char addr[16];
    bool ok = v6 ? inet_pton(AF_INET6, host_z, addr) == 1
                 : (strcmp(host_z, "localhost") == 0 || inet_pton(AF_INET, host_z, addr) == 1);
    if (!ok) {
        config_why(why, why_size, k, item,
                   "host must be a numeric IPv4 address, [IPv6] or localhost");
        return -1;
    }

    uint64_t p;
    if (!config_parse_u64(port, &p) || p < 1 || p > 65535) {
        config_why(why, why_size, k, item, "port must be an integer from 1 to 65535");
        return -1;
    }
    memcpy(out->host, host_z, host_len + 1);
    out->port = (uint16_t)p;
    return 0;

bad:
    config_why(why, why_size, k, item, "expected HOST:PORT such as 127.0.0.1:9000 or [::1]:9000");
    return -1;
}

/* Add one address to a list being built; checks the count and duplicates. */
static int config_listen_add(struct config_listen *list, size_t *count, const char *s, size_t len,
                             const struct config_key *k, char *why, size_t why_size)
{
    if (*count >= CONFIG_MAX_LISTEN) {
        config_why(why, why_size, NULL, NULL, "at most %d addresses", CONFIG_MAX_LISTEN);
        return -1;
    }
    struct config_listen l;
    if (config_listen_parse_one(s, len, &l, k, why, why_size) != 0)
        return -1;
    for (size_t i = 0; i < *count; i++) {
        if (list[i].port == l.port && strcmp(list[i].host, l.host) == 0) {
            config_why(why, why_size, NULL, NULL, "duplicate address '%.*s'", (int)len, s);
            return -1;
        }
    }
    list[(*count)++] = l;
    return 0;
}

static void config_listen_commit(struct config *c, const struct config_listen *list, size_t count)
{
    memcpy(c->listen, list, count * sizeof(list[0]));
    c->listen_count = count;
}

/* A scalar: one address or a comma list ("--set listen=a:1,b:2"); spaces around items ignored. */
static int config_listen_parse_text(struct config *c, const struct config_key *k, const char *v,
                                    char *why, size_t why_size)
{
    struct config_listen list[CONFIG_MAX_LISTEN];
    size_t count = 0;
    const char *p = v;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *b = p;
        const char *e = end;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (b == e) {
            config_why(why, why_size, k, v, "expected HOST:PORT or a comma-separated list");
            return -1;
        }
        if (config_listen_add(list, &count, b, (size_t)(e - b), k, why, why_size) != 0)
            return -1;
        if (!*end)
            break;
        p = end + 1;
    }
    config_listen_commit(c, list, count);
    return 0;
}

/* ---- one key, one value ----------------------------------------------------------------- */

static int config_check_range(const struct config_key *k, const char *value, uint64_t v,
                              bool is_size, char *why, size_t why_size)
{
    if (v >= k->min && v <= k->max)
        return 0;
    char lo[UNITS_FORMAT_MAX], hi[UNITS_FORMAT_MAX];
    if (is_size) {
        units_format_size(k->min, lo, sizeof(lo));
        units_format_size(k->max, hi, sizeof(hi));
    } else {
        units_format_duration_ms(k->min, lo, sizeof(lo));
        units_format_duration_ms(k->max, hi, sizeof(hi));
    }
    config_why(why, why_size, k, value, "must be from %s to %s", lo, hi);
    return -1;
}

/*
 * Parse value into key k of c. value NULL is a YAML null. Returns 0, or -1 with the reason in
 * why (-ENOMEM is reported as a reason too: the caller only needs the text).
 */
/* roles from a comma list (split) or from sequence items (each one role). */
static int config_roles_parse(unsigned *field, const struct config_key *k, const char *const *items,
                              size_t n, bool split, char *why, size_t why_size)
{
    unsigned roles = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = items[i];
        for (;;) {
            size_t len = split ? strcspn(p, ",") : strlen(p);
            const char *b = p, *e = p + len;
            while (b < e && (*b == ' ' || *b == '\t'))
                b++;
            while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if ((size_t)(e - b) == 2 && strncasecmp(b, "s3", 2) == 0) {
                roles |= CONFIG_ROLE_S3;
            } else if ((size_t)(e - b) == 6 && strncasecmp(b, "worker", 6) == 0) {
                roles |= CONFIG_ROLE_WORKER;
            } else {
                config_why(why, why_size, k, items[i], "expected roles s3 and/or worker");
                return -1;
            }
            if (!split || p[len] == '\0')
                break;
            p += len + 1;
        }
    }
    if (roles == 0) {
        config_why(why, why_size, k, NULL, "expected at least one role (s3, worker)");
        return -1;
    }
    *field = roles;
    return 0;
}

static int config_apply(struct config *c, const struct config_key *k, const char *value, char *why,
                        size_t why_size)
{
    void *field = config_field(c, k);
    bool is_str = k->type == CONFIG_KEY_STRING || k->type == CONFIG_KEY_URL ||
                  k->type == CONFIG_KEY_LOG_LEVEL;

    if (is_str && (k->flags & CONFIG_KEY_NULLABLE) && (!value || !*value)) {
        config_str_replace(field, NULL, k->flags & CONFIG_KEY_SECRET);
        return 0;
    }
    if (!value) {
        config_why(why, why_size, NULL, NULL, "missing value");
        return -1;
    }
    if (strlen(value) > CONFIG_VALUE_MAX_BYTES) {
        config_why(why, why_size, NULL, NULL, "value longer than %d bytes", CONFIG_VALUE_MAX_BYTES);
        return -1;
    }

    char names[64];
    uint64_t v;
    int rc;
    switch (k->type) {
    case CONFIG_KEY_LISTEN:
        return config_listen_parse_text(c, k, value, why, why_size);

    case CONFIG_KEY_ROLES:
        return config_roles_parse(field, k, &value, 1, true, why, why_size);

    case CONFIG_KEY_THREADS:
        if (config_eq_nocase(value, "auto")) {
            *(unsigned *)field = 0;
            return 0;
        }
        if (!config_parse_u64(value, &v) || v < k->min || v > k->max) {
            config_why(why, why_size, k, value, "expected \"auto\" or an integer from %llu to %llu",
                       (unsigned long long)k->min, (unsigned long long)k->max);
            return -1;
        }
        *(unsigned *)field = (unsigned)v;
        return 0;

    case CONFIG_KEY_STRING:
        if (!*value) {
            config_why(why, why_size, NULL, NULL, "expected a non-empty string");
            return -1;
        }
        break;

    case CONFIG_KEY_URL: {
        if (strncasecmp(value, "http://", 7) != 0 && strncasecmp(value, "https://", 8) != 0) {
            config_why(why, why_size, k, value, "expected an http:// or https:// URL");
            return -1;
        }
        /* "http://minio:9000/" and "http://minio:9000" are the same endpoint; keeping the slash
         * would put "//" in every path-style request. */
        size_t n = strlen(value);
        while (n > 0 && value[n - 1] == '/')
            n--;
        const char *after = strstr(value, "://") + 3;
        if (value + n <= after) {
            config_why(why, why_size, k, value, "URL has no host");
            return -1;
        }
        char *copy = strndup(value, n);
        if (!copy) {
            config_why(why, why_size, NULL, NULL, "out of memory");
            return -1;
        }
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }

    case CONFIG_KEY_LOG_LEVEL:
        rc = config_parse_enum(value, config_log_levels);
        if (rc < 0) {
            config_enum_list(config_log_levels, names, sizeof(names));
            config_why(why, why_size, k, value, "expected one of %s", names);
            return -1;
        }
        value = config_log_levels[rc]; /* canonical spelling */
        break;

    case CONFIG_KEY_TARGET:
    case CONFIG_KEY_ADDRESSING: {
        const char *const *list =
            k->type == CONFIG_KEY_TARGET ? config_targets : config_addressings;
        rc = config_parse_enum(value, list);
        if (rc < 0) {
            config_enum_list(list, names, sizeof(names));
            config_why(why, why_size, k, value, "expected one of %s", names);
            return -1;
        }
        if (k->type == CONFIG_KEY_TARGET)
            *(enum config_target *)field = (enum config_target)rc;
        else
            *(enum config_addressing *)field = (enum config_addressing)rc;
        return 0;
    }

    case CONFIG_KEY_BOOL:
        if (!config_parse_bool(value, (bool *)field)) {
            config_why(why, why_size, k, value, "expected a boolean (true/false/yes/no/1/0)");
            return -1;
        }
        return 0;

    case CONFIG_KEY_UINT:
        if (!config_parse_u64(value, &v) || v < k->min || v > k->max) {
            config_why(why, why_size, k, value, "expected an integer from %llu to %llu",
                       (unsigned long long)k->min, (unsigned long long)k->max);
            return -1;
        }
        *(unsigned *)field = (unsigned)v;
        return 0;

    case CONFIG_KEY_SIZE:
        if ((k->flags & CONFIG_KEY_AUTO) && strcmp(value, "auto") == 0) {
            *(uint64_t *)field = CONFIG_SIZE_AUTO;
            return 0;
        }
        rc = units_parse_size(value, &v);
        if (rc == -ERANGE) {
            config_why(why, why_size, k, value, "size too large");
            return -1;
        }
        if (rc != 0) {
            config_why(why, why_size, k, value,
                       "expected a size such as 4096, 64KB, 1MiB or 1.5GB");
            return -1;
        }
        if (config_check_range(k, value, v, true, why, why_size) != 0)
            return -1;
        *(uint64_t *)field = v;
        return 0;

    case CONFIG_KEY_DURATION:
        rc = units_parse_duration_ms(value, &v);
        if (rc == -ERANGE) {
            config_why(why, why_size, k, value, "duration too large");
            return -1;
        }
        if (rc != 0) {
            config_why(why, why_size, k, value,
                       "expected a duration such as 500ms, 5s, 2m or 1h (bare number = ms)");
            return -1;
        }
        if (config_check_range(k, value, v, false, why, why_size) != 0)
            return -1;
        *(uint64_t *)field = v;
        return 0;
    }

    /* The string kinds end here. */
    if (config_str_replace(field, value, k->flags & CONFIG_KEY_SECRET) != 0) {
        config_why(why, why_size, NULL, NULL, "out of memory");
        return -1;
    }
    return 0;
}

/* ---- defaults and lifetime -------------------------------------------------------------- */

void config_init(struct config *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        const struct config_key *k = &config_keys[i];
        if (!k->def)
            continue;
        char why[CONFIG_WHY_MAX_BYTES];
        if (config_apply(c, k, k->def, why, sizeof(why)) != 0) {
            /* Only out of memory can get here (the defaults are constants, checked by tests);
             * this runs once at start, before anything could be degraded instead. */
            fprintf(stderr, "config: default for %s: %s\n", k->name, why);
            abort();
        }
    }
}

void config_free(struct config *c)
{
    for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
        const struct config_key *k = &config_keys[i];
        if (k->type == CONFIG_KEY_STRING || k->type == CONFIG_KEY_URL ||
            k->type == CONFIG_KEY_LOG_LEVEL)
            config_str_replace(config_field(c, k), NULL, k->flags & CONFIG_KEY_SECRET);
    }
    free(c->source_file);
    memset(c, 0, sizeof(*c));
}

/* ---- the table, for conf/yaml.c (config_keys.h) ----------------------------------------- */

size_t config__key_count(void)
{
    return CONFIG_KEY_COUNT;
}

int config__key_find(const char *name)
{
    const struct config_key *k = config_key_find(name);
    return k ? (int)(k - config_keys) : -1;
}

const char *config__key_name(int idx)
{
    return config_keys[idx].name;
}

bool config__key_is_list(int idx)
{
    return config_keys[idx].type == CONFIG_KEY_LISTEN || config_keys[idx].type == CONFIG_KEY_ROLES;
}

bool config__is_section(const char *name)
{
    return config_is_section(name);
}

int config__apply(struct config *c, int idx, const char *value, char *why, size_t why_size)
{
    return config_apply(c, &config_keys[idx], value, why, why_size);
}

int config__apply_list(struct config *c, int idx, const char *const *items, size_t n,
                       size_t *bad_item, char *why, size_t why_size)
{
    const struct config_key *k = &config_keys[idx];
    struct config_listen list[CONFIG_MAX_LISTEN];
    size_t count = 0;
    *bad_item = 0;
    if (k->type == CONFIG_KEY_ROLES)
        return config_roles_parse(config_field(c, k), k, items, n, false, why, why_size);
    if (k->type != CONFIG_KEY_LISTEN) {
        config_why(why, why_size, NULL, NULL, "expected a single value, got a list");
        return -1;
    }
    if (n == 0) {
        config_why(why, why_size, NULL, NULL, "expected at least one address");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (config_listen_add(list, &count, items[i], strlen(items[i]), k, why, why_size) != 0) {
            *bad_item = i;
            return -1;
        }
    }
    config_listen_commit(c, list, count);
    return 0;
}

/* ---- environment and --set -------------------------------------------------------------- */

/* Value of NAME in envp, or NULL. */
static const char *config_env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (char *const *e = envp; *e; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    }
    return NULL;
}

int config_load_env(struct config *c, char *const *envp, char *err, size_t err_size)
{
    char why[CONFIG_WHY_MAX_BYTES];
    if (!envp)
        envp = environ;

    for (size_t i = 0; i < sizeof(config_aws_env) / sizeof(config_aws_env[0]); i++) {
        const char *v = config_env_get(envp, config_aws_env[i].env);
        if (!v || !*v)
            continue;
        const struct config_key *k = config_key_find(config_aws_env[i].key);
        if (config_apply(c, k, v, why, sizeof(why)) != 0) {
            config__errf(err, err_size, "env %s: %s: %s", config_aws_env[i].env, k->name, why);
            return -1;
        }
    }

    /* Ours come second so they win over the generic AWS ones. */
    const size_t plen = strlen(CONFIG_ENV_PREFIX);
    for (char *const *e = envp; *e; e++) {
        if (strncmp(*e, CONFIG_ENV_PREFIX, plen) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        const char *name_end = eq;
        int name_len = (int)(name_end - *e);

        /* TARGET_OPTIONS__ENDPOINT_URL -> target_options.endpoint_url */
        char key[CONFIG_KEY_MAX_BYTES];
        size_t o = 0;
        for (const char *p = *e + plen; p < name_end; p++) {
            if (o + 1 >= sizeof(key)) {
                config__errf(err, err_size, "env %.*s: name too long",
                             name_len > 300 ? 300 : name_len, *e);
                return -1;
            }
            if (p[0] == '_' && p + 1 < name_end && p[1] == '_') {
                key[o++] = '.';
                p++;
            } else {
                key[o++] = config_ascii_lower(*p);
            }
        }
        key[o] = '\0';

        const struct config_key *k = config_key_find(key);
        if (!k) {
            config__errf(err, err_size, "env %.*s: %s: unknown key", name_len, *e, key);
            return -1;
        }
        if (config_apply(c, k, eq + 1, why, sizeof(why)) != 0) {
            config__errf(err, err_size, "env %.*s: %s: %s", name_len, *e, k->name, why);
            return -1;
        }
    }
    return 0;
}

int config_set(struct config *c, const char *assignment, char *err, size_t err_size)
{
    char why[CONFIG_WHY_MAX_BYTES];
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        config_why(why, sizeof(why), NULL, assignment, "expected KEY=VALUE");
        config__errf(err, err_size, "--set: %s", why);
        return -1;
    }
    size_t key_len = (size_t)(eq - assignment);
    char key[CONFIG_KEY_MAX_BYTES];
    if (key_len >= sizeof(key)) {
        config__errf(err, err_size, "--set %.*s...: key too long", 64, assignment);
        return -1;
    }
    memcpy(key, assignment, key_len);
    key[key_len] = '\0';

    const struct config_key *k = config_key_find(key);
    if (!k) {
        if (config_is_section(key))
            config__errf(err, err_size, "--set %s: is a section; set one of its keys, as in %s.KEY",
                         key, key);
        else
            config__errf(err, err_size, "--set %s: unknown key", key);
        return -1;
    }
    if (config_apply(c, k, eq + 1, why, sizeof(why)) != 0) {
        config__errf(err, err_size, "--set %s: %s", k->name, why);
        return -1;
    }
    return 0;
}

/* ---- cross-key checks ------------------------------------------------------------------- */

int config_validate(struct config *c, char *err, size_t err_size)
{
    if (c->listen_count == 0) {
        config__errf(err, err_size, "config: listen: must name at least one address");
        return -1;
    }
    if (!c->log_level || !c->target_options.region) {
        config__errf(err, err_size, "config: not initialised (call config_init)");
        return -1;
    }
    if (strcmp(c->auth, "sigv4") != 0 && strcmp(c->auth, "none") != 0) {
        config__errf(err, err_size, "config: auth: expected sigv4 or none, got '%.16s'", c->auth);
        return -1;
    }
    if (strcasecmp(c->page_store_type, "MEM") != 0 &&
        strcasecmp(c->page_store_type, "LOCAL") != 0) {
        config__errf(err, err_size,
                     "config: options.alluxio.worker.page.store.type: expected MEM or LOCAL, got "
                     "'%.16s'",
                     c->page_store_type);
        return -1;
    }
    if (!strcasecmp(c->page_store_type, "LOCAL")) {
        struct config_disk_dir dirs[CONFIG_MAX_DISK_DIRS];
        if (config_disk_dirs(c, dirs, err, err_size) < 0)
            return -1;
    }
    if (c->target_protocol == CONFIG_TARGET_FILE && !c->target_options.root) {
        config__errf(err, err_size,
                     "config: target_options.root: required when target_protocol is file");
        return -1;
    }
    if (c->target_options.key && !c->target_options.secret) {
        config__errf(err, err_size,
                     "config: target_options.secret: required when target_options.key is set");
        return -1;
    }
    if (c->target_options.secret && !c->target_options.key) {
        config__errf(err, err_size,
                     "config: target_options.key: required when target_options.secret is set");
        return -1;
    }
    if (c->target_options.token && !c->target_options.key) {
        config__errf(err, err_size,
                     "config: target_options.token: a session token needs "
                     "target_options.key and target_options.secret");
        return -1;
    }
    if (c->etcd_hosts && c->worker_hosts) {
        config__errf(err, err_size, "config: etcd_hosts and worker_hosts: set one, not both");
        return -1;
    }
    if (!c->etcd_username != !c->etcd_password) {
        config__errf(err, err_size,
                     "config: options.alluxio.etcd.username and .password: set both or neither");
        return -1;
    }
    bool cluster = c->etcd_hosts || c->worker_hosts;
    /* A proxy that is only a client of the cluster keeps hot pages; a worker holds its share. */
    bool client_only = cluster && !(c->roles & CONFIG_ROLE_WORKER);
    if (c->memory_store_size == CONFIG_SIZE_AUTO)
        c->memory_store_size = client_only ? CONFIG_MEMORY_CLUSTER : CONFIG_MEMORY_DEFAULT;
    /* In cluster mode the workers hold the pages: a memory store of 0 is allowed there. */
    if (c->memory_store_size < c->page_size && !(client_only && c->memory_store_size == 0)) {
        char ms[UNITS_FORMAT_MAX], ps[UNITS_FORMAT_MAX];
        units_format_size(c->memory_store_size, ms, sizeof(ms));
        units_format_size(c->page_size, ps, sizeof(ps));
        config__errf(err, err_size,
                     "config: memory_store_size: %s cannot hold one page "
                     "(options.alluxio.worker.page.store.page.size is %s)",
                     ms, ps);
        return -1;
    }
    return 0;
}

/* ---- printing --------------------------------------------------------------------------- */

/* A YAML double-quoted scalar: any string round-trips through it. */
static int config_print_quoted(struct buf *b, const char *s)
{
    int rc = buf_append_char(b, '"');
    for (; rc == 0 && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            rc = buf_appendf(b, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            rc = buf_appendf(b, "\\x%02x", ch);
        else
            rc = buf_append_char(b, (char)ch);
    }
    return rc ? rc : buf_append_char(b, '"');
}

static int config_print_value(struct buf *b, const struct config *c, const struct config_key *k)
{
    const void *field = config_field_const(c, k);
    char tmp[UNITS_FORMAT_MAX];
    int rc = 0;
    switch (k->type) {
    case CONFIG_KEY_LISTEN:
        for (size_t i = 0; rc == 0 && i < c->listen_count; i++) {
            const struct config_listen *l = &c->listen[i];
            bool v6 = strchr(l->host, ':') != NULL;
            rc = buf_appendf(b, "\n  - \"%s%s%s:%u\"", v6 ? "[" : "", l->host, v6 ? "]" : "",
                             (unsigned)l->port);
        }
        if (rc == 0 && c->listen_count == 0)
            rc = buf_append_str(b, " []");
        return rc;
    case CONFIG_KEY_ROLES: {
        unsigned roles = *(const unsigned *)field;
        return buf_appendf(b, " [%s%s%s]", roles & CONFIG_ROLE_S3 ? "s3" : "",
                           roles == (CONFIG_ROLE_S3 | CONFIG_ROLE_WORKER) ? ", " : "",
                           roles & CONFIG_ROLE_WORKER ? "worker" : "");
    }
    case CONFIG_KEY_THREADS:
        if (*(const unsigned *)field == 0)
            return buf_append_str(b, " auto");
        return buf_appendf(b, " %u", *(const unsigned *)field);
    case CONFIG_KEY_STRING:
    case CONFIG_KEY_URL:
    case CONFIG_KEY_LOG_LEVEL: {
        const char *s = *(char *const *)field;
        if (!s)
            return buf_append_str(b, " null");
        if (k->flags & CONFIG_KEY_SECRET)
            return buf_append_str(b, " \"" CONFIG_SECRET_MASK "\"");
        rc = buf_append_char(b, ' ');
        return rc ? rc : config_print_quoted(b, s);
    }
    case CONFIG_KEY_TARGET:
        return buf_appendf(b, " %s", config_targets[*(const enum config_target *)field]);
    case CONFIG_KEY_ADDRESSING:
        return buf_appendf(b, " %s", config_addressings[*(const enum config_addressing *)field]);
    case CONFIG_KEY_BOOL:
        return buf_append_str(b, *(const bool *)field ? " true" : " false");
    case CONFIG_KEY_UINT:
        return buf_appendf(b, " %u", *(const unsigned *)field);
    case CONFIG_KEY_SIZE:
        if (*(const uint64_t *)field == CONFIG_SIZE_AUTO)
            return buf_append_str(b, " auto");
        units_format_size(*(const uint64_t *)field, tmp, sizeof(tmp));
        return buf_appendf(b, " %s", tmp);
    case CONFIG_KEY_DURATION:
        units_format_duration_ms(*(const uint64_t *)field, tmp, sizeof(tmp));
        return buf_appendf(b, " %s", tmp);
    }
    return 0;
}

char *config_print(const struct config *c)
{
    struct buf b;
    buf_init(&b, CONFIG_PRINT_MAX_BYTES);
    int rc = buf_append_str(&b, "# alluxio-s3-proxy effective configuration (secrets masked)\n");
    const char *section = NULL; /* current "name." prefix, or NULL at the top */
    size_t section_len = 0;

    for (size_t i = 0; rc == 0 && i < CONFIG_KEY_COUNT; i++) {
        const struct config_key *k = &config_keys[i];
        if (k->flags & CONFIG_KEY_ALIAS)
            continue;
        const char *dot = strchr(k->name, '.');
        size_t want_len = dot ? (size_t)(dot - k->name) : 0;
        if (want_len != section_len || (want_len && strncmp(section, k->name, want_len) != 0)) {
            section = dot ? k->name : NULL;
            section_len = want_len;
            if (section)
                rc = buf_appendf(&b, "%.*s:\n", (int)section_len, section);
        }
        if (rc == 0)
            rc = buf_appendf(&b, "%s%s:", section ? "  " : "",
                             section ? k->name + section_len + 1 : k->name);
        if (rc == 0)
            rc = config_print_value(&b, c, k);
        if (rc == 0)
            rc = buf_append_char(&b, '\n');
    }
    if (rc != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b, NULL);
}
