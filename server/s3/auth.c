/*
 * auth: client credentials and per-request SigV4 verification (see auth.h).
 *
 * The table is read under a rwlock held only for one verification (a lookup hands out
 * pointers into it); SIGHUP builds a whole new table and swaps it under the write lock. Signing
 * keys are cached per (key, date, region, service) by core/sigv4's key cache, so a request
 * costs about one HMAC-SHA256 chain step plus the canonical request's hash.
 */
#include "auth.h"

#include "../../core/log.h"
#include "../../core/sigv4_verify.h"
#include "request.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AUTH_MAX_KEYS       4096
#define AUTH_FILE_MAX_BYTES (1024 * 1024)
#define AUTH_MAX_HEADERS    HTTP_MAX_HEADERS
#define AUTH_METHOD_MAX     16

struct auth_key {
    char *access_key;
    char *secret_key;
    char *session_token; /* NULL when the key takes none */
};

struct auth_table {
    struct auth_key *keys;
    size_t count;
};

struct s3_auth {
    bool enabled;
    char *region;
    bool require_content_sha256;
    pthread_rwlock_t lock;
    struct auth_table table;
    struct sigv4_key_cache *key_cache;
};

static void auth_wipe(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
}

static void auth_table_free(struct auth_table *t)
{
    for (size_t i = 0; i < t->count; i++) {
        auth_wipe(t->keys[i].secret_key);
        auth_wipe(t->keys[i].session_token);
        free(t->keys[i].access_key);
        free(t->keys[i].secret_key);
        free(t->keys[i].session_token);
    }
    free(t->keys);
    t->keys = NULL;
    t->count = 0;
}

/* One "AKID:SECRET[:TOKEN]" (surrounding blanks ignored). where names it in errors. */
static int auth_table_add(struct auth_table *t, const char *entry, size_t len, const char *where,
                          char *err, size_t err_size)
{
    while (len && (*entry == ' ' || *entry == '\t'))
        entry++, len--;
    while (len && (entry[len - 1] == ' ' || entry[len - 1] == '\t' || entry[len - 1] == '\r'))
        len--;
    const char *c1 = memchr(entry, ':', len);
    const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(entry + len - c1 - 1)) : NULL;
    size_t ak_len = c1 ? (size_t)(c1 - entry) : 0;
    size_t sk_len = c1 ? (size_t)((c2 ? c2 : entry + len) - c1 - 1) : 0;
    size_t tok_len = c2 ? (size_t)(entry + len - c2 - 1) : 0;
    if (!c1 || ak_len == 0 || sk_len == 0 || (c2 && tok_len == 0) ||
        ak_len > SIGV4_VERIFY_MAX_ACCESS_KEY_BYTES) {
        snprintf(err, err_size, "%s: expected ACCESS_KEY:SECRET_KEY[:SESSION_TOKEN]", where);
        return -1;
    }
    for (size_t i = 0; i < t->count; i++) {
        if (strlen(t->keys[i].access_key) == ak_len &&
            !memcmp(t->keys[i].access_key, entry, ak_len)) {
            snprintf(err, err_size, "%s: access key %.*s is listed twice", where, (int)ak_len,
                     entry);
            return -1;
        }
    }
    if (t->count == AUTH_MAX_KEYS) {
        snprintf(err, err_size, "%s: more than %d access keys", where, AUTH_MAX_KEYS);
        return -1;
    }
    struct auth_key *keys = realloc(t->keys, (t->count + 1) * sizeof(*keys));
    if (!keys) {
        snprintf(err, err_size, "%s: out of memory", where);
        return -1;
    }
    t->keys = keys;
    struct auth_key *k = &t->keys[t->count];
    k->access_key = strndup(entry, ak_len);
    k->secret_key = strndup(c1 + 1, sk_len);
    k->session_token = c2 ? strndup(c2 + 1, tok_len) : NULL;
    t->count++;
    if (!k->access_key || !k->secret_key || (c2 && !k->session_token)) {
        snprintf(err, err_size, "%s: out of memory", where);
        return -1;
    }
    return 0;
}

static int auth_load_list(struct auth_table *t, const char *list, char *err, size_t err_size)
{
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len && auth_table_add(t, p, len, "credentials", err, err_size) != 0)
            return -1;
        p += len + (end ? 1 : 0);
    }
    return 0;
}

/* The file must belong to us and be closed to group and others (like ~/.aws/credentials or
 * s3fs's passwd file): the secrets in it are what protects the cache. */
static int auth_load_file(struct auth_table *t, const char *path, char *err, size_t err_size)
{
    int result = -1;
    char *data = NULL;
    size_t data_size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0) {
        snprintf(err, err_size, "credentials_file: %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_size, "credentials_file: %s: not a regular file", path);
        goto done;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, err_size,
                 "credentials_file: %s: mode %03o lets others read the secrets; chmod 600 it", path,
                 (unsigned)(st.st_mode & 0777));
        goto done;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, err_size, "credentials_file: %s: not owned by this user", path);
        goto done;
    }
    if (st.st_size > AUTH_FILE_MAX_BYTES) {
        snprintf(err, err_size, "credentials_file: %s: larger than %d bytes", path,
                 AUTH_FILE_MAX_BYTES);
        goto done;
    }
    data_size = (size_t)st.st_size + 1;
    data = malloc(data_size);
    if (!data) {
        snprintf(err, err_size, "credentials_file: out of memory");
        goto done;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n <= 0) {
            snprintf(err, err_size, "credentials_file: %s: read failed", path);
            goto done;
        }
        got += (size_t)n;
    }
    data[got] = '\0';
    size_t line_no = 0;
    for (char *line = data; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        line_no++;
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
            i++;
        if (i < len && line[i] != '#') {
            char where[512];
            snprintf(where, sizeof(where), "credentials_file: %.400s line %zu", path, line_no);
            if (auth_table_add(t, line, len, where, err, err_size) != 0)
                goto done;
        }
        line = nl ? nl + 1 : NULL;
    }
    result = 0;
done:
    if (data) {
        explicit_bzero(data, data_size);
        free(data);
    }
    close(fd);
    return result;
}

static int auth_table_load(struct auth_table *t, const struct config *cfg, char *err,
                           size_t err_size)
{
    memset(t, 0, sizeof(*t));
    if ((cfg->credentials && auth_load_list(t, cfg->credentials, err, err_size) != 0) ||
        (cfg->credentials_file && auth_load_file(t, cfg->credentials_file, err, err_size) != 0)) {
        auth_table_free(t);
        return -1;
    }
    if (t->count == 0) {
        snprintf(err, err_size,
                 "credentials: auth is sigv4 but no client credentials are configured (set "
                 "credentials or credentials_file, or auth: none for anonymous access)");
        return -1;
    }
    return 0;
}

struct s3_auth *s3_auth_create(const struct config *cfg, char *err, size_t err_size)
{
    struct s3_auth *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    pthread_rwlock_init(&a->lock, NULL);
    a->enabled = strcmp(cfg->auth, "none") != 0;
    a->require_content_sha256 = cfg->require_content_sha256;
    a->region = strdup(cfg->region);
    a->key_cache = sigv4_key_cache_create();
    if (!a->region || !a->key_cache) {
        snprintf(err, err_size, "out of memory");
        s3_auth_destroy(a);
        return NULL;
    }
    if (a->enabled && auth_table_load(&a->table, cfg, err, err_size) != 0) {
        s3_auth_destroy(a);
        return NULL;
    }
    return a;
}

int s3_auth_reload(struct s3_auth *a, const struct config *cfg, char *err, size_t err_size)
{
    if (!a->enabled)
        return 0;
    struct auth_table fresh;
    if (auth_table_load(&fresh, cfg, err, err_size) != 0)
        return -1;
    pthread_rwlock_wrlock(&a->lock);
    struct auth_table old = a->table;
    a->table = fresh;
    pthread_rwlock_unlock(&a->lock);
    auth_table_free(&old);
    return 0;
}

void s3_auth_destroy(struct s3_auth *a)
{
    if (!a)
        return;
    auth_table_free(&a->table);
    sigv4_key_cache_destroy(a->key_cache);
    pthread_rwlock_destroy(&a->lock);
    free(a->region);
    free(a);
}

size_t s3_auth_key_count(struct s3_auth *a)
{
    pthread_rwlock_rdlock(&a->lock);
    size_t n = a->table.count;
    pthread_rwlock_unlock(&a->lock);
    return n;
}

/* Called with the read lock held, from inside sigv4_verify. */
static int auth_lookup(void *arg, const char *access_key, struct sigv4_verify_secret *out)
{
    struct s3_auth *a = arg;
    for (size_t i = 0; i < a->table.count; i++) {
        if (!strcmp(a->table.keys[i].access_key, access_key)) {
            out->secret_key = a->table.keys[i].secret_key;
            out->session_token = a->table.keys[i].session_token;
            return 0;
        }
    }
    return -1;
}

bool s3_auth_check(struct s3_auth *a, struct s3_request *r)
{
    if (!a->enabled)
        return true;
    const struct http_request_head *h = r->x->head;
    struct sigv4_header headers[AUTH_MAX_HEADERS];
    for (size_t i = 0; i < h->header_count; i++)
        headers[i] = (struct sigv4_header){h->headers[i].name.p, h->headers[i].name.len,
                                           h->headers[i].value.p, h->headers[i].value.len};
    char method[AUTH_METHOD_MAX];
    snprintf(method, sizeof(method), "%.*s", (int)h->method.len, h->method.p);
    struct sigv4_verify_request req = {
        .method = method,
        .path = h->path.p,
        .path_len = h->path.len,
        .query = h->query.p,
        .query_len = h->query.len,
        .headers = headers,
        .header_count = h->header_count,
    };
    struct sigv4_verify_config cfg = {
        .region = a->region,
        .service = "s3",
        .lookup = auth_lookup,
        .lookup_arg = a,
        .key_cache = a->key_cache,
        .require_content_sha256 = a->require_content_sha256,
    };
    struct sigv4_auth auth;
    struct sigv4_error error;
    memset(&error, 0, sizeof(error));
    pthread_rwlock_rdlock(&a->lock);
    enum sigv4_verify_error rc = sigv4_verify(&cfg, &req, time(NULL), &auth, &error);
    pthread_rwlock_unlock(&a->lock);
    sigv4_auth_clear(&auth);
    if (rc == SIGV4_VERIFY_OK) {
        sigv4_error_free(&error);
        return true;
    }
    struct buf extra;
    buf_init(&extra, 48 * 1024);
    if (sigv4_error_append_xml(&error, &extra) != 0)
        buf_reset(&extra);
    s3_error(r, error.http_status, error.code, error.message, extra.data, NULL);
    buf_free(&extra);
    sigv4_error_free(&error);
    return false;
}
