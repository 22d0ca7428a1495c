/*
 * worker_api: routing of worker REST requests to their endpoint, the answers they share, and
 * E8 (/v1/node). See worker_api.h for the endpoint list.
 *
 * Status codes (section 3.6: alluxiofs only tests for 2xx, and any other status makes it fall
 * back to the UFS): 200 with data; 400 + {"message"} for a malformed request (bad path id, a
 * ufsFullPath that does not hash to it, a path of another scheme); 404 for a missing object or
 * a target outside /v1/; 405 for methods the endpoint does not take; 501 for the endpoints not
 * served here; 500/503 when the UFS fails.
 *
 * Writes: E4 page writes are kept when worker_page_writes is on (write.c says why it is off by
 * default) and answer 403 otherwise; E7 whole-file writes answer 501. alluxiofs writes through
 * these only from its write() paths, which fall back to the UFS on any error (section 5).
 */
#include "internal.h"

#include "../../core/cluster.h"
#include "../../core/log.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct worker_api *worker_api_create(const struct worker_api_config *cfg)
{
    struct worker_api *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->route = cfg->route;
    w->ufs = cfg->ufs;
    w->meta_cache = cfg->meta_cache;
    w->page_size = cfg->page_size ? cfg->page_size : 1;
    w->window = cfg->window_pages < 1                       ? 1
                : cfg->window_pages > WORKER_API_WINDOW_MAX ? WORKER_API_WINDOW_MAX
                                                            : cfg->window_pages;
    w->cluster = cfg->cluster;
    w->self_host = strdup(cfg->self_host ? cfg->self_host : "localhost");
    w->self_port = cfg->self_port;
    w->accept_page_writes = cfg->accept_page_writes;
    w->ids = worker_api_path_ids_create(WORKER_API_PATH_IDS_MAX);
    w->loads = worker_api_loads_create();
    if (!w->self_host || !w->ids || !w->loads) {
        worker_api_destroy(w);
        return NULL;
    }
    return w;
}

void worker_api_stop_jobs(struct worker_api *w)
{
    if (w)
        worker_api_loads_stop_all(w->loads);
}

void worker_api_destroy(struct worker_api *w)
{
    if (!w)
        return;
    worker_api_loads_destroy(w->loads);
    worker_api_path_ids_destroy(w->ids);
    free(w->self_host);
    free(w);
}

/* --- requests and answers ----------------------------------------------------------------- */

void worker_api_request_release_if_done(struct worker_api_request *r)
{
    if (r->x || r->pending)
        return;
    if (r->op_free)
        r->op_free(r);
    worker_api_target_free(&r->t);
    free(r);
}

bool worker_api_request_resume(struct worker_api_request *r)
{
    r->pending--;
    if (r->x)
        return true;
    worker_api_request_release_if_done(r);
    return false;
}

void worker_api_on_abort(struct http_exchange *x)
{
    struct worker_api_request *r = x->handler_ctx;
    r->x = NULL;
    /* A callback still to come sees x == NULL and frees r when it is the last. */
    worker_api_request_release_if_done(r);
}

void worker_api_respond(struct worker_api_request *r, int status, const char *headers,
                        const char *body, size_t len)
{
    struct http_exchange *x = r->x;
    if (!x)
        return;
    r->x = NULL; /* the exchange ends with these calls */
    /* A failing call closes the connection and would report it to on_abort from inside the
     * call; its return code says as much, and r must stay ours until the end of this one. */
    x->on_abort = NULL;
    x->on_progress = NULL;
    struct buf h;
    buf_init(&h, 4096);
    int rc = buf_append_str(&h, WORKER_API_SERVER_HEADER);
    if (!rc && headers)
        rc = buf_append_str(&h, headers);
    if (rc) {
        http_respond_abort(x);
    } else {
        rc = http_respond_head(x, status, &h, len);
        if (!rc && len && !x->is_head_method)
            rc = http_respond_copy(x, body, len);
        (void)rc; /* on failure the server closed the connection */
    }
    buf_free(&h);
    worker_api_request_release_if_done(r);
}

/* Serialize o (consumed) and answer with it. */
static void worker_api_respond_json(struct worker_api_request *r, int status, struct json_object *o)
{
    size_t len = 0;
    const char *s = o ? json_object_to_json_string_length(
                            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len)
                      : NULL;
    if (!s) {
        static const char oom[] = "{\"message\":\"out of memory\"}";
        worker_api_respond(r, 500, WORKER_API_CONTENT_TYPE_JSON, oom, sizeof(oom) - 1);
    } else {
        worker_api_respond(r, status, WORKER_API_CONTENT_TYPE_JSON, s, len);
    }
    json_object_put(o);
}

void worker_api_respond_message(struct worker_api_request *r, int status, const char *msg)
{
    struct json_object *o = json_object_new_object();
    struct json_object *m = json_object_new_string(msg);
    if (o && m && json_object_object_add(o, "message", m) == 0)
        m = NULL;
    json_object_put(m);
    worker_api_respond_json(r, status, o);
}

int worker_api_status_for_ufs(enum ufs_status st)
{
    switch (st) {
    case UFS_NO_SUCH_KEY:
    case UFS_NO_SUCH_BUCKET:
        return 404;
    case UFS_ACCESS_DENIED:
        return 403;
    case UFS_INVALID_ARGUMENT:
        return 400;
    case UFS_SLOW_DOWN:
    case UFS_UNAVAILABLE:
    case UFS_CHANGED:
        return 503;
    case UFS_OK:
    case UFS_ERROR:
        break;
    }
    return 500;
}

void worker_api_respond_ufs_error(struct worker_api_request *r, enum ufs_status st,
                                  const char *what)
{
    char msg[256];
    const char *why = st == UFS_NO_SUCH_KEY      ? "does not exist"
                      : st == UFS_NO_SUCH_BUCKET ? "is in a bucket that does not exist"
                      : st == UFS_CHANGED        ? "changed while it was read; retry"
                                                 : "could not be read from the UFS";
    snprintf(msg, sizeof(msg), "%s %s (%s)", what, why, ufs_status_name(st));
    worker_api_respond_message(r, worker_api_status_for_ufs(st), msg);
}

bool worker_api_request_ufs_path(struct worker_api_request *r)
{
    if (!r->t.ufs_path) {
        worker_api_respond_message(r, 400, "path is required");
        return false;
    }
    if (worker_api_split_ufs_path(r->t.ufs_path, r->t.ufs_path_len, r->w->ufs->scheme, &r->up) !=
        0) {
        char msg[128];
        snprintf(msg, sizeof(msg), "the path must be a full UFS path %s://bucket/key",
                 r->w->ufs->scheme);
        worker_api_respond_message(r, 400, msg);
        return false;
    }
    return true;
}

void worker_api_remember_path(struct worker_api *w, const char *path, size_t len)
{
    char id[RING_PATH_ID_HEX_BYTES + 1];
    if (ring_path_id(path, len, id) == 0)
        worker_api_path_ids_put(w->ids, id, path, len);
}

void worker_api_forget_object(struct worker_api *w, const char *path, size_t path_len)
{
    if (w->meta_cache)
        meta_cache_invalidate(w->meta_cache, path, path_len);
    route_forget_path(w->route, path, path_len);
}

/* --- E8 ----------------------------------------------------------------------------------- */

/* The ring owner of P (whatever its state: alluxiofs asks the owner, and the owner is who it
 * should talk to), or this worker when there is no ring. */
static void worker_api_node(struct worker_api_request *r)
{
    if (!r->t.ufs_path) {
        worker_api_respond_message(r, 400, "path is required");
        return;
    }
    struct cluster_target owner;
    const char *host = r->w->self_host;
    uint16_t port = r->w->self_port;
    if (r->w->cluster && cluster_owner(r->w->cluster, r->t.ufs_path, r->t.ufs_path_len, &owner)) {
        host = owner.host;
        port = owner.port;
    }
    struct json_object *o = json_object_new_object();
    struct json_object *h = json_object_new_string(host);
    struct json_object *p = json_object_new_int(port);
    if (o && h && json_object_object_add(o, "Host", h) == 0)
        h = NULL;
    if (o && p && json_object_object_add(o, "HttpServerPort", p) == 0)
        p = NULL;
    if (h || p) {
        json_object_put(o);
        o = NULL;
    }
    json_object_put(h);
    json_object_put(p);
    worker_api_respond_json(r, 200, o);
}

/* --- routing ------------------------------------------------------------------------------ */

static bool worker_api_method_is(const struct http_exchange *x, const char *m)
{
    size_t n = strlen(m);
    return x->head->method.len == n && memcmp(x->head->method.p, m, n) == 0;
}

static void worker_api_method_not_allowed(struct worker_api_request *r, const char *allow)
{
    char headers[96];
    snprintf(headers, sizeof(headers), "%sAllow: %s\r\n", WORKER_API_CONTENT_TYPE_JSON, allow);
    static const char body[] = "{\"message\":\"method not allowed\"}";
    worker_api_respond(r, 405, headers, body, sizeof(body) - 1);
}

static void worker_api_route(struct worker_api_request *r, enum worker_api_parse_status st)
{
    struct http_exchange *x = r->x;
    bool get = worker_api_method_is(x, "GET"), head = worker_api_method_is(x, "HEAD");
    bool post = worker_api_method_is(x, "POST");
    enum worker_api_endpoint ep = r->t.ep;
    if (ep == WORKER_API_EP_NONE) {
        worker_api_respond_message(r, 404, "not found");
        return;
    }
    bool page_write = post && ep == WORKER_API_EP_PAGE;
    if (post && (ep == WORKER_API_EP_CHUNK || ep == WORKER_API_EP_OTHER)) {
        worker_api_respond_message(r, 501,
                                   ep == WORKER_API_EP_OTHER
                                       ? "not implemented"
                                       : "not implemented: whole-file writes are not taken; "
                                         "write to the UFS");
        return;
    }
    if (!page_write && (ep == WORKER_API_EP_LOAD ? !get : !get && !head)) {
        worker_api_method_not_allowed(r, ep == WORKER_API_EP_LOAD ? "GET" : "GET, HEAD");
        return;
    }
    if (ep == WORKER_API_EP_OTHER) {
        worker_api_respond_message(r, 501, "not implemented");
        return;
    }
    if (st == WORKER_API_PARSE_NO_MEMORY) {
        worker_api_respond_message(r, 500, "out of memory");
        return;
    }
    if (st != WORKER_API_PARSE_OK) {
        worker_api_respond_message(r, 400, r->t.error ? r->t.error : "malformed request");
        return;
    }
    if (page_write) {
        worker_api_write_page(r);
        return;
    }
    switch (ep) {
    case WORKER_API_EP_PAGE:
    case WORKER_API_EP_RANGE:
    case WORKER_API_EP_CHUNK:
        worker_api_read(r);
        return;
    case WORKER_API_EP_INFO:
        worker_api_info(r);
        return;
    case WORKER_API_EP_FILES:
        worker_api_files(r);
        return;
    case WORKER_API_EP_NODE:
        worker_api_node(r);
        return;
    case WORKER_API_EP_LOAD:
        worker_api_load(r);
        return;
    case WORKER_API_EP_NONE:
    case WORKER_API_EP_OTHER:
        break;
    }
    worker_api_respond_message(r, 500, "internal error: unrouted endpoint");
}

void worker_api_handle(struct http_exchange *x, void *handler_data)
{
    struct worker_api *w = handler_data;
    struct worker_api_request *r = calloc(1, sizeof(*r));
    if (!r) {
        http_respond_abort(x);
        return;
    }
    r->w = w;
    r->x = x;
    r->loop = x->loop;
    x->handler_ctx = r;
    x->on_abort = worker_api_on_abort;
    const struct http_request_head *h = x->head;
    enum worker_api_parse_status st =
        worker_api_target_parse(h->path.p, h->path.len, h->query.p, h->query.len, &r->t);
    worker_api_route(r, st);
}
