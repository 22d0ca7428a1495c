/*
 * router: which S3 operation a request is, from method, Host, path and query; then the
 * handler for it. Path-style (/bucket/key) and virtual-hosted (bucket.<domain>) addressing.
 * The path is percent-decoded exactly once and never normalized: "a//b", "./x" and a trailing
 * "/" are parts of a key (../shared/S3-BEHAVIOUR.md). Operations this build does not serve get
 * 501 NotImplemented, unknown methods 405; never a redirect.
 */
#include "auth.h"
#include "request.h"

#include "../../core/log.h"
#include "../../core/uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

/* Bucket subresources (?acl, ?policy...) we do not serve yet. */
static const char *const s3_bucket_subresources[] = {
    "accelerate",          "acl",         "analytics",         "cors",    "encryption",
    "intelligent-tiering", "inventory",   "lifecycle",         "logging", "metrics",
    "notification",        "object-lock", "ownershipControls", "policy",  "policyStatus",
    "publicAccessBlock",   "replication", "requestPayment",    "tagging", "uploads",
    "versioning",          "versions",    "website",           "delete",
};

/* Object subresources and parameters that change what GET returns. */
static const char *const s3_object_subresources[] = {
    "acl",      "attributes", "legal-hold", "retention", "tagging",   "torrent",
    "uploadId", "uploads",    "restore",    "select",    "versionId", "partNumber",
};

static bool s3_has_any(const struct s3_request *r, const char *const *names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (s3_query_has(r, names[i]))
            return true;
    return false;
}

static bool s3_method_is(const struct http_exchange *x, const char *m)
{
    size_t n = strlen(m);
    return x->head->method.len == n && memcmp(x->head->method.p, m, n) == 0;
}

static char *s3_decode(const char *s, size_t len, bool plus_as_space, size_t *out_len)
{
    struct buf b;
    buf_init(&b, 64 * 1024);
    if (uri_decode(&b, s, len, plus_as_space) != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b, out_len);
}

/* 0, or -1 when the query does not decode or has too many parameters. */
static int s3_parse_query(struct s3_request *r, const char *q, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && q[end] != '&')
            end++;
        if (end > i) {
            if (r->param_count == S3_QUERY_MAX_PARAMS)
                return -1;
            const char *eq = memchr(q + i, '=', end - i);
            size_t name_len = eq ? (size_t)(eq - (q + i)) : end - i;
            struct s3_query_param *p = &r->params[r->param_count];
            p->name = s3_decode(q + i, name_len, true, NULL);
            p->value = eq ? s3_decode(eq + 1, (size_t)(q + end - eq - 1), true, NULL) : strdup("");
            p->has_value = eq != NULL;
            if (!p->name || !p->value) {
                free(p->name);
                free(p->value);
                return -1;
            }
            r->param_count++;
        }
        i = end + 1;
    }
    return 0;
}

static const struct http_header *s3_host_header(const struct http_exchange *x)
{
    return http_find_header(x->head, "host");
}

/* With a virtual-host domain configured, "bucket.domain[:port]" names the bucket. */
static bool s3_virtual_host_bucket(const struct s3_server *s, const struct http_exchange *x,
                                   char *bucket)
{
    const struct http_header *host = s3_host_header(x);
    if (!s->virtual_host_domain || !host)
        return false;
    size_t len = host->value.len;
    const char *h = host->value.p;
    const char *colon = NULL;
    for (size_t i = len; i > 0; i--) {
        if (h[i - 1] == ':') {
            colon = h + i - 1;
            break;
        }
        if (h[i - 1] == ']')
            break;
    }
    if (colon)
        len = (size_t)(colon - h);
    size_t dlen = strlen(s->virtual_host_domain);
    if (len <= dlen + 1 || h[len - dlen - 1] != '.' ||
        strncasecmp(h + len - dlen, s->virtual_host_domain, dlen) != 0)
        return false;
    size_t blen = len - dlen - 1;
    if (blen > S3_BUCKET_MAX)
        return false;
    memcpy(bucket, h, blen);
    bucket[blen] = '\0';
    return true;
}

static void s3_new_request_id(char out[17], uint64_t serial)
{
    static __thread uint32_t prefix;
    if (!prefix && getrandom(&prefix, sizeof(prefix), GRND_NONBLOCK) != sizeof(prefix))
        prefix = 0x5eed;
    /* Not printf: this runs for every request. */
    static const char hex[] = "0123456789ABCDEF";
    uint64_t id = (uint64_t)prefix << 32 | (uint32_t)serial;
    for (int i = 15; i >= 0; i--, id >>= 4)
        out[i] = hex[id & 15];
    out[16] = '\0';
}

static void s3_on_abort(struct http_exchange *x)
{
    struct s3_request *r = x->handler_ctx;
    r->x = NULL;
    /* A pending callback sees r->x == NULL and releases r itself. */
    if (!r->pending)
        s3_request_release(r);
    else if (r->op_abort)
        r->op_abort(r);
}

static void s3_not_implemented(struct s3_request *r)
{
    s3_error(r, 501, "NotImplemented",
             "A header you provided implies functionality that is not implemented.", NULL, NULL);
}

static void s3_route(struct s3_request *r)
{
    struct http_exchange *x = r->x;
    bool get = s3_method_is(x, "GET"), head = s3_method_is(x, "HEAD");
    bool write = s3_method_is(x, "PUT") || s3_method_is(x, "POST") || s3_method_is(x, "DELETE");
    if (!get && !head && !write) {
        s3_error(r, 405, "MethodNotAllowed",
                 "The specified method is not allowed against this resource.", NULL, NULL);
        return;
    }
    if (write) {
        s3_not_implemented(r);
        return;
    }
    if (!r->bucket[0]) {
        if (get)
            s3_bucket_list_buckets(r);
        else
            s3_error(r, 405, "MethodNotAllowed",
                     "The specified method is not allowed against this resource.", NULL, NULL);
        return;
    }
    if (!r->key) {
        if (head) {
            s3_bucket_head(r);
            return;
        }
        if (s3_query_has(r, "location")) {
            s3_bucket_location(r);
            return;
        }
        if (s3_has_any(r, s3_bucket_subresources,
                       sizeof(s3_bucket_subresources) / sizeof(s3_bucket_subresources[0]))) {
            s3_not_implemented(r);
            return;
        }
        const char *list_type = s3_query_get(r, "list-type");
        if (list_type && strcmp(list_type, "2") != 0) {
            s3_error(r, 400, "InvalidArgument", "Invalid List Type specified", NULL, NULL);
            return;
        }
        s3_bucket_list_objects(r, list_type ? 2 : 1);
        return;
    }
    if (s3_has_any(r, s3_object_subresources,
                   sizeof(s3_object_subresources) / sizeof(s3_object_subresources[0]))) {
        s3_not_implemented(r);
        return;
    }
    s3_object_get(r);
}

void s3_handle(struct http_exchange *x, void *handler_data)
{
    struct s3_server *s = handler_data;
    struct s3_request *r = calloc(1, sizeof(*r));
    if (!r) {
        http_respond_abort(x);
        return;
    }
    r->x = x;
    r->server = s;
    s3_new_request_id(r->request_id, x->serial);
    x->handler_ctx = r;
    x->on_abort = s3_on_abort;

    const struct http_request_head *h = x->head;
    size_t path_len = 0;
    char *path = s3_decode(h->path.p, h->path.len, false, &path_len);
    r->resource = path;
    r->raw_query = strndup(h->query.p ? h->query.p : "", h->query.len);
    if (!path || !r->raw_query || path_len == 0 || path[0] != '/' || memchr(path, '\0', path_len) ||
        s3_parse_query(r, h->query.p ? h->query.p : "", h->query.len) != 0) {
        if (!path) {
            r->resource = NULL;
        }
        s3_error(r, 400, "InvalidURI", "Couldn't parse the specified URI.", NULL, NULL);
        return;
    }

    /* Nobody without a key learns anything, not even whether a bucket exists. */
    if (!s3_auth_check(s->auth, r))
        return;

    const char *rest = path + 1;
    size_t rest_len = path_len - 1;
    if (!s3_virtual_host_bucket(s, x, r->bucket)) {
        const char *slash = memchr(rest, '/', rest_len);
        size_t blen = slash ? (size_t)(slash - rest) : rest_len;
        if (blen > S3_BUCKET_MAX) {
            s3_error(r, 400, "InvalidBucketName", "The specified bucket is not valid.", NULL, NULL);
            return;
        }
        memcpy(r->bucket, rest, blen);
        r->bucket[blen] = '\0';
        rest = slash ? slash + 1 : rest + rest_len;
        rest_len = slash ? path_len - 2 - blen : 0;
    }
    if (rest_len > 0) {
        if (rest_len > S3_KEY_MAX) {
            s3_error(r, 400, "KeyTooLongError", "Your key is too long", NULL, NULL);
            return;
        }
        r->key = strndup(rest, rest_len);
        if (!r->key) {
            s3_error(r, 500, "InternalError", "Out of memory.", NULL, NULL);
            return;
        }
        r->key_len = rest_len;
    }
    s3_route(r);
}
