/*
 * file_list: ListObjects (v1), ListObjectsV2 and ListBuckets answered from a local directory,
 * for the file UFS. See file_list.h for the contract.
 *
 * Why it is shaped this way:
 * - A directory gives its entries in no useful order, but S3 pages in UTF-8 binary order. We
 *   walk the whole subtree that can match the prefix and keep only the smallest max-keys + 1
 *   entries after the cursor (a bounded set compacted by sorting), so memory is bounded by the
 *   page size, not by the bucket, and the "+ 1" tells us whether the listing is truncated.
 * - Directories are pruned when no key below them can match the prefix or lie after the cursor,
 *   we start at the deepest folder the prefix names, and a folder whose path already contains
 *   the delimiter is one CommonPrefix: we only look for one file inside it. So a delimiter
 *   listing of a big tree reads only the folders it shows.
 * - Symlinks are treated as absent, at every level, the bucket folder included: following one
 *   could leave the root (a link to /etc) or list a file twice. Sub-folders are opened with
 *   openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) relative to the bucket folder, so a folder
 *   swapped for a link while we walk is refused by the kernel, not just by our lstat; one file
 *   descriptor is open per level being read, never one per level of depth.
 * - Continuation tokens are base64url of a version byte and the last key or CommonPrefix
 *   returned: opaque to clients (as S3's are), stateless for us, and restartable after a proxy
 *   restart. Resuming lists what sorts strictly after that item, which skips the rest of a
 *   CommonPrefix the previous page ended on. start-after and marker use the same rule.
 * - The XML itself is written by list_xml.c, shared with the S3 UFS.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "file_list.h"

#include "../http_date.h"
#include "../xml.h"
#include "list_xml.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* S3 refuses keys longer than 1024 bytes of UTF-8, so a deeper file could never be fetched
 * through the proxy: it is not listed either. */
#define FILE_LIST_KEY_MAX_BYTES 1024
/* Token = base64url(version byte + item), unpadded. */
#define FILE_LIST_TOKEN_VERSION   0x01
#define FILE_LIST_TOKEN_MAX_CHARS (((FILE_LIST_KEY_MAX_BYTES + 1) * 4 + 2) / 3)
/* The bounded set holds up to this many times the page before it is compacted: compaction is
 * a sort, so a factor of 2 keeps the walk O(n log page). */
#define FILE_LIST_SET_SLACK 2
/* The smallest XML one bucket adds (<Bucket><Name>x</Name><CreationDate>...</Bucket>): lets
 * ListBuckets give up before collecting more folders than the XML cap could ever hold. */
#define FILE_LIST_BUCKET_MIN_XML_BYTES 80

/* One entry of a listing: a key (with what Contents shows of it) or a CommonPrefix. */
struct file_list_item {
    char *name;
    size_t len;
    bool is_prefix;
    uint64_t size;
    int64_t mtime_sec;
    int64_t mtime_nsec;
};

/* The smallest `keep` items offered so far (after compaction; up to FILE_LIST_SET_SLACK times
 * that in between). Once full, bound is the largest item kept: anything not below it can never
 * make the page, and is refused before it is stat'ed or copied. */
struct file_list_set {
    struct file_list_item *items;
    size_t n;
    size_t cap;
    size_t keep;
    const char *bound; /* points into items[keep - 1].name; NULL until the set is full */
    size_t bound_len;
};

enum file_list_walk_mode {
    FILE_LIST_WALK_COLLECT, /* offer every key (or its CommonPrefix) to the set */
    FILE_LIST_WALK_PROBE,   /* only answer whether the subtree holds any listable file */
};

struct file_list_walk {
    int bucket_fd;
    const char *prefix;
    size_t prefix_len;
    const char *delim; /* NULL when no (or an empty) delimiter was given */
    size_t delim_len;
    const char *cursor; /* list only items after this; NULL for "from the start" */
    size_t cursor_len;
    struct file_list_set set;
    /* The folder being read, relative to the bucket, with a trailing '/' (empty at the top);
     * names are written after it to form keys. +2: a '/' and the NUL openat2 needs. */
    char path[FILE_LIST_KEY_MAX_BYTES + 2];
};

/* Names of sub-folders found while reading one folder, descended into after it is closed. */
struct file_list_names {
    char **names;
    size_t n;
    size_t cap;
};

/* UTF-8 binary order, which is also S3's: memcmp on the common part, then shorter first. */
static int file_list_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return (alen > blen) - (alen < blen);
}

static bool file_list_starts_with(const char *s, size_t len, const char *p, size_t plen)
{
    return len >= plen && memcmp(s, p, plen) == 0;
}

/* Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF): S3 keys are
 * Unicode, and a name that is not could not be written into the XML or asked for again. */
static bool file_list_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t more;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            more = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            more = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            more = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i - 1 < more)
            return false;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += more + 1;
    }
    return true;
}

/* Errors that mean "this entry is not there for us" (gone since readdir, a symlink or a
 * non-directory where a folder was, no permission): the entry is skipped, the listing goes on,
 * as S3 would simply not have such a key. Anything else fails the listing. */
static bool file_list_errno_is_absent(int err)
{
    return err == ENOENT || err == ENOTDIR || err == ELOOP || err == EXDEV || err == EACCES ||
           err == EPERM;
}

/* Open folder `path` (relative, no symlinks on the way, never above dirfd). -errno on failure.
 * Without openat2 (Linux < 5.6, or a seccomp filter that refuses it) we fall back to
 * O_NOFOLLOW, which guards only the last component: the walk only descends through names it
 * saw as real folders, so that is weaker only against a folder replaced while we walk. */
static int file_list_open_dir(int dirfd, const char *path)
{
    struct open_how how = {
        .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    if (fd >= 0)
        return (int)fd;
    if (errno != ENOSYS && errno != EPERM)
        return -errno;
    int fd2 = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    return fd2 >= 0 ? fd2 : -errno;
}

static enum file_list_status file_list_buf_status(int rc)
{
    /* -ENOMEM has no status of its own: the caller answers InternalError either way. */
    return rc == -E2BIG ? FILE_LIST_TOO_LARGE : FILE_LIST_IO_ERROR;
}

void file_etag(uint64_t size, int64_t mtime_sec, int64_t mtime_nsec, char out[FILE_ETAG_MAX])
{
    /* Unsigned arithmetic: a pre-1970 or absurd mtime wraps instead of overflowing. */
    uint64_t ns = (uint64_t)mtime_sec * UINT64_C(1000000000) + (uint64_t)mtime_nsec;
    snprintf(out, FILE_ETAG_MAX, "\"%" PRIx64 "-%" PRIx64 "\"", ns, size);
}

/* ---- the bounded set ---- */

static int file_list_item_cmp(const void *a, const void *b)
{
    const struct file_list_item *x = a, *y = b;
    return file_list_cmp(x->name, x->len, y->name, y->len);
}

static void file_list_set_free(struct file_list_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->items[i].name);
    free(set->items);
    set->items = NULL;
    set->n = set->cap = 0;
    set->bound = NULL;
}

/* Sort, merge equal CommonPrefixes (many keys roll up into one), keep the `keep` smallest. */
static void file_list_set_compact(struct file_list_set *set)
{
    if (set->n == 0)
        return;
    qsort(set->items, set->n, sizeof(*set->items), file_list_item_cmp);
    size_t out = 1;
    for (size_t i = 1; i < set->n; i++) {
        struct file_list_item *last = &set->items[out - 1];
        if (file_list_cmp(last->name, last->len, set->items[i].name, set->items[i].len) == 0) {
            free(set->items[i].name);
            continue;
        }
        set->items[out++] = set->items[i];
    }
    for (size_t i = set->keep; i < out; i++)
        free(set->items[i].name);
    set->n = out < set->keep ? out : set->keep;
    if (set->n == set->keep) {
        set->bound = set->items[set->n - 1].name;
        set->bound_len = set->items[set->n - 1].len;
    }
}

/* Would this item be refused anyway? Checked before the stat and the copy. */
static bool file_list_set_refuses(const struct file_list_set *set, const char *name, size_t len,
                                  bool is_prefix)
{
    if (set->bound && file_list_cmp(name, len, set->bound, set->bound_len) >= 0)
        return true;
    /* Keys of one folder that roll up into the same CommonPrefix usually come in a row. */
    if (is_prefix && set->n) {
        const struct file_list_item *last = &set->items[set->n - 1];
        return last->is_prefix && file_list_cmp(last->name, last->len, name, len) == 0;
    }
    return false;
}

static enum file_list_status file_list_set_add(struct file_list_set *set, const char *name,
                                               size_t len, bool is_prefix, const struct stat *st)
{
    if (set->n == set->cap) {
        if (set->items) {
            file_list_set_compact(set);
            if (file_list_set_refuses(set, name, len, is_prefix))
                return FILE_LIST_OK;
        } else {
            set->cap = set->keep * FILE_LIST_SET_SLACK;
            set->items = calloc(set->cap, sizeof(*set->items));
            if (!set->items)
                return FILE_LIST_IO_ERROR;
        }
    }
    char *copy = strndup(name, len);
    if (!copy)
        return FILE_LIST_IO_ERROR;
    struct file_list_item *it = &set->items[set->n++];
    it->name = copy;
    it->len = len;
    it->is_prefix = is_prefix;
    it->size = st ? (uint64_t)st->st_size : 0;
    it->mtime_sec = st ? (int64_t)st->st_mtim.tv_sec : 0;
    it->mtime_nsec = st ? (int64_t)st->st_mtim.tv_nsec : 0;
    return FILE_LIST_OK;
}

/* ---- the walk ---- */

static int file_list_names_push(struct file_list_names *l, const char *name, size_t len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **p = realloc(l->names, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        l->names = p;
        l->cap = cap;
    }
    char *copy = strndup(name, len);
    if (!copy)
        return -ENOMEM;
    l->names[l->n++] = copy;
    return 0;
}

static void file_list_names_free(struct file_list_names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = l->cap = 0;
}

/* Length of the CommonPrefix `s` rolls up into (prefix + up to and including the first
 * delimiter after it), or 0 if the delimiter does not occur in it after the prefix. */
static size_t file_list_rollup_len(const struct file_list_walk *w, const char *s, size_t len)
{
    if (!w->delim || len < w->prefix_len + w->delim_len)
        return 0;
    const char *hit = memmem(s + w->prefix_len, len - w->prefix_len, w->delim, w->delim_len);
    return hit ? (size_t)(hit - s) + w->delim_len : 0;
}

/* The key path[0..klen) (a regular file `name` in folder dfd): offer it, or its CommonPrefix. */
static enum file_list_status file_list_offer_key(struct file_list_walk *w, int dfd,
                                                 const char *name, size_t klen,
                                                 const struct stat *st)
{
    const char *key = w->path;
    if (!file_list_starts_with(key, klen, w->prefix, w->prefix_len))
        return FILE_LIST_OK;
    if (w->cursor && file_list_cmp(key, klen, w->cursor, w->cursor_len) <= 0)
        return FILE_LIST_OK;
    size_t plen = file_list_rollup_len(w, key, klen);
    if (plen) {
        /* A CommonPrefix sorts before its keys, so it can be at or before the cursor even
         * when the key is after it: the previous page already returned it. */
        if (w->cursor && file_list_cmp(key, plen, w->cursor, w->cursor_len) <= 0)
            return FILE_LIST_OK;
        if (file_list_set_refuses(&w->set, key, plen, true))
            return FILE_LIST_OK;
        return file_list_set_add(&w->set, key, plen, true, NULL);
    }
    if (file_list_set_refuses(&w->set, key, klen, false))
        return FILE_LIST_OK;
    struct stat own;
    if (!st) {
        if (fstatat(dfd, name, &own, AT_SYMLINK_NOFOLLOW) != 0)
            return file_list_errno_is_absent(errno) ? FILE_LIST_OK : FILE_LIST_IO_ERROR;
        if (!S_ISREG(own.st_mode))
            return FILE_LIST_OK; /* replaced since readdir */
        st = &own;
    }
    return file_list_set_add(&w->set, key, klen, false, st);
}

static int file_list_walk_dir(struct file_list_walk *w, size_t rel_len,
                              enum file_list_walk_mode mode);

/* Folder path[0..rlen) (ends in '/'), found while collecting: skip it, descend later (1), or,
 * when every key below it rolls up into the same CommonPrefix, settle it here. */
static int file_list_consider_dir(struct file_list_walk *w, size_t rlen)
{
    const char *r = w->path;
    /* Keys below are at least one byte longer than the folder's path. */
    if (rlen + 1 > FILE_LIST_KEY_MAX_BYTES)
        return 0;
    bool under_prefix = file_list_starts_with(r, rlen, w->prefix, w->prefix_len);
    if (!under_prefix && !file_list_starts_with(w->prefix, w->prefix_len, r, rlen))
        return 0;
    /* Every key below sorts before the cursor unless the cursor lies inside this folder. */
    if (w->cursor && file_list_cmp(r, rlen, w->cursor, w->cursor_len) < 0 &&
        !file_list_starts_with(w->cursor, w->cursor_len, r, rlen))
        return 0;
    size_t plen = under_prefix ? file_list_rollup_len(w, r, rlen) : 0;
    if (!plen)
        return 1;
    /* The delimiter ends inside the folder's path, so it is the first one in every key below:
     * they all roll up into path[0..plen), which is listed iff the folder holds a file. */
    if (w->cursor && file_list_cmp(r, plen, w->cursor, w->cursor_len) <= 0)
        return 0;
    if (file_list_set_refuses(&w->set, r, plen, true))
        return 0;
    int found = file_list_walk_dir(w, rlen, FILE_LIST_WALK_PROBE);
    if (found <= 0)
        return found;
    enum file_list_status st = file_list_set_add(&w->set, w->path, plen, true, NULL);
    return st == FILE_LIST_OK ? 0 : st;
}

/*
 * Read folder path[0..rel_len) (relative to the bucket, ending in '/', or empty for the bucket
 * itself). COLLECT: offer its keys to the set and recurse; returns 0 or a negative
 * file_list_status. PROBE: 1 as soon as a listable file is found below, else 0 (or an error).
 * Sub-folders are read after this one is closed, so one descriptor is open per folder being
 * read (two while a CommonPrefix is probed), whatever the depth.
 */
static int file_list_walk_dir(struct file_list_walk *w, size_t rel_len,
                              enum file_list_walk_mode mode)
{
    int rc = FILE_LIST_IO_ERROR;
    struct file_list_names subdirs = {0};
    DIR *d = NULL;

    w->path[rel_len] = '\0';
    int fd = file_list_open_dir(w->bucket_fd, rel_len ? w->path : ".");
    if (fd < 0) {
        rc = file_list_errno_is_absent(-fd) ? 0 : FILE_LIST_IO_ERROR;
        goto out;
    }
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        goto out;
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                goto out;
            break;
        }
        const char *name = de->d_name;
        size_t nlen = strlen(name);
        if ((nlen == 1 && name[0] == '.') || (nlen == 2 && name[0] == '.' && name[1] == '.'))
            continue;
        if (rel_len + nlen > FILE_LIST_KEY_MAX_BYTES || !file_list_utf8_valid(name, nlen))
            continue;
        unsigned char type = de->d_type;
        struct stat st;
        bool have_st = false;
        if (type == DT_UNKNOWN) { /* some filesystems (xfs v4, some FUSE) do not fill d_type */
            if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                if (file_list_errno_is_absent(errno))
                    continue;
                goto out;
            }
            have_st = true;
            type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
        }
        if (type == DT_DIR) {
            memcpy(w->path + rel_len, name, nlen);
            w->path[rel_len + nlen] = '/';
            size_t rlen = rel_len + nlen + 1;
            int want = 1;
            if (mode == FILE_LIST_WALK_COLLECT)
                want = file_list_consider_dir(w, rlen);
            else if (rlen + 1 > FILE_LIST_KEY_MAX_BYTES)
                want = 0;
            if (want < 0) {
                rc = want;
                goto out;
            }
            if (want && file_list_names_push(&subdirs, name, nlen) != 0)
                goto out;
            continue;
        }
        if (type != DT_REG)
            continue; /* symlinks, sockets, devices: not objects */
        if (mode == FILE_LIST_WALK_PROBE) {
            rc = 1;
            goto out;
        }
        memcpy(w->path + rel_len, name, nlen);
        enum file_list_status st2 =
            file_list_offer_key(w, dirfd(d), name, rel_len + nlen, have_st ? &st : NULL);
        if (st2 != FILE_LIST_OK) {
            rc = st2;
            goto out;
        }
    }
    closedir(d);
    d = NULL;

    for (size_t i = 0; i < subdirs.n; i++) {
        size_t nlen = strlen(subdirs.names[i]);
        memcpy(w->path + rel_len, subdirs.names[i], nlen);
        w->path[rel_len + nlen] = '/';
        int sub = file_list_walk_dir(w, rel_len + nlen + 1, mode);
        if (sub != 0) {
            rc = sub;
            goto out;
        }
    }
    rc = 0;
out:
    if (d)
        closedir(d);
    file_list_names_free(&subdirs);
    return rc;
}

/* Where the walk starts: the deepest folder the prefix names ("a/b/" for prefix "a/b/c"), so a
 * narrow prefix does not read the whole bucket. Returns its length in path, or -1 when no key
 * can have this prefix (an empty, "." or ".." component: file paths never contain those). */
static long file_list_start_dir(struct file_list_walk *w)
{
    const char *slash = memrchr(w->prefix, '/', w->prefix_len);
    if (!slash)
        return 0;
    size_t len = (size_t)(slash - w->prefix) + 1;
    if (len > FILE_LIST_KEY_MAX_BYTES || !file_list_utf8_valid(w->prefix, len))
        return -1;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (w->prefix[i] != '/')
            continue;
        size_t clen = i - start;
        const char *c = w->prefix + start;
        if (clen == 0 || (clen == 1 && c[0] == '.') || (clen == 2 && c[0] == '.' && c[1] == '.'))
            return -1;
        start = i + 1;
    }
    memcpy(w->path, w->prefix, len);
    return (long)len;
}

/* ---- continuation tokens ---- */

static const char file_list_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int file_list_b64_encode(struct buf *b, const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        size_t n = len - i < 3 ? len - i : 3;
        if (n > 1)
            v |= (uint32_t)s[i + 1] << 8;
        if (n > 2)
            v |= s[i + 2];
        char out[4] = {file_list_b64[(v >> 18) & 63], file_list_b64[(v >> 12) & 63],
                       file_list_b64[(v >> 6) & 63], file_list_b64[v & 63]};
        int rc = buf_append(b, out, n + 1); /* unpadded: 1, 2, 3 bytes -> 2, 3, 4 chars */
        if (rc)
            return rc;
    }
    return 0;
}

static enum file_list_status file_list_token_make(struct buf *b, const char *item, size_t len)
{
    unsigned char raw[FILE_LIST_KEY_MAX_BYTES + 1];
    raw[0] = FILE_LIST_TOKEN_VERSION;
    memcpy(raw + 1, item, len);
    int rc = file_list_b64_encode(b, raw, len + 1);
    return rc ? file_list_buf_status(rc) : FILE_LIST_OK;
}

/* Decode a token we made into out (NUL-terminated). Anything else is refused: other alphabets,
 * padding, non-canonical trailing bits, another version, an item that is not a UTF-8 key. */
static enum file_list_status
file_list_token_parse(const char *tok, char out[FILE_LIST_KEY_MAX_BYTES + 1], size_t *out_len)
{
    size_t len = strlen(tok);
    if (len < 2 || len > FILE_LIST_TOKEN_MAX_CHARS || len % 4 == 1)
        return FILE_LIST_INVALID_ARGUMENT;
    unsigned char raw[FILE_LIST_KEY_MAX_BYTES + 2];
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = memchr(file_list_b64, tok[i], 64);
        if (!p)
            return FILE_LIST_INVALID_ARGUMENT;
        acc = (acc << 6) | (uint32_t)(p - file_list_b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* leftover bits must be zero, so each item has exactly one token */
        return FILE_LIST_INVALID_ARGUMENT;
    if (n < 2 || raw[0] != FILE_LIST_TOKEN_VERSION || n - 1 > FILE_LIST_KEY_MAX_BYTES)
        return FILE_LIST_INVALID_ARGUMENT;
    const char *item = (const char *)raw + 1;
    if (memchr(item, '\0', n - 1) || !file_list_utf8_valid(item, n - 1))
        return FILE_LIST_INVALID_ARGUMENT;
    memcpy(out, item, n - 1);
    out[n - 1] = '\0';
    *out_len = n - 1;
    return FILE_LIST_OK;
}

/* ---- XML ---- */

/* The page as list_xml entries: dates and ETags are formatted into one scratch block. */
static enum file_list_status file_list_render(struct buf *b, const char *bucket,
                                              const struct ufs_list_params *p,
                                              const struct file_list_walk *w, size_t n,
                                              bool truncated)
{
    enum file_list_status status = FILE_LIST_IO_ERROR;
    struct list_xml_entry *entries = calloc(n ? n : 1, sizeof(*entries));
    char(*dates)[ISO8601_LEN + 1] = calloc(n ? n : 1, sizeof(*dates));
    char(*etags)[FILE_ETAG_MAX] = calloc(n ? n : 1, sizeof(*etags));
    struct buf token;
    buf_init(&token, FILE_LIST_TOKEN_MAX_CHARS + 1);
    if (!entries || !dates || !etags)
        goto done;
    for (size_t i = 0; i < n; i++) {
        const struct file_list_item *it = &w->set.items[i];
        http_date_format_iso8601((time_t)it->mtime_sec, dates[i]);
        file_etag(it->size, it->mtime_sec, it->mtime_nsec, etags[i]);
        entries[i] = (struct list_xml_entry){.name = it->name,
                                             .len = it->len,
                                             .is_prefix = it->is_prefix,
                                             .last_modified = dates[i],
                                             .etag = etags[i],
                                             .size = it->size};
    }
    if (truncated && n) {
        status = file_list_token_make(&token, w->set.items[n - 1].name, w->set.items[n - 1].len);
        if (status != FILE_LIST_OK)
            goto done;
    }
    struct list_xml_page page = {.bucket = bucket,
                                 .params = p,
                                 .entries = entries,
                                 .count = n,
                                 .truncated = truncated,
                                 .next_token = token.data};
    int rc = list_xml_render(b, &page);
    status = rc ? file_list_buf_status(rc) : FILE_LIST_OK;
done:
    buf_free(&token);
    free(entries);
    free(dates);
    free(etags);
    return status;
}

/* A bucket is one path component naming a folder directly under root. */
static bool file_list_bucket_name_ok(const char *bucket)
{
    return bucket[0] && strcmp(bucket, ".") != 0 && strcmp(bucket, "..") != 0 &&
           !strchr(bucket, '/');
}

enum file_list_status file_list_objects(const char *root, const char *bucket,
                                        const struct ufs_list_params *params, struct buf *xml)
{
    enum file_list_status status = FILE_LIST_IO_ERROR;
    size_t orig_len = xml->len;
    int root_fd = -1;
    struct file_list_walk *w = calloc(1, sizeof(*w));
    char cursor[FILE_LIST_KEY_MAX_BYTES + 1];

    if (!w)
        goto fail;
    w->bucket_fd = -1;
    if (!file_list_bucket_name_ok(bucket)) {
        status = FILE_LIST_NO_SUCH_BUCKET;
        goto fail;
    }
    root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        goto fail;
    w->bucket_fd = file_list_open_dir(root_fd, bucket);
    if (w->bucket_fd < 0) {
        /* A symlink (ELOOP) is no bucket, as ListBuckets does not show it; EACCES is ours to
         * fix, not the client's, so it stays an I/O error. */
        int err = -w->bucket_fd;
        if (err == ENOENT || err == ENOTDIR || err == ELOOP || err == EXDEV)
            status = FILE_LIST_NO_SUCH_BUCKET;
        goto fail;
    }

    w->prefix = params->prefix ? params->prefix : "";
    w->prefix_len = strlen(w->prefix);
    /* An empty delimiter is no delimiter, and is not echoed (ceph s3-tests
     * test_bucket_list_delimiter_empty, run against AWS). */
    if (params->delimiter && params->delimiter[0]) {
        w->delim = params->delimiter;
        w->delim_len = strlen(params->delimiter);
    }
    /* v2: the token wins over start-after (both are still echoed); v1: the marker. */
    const char *from = params->version == 2 ? params->start_after : params->marker;
    if (params->version == 2 && params->continuation_token) {
        size_t clen;
        status = file_list_token_parse(params->continuation_token, cursor, &clen);
        if (status != FILE_LIST_OK)
            goto fail;
        w->cursor = cursor;
        w->cursor_len = clen;
    } else if (from && from[0]) {
        w->cursor = from;
        w->cursor_len = strlen(from);
    }

    /* max-keys=0 lists nothing and is not truncated (ceph s3-tests
     * test_bucket_list_maxkeys_zero), so there is no walk to do. */
    size_t n = 0;
    bool truncated = false;
    if (params->max_keys > 0) {
        w->set.keep = (size_t)params->max_keys + 1;
        long start = file_list_start_dir(w);
        if (start >= 0) {
            int rc = file_list_walk_dir(w, (size_t)start, FILE_LIST_WALK_COLLECT);
            if (rc < 0) {
                status = (enum file_list_status)rc;
                goto fail;
            }
        }
        file_list_set_compact(&w->set);
        truncated = w->set.n > (size_t)params->max_keys;
        n = truncated ? (size_t)params->max_keys : w->set.n;
    }
    status = file_list_render(xml, bucket, params, w, n, truncated);
fail:
    if (status != FILE_LIST_OK && xml->data) {
        xml->len = orig_len;
        xml->data[orig_len] = '\0';
    }
    if (w) {
        if (w->bucket_fd >= 0)
            close(w->bucket_fd);
        file_list_set_free(&w->set);
        free(w);
    }
    if (root_fd >= 0)
        close(root_fd);
    return status;
}

/* ---- ListBuckets ---- */

struct file_list_bucket {
    char *name;
    time_t mtime;
};

static int file_list_bucket_cmp(const void *a, const void *b)
{
    const struct file_list_bucket *x = a, *y = b;
    return strcmp(x->name, y->name); /* compares as unsigned char: UTF-8 binary order */
}

enum file_list_status file_list_buckets(const char *root, struct buf *xml)
{
    enum file_list_status status = FILE_LIST_IO_ERROR;
    size_t orig_len = xml->len;
    struct file_list_bucket *list = NULL;
    size_t n = 0, cap = 0;
    DIR *d = NULL;

    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        goto fail;
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        goto fail;
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                goto fail;
            break;
        }
        const char *name = de->d_name;
        size_t nlen = strlen(name);
        if (!strcmp(name, ".") || !strcmp(name, "..") || !file_list_utf8_valid(name, nlen))
            continue;
        if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
            continue;
        struct stat st; /* needed anyway for the mtime; also settles DT_UNKNOWN */
        if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (file_list_errno_is_absent(errno))
                continue;
            goto fail;
        }
        if (!S_ISDIR(st.st_mode))
            continue;
        if ((n + 1) * FILE_LIST_BUCKET_MIN_XML_BYTES > xml->max) {
            status = FILE_LIST_TOO_LARGE;
            goto fail;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct file_list_bucket *p = realloc(list, ncap * sizeof(*p));
            if (!p)
                goto fail;
            list = p;
            cap = ncap;
        }
        list[n].name = strndup(name, nlen);
        if (!list[n].name)
            goto fail;
        /* A folder has no creation time we can trust (btime is often missing); its mtime is
         * stable while its top level does not change, which is what clients can observe. */
        list[n].mtime = st.st_mtim.tv_sec;
        n++;
    }
    qsort(list, n, sizeof(*list), file_list_bucket_cmp);

    int rc =
        buf_append_str(xml, LIST_XML_DECL "<ListAllMyBucketsResult xmlns=\"" LIST_XML_NS "\">");
    if (!rc)
        rc = list_xml_append_owner(xml, NULL, NULL);
    if (!rc)
        rc = buf_append_str(xml, "<Buckets>");
    for (size_t i = 0; i < n && !rc; i++) {
        char date[ISO8601_LEN + 1];
        http_date_format_iso8601(list[i].mtime, date);
        rc = buf_append_str(xml, "<Bucket>");
        if (!rc)
            rc = xml_append_element(xml, "Name", list[i].name, strlen(list[i].name));
        if (!rc)
            rc = buf_appendf(xml, "<CreationDate>%s</CreationDate></Bucket>", date);
    }
    if (!rc)
        rc = buf_append_str(xml, "</Buckets></ListAllMyBucketsResult>");
    status = rc ? file_list_buf_status(rc) : FILE_LIST_OK;
fail:
    if (status != FILE_LIST_OK && xml->data) {
        xml->len = orig_len;
        xml->data[orig_len] = '\0';
    }
    if (d)
        closedir(d);
    for (size_t i = 0; i < n; i++)
        free(list[i].name);
    free(list);
    return status;
}
