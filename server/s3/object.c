/*
 * object: GetObject and HeadObject through the page cache.
 *
 * Metadata (size, ETag, headers) comes from the short-TTL cache or a UFS HEAD; conditional
 * headers and Range are answered from it. The byte range is then cut into pages and each page
 * asked of core/route (page store, else one shared UFS fetch). At most window pages are in
 * flight or waiting per request, counting the bytes still queued on the socket, so memory per
 * request is bounded by the window, never by the range, and a slow client only slows its own
 * fetching (on_progress resumes it). Pages are sent by reference, in order, as they arrive.
 *
 * The status line goes out with the first page: if that page cannot be had, the client gets a
 * proper S3 error. A page that fails later can only cut the response short (the connection is
 * closed; the client sees fewer bytes than Content-Length), never send wrong bytes.
 */
#include "request.h"

#include "../../core/cond.h"
#include "../../core/http_date.h"
#include "../../core/log.h"
#include "../../core/loop.h"
#include "../../core/pages.h"
#include "../../core/range.h"
#include "../../core/xml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S3_WINDOW_MAX           64
#define S3_HEADERS_MAX          (64 * 1024)
#define S3_DEFAULT_CONTENT_TYPE "binary/octet-stream" /* what S3 answers for untyped objects */

enum s3_slot_state {
    SLOT_EMPTY,    /* not asked for */
    SLOT_FETCHING, /* asked of route, callback to come */
    SLOT_READY,    /* page held, waiting for earlier pages */
    SLOT_FAILED,   /* the fetch failed with status */
};

struct s3_slot {
    enum s3_slot_state state;
    enum ufs_status status;
    struct page *page;
};

struct s3_get {
    struct s3_request *r;
    struct meta *meta;
    char *path;
    size_t path_len;
    int status;          /* 200 or 206 */
    uint64_t first;      /* first byte to send */
    uint64_t last;       /* last byte to send (inclusive) */
    uint64_t body_len;   /* 0: no body */
    uint64_t send_page;  /* next page to queue on the socket */
    uint64_t fetch_page; /* next page to ask for */
    uint64_t end_page;   /* last page of the range */
    unsigned window;
    unsigned pending; /* callbacks to come (meta, pages) */
    bool head_sent;
    bool done; /* the exchange is over: nothing more goes to the client */
    struct buf headers;
    struct s3_slot slots[S3_WINDOW_MAX];
};

static void s3_get_free(struct s3_request *r)
{
    struct s3_get *g = r->op;
    if (!g)
        return;
    for (unsigned i = 0; i < S3_WINDOW_MAX; i++)
        page_unref(g->slots[i].page);
    meta_unref(g->meta);
    buf_free(&g->headers);
    free(g->path);
    free(g);
    r->op = NULL;
}

/* The exchange is over; free the request once no callback is to come. */
static void s3_get_finish(struct s3_get *g)
{
    g->done = true;
    g->r->x = NULL;
    g->r->pending = g->pending > 0;
    if (!g->pending)
        s3_request_release(g->r);
}

static void s3_get_callback_returned(struct s3_get *g)
{
    g->pending--;
    g->r->pending = g->pending > 0;
}

static void s3_get_abort(struct s3_request *r)
{
    struct s3_get *g = r->op;
    g->done = true;
    /* r->x is NULL already; the last pending callback releases r. */
}

static const struct http_header *s3_header(const struct s3_request *r, const char *name)
{
    return http_find_header(r->x->head, name);
}

/* A response-* override value must not be able to end the header line. */
static bool s3_header_value_ok(const char *v)
{
    for (; *v; v++)
        if (*v == '\r' || *v == '\n')
            return false;
    return true;
}

/* "Name: value\r\n" from the response-* override if given, else from the object. */
static int s3_add_header(struct buf *h, const struct s3_request *r, const char *name,
                         const char *override_param, const char *value)
{
    const char *v = override_param && r ? s3_query_get(r, override_param) : NULL;
    if (!v)
        v = value;
    if (!v)
        return 0;
    int rc = buf_append_str(h, name);
    if (!rc)
        rc = buf_append(h, ": ", 2);
    if (!rc)
        rc = buf_append_str(h, v);
    if (!rc)
        rc = buf_append(h, "\r\n", 2);
    return rc;
}

/* The headers that depend on the object alone (and on response-* overrides when r is given):
 * Accept-Ranges, Last-Modified, ETag, Content-Type, the content and caching headers, storage
 * class, version, user metadata. */
static int s3_object_part(struct buf *h, const struct meta *m, const struct s3_request *r)
{
    char date[HTTP_DATE_LEN + 1];
    http_date_format(m->last_modified, date);
    int rc = buf_append_str(h, "Accept-Ranges: bytes\r\n");
    if (!rc)
        rc = s3_add_header(h, NULL, "Last-Modified", NULL, date);
    if (!rc)
        rc = s3_add_header(h, NULL, "ETag", NULL, m->etag);
    if (!rc)
        rc = s3_add_header(h, r, "Content-Type", "response-content-type",
                           m->content_type ? m->content_type : S3_DEFAULT_CONTENT_TYPE);
    if (!rc)
        rc = s3_add_header(h, r, "Content-Encoding", "response-content-encoding",
                           m->content_encoding);
    if (!rc)
        rc = s3_add_header(h, r, "Content-Disposition", "response-content-disposition",
                           m->content_disposition);
    if (!rc)
        rc = s3_add_header(h, r, "Content-Language", "response-content-language",
                           m->content_language);
    if (!rc)
        rc = s3_add_header(h, r, "Cache-Control", "response-cache-control", m->cache_control);
    if (!rc)
        rc = s3_add_header(h, r, "Expires", "response-expires", m->expires);
    /* S3 leaves the storage class out for STANDARD objects. */
    if (!rc && m->storage_class && strcmp(m->storage_class, "STANDARD") != 0)
        rc = s3_add_header(h, NULL, "x-amz-storage-class", NULL, m->storage_class);
    if (!rc)
        rc = s3_add_header(h, NULL, "x-amz-version-id", NULL, m->version_id);
    if (!rc && m->extra_headers)
        rc = buf_append_str(h, m->extra_headers);
    return rc;
}

/* Format m's response headers once, while m is still ours alone (route calls this before the
 * cache shares it). Failing is harmless: every request then formats them itself. */
void s3_meta_prepare(struct meta *m)
{
    struct buf h;
    buf_init(&h, S3_HEADERS_MAX);
    if (s3_object_part(&h, m, NULL) == 0)
        m->response_headers = buf_take(&h, &m->response_headers_len);
    buf_free(&h);
}

static bool s3_has_overrides(const struct s3_request *r)
{
    for (size_t i = 0; i < r->param_count; i++)
        if (strncmp(r->params[i].name, "response-", 9) == 0)
            return true;
    return false;
}

static int s3_object_headers(struct s3_get *g)
{
    struct meta *m = g->meta;
    struct buf *h = &g->headers;
    int rc = s3_common_headers(g->r, h);
    if (!rc) {
        if (m->response_headers && !s3_has_overrides(g->r))
            rc = buf_append(h, m->response_headers, m->response_headers_len);
        else
            rc = s3_object_part(h, m, g->r);
    }
    if (!rc && g->status == 206) {
        rc = buf_append(h, "Content-Range: bytes ", 21);
        if (!rc)
            rc = buf_append_u64(h, g->first);
        if (!rc)
            rc = buf_append_char(h, '-');
        if (!rc)
            rc = buf_append_u64(h, g->last);
        if (!rc)
            rc = buf_append_char(h, '/');
        if (!rc)
            rc = buf_append_u64(h, m->size);
        if (!rc)
            rc = buf_append(h, "\r\n", 2);
    }
    return rc;
}

/* --- streaming ------------------------------------------------------------------------------ */

static void s3_get_pump(struct s3_get *g);

static void s3_get_page_cb(void *arg, uint64_t index, enum ufs_status st, struct page *page)
{
    struct s3_get *g = arg;
    s3_get_callback_returned(g);
    if (g->done) {
        page_unref(page);
        if (!g->r->x && !g->pending)
            s3_request_release(g->r);
        return;
    }
    struct s3_slot *slot = &g->slots[index % g->window];
    slot->state = st == UFS_OK ? SLOT_READY : SLOT_FAILED;
    slot->status = st;
    slot->page = page;
    s3_get_pump(g);
}

static void s3_get_on_progress(struct http_exchange *x)
{
    struct s3_request *r = x->handler_ctx;
    s3_get_pump(r->op);
}

/* A page failed: an S3 error if nothing was sent yet, else cut the response short. */
static void s3_get_fail(struct s3_get *g, enum ufs_status st)
{
    if (st == UFS_CHANGED || st == UFS_NO_SUCH_KEY) {
        /* The object was overwritten or deleted under us: forget what we knew of it. */
        meta_cache_invalidate(g->r->server->meta_cache, g->path, g->path_len);
        route_forget_path(g->r->server->route, g->path, g->path_len);
    }
    if (!g->head_sent) {
        g->done = true;
        g->r->pending = g->pending > 0;
        s3_error_for_ufs(g->r, st); /* releases r when nothing is pending */
        return;
    }
    log_warn("GET %s: page failed mid-response (%s): closing the connection", g->r->request_id,
             ufs_status_name(st));
    struct http_exchange *x = g->r->x;
    g->done = true;
    g->r->x = NULL;
    http_respond_abort(x);
    g->r->pending = g->pending > 0;
    if (!g->pending)
        s3_request_release(g->r);
}

static bool s3_get_send_ready(struct s3_get *g)
{
    uint64_t p = g->r->server->page_size;
    while (g->send_page < g->fetch_page) {
        struct s3_slot *slot = &g->slots[g->send_page % g->window];
        if (slot->state == SLOT_FETCHING)
            return true;
        if (slot->state == SLOT_FAILED) {
            s3_get_fail(g, slot->status);
            return false;
        }
        struct http_exchange *x = g->r->x;
        if (!g->head_sent) {
            g->head_sent = true;
            if (http_respond_head(x, g->status, &g->headers, g->body_len) != 0) {
                s3_get_finish(g); /* the server closed the connection */
                return false;
            }
        }
        /* from and to index the page's data, which starts at byte base of the page (a part
         * read from disk holds the blocks around the bytes asked, route_read_page_range). */
        struct page *page = slot->page;
        uint64_t page_start = g->send_page * p + page->base;
        uint64_t from = g->first > page_start ? g->first - page_start : 0;
        uint64_t to = g->last - page_start < page->len ? g->last - page_start : page->len - 1;
        slot->page = NULL;
        slot->state = SLOT_EMPTY;
        bool last = g->send_page == g->end_page;
        g->send_page++;
        int rc = http_respond_page(x, page, (uint32_t)from, (uint32_t)(to - from + 1));
        page_unref(page);
        if (rc != 0 || last) {
            s3_get_finish(g);
            return false;
        }
    }
    return true;
}

static void s3_get_pump(struct s3_get *g)
{
    if (g->done || !g->r->x)
        return;
    struct s3_server *s = g->r->server;
    struct route_object o = {
        .bucket = g->r->bucket,
        .key = g->r->key,
        .key_len = g->r->key_len,
        .path = g->path,
        .path_len = g->path_len,
        .size = g->meta->size,
        .etag = g->meta->etag,
    };
    for (;;) {
        if (!s3_get_send_ready(g))
            return;
        /* Window: pages asked for and not yet queued, plus what still sits on the socket. */
        uint64_t queued = http_queued_bytes(g->r->x);
        uint64_t busy = (g->fetch_page - g->send_page) + (queued + s->page_size - 1) / s->page_size;
        if (g->fetch_page > g->end_page || busy >= g->window)
            return;
        uint64_t index = g->fetch_page++;
        struct s3_slot *slot = &g->slots[index % g->window];
        g->pending++;
        g->r->pending = true;
        /* The bytes of this page the response needs. */
        uint64_t page_start = index * s->page_size;
        uint64_t want_first = g->first > page_start ? g->first - page_start : 0;
        uint64_t want_end =
            g->last + 1 - page_start < s->page_size ? g->last + 1 - page_start : s->page_size;
        struct page *page =
            route_read_page_range(s->route, g->r->x->loop, &o, index, (uint32_t)want_first,
                                  (uint32_t)(want_end - want_first), s3_get_page_cb, g);
        if (page) {
            s3_get_callback_returned(g);
            slot->state = SLOT_READY;
            slot->page = page;
        } else {
            slot->state = SLOT_FETCHING;
        }
    }
}

/* --- answering from the metadata ------------------------------------------------------------ */

static void s3_get_precondition_failed(struct s3_get *g, const struct cond_headers *c)
{
    const char *which = c->if_match ? "If-Match" : "If-Unmodified-Since";
    char extra[64];
    snprintf(extra, sizeof(extra), "<Condition>%s</Condition>", which);
    g->done = true;
    s3_error(g->r, 412, "PreconditionFailed",
             "At least one of the pre-conditions you specified did not hold", extra, NULL);
}

static void s3_get_have_meta(struct s3_get *g)
{
    struct s3_request *r = g->r;
    struct meta *m = g->meta;
    struct cond_headers c;
    memset(&c, 0, sizeof(c));
    const struct http_header *h;
    if ((h = s3_header(r, "if-match")))
        c.if_match = h->value.p, c.if_match_len = h->value.len;
    if ((h = s3_header(r, "if-none-match")))
        c.if_none_match = h->value.p, c.if_none_match_len = h->value.len;
    if ((h = s3_header(r, "if-modified-since")))
        c.if_modified_since = h->value.p, c.if_modified_since_len = h->value.len;
    if ((h = s3_header(r, "if-unmodified-since")))
        c.if_unmodified_since = h->value.p, c.if_unmodified_since_len = h->value.len;
    enum cond_result cr = cond_evaluate(&c, m->etag, m->last_modified);
    if (cr == COND_PRECONDITION_FAILED) {
        s3_get_precondition_failed(g, &c);
        return;
    }

    struct byte_range range = {0, 0};
    const struct http_header *rh = s3_header(r, "range");
    enum range_result rr =
        range_resolve(rh ? rh->value.p : NULL, rh ? rh->value.len : 0, m->size, &range);
    if (cr == COND_NOT_MODIFIED) {
        g->status = 304;
    } else if (rr == RANGE_UNSATISFIABLE) {
        char extra[512], headers[96];
        struct buf esc;
        buf_init(&esc, 300);
        if (xml_append_escaped(&esc, rh->value.p, rh->value.len > 200 ? 200 : rh->value.len))
            buf_reset(&esc);
        snprintf(extra, sizeof(extra),
                 "<RangeRequested>%s</RangeRequested><ActualObjectSize>%llu</ActualObjectSize>",
                 esc.data ? esc.data : "", (unsigned long long)m->size);
        buf_free(&esc);
        snprintf(headers, sizeof(headers), "Content-Range: bytes */%llu\r\n",
                 (unsigned long long)m->size);
        g->done = true;
        s3_error(r, 416, "InvalidRange", "The requested range is not satisfiable", extra, headers);
        return;
    } else if (rr == RANGE_PARTIAL) {
        g->status = 206;
        g->first = range.first;
        g->last = range.last;
        g->body_len = range.last - range.first + 1;
    } else {
        g->status = 200;
        g->first = 0;
        g->last = m->size ? m->size - 1 : 0;
        g->body_len = m->size;
    }

    for (size_t i = 0; i < r->param_count; i++) {
        if (strncmp(r->params[i].name, "response-", 9) == 0 &&
            !s3_header_value_ok(r->params[i].value)) {
            g->done = true;
            s3_error(r, 400, "InvalidArgument", "Header value cannot be represented", NULL, NULL);
            return;
        }
    }
    if (s3_object_headers(g) != 0) {
        g->done = true;
        s3_error(r, 500, "InternalError", "Response headers too large.", NULL, NULL);
        return;
    }
    if (g->status == 304 || r->x->is_head_method || g->body_len == 0) {
        struct http_exchange *x = r->x;
        g->head_sent = true;
        int rc = http_respond_head(x, g->status, &g->headers, g->status == 304 ? 0 : g->body_len);
        (void)rc; /* on failure the server closed the connection */
        s3_get_finish(g);
        return;
    }
    uint64_t p = r->server->page_size;
    g->send_page = g->fetch_page = pages_index(g->first, p);
    g->end_page = pages_index(g->last, p);
    r->x->on_progress = s3_get_on_progress;
    s3_get_pump(g);
}

static void s3_get_meta_cb(void *arg, enum ufs_status st, struct meta *m)
{
    struct s3_get *g = arg;
    s3_get_callback_returned(g);
    struct s3_request *r = g->r;
    if (!r->x) {
        meta_unref(m);
        if (!g->pending)
            s3_request_release(r);
        return;
    }
    if (st != UFS_OK) {
        g->done = true;
        s3_error_for_ufs(r, st);
        return;
    }
    g->meta = m;
    s3_get_have_meta(g);
}

void s3_object_get(struct s3_request *r)
{
    struct s3_server *s = r->server;
    struct s3_get *g = calloc(1, sizeof(*g));
    if (!g) {
        s3_error(r, 500, "InternalError", "Out of memory.", NULL, NULL);
        return;
    }
    g->r = r;
    g->window = s->window_pages < 1               ? 1
                : s->window_pages > S3_WINDOW_MAX ? S3_WINDOW_MAX
                                                  : s->window_pages;
    buf_init(&g->headers, S3_HEADERS_MAX);
    r->op = g;
    r->op_free = s3_get_free;
    r->op_abort = s3_get_abort;

    g->path = ufs_object_path(s->ufs, r->bucket, r->key, r->key_len, &g->path_len);
    if (!g->path) {
        s3_error(r, 500, "InternalError", "Out of memory.", NULL, NULL);
        return;
    }
    /* Counted as pending before the call: route_read_meta either answers at once (then it is
     * uncounted) or calls back later. */
    g->pending++;
    r->pending = true;
    g->meta = route_read_meta(s->route, r->x->loop, r->bucket, r->key, r->key_len, g->path,
                              g->path_len, s3_get_meta_cb, g);
    if (g->meta) {
        s3_get_callback_returned(g);
        s3_get_have_meta(g);
    }
}
