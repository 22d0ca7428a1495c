/*
 * ufs: the under file system, where objects really live, behind one async interface with a
 * backend per file: s3.c (any S3-compatible store, over libcurl multi on the loop) and file.c
 * (a local directory, through io_uring and the offload thread).
 *
 * Every call starts work on the given loop and returns at once; its callback runs later on the
 * same loop, never inside the call. Callbacks always run exactly once.
 */
#ifndef CORE_UFS_H
#define CORE_UFS_H

#include "../buf.h"
#include "../meta.h"
#include "../page_store/page_store.h"
#include "list_params.h"

#include <stddef.h>
#include <stdint.h>

struct loop;

/* What went wrong, in S3's terms; server/s3 maps each to one S3 error. */
enum ufs_status {
    UFS_OK = 0,
    UFS_NO_SUCH_KEY,      /* 404 NoSuchKey */
    UFS_NO_SUCH_BUCKET,   /* 404 NoSuchBucket */
    UFS_CHANGED,          /* the object's ETag is no longer the one asked for (If-Match failed) */
    UFS_ACCESS_DENIED,    /* 403 from the UFS: our UFS credentials are refused */
    UFS_INVALID_ARGUMENT, /* 400: the UFS refused the request's parameters */
    UFS_SLOW_DOWN,        /* 503 SlowDown after retries */
    UFS_UNAVAILABLE,      /* unreachable, timed out, reset: after retries (503 to clients) */
    UFS_ERROR,            /* anything else (500 InternalError) */
};

const char *ufs_status_name(enum ufs_status st);

/* A UFS answer with a body S3 clients should see (lists, bucket calls). */
struct ufs_reply {
    enum ufs_status status;
    int http_status;     /* what to answer the client: the UFS's status for pass-through */
    struct buf body;     /* the XML body (S3 result or S3 error), may be empty */
    char *bucket_region; /* HeadBucket: x-amz-bucket-region, or NULL */
};

typedef void (*ufs_meta_cb)(void *arg, enum ufs_status st, struct meta *m /* new ref or NULL */);
typedef void (*ufs_page_cb)(void *arg, enum ufs_status st, struct page *p /* new ref or NULL */);
/* The callee owns reply (free with ufs_reply_free). */
typedef void (*ufs_reply_cb)(void *arg, struct ufs_reply *reply);

void ufs_reply_free(struct ufs_reply *r);

/* A call that failed before it started (out of memory) still answers asynchronously, from the
 * end of the loop's turn: UFS_ERROR (or a NULL reply). Exactly one of the callbacks is set. */
void ufs_fail_later(struct loop *l, ufs_meta_cb meta, ufs_page_cb page, ufs_reply_cb reply,
                    void *arg);

struct ufs;

struct ufs_ops {
    /* HeadObject. */
    void (*head_object)(struct ufs *u, struct loop *l, const char *bucket, const char *key,
                        size_t key_len, ufs_meta_cb cb, void *arg);
    /* Read exactly len bytes at offset of the object whose ETag is etag, into a new page.
     * Fewer or more bytes, or another ETag, is an error (UFS_CHANGED for the latter). */
    void (*read_page)(struct ufs *u, struct loop *l, const char *bucket, const char *key,
                      size_t key_len, const char *etag, uint64_t offset, uint32_t len,
                      ufs_page_cb cb, void *arg);
    /* ListObjects v1/v2: raw_query is the client's query string as received (S3 forwards it),
     * params the same request decoded (the file backend answers from it). */
    void (*list_objects)(struct ufs *u, struct loop *l, const char *bucket, const char *raw_query,
                         const struct ufs_list_params *params, ufs_reply_cb cb, void *arg);
    void (*list_buckets)(struct ufs *u, struct loop *l, ufs_reply_cb cb, void *arg);
    void (*head_bucket)(struct ufs *u, struct loop *l, const char *bucket, ufs_reply_cb cb,
                        void *arg);
    void (*bucket_location)(struct ufs *u, struct loop *l, const char *bucket, ufs_reply_cb cb,
                            void *arg);
    void (*destroy)(struct ufs *u);
};

struct ufs {
    const struct ufs_ops *ops;
    const char *scheme; /* "s3" or "file": full UFS paths are "<scheme>://bucket/key" */
};

/*
 * The full UFS path of an object, "<scheme>://<bucket>/<key>" (key is key_len bytes, may hold
 * NUL), NUL-terminated, malloc'd; its length in *len. NULL on ENOMEM. Pages and metadata are
 * keyed by it. Built without printf: it runs for every GET.
 */
char *ufs_object_path(const struct ufs *u, const char *bucket, const char *key, size_t key_len,
                      size_t *len);

struct ufs_s3_config {
    const char *endpoint_url; /* NULL: https://s3.<region>.amazonaws.com */
    const char *region;
    const char *access_key, *secret_key, *session_token; /* NULL with anon */
    int anon;
    int virtual_host; /* 1: bucket.host addressing, 0: path-style */
    uint64_t connect_timeout_ms;
    uint64_t request_timeout_ms;
    unsigned retries;
};

struct ufs *ufs_s3_create(const struct ufs_s3_config *cfg);
/* root: a directory whose top-level folders are buckets. */
struct ufs *ufs_file_create(const char *root);

static inline void ufs_destroy(struct ufs *u)
{
    if (u)
        u->ops->destroy(u);
}

#endif
