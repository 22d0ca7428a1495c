/*
 * worker_api: the Alluxio worker REST API (../shared/ALLUXIO-PROTOCOL.md section 3), served by
 * this process in its worker role so alluxiofs clients and other proxies read pages from it.
 *
 *   GET  /v1/file/{id}/page/{i}[?offset=O&length=L][&ufsFullPath=P]  E3/E3b/E3c  read.c
 *   GET  /v1/range/{id}?ufsFullPath=P&offset=O&length=L             E5          read.c
 *   GET  /v1/chunk/{id}?ufsFullPath=P&chunkSize=N                   E6          read.c
 *   GET  /v1/info?path=P, /v1/files?path=P                          E2, E1      info.c
 *   GET  /v1/node?path=P                                            E8          worker_api.c
 *   GET  /v1/load?path=P&opType=submit|progress|stop                E9-E11      load.c
 *   POST /v1/file/... and /v1/chunk/... (E4, E7): 501, see worker_api.c
 *
 * Pages come from core/route with local_only set, so a worker never forwards a page to another
 * worker: from the page stores, else from the UFS (and are then cached). Request targets are
 * parsed in target.c. One handler serves every loop; per-request state lives on the loop of
 * its request, and the two tables shared by all loops (path ids seen, load jobs) take a mutex.
 */
#ifndef SERVER_WORKER_API_H
#define SERVER_WORKER_API_H

#include "../http/server.h"

#include <stdint.h>

struct route;
struct ufs;
struct cluster;
struct meta_cache;

struct worker_api_config {
    struct route *route;     /* shared with the S3 front; not owned */
    struct ufs *ufs;         /* not owned; full UFS paths are <ufs->scheme>://bucket/key */
    uint64_t page_size;      /* must equal the clients' page_size (section 3.5) */
    unsigned window_pages;   /* pages in flight per request (like the S3 front) */
    struct cluster *cluster; /* NULL without a ring; for E8 /v1/node */
    const char *self_host;   /* this worker's address as registered (Host); copied */
    uint16_t self_port;      /* its HttpServerPort */
    /* Optional (NULL: not done): the metadata cache route uses, so that an object found
     * changed or deleted mid-read is forgotten at once rather than after its TTL. */
    struct meta_cache *meta_cache;
    /* E4 page writes kept (worker_page_writes); off: 403. The listener must then keep request
     * bodies of up to a page (http_server_config.max_body_bytes). */
    bool accept_page_writes;
};

/* NULL on ENOMEM. Call before the loops start; the config's pointers must outlive w. */
struct worker_api *worker_api_create(const struct worker_api_config *cfg);
/* Stop every running load job (they show STOPPED; each asks for no more pages and ends when
 * its reads in flight are back). Call when shutting down, before the loops drain, so no job
 * keeps starting UFS reads while they stop. Any thread. */
void worker_api_stop_jobs(struct worker_api *w);
/* After every loop stopped. What jobs still running hold is freed (their loop is gone). */
void worker_api_destroy(struct worker_api *w);

/* The http_handler_fn of the worker listener; handler_data is the struct worker_api. */
void worker_api_handle(struct http_exchange *x, void *handler_data);

#endif
