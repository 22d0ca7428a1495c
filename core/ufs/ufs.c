/*
 * ufs: what every UFS backend shares: status names, reply lifetime, and the asynchronous
 * failure of a call that could not even start.
 */
#include "ufs.h"

#include "../log.h"
#include "../loop.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *ufs_status_name(enum ufs_status st)
{
    switch (st) {
    case UFS_OK:
        return "ok";
    case UFS_NO_SUCH_KEY:
        return "no such key";
    case UFS_NO_SUCH_BUCKET:
        return "no such bucket";
    case UFS_CHANGED:
        return "object changed";
    case UFS_ACCESS_DENIED:
        return "access denied by the UFS";
    case UFS_INVALID_ARGUMENT:
        return "invalid argument";
    case UFS_SLOW_DOWN:
        return "slow down";
    case UFS_UNAVAILABLE:
        return "UFS unavailable";
    case UFS_ERROR:
        return "UFS error";
    }
    return "?";
}

char *ufs_object_path(const struct ufs *u, const char *bucket, const char *key, size_t key_len,
                      size_t *len)
{
    size_t scheme_len = strlen(u->scheme), bucket_len = strlen(bucket);
    size_t head = scheme_len + 3 + bucket_len + 1;
    if (key_len > SIZE_MAX - head - 1)
        return NULL;
    char *p = malloc(head + key_len + 1);
    if (!p)
        return NULL;
    char *at = p;
    memcpy(at, u->scheme, scheme_len);
    at += scheme_len;
    memcpy(at, "://", 3);
    at += 3;
    memcpy(at, bucket, bucket_len);
    at += bucket_len;
    *at++ = '/';
    if (key_len)
        memcpy(at, key, key_len);
    at[key_len] = '\0';
    *len = head + key_len;
    return p;
}

void ufs_reply_free(struct ufs_reply *r)
{
    if (!r)
        return;
    buf_free(&r->body);
    free(r->bucket_region);
    free(r);
}

struct ufs_failure {
    ufs_meta_cb meta;
    ufs_page_cb page;
    ufs_reply_cb reply;
    void *arg;
};

static void ufs_failure_fire(void *p)
{
    struct ufs_failure *f = p;
    if (f->meta)
        f->meta(f->arg, UFS_ERROR, NULL);
    else if (f->page)
        f->page(f->arg, UFS_ERROR, NULL);
    else
        f->reply(f->arg, NULL);
    free(f);
}

void ufs_fail_later(struct loop *l, ufs_meta_cb meta, ufs_page_cb page, ufs_reply_cb reply,
                    void *arg)
{
    struct ufs_failure *f = calloc(1, sizeof(*f));
    if (!f) {
        log_error("ufs: out of memory");
        abort();
    }
    f->meta = meta;
    f->page = page;
    f->reply = reply;
    f->arg = arg;
    loop_defer(l, ufs_failure_fire, f);
}
