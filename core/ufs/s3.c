/*
 * ufs/s3: an S3-compatible store as the UFS, over libcurl multi on the calling loop
 * (core/http_client.c drives curl from the io_uring; nothing here blocks).
 *
 * Every request is signed with SigV4 using target_options credentials (never the client's:
 * the client signed host and range for the proxy, so we must re-sign upstream). Idempotent reads
 * are retried on connection errors, timeouts and 500/502/503/504 with full-jitter exponential
 * backoff. Pages are read as aligned ranged GETs with If-Match: <etag>, so a page can only ever
 * hold bytes of the object version it is keyed by; the reply is checked (status, Content-Range,
 * length) before the page is handed back, as nginx's slice module checks its subrequests.
 */
#include "ufs.h"

#include "../http_client.h"
#include "../http_date.h"
#include "../log.h"
#include "../loop.h"
#include "../range.h"
#include "../sigv4.h"
#include "../uri.h"
#include "s3_list.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define S3_BODY_MAX        (32u * 1024 * 1024) /* list and bucket replies */
#define S3_BACKOFF_BASE_MS 50
#define S3_BACKOFF_MAX_MS  2000
#define S3_URL_MAX         (16 * 1024)

struct ufs_s3 {
    struct ufs base;
    char *scheme_host; /* "http://127.0.0.1:5000" (no trailing slash) */
    char *scheme;      /* "http" or "https" */
    char *host;        /* "127.0.0.1:5000": the Host header for path-style */
    char *region;
    char *access_key, *secret_key, *session_token;
    bool anon;
    bool virtual_host;
    uint64_t connect_timeout_ms, request_timeout_ms;
    unsigned retries;
};

enum s3_call_kind {
    S3_HEAD_OBJECT,
    S3_READ_PAGE,
    S3_LIST_OBJECTS,
    S3_LIST_BUCKETS,
    S3_HEAD_BUCKET,
    S3_LOCATION,
};

struct s3_call {
    struct ufs_s3 *u;
    struct loop *loop;
    enum s3_call_kind kind;
    char *bucket; /* NULL for ListBuckets */
    char *key;
    size_t key_len;
    char *query; /* raw query to send, or NULL */
    char *etag;  /* READ_PAGE: If-Match */
    uint64_t offset;
    uint32_t len;
    union {
        ufs_meta_cb meta;
        ufs_page_cb page;
        ufs_reply_cb reply;
    } cb;
    void *arg;
    bool bucket_probe;           /* HEAD_OBJECT got 404: now asking whether the bucket exists */
    struct ufs_list_params list; /* LIST_OBJECTS: the client's request, strings owned */

    unsigned attempt;
    struct loop_timer retry_timer;
    CURL *easy;
    struct curl_slist *headers;

    /* The response of the current attempt. */
    long status;
    struct meta *meta;
    struct page *page;
    size_t filled;
    bool overflow;
    bool have_content_range;
    uint64_t range_first, range_last, range_total;
    struct buf body;
    char *bucket_region;
};

static void s3_call_reset_response(struct s3_call *c)
{
    c->status = 0;
    meta_unref(c->meta);
    c->meta = NULL;
    c->filled = 0;
    c->overflow = false;
    c->have_content_range = false;
    buf_reset(&c->body);
    free(c->bucket_region);
    c->bucket_region = NULL;
}

static void s3_list_params_free(struct ufs_list_params *p)
{
    free((char *)p->prefix);
    free((char *)p->delimiter);
    free((char *)p->continuation_token);
    free((char *)p->start_after);
    free((char *)p->marker);
}

static int s3_list_params_copy(struct ufs_list_params *dst, const struct ufs_list_params *src)
{
    *dst = *src;
    const char **fields[] = {&dst->prefix, &dst->delimiter, &dst->continuation_token,
                             &dst->start_after, &dst->marker};
    int rc = 0;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (*fields[i] && !(*fields[i] = strdup(*fields[i])))
            rc = -ENOMEM;
    }
    return rc;
}

static void s3_call_free(struct s3_call *c)
{
    s3_list_params_free(&c->list);
    s3_call_reset_response(c);
    buf_free(&c->body);
    page_unref(c->page);
    if (c->easy)
        curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    free(c->bucket);
    free(c->key);
    free(c->query);
    free(c->etag);
    free(c);
}

/* --- response parsing ------------------------------------------------------------------- */

static bool header_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

static bool header_has_prefix(const char *name, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && strncasecmp(name, prefix, n) == 0;
}

/* The response headers of an object S3 would return as they are (besides the named ones). */
static bool header_is_object_extra(const char *name, size_t len)
{
    return header_has_prefix(name, len, "x-amz-meta-") ||
           header_has_prefix(name, len, "x-amz-server-side-encryption") ||
           header_has_prefix(name, len, "x-amz-object-lock-") ||
           header_is(name, len, "x-amz-tagging-count") ||
           header_is(name, len, "x-amz-replication-status") ||
           header_is(name, len, "x-amz-restore") || header_is(name, len, "x-amz-expiration") ||
           header_is(name, len, "x-amz-website-redirect-location");
}

static int s3_meta_header(struct meta *m, const char *name, size_t nlen, const char *value,
                          size_t vlen)
{
    if (header_is(name, nlen, "content-length")) {
        uint64_t v = 0;
        if (vlen == 0)
            return -EINVAL;
        for (size_t i = 0; i < vlen; i++) {
            if (!isdigit((unsigned char)value[i]) || v > (UINT64_MAX - 9) / 10)
                return -EINVAL;
            v = v * 10 + (uint64_t)(value[i] - '0');
        }
        m->size = v;
        return 0;
    }
    if (header_is(name, nlen, "etag"))
        return meta_set(&m->etag, value, vlen);
    if (header_is(name, nlen, "last-modified")) {
        time_t t;
        if (http_date_parse(value, vlen, &t) == 0)
            m->last_modified = t;
        return 0;
    }
    if (header_is(name, nlen, "content-type"))
        return meta_set(&m->content_type, value, vlen);
    if (header_is(name, nlen, "content-encoding"))
        return meta_set(&m->content_encoding, value, vlen);
    if (header_is(name, nlen, "content-disposition"))
        return meta_set(&m->content_disposition, value, vlen);
    if (header_is(name, nlen, "content-language"))
        return meta_set(&m->content_language, value, vlen);
    if (header_is(name, nlen, "cache-control"))
        return meta_set(&m->cache_control, value, vlen);
    if (header_is(name, nlen, "expires"))
        return meta_set(&m->expires, value, vlen);
    if (header_is(name, nlen, "x-amz-storage-class"))
        return meta_set(&m->storage_class, value, vlen);
    if (header_is(name, nlen, "x-amz-version-id"))
        return meta_set(&m->version_id, value, vlen);
    if (header_is_object_extra(name, nlen))
        return meta_add_extra_header(m, name, nlen, value, vlen);
    return 0;
}

static size_t s3_header_cb(char *line, size_t size, size_t n, void *userp)
{
    struct s3_call *c = userp;
    size_t len = size * n;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue, say): forget the previous headers. */
        s3_call_reset_response(c);
        if (c->kind == S3_HEAD_OBJECT && !c->bucket_probe) {
            c->meta = meta_new();
            if (!c->meta)
                return 0;
        }
        return len;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return len;
    size_t nlen = (size_t)(colon - line);
    const char *v = colon + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vlen = (size_t)(end - v);
    if (c->meta && s3_meta_header(c->meta, line, nlen, v, vlen) == -ENOMEM)
        return 0;
    if (c->kind == S3_READ_PAGE && header_is(line, nlen, "content-range")) {
        c->have_content_range = range_parse_content_range(v, vlen, &c->range_first, &c->range_last,
                                                          &c->range_total) == 0;
    }
    if (c->kind == S3_HEAD_BUCKET && header_is(line, nlen, "x-amz-bucket-region")) {
        free(c->bucket_region);
        c->bucket_region = strndup(v, vlen);
    }
    return len;
}

static size_t s3_write_cb(char *data, size_t size, size_t n, void *userp)
{
    struct s3_call *c = userp;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    if (c->kind == S3_READ_PAGE && status >= 200 && status < 300) {
        if (c->filled + len > c->page->len) {
            c->overflow = true;
            return 0; /* more bytes than the page must have: abort, the check fails */
        }
        memcpy(c->page->data + c->filled, data, len);
        c->filled += len;
        return len;
    }
    /* Error bodies and list/bucket replies. */
    if (buf_append(&c->body, data, len) != 0)
        return 0;
    return len;
}

/* --- request building --------------------------------------------------------------------- */

static int s3_build_path(struct s3_call *c, struct buf *path)
{
    struct ufs_s3 *u = c->u;
    int rc = buf_append_char(path, '/');
    if (rc)
        return rc;
    if (c->bucket && !u->virtual_host) {
        rc = uri_encode(path, c->bucket, strlen(c->bucket), false);
        if (!rc && (c->key || c->kind == S3_LIST_OBJECTS || c->kind == S3_LOCATION))
            rc = buf_append_char(path, '/');
        if (rc)
            return rc;
    }
    if (c->key)
        rc = uri_encode(path, c->key, c->key_len, true);
    return rc;
}

/* Configure a fresh easy handle for the current attempt: URL, signed headers, timeouts. */
static int s3_call_prepare(struct s3_call *c)
{
    struct ufs_s3 *u = c->u;
    int result = -ENOMEM;
    struct buf path, host, url;
    buf_init(&path, S3_URL_MAX);
    buf_init(&host, 1024);
    buf_init(&url, S3_URL_MAX);

    if (c->easy)
        curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    c->headers = NULL;
    c->easy = curl_easy_init();
    if (!c->easy)
        goto fail;

    if (s3_build_path(c, &path))
        goto fail;
    if (u->virtual_host && c->bucket) {
        if (buf_appendf(&host, "%s.%s", c->bucket, u->host))
            goto fail;
    } else if (buf_append_str(&host, u->host)) {
        goto fail;
    }
    if (buf_appendf(&url, "%s://%s%s", u->scheme, host.data, path.data))
        goto fail;
    if (c->query && c->query[0] && buf_appendf(&url, "?%s", c->query))
        goto fail;

    char range[80] = "";
    if (c->kind == S3_READ_PAGE)
        snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)c->offset,
                 (unsigned long long)(c->offset + c->len - 1));

    struct buf line;
    buf_init(&line, 4096);
#define S3_ADD_HEADER(...)                                                                         \
    do {                                                                                           \
        buf_reset(&line);                                                                          \
        if (buf_appendf(&line, __VA_ARGS__))                                                       \
            goto fail_line;                                                                        \
        struct curl_slist *next = curl_slist_append(c->headers, line.data);                        \
        if (!next)                                                                                 \
            goto fail_line;                                                                        \
        c->headers = next;                                                                         \
    } while (0)

    S3_ADD_HEADER("Host: %s", host.data);
    if (range[0])
        S3_ADD_HEADER("Range: %s", range);
    if (c->etag)
        S3_ADD_HEADER("If-Match: %s", c->etag);
    S3_ADD_HEADER("Expect:"); /* no 100-continue round trip */
    if (!u->anon) {
        time_t now = time(NULL); /* one clock read: X-Amz-Date must equal the signed date */
        char amz_date[17];
        sigv4_amz_date(now, amz_date);
        struct sigv4_header signed_headers[5];
        size_t count = 0;
        signed_headers[count++] = (struct sigv4_header){"host", 4, host.data, host.len};
        if (range[0])
            signed_headers[count++] = (struct sigv4_header){"range", 5, range, strlen(range)};
        signed_headers[count++] =
            (struct sigv4_header){"x-amz-content-sha256", 20, SIGV4_EMPTY_SHA256, 64};
        signed_headers[count++] = (struct sigv4_header){"x-amz-date", 10, amz_date, 16};
        if (u->session_token)
            signed_headers[count++] = (struct sigv4_header){
                "x-amz-security-token", 20, u->session_token, strlen(u->session_token)};
        struct sigv4_request req = {
            .method = c->kind == S3_HEAD_OBJECT || c->kind == S3_HEAD_BUCKET ? "HEAD" : "GET",
            .path = path.data,
            .path_len = path.len,
            .query = c->query,
            .query_len = c->query ? strlen(c->query) : 0,
            .headers = signed_headers,
            .header_count = count,
            .payload_hash = SIGV4_EMPTY_SHA256,
        };
        struct sigv4_credentials cred = {u->access_key, u->secret_key, u->session_token};
        struct sigv4_signed out;
        if (sigv4_sign(&req, &cred, u->region, "s3", now, &out))
            goto fail_line;
        S3_ADD_HEADER("x-amz-date: %s", amz_date);
        S3_ADD_HEADER("x-amz-content-sha256: %s", SIGV4_EMPTY_SHA256);
        if (u->session_token)
            S3_ADD_HEADER("x-amz-security-token: %s", u->session_token);
        S3_ADD_HEADER("Authorization: %s", out.authorization);
    }
#undef S3_ADD_HEADER
    buf_free(&line);

    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, url.data);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L); /* S3 keys may hold "//", "/./", "/../" */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, s3_header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s3_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)u->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)u->request_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    if (c->kind == S3_HEAD_OBJECT || c->kind == S3_HEAD_BUCKET)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    result = 0;
    goto done;

fail_line:
    buf_free(&line);
fail:
done:
    buf_free(&path);
    buf_free(&host);
    buf_free(&url);
    return result;
}

/* --- completion ----------------------------------------------------------------------------- */

static void s3_call_start(struct s3_call *c);

static bool s3_retryable(CURLcode rc, long status)
{
    switch (rc) {
    case CURLE_OK:
        return status == 500 || status == 502 || status == 503 || status == 504;
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_COULDNT_RESOLVE_HOST:
        return true;
    default:
        return false;
    }
}

static enum ufs_status s3_status_of(struct s3_call *c, CURLcode rc)
{
    if (rc != CURLE_OK) {
        if (c->overflow)
            return UFS_ERROR;
        return UFS_UNAVAILABLE;
    }
    long s = c->status;
    if (s >= 200 && s < 300)
        return UFS_OK;
    if (s == 404) {
        if (c->kind == S3_HEAD_BUCKET || c->kind == S3_LIST_BUCKETS || c->kind == S3_LOCATION ||
            c->kind == S3_LIST_OBJECTS)
            return UFS_NO_SUCH_BUCKET;
        if (c->body.len && strstr(c->body.data, "<Code>NoSuchBucket</Code>"))
            return UFS_NO_SUCH_BUCKET;
        return UFS_NO_SUCH_KEY;
    }
    if (s == 412)
        return UFS_CHANGED;
    if (s == 403)
        return UFS_ACCESS_DENIED;
    if (s == 400 || s == 416)
        return UFS_INVALID_ARGUMENT;
    if (s == 503)
        return UFS_SLOW_DOWN;
    if (s >= 500)
        return UFS_UNAVAILABLE;
    return UFS_ERROR;
}

/* Parse the UFS's ListBucketResult and write it again as S3 would answer the client. */
static enum ufs_status s3_rewrite_list(struct s3_call *c)
{
    struct s3_list_result parsed;
    int rc = s3_list_parse(c->body.data ? c->body.data : "", c->body.len, &parsed);
    if (rc) {
        log_warn("ufs s3: list of %s: cannot read the UFS's reply (%s)", c->bucket, strerror(-rc));
        return UFS_ERROR;
    }
    struct buf out;
    buf_init(&out, S3_BODY_MAX);
    struct list_xml_page page = {.bucket = c->bucket,
                                 .params = &c->list,
                                 .entries = parsed.entries,
                                 .count = parsed.count,
                                 .truncated = parsed.truncated,
                                 .next_token = parsed.next_token,
                                 .next_marker = parsed.next_marker};
    rc = list_xml_render(&out, &page);
    s3_list_result_free(&parsed);
    if (rc) {
        buf_free(&out);
        return UFS_ERROR;
    }
    buf_free(&c->body);
    c->body = out;
    return UFS_OK;
}

static void s3_finish_reply(struct s3_call *c, enum ufs_status st)
{
    if (st == UFS_OK && c->kind == S3_LIST_OBJECTS)
        st = s3_rewrite_list(c);
    struct ufs_reply *r = calloc(1, sizeof(*r));
    if (r) {
        r->status = st;
        r->http_status = st == UFS_UNAVAILABLE && c->status == 0 ? 503 : (int)c->status;
        r->body = c->body;
        buf_init(&c->body, S3_BODY_MAX);
        r->bucket_region = c->bucket_region;
        c->bucket_region = NULL;
    }
    c->cb.reply(c->arg, r);
}

static void s3_finish(struct s3_call *c, enum ufs_status st)
{
    switch (c->kind) {
    case S3_HEAD_OBJECT: {
        struct meta *m = NULL;
        if (st == UFS_OK) {
            if (!c->meta || !c->meta->etag) {
                log_warn("ufs s3: HEAD %s/%.*s: reply without ETag", c->bucket,
                         (int)(c->key_len > 200 ? 200 : c->key_len), c->key);
                st = UFS_ERROR;
            } else {
                m = c->meta;
                c->meta = NULL;
            }
        }
        c->cb.meta(c->arg, st, m);
        break;
    }
    case S3_READ_PAGE: {
        struct page *p = NULL;
        if (st == UFS_OK) {
            p = c->page;
            c->page = NULL;
        }
        c->cb.page(c->arg, st, p);
        break;
    }
    default:
        s3_finish_reply(c, st);
        break;
    }
    s3_call_free(c);
}

static void s3_retry_fire(struct loop_timer *t)
{
    struct s3_call *c = (struct s3_call *)((char *)t - offsetof(struct s3_call, retry_timer));
    s3_call_start(c);
}

/* Check a page reply as strictly as a client request: status, Content-Range, length. */
static enum ufs_status s3_check_page(struct s3_call *c)
{
    uint64_t last = c->offset + c->len - 1;
    if (c->status == 206) {
        if (!c->have_content_range || c->range_first != c->offset || c->range_last != last)
            return UFS_ERROR;
    } else if (c->status != 200 || c->offset != 0) {
        return UFS_ERROR;
    }
    if (c->filled != c->len)
        return UFS_ERROR;
    return UFS_OK;
}

static void s3_done(CURL *easy, CURLcode rc, void *arg)
{
    struct s3_call *c = arg;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &c->status);
    if (s3_retryable(rc, c->status) && c->attempt < c->u->retries) {
        c->attempt++;
        uint64_t cap = S3_BACKOFF_BASE_MS << (c->attempt < 6 ? c->attempt : 6);
        if (cap > S3_BACKOFF_MAX_MS)
            cap = S3_BACKOFF_MAX_MS;
        uint32_t r = 0;
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
            r = (uint32_t)loop_now_ms(c->loop);
        log_debug("ufs s3: retry %u after %s / HTTP %ld", c->attempt, curl_easy_strerror(rc),
                  c->status);
        loop_timer_arm(c->loop, &c->retry_timer, r % (cap + 1));
        return;
    }
    enum ufs_status st = s3_status_of(c, rc);
    if (rc != CURLE_OK && !c->overflow)
        log_warn("ufs s3: %s/%.*s: %s", c->bucket ? c->bucket : "",
                 (int)(c->key_len > 200 ? 200 : c->key_len), c->key ? c->key : "",
                 curl_easy_strerror(rc));
    if (st == UFS_OK && c->kind == S3_READ_PAGE)
        st = s3_check_page(c);
    if (st == UFS_NO_SUCH_KEY && c->kind == S3_HEAD_OBJECT && !c->bucket_probe) {
        /* HEAD errors carry no body: ask whether the bucket exists to tell NoSuchKey from
         * NoSuchBucket, as a GET's error body would. */
        c->bucket_probe = true;
        c->attempt = 0;
        free(c->key);
        c->key = NULL;
        c->key_len = 0;
        s3_call_start(c);
        return;
    }
    if (c->bucket_probe) {
        if (st == UFS_OK || (rc == CURLE_OK && c->status != 404))
            st = UFS_NO_SUCH_KEY;
        else if (rc == CURLE_OK)
            st = UFS_NO_SUCH_BUCKET;
    }
    s3_finish(c, st);
}

static void s3_call_start(struct s3_call *c)
{
    s3_call_reset_response(c);
    if (s3_call_prepare(c) != 0) {
        s3_finish(c, UFS_ERROR);
        return;
    }
    if (http_client_start(http_client_of(c->loop), c->easy, s3_done, c) != 0)
        s3_finish(c, UFS_ERROR);
}

/* Callbacks never run inside the call that started them. */
static void s3_call_start_deferred(void *arg)
{
    s3_call_start(arg);
}

static struct s3_call *s3_call_new(struct ufs *u, struct loop *l, enum s3_call_kind kind,
                                   const char *bucket, const char *key, size_t key_len)
{
    struct s3_call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->u = (struct ufs_s3 *)u;
    c->loop = l;
    c->kind = kind;
    buf_init(&c->body, S3_BODY_MAX);
    loop_timer_init(&c->retry_timer, s3_retry_fire);
    if (bucket && !(c->bucket = strdup(bucket)))
        goto fail;
    if (key) {
        c->key = malloc(key_len + 1);
        if (!c->key)
            goto fail;
        memcpy(c->key, key, key_len);
        c->key[key_len] = '\0';
        c->key_len = key_len;
    }
    return c;
fail:
    s3_call_free(c);
    return NULL;
}

/* --- the ops --------------------------------------------------------------------------------- */

static void s3_head_object(struct ufs *u, struct loop *l, const char *bucket, const char *key,
                           size_t key_len, ufs_meta_cb cb, void *arg)
{
    struct s3_call *c = s3_call_new(u, l, S3_HEAD_OBJECT, bucket, key, key_len);
    if (!c) {
        ufs_fail_later(l, cb, NULL, NULL, arg);
        return;
    }
    c->cb.meta = cb;
    c->arg = arg;
    loop_defer(l, s3_call_start_deferred, c);
}

static void s3_read_page(struct ufs *u, struct loop *l, const char *bucket, const char *key,
                         size_t key_len, const char *etag, uint64_t offset, uint32_t len,
                         ufs_page_cb cb, void *arg)
{
    struct s3_call *c = s3_call_new(u, l, S3_READ_PAGE, bucket, key, key_len);
    if (c) {
        c->page = page_alloc(len);
        c->etag = strdup(etag);
    }
    if (!c || !c->page || !c->etag || len == 0) {
        if (c)
            s3_call_free(c);
        ufs_fail_later(l, NULL, cb, NULL, arg);
        return;
    }
    c->offset = offset;
    c->len = len;
    c->cb.page = cb;
    c->arg = arg;
    loop_defer(l, s3_call_start_deferred, c);
}

static void s3_reply_call(struct ufs *u, struct loop *l, enum s3_call_kind kind, const char *bucket,
                          const char *query, ufs_reply_cb cb, void *arg)
{
    struct s3_call *c = s3_call_new(u, l, kind, bucket, NULL, 0);
    if (c && query && !(c->query = strdup(query))) {
        s3_call_free(c);
        c = NULL;
    }
    if (!c) {
        ufs_fail_later(l, NULL, NULL, cb, arg);
        return;
    }
    c->cb.reply = cb;
    c->arg = arg;
    loop_defer(l, s3_call_start_deferred, c);
}

static void s3_list_objects(struct ufs *u, struct loop *l, const char *bucket,
                            const char *raw_query, const struct ufs_list_params *params,
                            ufs_reply_cb cb, void *arg)
{
    (void)raw_query; /* the upstream query is rebuilt from params: see s3_list_query */
    struct buf q;
    buf_init(&q, S3_URL_MAX);
    struct s3_call *c = s3_call_new(u, l, S3_LIST_OBJECTS, bucket, NULL, 0);
    if (!c || s3_list_query(params, &q) || s3_list_params_copy(&c->list, params) ||
        !(c->query = buf_take(&q, NULL))) {
        buf_free(&q);
        if (c)
            s3_call_free(c);
        ufs_fail_later(l, NULL, NULL, cb, arg);
        return;
    }
    c->cb.reply = cb;
    c->arg = arg;
    loop_defer(l, s3_call_start_deferred, c);
}

static void s3_list_buckets(struct ufs *u, struct loop *l, ufs_reply_cb cb, void *arg)
{
    s3_reply_call(u, l, S3_LIST_BUCKETS, NULL, NULL, cb, arg);
}

static void s3_head_bucket(struct ufs *u, struct loop *l, const char *bucket, ufs_reply_cb cb,
                           void *arg)
{
    s3_reply_call(u, l, S3_HEAD_BUCKET, bucket, NULL, cb, arg);
}

static void s3_bucket_location(struct ufs *u, struct loop *l, const char *bucket, ufs_reply_cb cb,
                               void *arg)
{
    s3_reply_call(u, l, S3_LOCATION, bucket, "location", cb, arg);
}

static void s3_destroy(struct ufs *base)
{
    struct ufs_s3 *u = (struct ufs_s3 *)base;
    free(u->scheme_host);
    free(u->scheme);
    free(u->host);
    free(u->region);
    free(u->access_key);
    if (u->secret_key) {
        /* Do not leave the secret in freed memory. */
        volatile char *p = u->secret_key;
        while (*p)
            *p++ = 0;
    }
    free(u->secret_key);
    free(u->session_token);
    free(u);
}

static const struct ufs_ops s3_ops = {
    .head_object = s3_head_object,
    .read_page = s3_read_page,
    .list_objects = s3_list_objects,
    .list_buckets = s3_list_buckets,
    .head_bucket = s3_head_bucket,
    .bucket_location = s3_bucket_location,
    .destroy = s3_destroy,
};

struct ufs *ufs_s3_create(const struct ufs_s3_config *cfg)
{
    struct ufs_s3 *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->base.ops = &s3_ops;
    u->base.scheme = "s3";
    const char *region = cfg->region ? cfg->region : "us-east-1";
    char aws[256];
    const char *endpoint = cfg->endpoint_url;
    if (!endpoint) {
        snprintf(aws, sizeof(aws), "https://s3.%s.amazonaws.com", region);
        endpoint = aws;
    }
    CURLU *url = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    if (!url || curl_url_set(url, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
        curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(url, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        log_error("target_options.endpoint_url: cannot parse '%s'", endpoint);
        goto fail;
    }
    curl_url_get(url, CURLUPART_PORT, &port, 0);
    u->scheme = strdup(scheme);
    size_t hl = strlen(host) + (port ? strlen(port) + 1 : 0) + 1;
    u->host = malloc(hl);
    if (u->host)
        snprintf(u->host, hl, "%s%s%s", host, port ? ":" : "", port ? port : "");
    u->region = strdup(region);
    u->anon = cfg->anon || !cfg->access_key || !cfg->secret_key;
    if (!u->anon) {
        u->access_key = strdup(cfg->access_key);
        u->secret_key = strdup(cfg->secret_key);
        if (cfg->session_token && cfg->session_token[0])
            u->session_token = strdup(cfg->session_token);
    }
    u->virtual_host = cfg->virtual_host;
    u->connect_timeout_ms = cfg->connect_timeout_ms;
    u->request_timeout_ms = cfg->request_timeout_ms;
    u->retries = cfg->retries;
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(url);
    if (!u->scheme || !u->host || !u->region || (!u->anon && (!u->access_key || !u->secret_key)))
        goto fail_free;
    return &u->base;
fail:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(url);
fail_free:
    s3_destroy(&u->base);
    return NULL;
}
