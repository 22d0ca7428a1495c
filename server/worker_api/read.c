/*
 * read: the data endpoints of the worker role: a page or part of one (E3, E3b, E3c), a byte
 * range (E5) and a whole file (E6).
 *
 * Each is a byte range of the object: metadata first (core/route: the metadata cache or one
 * shared UFS HEAD), then its pages through route_read_page with local_only set (the page
 * stores, else the UFS: a worker never asks another worker), at most window pages in flight or
 * waiting, counting the bytes still queued on the socket, so memory per request is bounded by
 * the window and a slow client slows only its own fetching (on_progress resumes it). Pages go
 * out by reference, in order, as they arrive.
 *
 * The status line goes out with the first page, so a page that cannot be had before that gets
 * a proper error status (alluxiofs then falls back to the UFS). A page failing after the head
 * was sent closes the connection (http_respond_abort): the client sees fewer bytes than
 * Content-Length and an error, never a short 200 that v1.0.3 would take for end of file.
 *
 * Page reads and the page size (section 3.5): a client whose page size differs from ours asks
 * for page i meaning other bytes than ours, and nothing in the request says so, except when
 * the bytes asked for reach past our page size (offset > P, or offset + length > P). Then we
 * answer 400, which fails the first page of the client's read, so it falls back to the UFS
 * instead of reading wrong bytes. Otherwise: offset/length are clipped to the page's real
 * length, a page at or past the end of the file is 200 with an empty body, and a body shorter
 * than asked for tells the client the file ended.
 */
#include "internal.h"

#include "../../core/log.h"
#include "../../core/pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKER_API_DATA_HEADERS "Content-Type: application/octet-stream\r\n"

enum worker_api_slot_state {
    WORKER_API_SLOT_EMPTY,    /* not asked for */
    WORKER_API_SLOT_FETCHING, /* asked of route, callback to come */
    WORKER_API_SLOT_READY,    /* page held, waiting for earlier pages to go out */
    WORKER_API_SLOT_FAILED,   /* the fetch failed with status */
};

struct worker_api_slot {
    enum worker_api_slot_state state;
    enum ufs_status status;
    struct page *page;
};

struct worker_api_read {
    char *bucket; /* NUL-terminated copy of r->up.bucket */
    struct meta *meta;
    uint64_t first, last; /* bytes to send, inclusive */
    uint64_t body_len;
    uint64_t send_page;  /* next page to queue on the socket */
    uint64_t fetch_page; /* next page to ask for */
    uint64_t end_page;   /* last page of the range */
    bool head_sent;
    struct worker_api_slot slots[WORKER_API_WINDOW_MAX];
};

static void worker_api_read_free(struct worker_api_request *r)
{
    struct worker_api_read *g = r->op;
    if (!g)
        return;
    for (unsigned i = 0; i < WORKER_API_WINDOW_MAX; i++)
        page_unref(g->slots[i].page);
    meta_unref(g->meta);
    free(g->bucket);
    free(g);
    r->op = NULL;
}

static struct route_object worker_api_read_object(struct worker_api_request *r)
{
    struct worker_api_read *g = r->op;
    struct route_object o = {
        .bucket = g->bucket,
        .key = r->up.key,
        .key_len = r->up.key_len,
        .path = r->t.ufs_path,
        .path_len = r->t.ufs_path_len,
        .size = g->meta->size,
        .etag = g->meta->etag ? g->meta->etag : "",
        .local_only = true,
    };
    return o;
}

/* The exchange is finished (its body queued completely, or it failed): r is no longer ours to
 * answer with; it goes once no callback is to come. */
static void worker_api_read_finish(struct worker_api_request *r)
{
    r->x = NULL;
    worker_api_request_release_if_done(r);
}

/* A page failed: an error status when nothing was sent yet, else cut the response short. */
static void worker_api_read_fail(struct worker_api_request *r, enum ufs_status st)
{
    struct worker_api_read *g = r->op;
    if (st == UFS_CHANGED || st == UFS_NO_SUCH_KEY)
        worker_api_forget_object(r->w, r->t.ufs_path, r->t.ufs_path_len);
    if (!g->head_sent) {
        worker_api_respond_ufs_error(r, st, "the file");
        return;
    }
    char path[96];
    log_warn("worker api: a page of %s failed mid-response (%s): closing the connection",
             log_escape(r->t.ufs_path, r->t.ufs_path_len, path, sizeof(path)), ufs_status_name(st));
    struct http_exchange *x = r->x;
    r->x = NULL;
    http_respond_abort(x);
    worker_api_request_release_if_done(r);
}

/*
 * Queue the pages that are ready, in order. false when the exchange is over (finished, failed
 * or closed: r may be gone), true when waiting for a page or for the window. Each
 * http_respond_* call runs with on_abort detached: a failing call closes the connection and
 * would report it from inside the call, and its return code tells us the same.
 */
static bool worker_api_read_send_ready(struct worker_api_request *r)
{
    struct worker_api_read *g = r->op;
    uint64_t p = r->w->page_size;
    while (g->send_page < g->fetch_page) {
        struct worker_api_slot *slot = &g->slots[g->send_page % r->w->window];
        if (slot->state == WORKER_API_SLOT_FETCHING)
            return true;
        if (slot->state == WORKER_API_SLOT_FAILED) {
            worker_api_read_fail(r, slot->status);
            return false;
        }
        struct http_exchange *x = r->x;
        x->on_abort = NULL;
        if (!g->head_sent) {
            g->head_sent = true;
            struct buf h;
            buf_init(&h, 256);
            int rc = buf_append_str(&h, WORKER_API_SERVER_HEADER WORKER_API_DATA_HEADERS);
            if (rc)
                http_respond_abort(x);
            else
                rc = http_respond_head(x, 200, &h, g->body_len);
            buf_free(&h);
            if (rc) {
                worker_api_read_finish(r);
                return false;
            }
        }
        uint64_t page_start = g->send_page * p;
        uint64_t from = g->first > page_start ? g->first - page_start : 0;
        uint64_t to = g->last - page_start < slot->page->len ? g->last - page_start
                                                             : (uint64_t)slot->page->len - 1;
        struct page *page = slot->page;
        slot->page = NULL;
        slot->state = WORKER_API_SLOT_EMPTY;
        bool last = g->send_page == g->end_page;
        g->send_page++;
        int rc = http_respond_page(x, page, (uint32_t)from, (uint32_t)(to - from + 1));
        page_unref(page);
        if (rc != 0 || last) {
            /* Complete (x may already serve the connection's next request), or closed. */
            worker_api_read_finish(r);
            return false;
        }
        x->on_abort = worker_api_on_abort;
    }
    return true;
}

static void worker_api_read_pump(struct worker_api_request *r);

static void worker_api_read_page_cb(void *arg, uint64_t index, enum ufs_status st,
                                    struct page *page)
{
    struct worker_api_request *r = arg;
    if (!worker_api_request_resume(r)) {
        page_unref(page);
        return;
    }
    struct worker_api_read *g = r->op;
    struct worker_api_slot *slot = &g->slots[index % r->w->window];
    if (st == UFS_OK && page) {
        slot->state = WORKER_API_SLOT_READY;
        slot->page = page;
    } else {
        page_unref(page);
        slot->state = WORKER_API_SLOT_FAILED;
        slot->status = st == UFS_OK ? UFS_ERROR : st;
    }
    worker_api_read_pump(r);
}

static void worker_api_read_pump(struct worker_api_request *r)
{
    if (!r->x)
        return;
    struct worker_api_read *g = r->op;
    struct worker_api *w = r->w;
    struct route_object o = worker_api_read_object(r);
    for (;;) {
        if (!worker_api_read_send_ready(r))
            return;
        /* Window: pages asked for and not yet queued, plus what still sits on the socket. */
        uint64_t queued = http_queued_bytes(r->x);
        uint64_t busy = (g->fetch_page - g->send_page) + (queued + w->page_size - 1) / w->page_size;
        if (g->fetch_page > g->end_page || busy >= w->window)
            return;
        uint64_t index = g->fetch_page++;
        struct worker_api_slot *slot = &g->slots[index % w->window];
        r->pending++;
        struct page *page =
            route_read_page(w->route, r->loop, &o, index, worker_api_read_page_cb, r);
        if (page) {
            r->pending--;
            slot->state = WORKER_API_SLOT_READY;
            slot->page = page;
        } else {
            slot->state = WORKER_API_SLOT_FETCHING;
        }
    }
}

static void worker_api_read_on_progress(struct http_exchange *x)
{
    worker_api_read_pump(x->handler_ctx);
}

/* [*first, *end) of the object that the request asks for; empty when *end == *first. */
static void worker_api_read_range(const struct worker_api_request *r, uint64_t size,
                                  uint64_t *first, uint64_t *end)
{
    const struct worker_api_target *t = &r->t;
    uint64_t p = r->w->page_size;
    *first = *end = 0;
    if (t->ep == WORKER_API_EP_PAGE) {
        uint64_t i = t->page_index;
        if (i > (UINT64_MAX - p) / p)
            return; /* past any file */
        uint64_t plen = pages_length(size, p, i);
        uint64_t off = t->has_offset ? t->offset : 0;
        if (off >= plen)
            return;
        /* off + length <= p was checked before: no overflow. */
        uint64_t stop = t->has_length && t->length >= 0 && off + (uint64_t)t->length < plen
                            ? off + (uint64_t)t->length
                            : plen;
        *first = i * p + off;
        *end = i * p + stop;
        return;
    }
    uint64_t off = t->ep == WORKER_API_EP_RANGE && t->has_offset ? t->offset : 0;
    if (off >= size)
        return;
    uint64_t len = t->ep == WORKER_API_EP_RANGE && t->has_length && t->length >= 0
                       ? (uint64_t)t->length
                       : UINT64_MAX;
    *first = off;
    *end = size - off <= len ? size : off + len;
}

static void worker_api_read_have_meta(struct worker_api_request *r)
{
    struct worker_api_read *g = r->op;
    struct worker_api *w = r->w;
    worker_api_remember_path(w, r->t.ufs_path, r->t.ufs_path_len);
    uint64_t first, end;
    worker_api_read_range(r, g->meta->size, &first, &end);
    g->body_len = end - first;
    if (g->body_len == 0 || r->x->is_head_method) {
        g->head_sent = true;
        worker_api_respond(r, 200, WORKER_API_DATA_HEADERS, NULL, g->body_len);
        return;
    }
    g->first = first;
    g->last = end - 1;
    g->send_page = g->fetch_page = pages_index(g->first, w->page_size);
    g->end_page = pages_index(g->last, w->page_size);
    r->x->on_progress = worker_api_read_on_progress;
    worker_api_read_pump(r);
}

static void worker_api_read_meta_cb(void *arg, enum ufs_status st, struct meta *m)
{
    struct worker_api_request *r = arg;
    if (!worker_api_request_resume(r)) {
        meta_unref(m);
        return;
    }
    if (st != UFS_OK || !m) {
        meta_unref(m);
        worker_api_respond_ufs_error(r, st == UFS_OK ? UFS_ERROR : st, "the file");
        return;
    }
    struct worker_api_read *g = r->op;
    g->meta = m;
    worker_api_read_have_meta(r);
}

void worker_api_read(struct worker_api_request *r)
{
    struct worker_api *w = r->w;
    struct worker_api_target *t = &r->t;
    if (!t->ufs_path) {
        /* E3c (or a range/chunk read without ufsFullPath): only a path heard of before. */
        t->ufs_path = worker_api_path_ids_get(w->ids, t->path_id, &t->ufs_path_len);
        if (!t->ufs_path) {
            worker_api_respond_message(r, 404,
                                       "unknown path id: this worker has not seen its file; send "
                                       "ufsFullPath");
            return;
        }
    }
    if (!worker_api_request_ufs_path(r))
        return;
    if (r->up.key_len == 0) {
        worker_api_respond_message(r, 404, "not a file: the path names a bucket");
        return;
    }
    if (t->ep == WORKER_API_EP_PAGE) {
        uint64_t p = w->page_size;
        uint64_t off = t->has_offset ? t->offset : 0;
        if (off > p || (t->has_length && t->length > 0 && (uint64_t)t->length > p - off)) {
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "offset and length reach past this worker's page size (%llu bytes): the "
                     "client's page_size differs",
                     (unsigned long long)p);
            worker_api_respond_message(r, 400, msg);
            return;
        }
    }
    struct worker_api_read *g = calloc(1, sizeof(*g));
    if (g)
        g->bucket = strndup(r->up.bucket, r->up.bucket_len);
    if (!g || !g->bucket) {
        free(g);
        worker_api_respond_message(r, 500, "out of memory");
        return;
    }
    r->op = g;
    r->op_free = worker_api_read_free;
    /* Counted before the call: route_read_meta answers at once (uncounted then) or later. */
    r->pending++;
    g->meta = route_read_meta(w->route, r->loop, g->bucket, r->up.key, r->up.key_len, t->ufs_path,
                              t->ufs_path_len, worker_api_read_meta_cb, r);
    if (g->meta) {
        r->pending--;
        worker_api_read_have_meta(r);
    }
}
