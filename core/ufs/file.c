/*
 * ufs/file: a local directory as the UFS; each top-level folder is a bucket, each regular file
 * below it an object whose key is its relative path.
 *
 * Object I/O goes through the calling loop's io_uring (openat2, statx, read, close), never a
 * blocking call on the loop; directory walks (listing) run on the offload thread. Opens use
 * RESOLVE_BENEATH from the root's descriptor and keys with empty, "." or ".." segments are
 * refused, so no client key reaches outside the root; symlinks are not followed at all
 * (RESOLVE_NO_SYMLINKS): a symlink is not an object.
 *
 * ETag and Last-Modified come from the file's mtime (ns) and size (file_list.h: file_etag), so
 * they are stable across restarts and change when the file is rewritten.
 */
#include "ufs.h"

#include "../log.h"
#include "../loop.h"
#include "../offload.h"
#include "file_list.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_PATH_MAX     4096
#define FILE_BODY_MAX     (64u * 1024 * 1024)
#define FILE_CONTENT_TYPE "application/octet-stream"

struct ufs_file {
    struct ufs base;
    char *root;
    int root_fd;
};

enum file_call_kind {
    FILE_HEAD_OBJECT,
    FILE_READ_PAGE,
    FILE_HEAD_BUCKET,
};

/* Where a call is: each step is one ring op. */
enum file_call_state {
    FILE_OPENING,        /* openat2 of bucket/key */
    FILE_STATING,        /* statx of the open file */
    FILE_READING,        /* read into the page */
    FILE_STATING_BUCKET, /* after ENOENT: does the bucket exist? */
};

struct file_call {
    struct loop_op op;
    struct ufs_file *u;
    struct loop *loop;
    enum file_call_kind kind;
    enum file_call_state state;
    char path[FILE_PATH_MAX]; /* "bucket/key" relative to the root */
    char bucket_path[FILE_PATH_MAX];
    struct open_how how;
    struct statx stx;
    int fd;
    char *etag;
    uint64_t offset;
    uint32_t len;
    uint32_t filled;
    struct page *page;
    union {
        ufs_meta_cb meta;
        ufs_page_cb page;
        ufs_reply_cb reply;
    } cb;
    void *arg;
};

/* A key the directory can hold: no empty, "." or ".." segment, no NUL, no leading '/'. */
static bool file_key_ok(const char *key, size_t len)
{
    if (len == 0 || memchr(key, '\0', len))
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || key[i] == '/') {
            size_t seg = i - start;
            if (seg == 0 || (seg == 1 && key[start] == '.') ||
                (seg == 2 && key[start] == '.' && key[start + 1] == '.'))
                return false;
            start = i + 1;
        }
    }
    return true;
}

static bool file_bucket_ok(const char *bucket)
{
    return bucket[0] && !strchr(bucket, '/') && strcmp(bucket, ".") != 0 &&
           strcmp(bucket, "..") != 0;
}

static void file_close_async(struct loop *l, int fd)
{
    struct io_uring_sqe *sqe = loop_sqe(l);
    io_uring_prep_close(sqe, fd);
    io_uring_sqe_set_data(sqe, NULL);
}

static void file_call_finish(struct file_call *c, enum ufs_status st)
{
    if (c->fd >= 0)
        file_close_async(c->loop, c->fd);
    switch (c->kind) {
    case FILE_HEAD_OBJECT: {
        struct meta *m = NULL;
        if (st == UFS_OK) {
            char etag[FILE_ETAG_MAX];
            file_etag(c->stx.stx_size, c->stx.stx_mtime.tv_sec, c->stx.stx_mtime.tv_nsec, etag);
            m = meta_new();
            if (!m || meta_set(&m->etag, etag, strlen(etag)) ||
                meta_set(&m->content_type, FILE_CONTENT_TYPE, strlen(FILE_CONTENT_TYPE))) {
                meta_unref(m);
                m = NULL;
                st = UFS_ERROR;
            } else {
                m->size = c->stx.stx_size;
                m->last_modified = (time_t)c->stx.stx_mtime.tv_sec;
            }
        }
        c->cb.meta(c->arg, st, m);
        break;
    }
    case FILE_READ_PAGE: {
        struct page *p = NULL;
        if (st == UFS_OK) {
            p = c->page;
            c->page = NULL;
        }
        c->cb.page(c->arg, st, p);
        break;
    }
    case FILE_HEAD_BUCKET: {
        struct ufs_reply *r = calloc(1, sizeof(*r));
        if (r) {
            r->status = st;
            r->http_status = st == UFS_OK ? 200 : st == UFS_NO_SUCH_BUCKET ? 404 : 500;
            buf_init(&r->body, 0);
        }
        c->cb.reply(c->arg, r);
        break;
    }
    }
    page_unref(c->page);
    free(c->etag);
    free(c);
}

static void file_submit_open(struct file_call *c)
{
    memset(&c->how, 0, sizeof(c->how));
    c->how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW;
    c->how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    struct io_uring_sqe *sqe = loop_sqe(c->loop);
    io_uring_prep_openat2(sqe, c->u->root_fd, c->path, &c->how);
    io_uring_sqe_set_data(sqe, &c->op);
    c->state = FILE_OPENING;
}

static void file_submit_statx_fd(struct file_call *c)
{
    struct io_uring_sqe *sqe = loop_sqe(c->loop);
    io_uring_prep_statx(sqe, c->fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT,
                        STATX_TYPE | STATX_SIZE | STATX_MTIME, &c->stx);
    io_uring_sqe_set_data(sqe, &c->op);
    c->state = FILE_STATING;
}

static void file_submit_statx_bucket(struct file_call *c)
{
    struct io_uring_sqe *sqe = loop_sqe(c->loop);
    io_uring_prep_statx(sqe, c->u->root_fd, c->bucket_path,
                        AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT, STATX_TYPE, &c->stx);
    io_uring_sqe_set_data(sqe, &c->op);
    c->state = FILE_STATING_BUCKET;
}

static void file_submit_read(struct file_call *c)
{
    struct io_uring_sqe *sqe = loop_sqe(c->loop);
    io_uring_prep_read(sqe, c->fd, c->page->data + c->filled, c->len - c->filled,
                       c->offset + c->filled);
    io_uring_sqe_set_data(sqe, &c->op);
    c->state = FILE_READING;
}

static enum ufs_status file_errno_status(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
    case EXDEV:
    case EISDIR:
        return UFS_NO_SUCH_KEY;
    case EACCES:
    case EPERM:
        return UFS_ACCESS_DENIED;
    default:
        return UFS_ERROR;
    }
}

static void file_step(struct loop_op *op, int res, uint32_t flags)
{
    (void)flags;
    struct file_call *c = (struct file_call *)op;
    switch (c->state) {
    case FILE_OPENING:
        if (res < 0) {
            if (c->kind == FILE_HEAD_BUCKET) {
                file_call_finish(c, res == -ENOENT || res == -ENOTDIR ? UFS_NO_SUCH_BUCKET
                                                                      : UFS_ERROR);
                return;
            }
            if (file_errno_status(-res) == UFS_NO_SUCH_KEY) {
                file_submit_statx_bucket(c);
                return;
            }
            file_call_finish(c, file_errno_status(-res));
            return;
        }
        c->fd = res;
        file_submit_statx_fd(c);
        return;
    case FILE_STATING:
        if (res < 0) {
            file_call_finish(c, file_errno_status(-res));
            return;
        }
        if (c->kind == FILE_HEAD_BUCKET) {
            file_call_finish(c, S_ISDIR(c->stx.stx_mode) ? UFS_OK : UFS_NO_SUCH_BUCKET);
            return;
        }
        if (!S_ISREG(c->stx.stx_mode)) {
            file_call_finish(c, UFS_NO_SUCH_KEY);
            return;
        }
        if (c->kind == FILE_READ_PAGE) {
            char etag[FILE_ETAG_MAX];
            file_etag(c->stx.stx_size, c->stx.stx_mtime.tv_sec, c->stx.stx_mtime.tv_nsec, etag);
            if (strcmp(etag, c->etag) != 0 || c->offset + c->len > c->stx.stx_size) {
                file_call_finish(c, UFS_CHANGED);
                return;
            }
            file_submit_read(c);
            return;
        }
        file_call_finish(c, UFS_OK);
        return;
    case FILE_READING:
        if (res < 0) {
            if (res == -EINTR || res == -EAGAIN) {
                file_submit_read(c);
                return;
            }
            log_warn("ufs file: read %s: %s", c->path, strerror(-res));
            file_call_finish(c, UFS_ERROR);
            return;
        }
        if (res == 0) {
            file_call_finish(c, UFS_CHANGED); /* shorter than its size said: rewritten */
            return;
        }
        c->filled += (uint32_t)res;
        if (c->filled < c->len)
            file_submit_read(c);
        else
            file_call_finish(c, UFS_OK);
        return;
    case FILE_STATING_BUCKET:
        if (res < 0 || !S_ISDIR(c->stx.stx_mode))
            file_call_finish(c, UFS_NO_SUCH_BUCKET);
        else
            file_call_finish(c, UFS_NO_SUCH_KEY);
        return;
    }
}

static struct file_call *file_call_new(struct ufs *base, struct loop *l, enum file_call_kind kind,
                                       const char *bucket, const char *key, size_t key_len,
                                       enum ufs_status *bad)
{
    struct ufs_file *u = (struct ufs_file *)base;
    struct file_call *c = calloc(1, sizeof(*c));
    if (!c) {
        *bad = UFS_ERROR;
        return NULL;
    }
    c->op.complete = file_step;
    c->u = u;
    c->loop = l;
    c->kind = kind;
    c->fd = -1;
    *bad = UFS_OK;
    if (!file_bucket_ok(bucket) || strlen(bucket) + 1 >= FILE_PATH_MAX)
        *bad = UFS_NO_SUCH_BUCKET;
    else if (key && (!file_key_ok(key, key_len) || strlen(bucket) + key_len + 2 > FILE_PATH_MAX))
        *bad = UFS_NO_SUCH_KEY;
    if (*bad == UFS_OK) {
        snprintf(c->bucket_path, sizeof(c->bucket_path), "%s", bucket);
        if (key)
            snprintf(c->path, sizeof(c->path), "%s/%.*s", bucket, (int)key_len, key);
        else
            snprintf(c->path, sizeof(c->path), "%s", bucket);
    }
    return c;
}

/* Start c, or, when its name was refused, finish it from the end of this turn. */
static void file_call_begin(struct file_call *c, enum ufs_status bad)
{
    if (bad == UFS_NO_SUCH_KEY) {
        /* Still tell NoSuchBucket from NoSuchKey. */
        file_submit_statx_bucket(c);
        return;
    }
    if (bad != UFS_OK) {
        /* A statx that fails at once keeps the callback asynchronous. */
        c->bucket_path[0] = '\0';
        file_submit_statx_bucket(c);
        return;
    }
    file_submit_open(c);
}

static void file_head_object(struct ufs *u, struct loop *l, const char *bucket, const char *key,
                             size_t key_len, ufs_meta_cb cb, void *arg)
{
    enum ufs_status bad;
    struct file_call *c = file_call_new(u, l, FILE_HEAD_OBJECT, bucket, key, key_len, &bad);
    if (!c) {
        ufs_fail_later(l, cb, NULL, NULL, arg);
        return;
    }
    c->cb.meta = cb;
    c->arg = arg;
    file_call_begin(c, bad);
}

static void file_read_page(struct ufs *u, struct loop *l, const char *bucket, const char *key,
                           size_t key_len, const char *etag, uint64_t offset, uint32_t len,
                           ufs_page_cb cb, void *arg)
{
    enum ufs_status bad;
    struct file_call *c = file_call_new(u, l, FILE_READ_PAGE, bucket, key, key_len, &bad);
    if (c) {
        c->page = page_alloc(len);
        c->etag = strdup(etag);
    }
    if (!c || !c->page || !c->etag || len == 0) {
        if (c) {
            page_unref(c->page);
            free(c->etag);
            free(c);
        }
        ufs_fail_later(l, NULL, cb, NULL, arg);
        return;
    }
    c->offset = offset;
    c->len = len;
    c->cb.page = cb;
    c->arg = arg;
    file_call_begin(c, bad);
}

static void file_head_bucket(struct ufs *u, struct loop *l, const char *bucket, ufs_reply_cb cb,
                             void *arg)
{
    enum ufs_status bad;
    struct file_call *c = file_call_new(u, l, FILE_HEAD_BUCKET, bucket, NULL, 0, &bad);
    if (!c) {
        ufs_fail_later(l, NULL, NULL, cb, arg);
        return;
    }
    c->cb.reply = cb;
    c->arg = arg;
    if (bad != UFS_OK) {
        c->bucket_path[0] = '\0';
        file_submit_statx_bucket(c); /* fails: NoSuchBucket, asynchronously */
        c->kind = FILE_HEAD_BUCKET;
        return;
    }
    /* Open the bucket folder and statx it: a directory is a bucket. */
    memset(&c->how, 0, sizeof(c->how));
    c->how.flags = O_RDONLY | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW;
    c->how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    struct io_uring_sqe *sqe = loop_sqe(l);
    io_uring_prep_openat2(sqe, c->u->root_fd, c->path, &c->how);
    io_uring_sqe_set_data(sqe, &c->op);
    c->state = FILE_OPENING;
}

/* --- listing on the offload thread ----------------------------------------------------------- */

struct file_list_job {
    struct ufs_file *u;
    enum { FILE_JOB_OBJECTS, FILE_JOB_BUCKETS, FILE_JOB_LOCATION } kind;
    char *bucket;
    struct ufs_list_params params;
    char *prefix, *delimiter, *token, *start_after, *marker; /* owned copies for params */
    struct ufs_reply *reply;
    ufs_reply_cb cb;
    void *arg;
};

static void file_list_work(void *arg)
{
    struct file_list_job *j = arg;
    struct ufs_reply *r = calloc(1, sizeof(*r));
    j->reply = r;
    if (!r)
        return;
    buf_init(&r->body, FILE_BODY_MAX);
    enum file_list_status st = FILE_LIST_OK;
    if (j->kind == FILE_JOB_BUCKETS) {
        st = file_list_buckets(j->u->root, &r->body);
    } else {
        struct stat sb;
        char path[FILE_PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", j->u->root, j->bucket);
        if (!file_bucket_ok(j->bucket) || lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
            st = FILE_LIST_NO_SUCH_BUCKET;
        else if (j->kind == FILE_JOB_LOCATION) {
            if (buf_append_str(&r->body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                         "<LocationConstraint xmlns=\"http://s3.amazonaws.com/"
                                         "doc/2006-03-01/\"/>"))
                st = FILE_LIST_TOO_LARGE;
        } else {
            st = file_list_objects(j->u->root, j->bucket, &j->params, &r->body);
        }
    }
    switch (st) {
    case FILE_LIST_OK:
        r->status = UFS_OK;
        r->http_status = 200;
        break;
    case FILE_LIST_NO_SUCH_BUCKET:
        r->status = UFS_NO_SUCH_BUCKET;
        r->http_status = 404;
        buf_reset(&r->body);
        break;
    case FILE_LIST_INVALID_ARGUMENT:
        r->status = UFS_INVALID_ARGUMENT;
        r->http_status = 400;
        buf_reset(&r->body);
        break;
    default:
        r->status = UFS_ERROR;
        r->http_status = 500;
        buf_reset(&r->body);
        break;
    }
}

static void file_list_done(void *arg)
{
    struct file_list_job *j = arg;
    j->cb(j->arg, j->reply);
    free(j->bucket);
    free(j->prefix);
    free(j->delimiter);
    free(j->token);
    free(j->start_after);
    free(j->marker);
    free(j);
}

static char *file_strdup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    if (!p)
        *oom = true;
    return p;
}

static void file_list_submit(struct ufs *base, struct loop *l, int kind, const char *bucket,
                             const struct ufs_list_params *params, ufs_reply_cb cb, void *arg)
{
    struct file_list_job *j = calloc(1, sizeof(*j));
    bool oom = !j;
    if (j) {
        j->u = (struct ufs_file *)base;
        j->kind = kind;
        j->cb = cb;
        j->arg = arg;
        j->bucket = file_strdup_or_null(bucket, &oom);
        if (params) {
            j->params = *params;
            j->params.prefix = j->prefix = file_strdup_or_null(params->prefix, &oom);
            j->params.delimiter = j->delimiter = file_strdup_or_null(params->delimiter, &oom);
            j->params.continuation_token = j->token =
                file_strdup_or_null(params->continuation_token, &oom);
            j->params.start_after = j->start_after = file_strdup_or_null(params->start_after, &oom);
            j->params.marker = j->marker = file_strdup_or_null(params->marker, &oom);
        }
    }
    if (oom) {
        if (j) {
            j->reply = NULL;
            loop_defer(l, file_list_done, j);
        } else {
            ufs_fail_later(l, NULL, NULL, cb, arg);
        }
        return;
    }
    offload_submit(l, file_list_work, file_list_done, j);
}

static void file_list_objects_op(struct ufs *u, struct loop *l, const char *bucket,
                                 const char *raw_query, const struct ufs_list_params *params,
                                 ufs_reply_cb cb, void *arg)
{
    (void)raw_query;
    file_list_submit(u, l, FILE_JOB_OBJECTS, bucket, params, cb, arg);
}

static void file_list_buckets_op(struct ufs *u, struct loop *l, ufs_reply_cb cb, void *arg)
{
    file_list_submit(u, l, FILE_JOB_BUCKETS, NULL, NULL, cb, arg);
}

static void file_bucket_location(struct ufs *u, struct loop *l, const char *bucket, ufs_reply_cb cb,
                                 void *arg)
{
    file_list_submit(u, l, FILE_JOB_LOCATION, bucket, NULL, cb, arg);
}

static void file_destroy(struct ufs *base)
{
    struct ufs_file *u = (struct ufs_file *)base;
    if (u->root_fd >= 0)
        close(u->root_fd);
    free(u->root);
    free(u);
}

static const struct ufs_ops file_ops = {
    .head_object = file_head_object,
    .read_page = file_read_page,
    .list_objects = file_list_objects_op,
    .list_buckets = file_list_buckets_op,
    .head_bucket = file_head_bucket,
    .bucket_location = file_bucket_location,
    .destroy = file_destroy,
};

struct ufs *ufs_file_create(const char *root)
{
    struct ufs_file *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->base.ops = &file_ops;
    u->base.scheme = "file";
    u->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (u->root_fd < 0) {
        log_error("target_options.root: cannot open directory '%s': %s", root, strerror(errno));
        free(u);
        return NULL;
    }
    u->root = strdup(root);
    if (!u->root) {
        file_destroy(&u->base);
        return NULL;
    }
    return &u->base;
}
