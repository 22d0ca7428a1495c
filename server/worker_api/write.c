/*
 * write: E4, a page handed over by a client (POST /v1/file/{id}/page/{i}?ufsFullPath=P, the
 * body the page's bytes), kept in this worker's store.
 *
 * Off unless worker_page_writes is set: the worker API has no authentication (alluxiofs sends
 * none), so with writes on, anyone who reaches the port decides what bytes the S3 clients of
 * the whole cluster get for that page. Even when on, a page is accepted only at exactly the
 * length the object's current metadata gives it, and it is keyed by the current ETag, so an
 * overwritten object never serves it.
 */
#include "internal.h"

#include "../../core/pages.h"
#include "../../core/ring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct worker_api_write {
    char *bucket; /* NUL-terminated copy of r->up.bucket */
};

static void worker_api_write_free(struct worker_api_request *r)
{
    struct worker_api_write *wr = r->op;
    if (!wr)
        return;
    free(wr->bucket);
    free(wr);
    r->op = NULL;
}

static void worker_api_write_have_meta(struct worker_api_request *r, struct meta *m)
{
    struct worker_api *w = r->w;
    struct worker_api_write *wr = r->op;
    struct http_exchange *x = r->x;
    uint64_t index = r->t.page_index;
    uint64_t pages = pages_count(m->size, w->page_size);
    if (index >= pages) {
        worker_api_respond_message(r, 400, "page index past the end of the file");
        return;
    }
    uint64_t want = pages_length(m->size, w->page_size, index);
    if (x->body_len != want) {
        char msg[160];
        snprintf(msg, sizeof(msg), "page %llu of this file has %llu bytes; the body has %zu",
                 (unsigned long long)index, (unsigned long long)want, x->body_len);
        worker_api_respond_message(r, 400, msg);
        return;
    }
    struct page *page = page_alloc((uint32_t)want);
    if (!page) {
        worker_api_respond_message(r, 500, "out of memory");
        return;
    }
    memcpy(page->data, x->body, want);
    struct route_object o = {
        .bucket = wr->bucket,
        .key = r->up.key,
        .key_len = r->up.key_len,
        .path = r->t.ufs_path,
        .path_len = r->t.ufs_path_len,
        .size = m->size,
        .etag = m->etag ? m->etag : "",
        .local_only = true,
    };
    route_store_page(w->route, r->loop, &o, index, page);
    page_unref(page);
    worker_api_remember_path(w, r->t.ufs_path, r->t.ufs_path_len);
    char body[RING_PATH_ID_HEX_BYTES + 32];
    int n = snprintf(body, sizeof(body), "{\"path_id\":\"%s\"}", r->t.path_id);
    worker_api_respond(r, 200, WORKER_API_CONTENT_TYPE_JSON, body, (size_t)n);
}

static void worker_api_write_meta_cb(void *arg, enum ufs_status st, struct meta *m)
{
    struct worker_api_request *r = arg;
    r->pending--;
    if (r->x && st == UFS_OK && m)
        worker_api_write_have_meta(r, m);
    else if (r->x)
        worker_api_respond_ufs_error(r, st == UFS_OK ? UFS_ERROR : st, "the file");
    meta_unref(m);
    worker_api_request_release_if_done(r);
}

void worker_api_write_page(struct worker_api_request *r)
{
    struct worker_api *w = r->w;
    struct http_exchange *x = r->x;
    if (!w->accept_page_writes) {
        worker_api_respond_message(r, 403,
                                   "page writes are off on this worker (worker_page_writes); "
                                   "write to the UFS");
        return;
    }
    if (!x->body) {
        worker_api_respond_message(r, x->body_dropped ? 413 : 400,
                                   x->body_dropped ? "the body is larger than a page"
                                                   : "a page write needs the page as its body");
        return;
    }
    if (!r->t.ufs_path) {
        worker_api_respond_message(r, 400, "a page write needs ufsFullPath");
        return;
    }
    if (!worker_api_request_ufs_path(r))
        return;
    if (r->up.key_len == 0) {
        worker_api_respond_message(r, 404, "not a file: the path names a bucket");
        return;
    }
    struct worker_api_write *wr = calloc(1, sizeof(*wr));
    if (wr)
        wr->bucket = strndup(r->up.bucket, r->up.bucket_len);
    if (!wr || !wr->bucket) {
        free(wr);
        worker_api_respond_message(r, 500, "out of memory");
        return;
    }
    r->op = wr;
    r->op_free = worker_api_write_free;
    r->pending++;
    struct meta *m = route_read_meta(w->route, r->loop, wr->bucket, r->up.key, r->up.key_len,
                                     r->t.ufs_path, r->t.ufs_path_len, worker_api_write_meta_cb, r);
    if (m) {
        r->pending--;
        worker_api_write_have_meta(r, m);
        meta_unref(m);
    }
}
