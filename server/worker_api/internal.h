/*
 * internal: what the files of server/worker_api share: the handler's state, one request being
 * answered, and the answers every endpoint uses (JSON bodies, the status for a UFS error).
 *
 * A request lives from worker_api_handle until its exchange is over (answered, or the client
 * went away: x is then NULL) and no callback of it is still to come (pending == 0); whichever
 * of the two happens last frees it (worker_api_request_release_if_done). Loop thread only.
 */
#ifndef SERVER_WORKER_API_INTERNAL_H
#define SERVER_WORKER_API_INTERNAL_H

#include "../../core/meta.h"
#include "../../core/route.h"
#include "../../core/ufs/ufs.h"
#include "path_ids.h"
#include "target.h"
#include "worker_api.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WORKER_API_WINDOW_MAX        64   /* pages in flight per read, whatever the config says */
#define WORKER_API_PATH_IDS_MAX      4096 /* path id -> path entries remembered for E3c */
#define WORKER_API_JSON_SMALL_MAX    (64 * 1024) /* one JSON object answered (info, node, load) */
#define WORKER_API_CONTENT_TYPE_JSON "Content-Type: application/json\r\n"
#define WORKER_API_SERVER_HEADER     "Server: alluxio-s3-proxy\r\n"

struct worker_api_loads;

struct worker_api {
    struct route *route;
    struct ufs *ufs;
    struct meta_cache *meta_cache; /* may be NULL */
    uint64_t page_size;
    unsigned window; /* 1..WORKER_API_WINDOW_MAX */
    struct cluster *cluster;
    char *self_host;
    uint16_t self_port;
    bool accept_page_writes; /* E4 (see write.c) */
    struct worker_api_path_ids *ids;
    struct worker_api_loads *loads;
};

struct worker_api_request {
    struct worker_api *w;
    struct http_exchange *x; /* NULL once the exchange is over */
    struct loop *loop;
    unsigned pending; /* callbacks of this request still to come */
    struct worker_api_target t;
    struct worker_api_ufs_path
        up;   /* t.ufs_path split, once checked (worker_api_request_ufs_path) */
    void *op; /* the endpoint's state, freed by op_free with the request */
    void (*op_free)(struct worker_api_request *r);
};

/* The on_abort of every exchange: x is gone; r goes once no callback is to come. */
void worker_api_on_abort(struct http_exchange *x);

/* Free r when its exchange is over and no callback is to come. */
void worker_api_request_release_if_done(struct worker_api_request *r);
/* Each of r's callbacks starts here: one fewer pending. False when the client has gone (r is
 * freed if that was its last callback): the callback drops what it was handed and returns. */
bool worker_api_request_resume(struct worker_api_request *r);

/* Answer with a whole body (copied) and end the exchange; r may be freed by this call. */
void worker_api_respond(struct worker_api_request *r, int status, const char *headers,
                        const char *body, size_t len);
/* {"message": msg} */
void worker_api_respond_message(struct worker_api_request *r, int status, const char *msg);
/* The status section 3.6 recommends for a UFS failure, and the answer with it. */
int worker_api_status_for_ufs(enum ufs_status st);
void worker_api_respond_ufs_error(struct worker_api_request *r, enum ufs_status st,
                                  const char *what);

/* Check r->t.ufs_path against the UFS scheme and split it into r->up; on failure answer 400
 * (r may be gone) and return false. */
bool worker_api_request_ufs_path(struct worker_api_request *r);

/* Remember path under its path id, for E3c requests that carry none. */
void worker_api_remember_path(struct worker_api *w, const char *path, size_t len);

/* The object changed or vanished under a read: forget its metadata and pages. */
void worker_api_forget_object(struct worker_api *w, const char *path, size_t path_len);

/* Endpoints. */
void worker_api_read(struct worker_api_request *r);       /* read.c: E3/E3b/E3c, E5, E6 */
void worker_api_info(struct worker_api_request *r);       /* info.c: E2 */
void worker_api_files(struct worker_api_request *r);      /* info.c: E1 */
void worker_api_load(struct worker_api_request *r);       /* load.c: E9-E11 */
void worker_api_write_page(struct worker_api_request *r); /* write.c: E4 */

/* load.c: the job table shared by every loop. */
struct worker_api_loads *worker_api_loads_create(void);
void worker_api_loads_destroy(struct worker_api_loads *l);
void worker_api_loads_stop_all(struct worker_api_loads *l);

#endif
