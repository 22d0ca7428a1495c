/*
 * request: one S3 request being answered: what the router decoded (bucket, key, query), its
 * request id, and helpers every handler uses to answer (headers common to all responses, the
 * error XML). A handler that goes async keeps the request alive until it answered or the
 * connection went away (s3_request_release).
 */
#ifndef SERVER_S3_REQUEST_H
#define SERVER_S3_REQUEST_H

#include "s3.h"

#include <stdbool.h>
#include <stddef.h>

#define S3_BUCKET_MAX       255
#define S3_KEY_MAX          1024 /* S3's limit on key length in bytes */
#define S3_QUERY_MAX_PARAMS 64

struct s3_query_param {
    char *name;  /* decoded */
    char *value; /* decoded; "" when the parameter had no '=' */
    bool has_value;
};

struct s3_request {
    struct http_exchange *x; /* NULL once the exchange is over or aborted */
    struct s3_server *server;
    char request_id[17];
    char bucket[S3_BUCKET_MAX + 1]; /* "" when none */
    char *key;                      /* decoded, NULL when none */
    size_t key_len;
    char *resource;  /* decoded path for error bodies: "/bucket/key" */
    char *raw_query; /* as received, for the UFS */
    struct s3_query_param params[S3_QUERY_MAX_PARAMS];
    size_t param_count;
    /* The handler's own state. While pending is set, a callback of the handler is still to
     * come and will release the request itself; op_abort (may be NULL) tells the handler the
     * client is gone. op_free frees op with the request. */
    void *op;
    bool pending;
    void (*op_abort)(struct s3_request *r);
    void (*op_free)(struct s3_request *r);
};

/* Value of query parameter name (decoded), or NULL when absent. */
const char *s3_query_get(const struct s3_request *r, const char *name);
bool s3_query_has(const struct s3_request *r, const char *name);

/* Start the headers every S3 response carries (request ids). */
int s3_common_headers(const struct s3_request *r, struct buf *h) BUF_WARN_UNUSED;

/*
 * Answer with an S3 error: status, Code, Message, then extra_xml (already escaped elements,
 * may be NULL), Resource and RequestId. extra_headers (may be NULL) are added as they are.
 * The exchange is finished afterwards, and r is released unless r->pending says a callback
 * is still to come (which then releases it).
 */
void s3_error(struct s3_request *r, int status, const char *code, const char *message,
              const char *extra_xml, const char *extra_headers);
/* The error S3 sends for a UFS failure. */
void s3_error_for_ufs(struct s3_request *r, enum ufs_status st);

/* Respond with a complete body held in memory (XML results). */
void s3_respond_body(struct s3_request *r, int status, const char *content_type, const char *data,
                     size_t len, const char *extra_headers);

/* The exchange is finished (answered or aborted): free r and the handler state. */
void s3_request_release(struct s3_request *r);

/* Handlers (object.c, bucket.c). */
void s3_object_get(struct s3_request *r);
void s3_bucket_list_objects(struct s3_request *r, int version);
void s3_bucket_list_buckets(struct s3_request *r);
void s3_bucket_head(struct s3_request *r);
void s3_bucket_location(struct s3_request *r);

#endif
