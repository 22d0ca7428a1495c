/*
 * request: per-request state of the S3 front and the answers every handler shares: common
 * headers, S3 error XML, and whole-body responses. See request.h.
 */
#include "request.h"

#include "../../core/log.h"
#include "../../core/xml.h"

#include <stdlib.h>
#include <string.h>

#define S3_ERROR_BODY_MAX (64 * 1024)

const char *s3_query_get(const struct s3_request *r, const char *name)
{
    for (size_t i = 0; i < r->param_count; i++)
        if (strcmp(r->params[i].name, name) == 0)
            return r->params[i].value;
    return NULL;
}

bool s3_query_has(const struct s3_request *r, const char *name)
{
    return s3_query_get(r, name) != NULL;
}

int s3_common_headers(const struct s3_request *r, struct buf *h)
{
    /* x-amz-id-2 is S3's extended request id; ours repeats the request id. Appended piece by
     * piece: this runs for every response, and printf-style formatting showed up as the top
     * cost of a warm GET under callgrind (tests/bench/RESULTS.md). */
    int rc = buf_append_str(h, "Server: alluxio-s3-proxy\r\nx-amz-request-id: ");
    if (!rc)
        rc = buf_append(h, r->request_id, 16);
    if (!rc)
        rc = buf_append_str(h, "\r\nx-amz-id-2: ");
    if (!rc)
        rc = buf_append(h, r->request_id, 16);
    if (!rc)
        rc = buf_append(h, "\r\n", 2);
    return rc;
}

void s3_respond_body(struct s3_request *r, int status, const char *content_type, const char *data,
                     size_t len, const char *extra_headers)
{
    struct http_exchange *x = r->x;
    if (!x)
        return;
    struct buf h;
    buf_init(&h, 64 * 1024);
    int rc = s3_common_headers(r, &h);
    if (!rc && content_type)
        rc = buf_appendf(&h, "Content-Type: %s\r\n", content_type);
    if (!rc && extra_headers)
        rc = buf_append_str(&h, extra_headers);
    r->x = NULL; /* the exchange ends with these calls */
    if (rc) {
        buf_free(&h);
        http_respond_abort(x);
    } else {
        rc = http_respond_head(x, status, &h, len);
        buf_free(&h);
        if (!rc && len && !x->is_head_method)
            rc = http_respond_copy(x, data, len);
        (void)rc; /* on failure the connection is closed by the server */
    }
    /* With callbacks still to come, the last of them releases r. */
    if (!r->pending)
        s3_request_release(r);
}

void s3_error(struct s3_request *r, int status, const char *code, const char *message,
              const char *extra_xml, const char *extra_headers)
{
    struct buf body;
    buf_init(&body, S3_ERROR_BODY_MAX);
    int rc = buf_appendf(
        &body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>", code);
    if (!rc)
        rc = xml_append_element(&body, "Message", message, strlen(message));
    if (!rc && extra_xml)
        rc = buf_append_str(&body, extra_xml);
    if (!rc && r->resource)
        rc = xml_append_element(&body, "Resource", r->resource, strlen(r->resource));
    if (!rc)
        rc = buf_appendf(&body, "<RequestId>%s</RequestId><HostId>%s</HostId></Error>",
                         r->request_id, r->request_id);
    if (rc) {
        /* The error itself would not fit (a huge key in Resource): leave the extras out. */
        buf_reset(&body);
        rc = buf_appendf(&body,
                         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                         "<RequestId>%s</RequestId></Error>",
                         code, r->request_id);
    }
    s3_respond_body(r, status, "application/xml", body.data, rc ? 0 : body.len, extra_headers);
    buf_free(&body);
}

void s3_error_for_ufs(struct s3_request *r, enum ufs_status st)
{
    switch (st) {
    case UFS_NO_SUCH_KEY:
        s3_error(r, 404, "NoSuchKey", "The specified key does not exist.", NULL, NULL);
        return;
    case UFS_NO_SUCH_BUCKET:
        s3_error(r, 404, "NoSuchBucket", "The specified bucket does not exist.", NULL, NULL);
        return;
    case UFS_ACCESS_DENIED:
        s3_error(r, 403, "AccessDenied", "Access Denied", NULL, NULL);
        return;
    case UFS_INVALID_ARGUMENT:
        s3_error(r, 400, "InvalidArgument", "Invalid Argument", NULL, NULL);
        return;
    case UFS_SLOW_DOWN:
        s3_error(r, 503, "SlowDown", "Please reduce your request rate.", NULL, NULL);
        return;
    case UFS_UNAVAILABLE:
        s3_error(r, 503, "ServiceUnavailable",
                 "The storage behind this endpoint is unavailable; please retry.", NULL, NULL);
        return;
    case UFS_CHANGED:
        s3_error(r, 503, "SlowDown", "The object changed while it was read; please retry.", NULL,
                 NULL);
        return;
    case UFS_OK:
    case UFS_ERROR:
        break;
    }
    s3_error(r, 500, "InternalError", "We encountered an internal error. Please try again.", NULL,
             NULL);
}

void s3_request_release(struct s3_request *r)
{
    if (r->op_free)
        r->op_free(r);
    for (size_t i = 0; i < r->param_count; i++) {
        free(r->params[i].name);
        free(r->params[i].value);
    }
    free(r->key);
    free(r->resource);
    free(r->raw_query);
    free(r);
}
