/*
 * info: the metadata endpoints, E2 (/v1/info?path=P: one file info in an array) and E1
 * (/v1/files?path=P: the entries directly under P), answered from the UFS through the same
 * paths the S3 front uses: a HEAD through core/route (so the metadata cache serves and fills
 * it) and ListObjectsV2 (delimiter "/", encoding-type=url so that any key survives the XML;
 * both UFS backends answer with a ListBucketResult that core/ufs/s3_list parses and decodes).
 *
 * S3 has no directories: P is a directory when keys exist under P + "/" (a "P/" marker object
 * counts), and a bucket root ("s3://bucket" or "s3://bucket/") is a directory of an existing
 * bucket. E2 asks the object first, then the prefix; a P ending in '/' is only a directory.
 * E1 lists first; when nothing is under P it is P's own info if P is a file (Alluxio's
 * listStatus of a file is that file), [] for a bucket root, else 404.
 *
 * E1 follows continuation tokens; its JSON is built as the pages come in, capped at
 * WORKER_API_FILES_BODY_MAX (a larger directory gets 500, and alluxiofs lists it from the UFS).
 */
#include "internal.h"

#include "../../core/ufs/s3_list.h"
#include "fileinfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKER_API_FILES_BODY_MAX  (64 * 1024 * 1024) /* E1 answer */
#define WORKER_API_FILES_MAX_PAGES 10000              /* list pages followed for one E1 */

enum worker_api_info_phase {
    WORKER_API_INFO_HEAD,      /* E2: HEAD of P */
    WORKER_API_INFO_DIR_CHECK, /* E2: is anything under P/ ? */
    WORKER_API_FILES_LIST,     /* E1: listing P/ one level */
    WORKER_API_FILES_HEAD,     /* E1: nothing under P/: is P a file? */
};

struct worker_api_info {
    enum worker_api_info_phase phase;
    char *bucket; /* NUL-terminated */
    char *prefix; /* what is listed: "" for a bucket root, else ending in '/' */
    size_t prefix_len;
    char *token; /* E1: continuation token of the next page, NULL before the first */
    unsigned pages;
    bool seen_any; /* E1: the listing held something (a marker "P/" too) */
    size_t count;  /* E1: entries written */
    struct buf body;
};

static void worker_api_info_free(struct worker_api_request *r)
{
    struct worker_api_info *in = r->op;
    if (!in)
        return;
    free(in->bucket);
    free(in->prefix);
    free(in->token);
    buf_free(&in->body);
    free(in);
    r->op = NULL;
}

/* The key of P without one trailing '/' (a directory's name). */
static size_t worker_api_info_dir_key_len(const struct worker_api_request *r)
{
    size_t n = r->up.key_len;
    return n && r->up.key[n - 1] == '/' ? n - 1 : n;
}

static void worker_api_info_respond_body(struct worker_api_request *r)
{
    struct worker_api_info *in = r->op;
    worker_api_respond(r, 200, WORKER_API_CONTENT_TYPE_JSON, in->body.data ? in->body.data : "[]",
                       in->body.data ? in->body.len : 2);
}

/* Answer [one info] for P itself: a file from m, or the directory P. */
static void worker_api_info_respond_self(struct worker_api_request *r, const struct meta *m)
{
    struct worker_api_info *in = r->op;
    struct worker_api_file_info fi = {
        .is_dir = m == NULL,
        .scheme = r->w->ufs->scheme,
        .bucket = r->up.bucket,
        .bucket_len = r->up.bucket_len,
        .key = r->up.key,
        .key_len = m ? r->up.key_len : worker_api_info_dir_key_len(r),
        .length = m ? m->size : 0,
        .mtime_ms = m ? (int64_t)m->last_modified * 1000 : 0,
        .etag = m ? m->etag : NULL,
    };
    buf_reset(&in->body);
    int rc = buf_append_char(&in->body, '[');
    if (!rc)
        rc = worker_api_file_info_append(&in->body, &fi);
    if (!rc)
        rc = buf_append_char(&in->body, ']');
    if (rc) {
        worker_api_respond_message(r, 500, "out of memory");
        return;
    }
    if (m)
        worker_api_remember_path(r->w, r->t.ufs_path, r->t.ufs_path_len);
    worker_api_info_respond_body(r);
}

/* --- listing ------------------------------------------------------------------------------ */

static void worker_api_info_list_cb(void *arg, struct ufs_reply *reply);

static void worker_api_info_list(struct worker_api_request *r, int max_keys, const char *delimiter)
{
    struct worker_api_info *in = r->op;
    struct ufs_list_params p = {
        .version = 2,
        .prefix = in->prefix_len ? in->prefix : NULL,
        .delimiter = delimiter,
        .continuation_token = in->token,
        .max_keys = max_keys,
        .encoding_url = true,
    };
    struct ufs *u = r->w->ufs;
    r->pending++;
    u->ops->list_objects(u, r->loop, in->bucket, "", &p, worker_api_info_list_cb, r);
}

/* E1: append the entries of one list page to the JSON array. 0 or -E2BIG / -ENOMEM. */
static int worker_api_files_append(struct worker_api_request *r, const struct s3_list_result *res)
{
    struct worker_api_info *in = r->op;
    struct worker_api *w = r->w;
    for (size_t i = 0; i < res->count; i++) {
        const struct list_xml_entry *e = &res->entries[i];
        in->seen_any = true;
        if (e->len < in->prefix_len || memcmp(e->name, in->prefix, in->prefix_len) != 0)
            continue; /* not under P: a store that ignores the prefix */
        if (!e->is_prefix && e->len == in->prefix_len)
            continue; /* the "P/" marker object is P itself */
        size_t key_len = e->len;
        if (e->is_prefix && key_len > in->prefix_len && e->name[key_len - 1] == '/')
            key_len--;
        int64_t mtime = 0;
        if (!e->is_prefix && e->last_modified &&
            worker_api_iso8601_ms(e->last_modified, strlen(e->last_modified), &mtime) != 0)
            mtime = 0;
        struct worker_api_file_info fi = {
            .is_dir = e->is_prefix,
            .scheme = w->ufs->scheme,
            .bucket = r->up.bucket,
            .bucket_len = r->up.bucket_len,
            .key = e->name,
            .key_len = key_len,
            .length = e->is_prefix ? 0 : e->size,
            .mtime_ms = mtime,
            .etag = e->is_prefix ? NULL : e->etag,
        };
        int rc = buf_append_char(&in->body, in->count ? ',' : '[');
        if (!rc)
            rc = worker_api_file_info_append(&in->body, &fi);
        if (rc)
            return rc;
        in->count++;
        if (!e->is_prefix) {
            /* Learn the file's path id: alluxiofs 1.0.3-jun reads by id alone (E3c). */
            struct buf path;
            buf_init(&path, WORKER_API_PATH_MAX_BYTES * 2);
            if (buf_appendf(&path, "%s://", w->ufs->scheme) == 0 &&
                buf_append(&path, r->up.bucket, r->up.bucket_len) == 0 &&
                buf_append_char(&path, '/') == 0 && buf_append(&path, e->name, e->len) == 0)
                worker_api_remember_path(w, path.data, path.len);
            buf_free(&path);
        }
    }
    return 0;
}

static void worker_api_info_head_cb(void *arg, enum ufs_status st, struct meta *m);

/* Ask for P's metadata; the answer goes to worker_api_info_head_cb, now (a cache hit) or later. */
static void worker_api_info_head(struct worker_api_request *r)
{
    struct worker_api_info *in = r->op;
    r->pending++;
    struct meta *m = route_read_meta(r->w->route, r->loop, in->bucket, r->up.key, r->up.key_len,
                                     r->t.ufs_path, r->t.ufs_path_len, worker_api_info_head_cb, r);
    if (m)
        worker_api_info_head_cb(r, UFS_OK, m);
}

static void worker_api_info_head_cb(void *arg, enum ufs_status st, struct meta *m)
{
    struct worker_api_request *r = arg;
    if (!worker_api_request_resume(r)) {
        meta_unref(m);
        return;
    }
    struct worker_api_info *in = r->op;
    if (st == UFS_OK && m) {
        worker_api_info_respond_self(r, m);
        meta_unref(m);
        return;
    }
    meta_unref(m);
    if (st != UFS_NO_SUCH_KEY) {
        worker_api_respond_ufs_error(r, st == UFS_OK ? UFS_ERROR : st, "the path");
        return;
    }
    if (in->phase == WORKER_API_INFO_HEAD) {
        /* No such object: a directory if anything is under P/. */
        in->phase = WORKER_API_INFO_DIR_CHECK;
        worker_api_info_list(r, 1, NULL);
        return;
    }
    worker_api_respond_message(r, 404, "the path does not exist");
}

/* E1: the listing is complete. */
static void worker_api_files_done(struct worker_api_request *r)
{
    struct worker_api_info *in = r->op;
    if (in->count == 0) {
        if (in->seen_any || r->up.key_len == 0) {
            static const char empty[] = "[]";
            worker_api_respond(r, 200, WORKER_API_CONTENT_TYPE_JSON, empty, sizeof(empty) - 1);
        } else if (r->up.key[r->up.key_len - 1] == '/') {
            worker_api_respond_message(r, 404, "the path does not exist");
        } else {
            /* Nothing under P/: Alluxio lists a file as itself. */
            in->phase = WORKER_API_FILES_HEAD;
            worker_api_info_head(r);
        }
        return;
    }
    if (buf_append_char(&in->body, ']') != 0) {
        worker_api_respond_message(r, 500, "the directory is too large to list here");
        return;
    }
    worker_api_info_respond_body(r);
}

static void worker_api_info_list_cb(void *arg, struct ufs_reply *reply)
{
    struct worker_api_request *r = arg;
    if (!worker_api_request_resume(r)) {
        ufs_reply_free(reply);
        return;
    }
    struct worker_api_info *in = r->op;
    enum ufs_status st = reply ? reply->status : UFS_ERROR;
    struct s3_list_result res;
    memset(&res, 0, sizeof(res));
    if (st == UFS_OK &&
        s3_list_parse(reply->body.data ? reply->body.data : "", reply->body.len, &res) != 0)
        st = UFS_ERROR;
    ufs_reply_free(reply);
    if (st != UFS_OK) {
        worker_api_respond_ufs_error(r, st, "the directory");
        return;
    }
    if (in->phase == WORKER_API_INFO_DIR_CHECK) {
        bool any = res.count > 0;
        s3_list_result_free(&res);
        if (any || r->up.key_len == 0)
            worker_api_info_respond_self(r, NULL);
        else
            worker_api_respond_message(r, 404, "the path does not exist");
        return;
    }
    int rc = worker_api_files_append(r, &res);
    const char *problem = rc ? "the directory is too large to list here" : NULL;
    if (!rc && res.truncated) {
        if (!res.next_token || !res.next_token[0])
            problem = "the UFS cut the listing short without a continuation token";
        else if (in->token && strcmp(in->token, res.next_token) == 0)
            problem = "the UFS repeated a continuation token";
        else if (++in->pages >= WORKER_API_FILES_MAX_PAGES)
            problem = "the directory is too large to list here";
    }
    if (problem) {
        s3_list_result_free(&res);
        worker_api_respond_message(r, 500, problem);
        return;
    }
    if (res.truncated) {
        free(in->token);
        in->token = res.next_token;
        res.next_token = NULL;
        s3_list_result_free(&res);
        worker_api_info_list(r, LIST_MAX_KEYS_DEFAULT, "/");
        return;
    }
    s3_list_result_free(&res);
    worker_api_files_done(r);
}

/* --- entry points ------------------------------------------------------------------------- */

static struct worker_api_info *worker_api_info_start(struct worker_api_request *r, size_t body_max)
{
    if (!worker_api_request_ufs_path(r))
        return NULL;
    struct worker_api_info *in = calloc(1, sizeof(*in));
    if (!in) {
        worker_api_respond_message(r, 500, "out of memory");
        return NULL;
    }
    r->op = in;
    r->op_free = worker_api_info_free;
    buf_init(&in->body, body_max);
    in->bucket = strndup(r->up.bucket, r->up.bucket_len);
    /* The listed prefix: "" for the bucket root, P's key ending in exactly one more '/'. */
    size_t k = r->up.key_len;
    bool slash = k && r->up.key[k - 1] == '/';
    in->prefix = malloc(k + 2);
    if (in->prefix) {
        memcpy(in->prefix, r->up.key, k);
        in->prefix_len = k + (k && !slash);
        in->prefix[k] = '/';
        in->prefix[in->prefix_len] = '\0';
    }
    if (!in->bucket || !in->prefix) {
        worker_api_respond_message(r, 500, "out of memory");
        return NULL;
    }
    return in;
}

void worker_api_info(struct worker_api_request *r)
{
    struct worker_api_info *in = worker_api_info_start(r, WORKER_API_JSON_SMALL_MAX);
    if (!in)
        return;
    if (r->up.key_len == 0 || r->up.key[r->up.key_len - 1] == '/') {
        in->phase = WORKER_API_INFO_DIR_CHECK;
        worker_api_info_list(r, 1, NULL);
    } else {
        in->phase = WORKER_API_INFO_HEAD;
        worker_api_info_head(r);
    }
}

void worker_api_files(struct worker_api_request *r)
{
    struct worker_api_info *in = worker_api_info_start(r, WORKER_API_FILES_BODY_MAX);
    if (!in)
        return;
    in->phase = WORKER_API_FILES_LIST;
    worker_api_info_list(r, LIST_MAX_KEYS_DEFAULT, "/");
}
