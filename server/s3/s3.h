/*
 * s3: the S3 front. Turns each HTTP exchange into an S3 operation on core/ (metadata, pages,
 * the UFS) and answers as S3 would: same status codes, headers and XML.
 *
 * Files: router.c (which operation, path-style or virtual-hosted), auth.c (client
 * credentials and SigV4 verification), request.c (the per-request
 * state shared by the handlers), error.c (S3 error XML), object.c (GetObject/HeadObject with
 * the page window), bucket.c (lists and bucket calls, passed to the UFS).
 */
#ifndef SERVER_S3_H
#define SERVER_S3_H

#include "../../core/meta.h"
#include "../../core/route.h"
#include "../../core/ufs/ufs.h"
#include "../http/server.h"

#include <stdint.h>

struct s3_auth;

/* Shared by every loop; read-only once serving. */
struct s3_server {
    struct ufs *ufs;
    struct route *route;
    struct meta_cache *meta_cache;
    uint64_t page_size;
    unsigned window_pages;
    const char *virtual_host_domain; /* NULL: path-style only */
    const char *region;              /* answered by GetBucketLocation for the file UFS */
    struct s3_auth *auth;            /* SigV4 verification of every request */
};

/* route_config.meta_prepare: format a fresh meta's response headers once. */
void s3_meta_prepare(struct meta *m);

/* The http_handler_fn of the S3 listener; handler_data is the struct s3_server. */
void s3_handle(struct http_exchange *x, void *handler_data);

#endif
