/*
 * bucket: ListObjects (v1, v2), ListBuckets, HeadBucket and GetBucketLocation. These go to the
 * UFS every time (the S3 UFS gets the client's list query as it is, re-signed with the UFS
 * credentials; the file UFS answers from the decoded parameters) and the UFS's XML is sent on.
 * Errors are answered with our own request id, except a UFS 400 whose body explains itself.
 */
#include "request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool s3_bucket_name_ok(const char *b)
{
    /* What any S3 store could hold: 3-255 bytes of letters, digits, '.', '-', '_'. Anything
     * else cannot exist, so it is NoSuchBucket without asking the UFS. */
    size_t n = strlen(b);
    if (n < 1 || n > S3_BUCKET_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return false;
    }
    return strcmp(b, ".") != 0 && strcmp(b, "..") != 0;
}

static void s3_bucket_reply(void *arg, struct ufs_reply *reply)
{
    struct s3_request *r = arg;
    r->pending = false;
    if (!r->x) {
        ufs_reply_free(reply);
        s3_request_release(r);
        return;
    }
    if (!reply) {
        s3_error_for_ufs(r, UFS_ERROR);
        return;
    }
    switch (reply->status) {
    case UFS_OK: {
        char region[300] = "";
        if (reply->bucket_region)
            snprintf(region, sizeof(region), "x-amz-bucket-region: %.255s\r\n",
                     reply->bucket_region);
        s3_respond_body(r, 200, reply->body.len ? "application/xml" : NULL, reply->body.data,
                        reply->body.len, region[0] ? region : NULL);
        break;
    }
    case UFS_INVALID_ARGUMENT:
        if (reply->body.len && reply->http_status >= 400 && reply->http_status < 500) {
            s3_respond_body(r, reply->http_status, "application/xml", reply->body.data,
                            reply->body.len, NULL);
            break;
        }
        s3_error(r, 400, "InvalidArgument", "Invalid Argument", NULL, NULL);
        break;
    default:
        s3_error_for_ufs(r, reply->status);
        break;
    }
    ufs_reply_free(reply);
}

/* Start a UFS call whose reply goes to s3_bucket_reply. */
static bool s3_bucket_precheck(struct s3_request *r)
{
    if (!s3_bucket_name_ok(r->bucket)) {
        s3_error_for_ufs(r, UFS_NO_SUCH_BUCKET);
        return false;
    }
    r->pending = true;
    return true;
}

/* max-keys: a non-negative integer; larger than 1000 means 1000 (S3 caps it). */
static int s3_parse_max_keys(const char *s, int *out)
{
    if (!s) {
        *out = LIST_MAX_KEYS_DEFAULT;
        return 0;
    }
    if (!*s)
        return -EINVAL;
    long long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        if (v < 1000000000)
            v = v * 10 + (*p - '0');
    }
    *out = v > LIST_MAX_KEYS_DEFAULT ? LIST_MAX_KEYS_DEFAULT : (int)v;
    return 0;
}

void s3_bucket_list_objects(struct s3_request *r, int version)
{
    struct ufs_list_params p;
    memset(&p, 0, sizeof(p));
    p.version = version;
    p.prefix = s3_query_get(r, "prefix");
    p.delimiter = s3_query_get(r, "delimiter");
    p.continuation_token = version == 2 ? s3_query_get(r, "continuation-token") : NULL;
    p.start_after = version == 2 ? s3_query_get(r, "start-after") : NULL;
    p.marker = version == 1 ? s3_query_get(r, "marker") : NULL;
    const char *enc = s3_query_get(r, "encoding-type");
    if (enc && strcmp(enc, "url") != 0) {
        s3_error(r, 400, "InvalidArgument", "Invalid Encoding Method specified in Request",
                 "<ArgumentName>encoding-type</ArgumentName>", NULL);
        return;
    }
    p.encoding_url = enc != NULL;
    const char *fetch_owner = s3_query_get(r, "fetch-owner");
    p.fetch_owner = fetch_owner && strcmp(fetch_owner, "true") == 0;
    if (s3_parse_max_keys(s3_query_get(r, "max-keys"), &p.max_keys) != 0) {
        s3_error(r, 400, "InvalidArgument",
                 "Provided max-keys not an integer or within integer "
                 "range",
                 "<ArgumentName>max-keys</ArgumentName>", NULL);
        return;
    }
    if (p.continuation_token && !p.continuation_token[0]) {
        s3_error(r, 400, "InvalidArgument", "The continuation token provided is incorrect",
                 "<ArgumentName>continuation-token</ArgumentName>", NULL);
        return;
    }
    if (!s3_bucket_precheck(r))
        return;
    struct ufs *u = r->server->ufs;
    u->ops->list_objects(u, r->x->loop, r->bucket, r->raw_query, &p, s3_bucket_reply, r);
}

void s3_bucket_list_buckets(struct s3_request *r)
{
    struct ufs *u = r->server->ufs;
    r->pending = true;
    u->ops->list_buckets(u, r->x->loop, s3_bucket_reply, r);
}

void s3_bucket_head(struct s3_request *r)
{
    if (!s3_bucket_precheck(r))
        return;
    struct ufs *u = r->server->ufs;
    u->ops->head_bucket(u, r->x->loop, r->bucket, s3_bucket_reply, r);
}

void s3_bucket_location(struct s3_request *r)
{
    if (!s3_bucket_precheck(r))
        return;
    struct ufs *u = r->server->ufs;
    u->ops->bucket_location(u, r->x->loop, r->bucket, s3_bucket_reply, r);
}
