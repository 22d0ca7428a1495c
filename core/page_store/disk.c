/*
 * disk page store (see disk.h): pages as files, an in-memory index rebuilt from file names at
 * start, reads and writes as small state machines on the caller's io_uring.
 *
 * Placement. A page goes to one dir chosen by weighted rendezvous hashing of (name hash,
 * index) over the dirs' paths, weighted by capacity: pages of one object spread over all
 * disks, each dir gets its share, and adding or removing a dir moves only the pages that must
 * move (those found in the wrong dir at open are deleted: a page is looked for in its dir only).
 * Inside a dir: subdirs by hash prefix, names and charging as disk_dir.h says.
 *
 * Index. One disk_index (disk_index.h) and one mutex per dir: a lookup takes exactly one lock,
 * and loops working on different dirs never meet. Pages are 1 MiB by default, so the index
 * sees thousands of operations a second, not millions; a lock per dir is plenty.
 *
 * Eviction: CLOCK per dir, not LRU. A hit only sets a bit in a 32-byte slot, where LRU would
 * relink a list node under the lock on every read from every loop; the hand sweeps the slot
 * array, which stays dense and cache friendly. A new page starts with its bit clear, in the
 * slot the last victim freed just behind the hand, so it has a full turn to be read; a page
 * read since the hand last passed survives it (with the bit set on write, every page would look
 * hot and the first full sweep would evict in slot order). Capacity: a write reserves its
 * charged bytes (disk_dir.h) before it starts, picks its victims under the lock, and writes no
 * byte until its victims' unlinks have completed, so `du` of a dir never passes its capacity.
 *
 * Crash safety. A page is written to "<name>.t" and renamed to its final name when complete:
 * a name without the suffix is only ever a whole file. There is no fsync: after kill -9 the
 * kernel still has every byte; after a power loss a renamed file may hold zeros or old blocks,
 * and then its CRC-32C (which covers header and data) fails and the page is dropped on first
 * read. Temp files are removed at open.
 *
 * Entry states (disk_index.h): WRITING from reservation to rename (not readable; a second
 * write of the key is dropped), READY, DROPPING while an evicting write or a read that found a
 * bad page unlinks the file (the op that set DROPPING removes the entry). Only the op that
 * owns a WRITING or DROPPING entry removes it, so refs held across the unlock stay valid.
 *
 * Failures. Any error writing (ENOSPC, EIO, EROFS, EACCES, a removed dir...) drops that page,
 * counts it, logs at most once per dir per DISK_STORE_LOG_INTERVAL_MS, and pauses writes to
 * that dir for the back-off: the proxy keeps serving from memory or the UFS. A missing subdir
 * or dir is created again by the next write (mkdirat through the ring), so a dir removed and
 * put back recovers on its own. Reads of pages whose file is gone report -ENOENT and forget
 * the entry; pages failing a check are dropped, unlinked and counted.
 */
#include "disk.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "../hash.h"
#include "../loop.h"
#include "disk_dir.h"
#include "disk_index.h"
#include "page_file.h"

#define DISK_PLACE_LOG2_BITS 24 /* fraction bits of the log2 used for placement */

/* Fixed, like the name hash key: placement must not change between runs. */
static const uint8_t disk_place_key[HASH_SIPHASH_KEY_BYTES] = {
    'd', 'i', 's', 'k', '-', 'p', 'l', 'a', 'c', 'e', 'm', 'e', 'n', 't', '-', '1'};

struct disk_store {
    struct disk_dir *dirs;
    size_t dir_count;
    uint64_t page_size;
    unsigned max_writes;
    uint32_t backoff_ms;
    /* Write slots: a finished write hands its slot to the oldest waiting page, if any. */
    pthread_mutex_t queue_lock;
    unsigned writes_in_flight;
    struct disk_queued *queue_head, *queue_tail;
    uint64_t queue_bytes;
    atomic_uint pending; /* reads and writes with ring ops outstanding */
    atomic_uint_fast64_t hits, misses, bad_pages, read_errors, writes, write_errors, write_drops,
        evictions;
};

/* A page waiting for a write slot, with its own copy of the key. */
struct disk_queued {
    struct disk_queued *next;
    struct disk_store *d;
    struct loop *loop; /* the loop it came from: its write runs on that loop's ring */
    struct page *page;
    struct page_key key; /* path and etag point into bytes[] */
    char bytes[];
};

static void disk_count(atomic_uint_fast64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* --- placement: weighted rendezvous hashing ------------------------------------------------ */

/* -log2(u) for u = h's top 53 bits (made odd) / 2^53, in (0, 1). The integer part comes from
 * the bit length, the fraction from repeated squaring of the mantissa (each squaring that
 * passes 2 yields a 1 bit): no libm, 24 bits of precision, plenty for a weight. */
static double disk_neg_log2_unit(uint64_t h)
{
    uint64_t v = (h >> 11) | 1;
    int e = 63 - __builtin_clzll(v);
    double m = (double)v / (double)(1ULL << e);
    double frac = 0, bit = 0.5;
    for (int i = 0; i < DISK_PLACE_LOG2_BITS; i++) {
        m *= m;
        if (m >= 2) {
            m /= 2;
            frac += bit;
        }
        bit /= 2;
    }
    return 53.0 - ((double)e + frac);
}

/* Each dir draws an exponential variable with rate = its capacity; the smallest wins, which
 * picks dir i with probability capacity_i / total (weighted rendezvous hashing, the
 * "logarithmic method" of Schindelhauer and Schomaker, "Weighted distributed hash tables",
 * SPAA 2005). A dir's draw depends only on the page and the dir's own path, so changing one
 * dir moves only pages that win or lose with it, and the order of the dirs does not matter. */
static struct disk_dir *disk_place(struct disk_store *d, uint64_t name_hash, uint64_t index)
{
    if (d->dir_count == 1)
        return &d->dirs[0];
    size_t best = 0;
    double best_t = 0;
    for (size_t i = 0; i < d->dir_count; i++) {
        uint64_t k[3] = {name_hash, index, d->dirs[i].place_id};
        double t =
            disk_neg_log2_unit(hash_siphash24(disk_place_key, k, sizeof k)) / d->dirs[i].weight;
        if (i == 0 || t < best_t) {
            best = i;
            best_t = t;
        }
    }
    return &d->dirs[best];
}

static bool disk_belongs(void *ctx, const struct disk_dir *dir, uint64_t name_hash, uint64_t index)
{
    return disk_place(ctx, name_hash, index) == dir;
}

/* --- reads -------------------------------------------------------------------------------- */

enum disk_read_state {
    DISK_READ_OPEN,  /* openat in flight */
    DISK_READ_DATA,  /* readv in flight (again after a short read, or for the next segment) */
    DISK_READ_CLOSE, /* close in flight; the callback has run */
    DISK_READ_DROP,  /* unlinkat of a bad page's file in flight */
    DISK_READ_DONE,  /* about to be freed */
};

/* A run of the file to read into one buffer. Segments are filled in order. */
struct disk_read_segment {
    uint64_t file_offset;
    void *buf;
    size_t len;
};

struct disk_read {
    struct loop_op op;
    enum disk_read_state state;
    struct disk_store *d;
    struct disk_dir *dir;
    struct loop *loop;
    disk_store_read_cb cb; /* NULL: only a drop, nobody to call */
    void *arg;
    struct disk_ref ref;
    struct page *page;
    int fd;
    bool drop;  /* this read owns the entry's DROPPING state: unlink after closing */
    bool whole; /* the whole file is read (else the header and a span of the data) */
    uint32_t expected_len;
    struct page_file_span span; /* the data read: all of it when whole */
    size_t header_size;
    /* whole: header, data and a spare byte that catches a longer file, all adjacent in the
     * file; a part: the header, then the span's bytes further on. */
    struct disk_read_segment segment[3];
    unsigned segment_count;
    size_t needed; /* bytes of the segments that must be there (the spare byte is not) */
    size_t got;    /* bytes read so far, filling the segments in order */
    uint8_t extra;
    struct iovec iov[3];
    struct page_key key; /* path and etag point into buf */
    char *path;          /* the file, into buf */
    uint8_t *header;     /* header_size bytes, into buf */
    char buf[];
};

static void disk_read_complete(struct loop_op *op, int res, uint32_t flags);

/* The readv that resumes filling the segments at r->got: the rest of the first segment not
 * yet full, and the segments after it as long as they follow it in the file. */
static void disk_read_prep_data(struct disk_read *r, struct io_uring_sqe *sqe)
{
    size_t skip = r->got;
    unsigned first = 0;
    while (skip >= r->segment[first].len) {
        skip -= r->segment[first].len;
        first++;
    }
    uint64_t offset = r->segment[first].file_offset + skip;
    uint64_t next = offset;
    unsigned n = 0;
    for (unsigned i = first; i < r->segment_count; i++) {
        if (i > first && r->segment[i].file_offset != next)
            break;
        size_t at = i == first ? skip : 0;
        r->iov[n].iov_base = (char *)r->segment[i].buf + at;
        r->iov[n].iov_len = r->segment[i].len - at;
        next += r->iov[n].iov_len;
        n++;
    }
    io_uring_prep_readv(sqe, r->fd, r->iov, n, offset);
}

/* The only writer of r->state: enter a state and queue its ring op. */
static void disk_read_enter(struct disk_read *r, enum disk_read_state state)
{
    r->state = state;
    struct io_uring_sqe *sqe;
    switch (state) {
    case DISK_READ_OPEN:
        sqe = loop_sqe(r->loop);
        io_uring_prep_openat(sqe, AT_FDCWD, r->path, O_RDONLY | O_CLOEXEC, 0);
        break;
    case DISK_READ_DATA:
        sqe = loop_sqe(r->loop);
        disk_read_prep_data(r, sqe);
        break;
    case DISK_READ_CLOSE:
        sqe = loop_sqe(r->loop);
        io_uring_prep_close(sqe, r->fd);
        r->fd = -1;
        break;
    case DISK_READ_DROP:
        sqe = loop_sqe(r->loop);
        io_uring_prep_unlinkat(sqe, AT_FDCWD, r->path, 0);
        break;
    case DISK_READ_DONE:
        page_unref(r->page);
        atomic_fetch_sub(&r->d->pending, 1);
        free(r);
        return;
    }
    r->op.complete = disk_read_complete;
    io_uring_sqe_set_data(sqe, &r->op);
}

/* Hand the result to the caller (once), then close the file if open. */
static void disk_read_answer(struct disk_read *r, int result)
{
    struct page *page = NULL;
    if (result == 0) {
        page = r->page;
        r->page = NULL;
    }
    if (r->cb)
        r->cb(r->arg, result, page);
    r->cb = NULL;
    if (r->fd >= 0)
        disk_read_enter(r, DISK_READ_CLOSE);
    else
        disk_read_enter(r, r->drop ? DISK_READ_DROP : DISK_READ_DONE);
}

/* Every byte the read wanted is in (or the file ended): check it all. */
static void disk_read_check(struct disk_read *r)
{
    size_t header_got = r->got < r->header_size ? r->got : r->header_size;
    size_t data_got = r->got > r->header_size ? r->got - r->header_size : 0;
    if (data_got > r->span.len)
        data_got = r->span.len;
    enum page_file_status st;
    if (r->whole)
        st = page_file_verify(r->header, header_got, r->page->data, data_got, r->got > r->needed,
                              &r->key, r->expected_len);
    else
        st = page_file_verify_span(r->header, header_got, &r->key, r->expected_len, r->span,
                                   r->page->data, data_got);
    if (st == PAGE_FILE_OK) {
        disk_count(&r->d->hits);
        r->page->base = r->span.offset;
        r->page->len = r->span.len;
        disk_read_answer(r, 0);
        return;
    }
    disk_count(&r->d->bad_pages);
    r->drop = disk_dir_drop(r->dir, r->ref);
    disk_dir_log(r->dir, loop_now_ms(r->loop), "page file %s failed its check (%s): dropped",
                 r->path + strlen(r->dir->root) + 1, page_file_status_name(st));
    disk_read_answer(r, -ENOENT);
}

static void disk_read_complete(struct loop_op *op, int res, uint32_t flags)
{
    (void)flags;
    struct disk_read *r = (struct disk_read *)((char *)op - offsetof(struct disk_read, op));
    switch (r->state) {
    case DISK_READ_OPEN:
        if (res >= 0) {
            r->fd = res;
            disk_read_enter(r, DISK_READ_DATA);
        } else if (res == -ENOENT || res == -ENOTDIR) {
            /* Gone under us: evicted meanwhile, or the dir was removed (or replaced). */
            disk_count(&r->d->misses);
            disk_dir_remove(r->dir, r->ref, DISK_ENTRY_READY);
            disk_read_answer(r, -ENOENT);
        } else {
            disk_count(&r->d->read_errors);
            disk_read_answer(r, res);
        }
        return;
    case DISK_READ_DATA:
        if (res < 0) {
            disk_count(&r->d->read_errors);
            if (res == -EIO) /* a bad block stays bad: forget the page */
                r->drop = disk_dir_drop(r->dir, r->ref);
            disk_dir_log(r->dir, loop_now_ms(r->loop), "reading a page file failed: %s",
                         strerror(-res));
            disk_read_answer(r, res);
            return;
        }
        r->got += (size_t)res;
        if (res > 0 && r->got < r->needed)
            disk_read_enter(r, DISK_READ_DATA);
        else
            disk_read_check(r);
        return;
    case DISK_READ_CLOSE:
        disk_read_enter(r, r->drop ? DISK_READ_DROP : DISK_READ_DONE);
        return;
    case DISK_READ_DROP:
        disk_dir_remove(r->dir, r->ref, DISK_ENTRY_DROPPING);
        disk_read_enter(r, DISK_READ_DONE);
        return;
    case DISK_READ_DONE:
        break;
    }
    assert(!"disk_read: completion in an impossible state");
}

static struct disk_read *disk_read_alloc(struct disk_store *d, struct disk_dir *dir, struct loop *l,
                                         const struct page_key *key, size_t header_size)
{
    size_t size =
        sizeof(struct disk_read) + dir->path_size + key->path_len + key->etag_len + header_size;
    struct disk_read *r = calloc(1, size);
    if (!r)
        return NULL;
    r->d = d;
    r->dir = dir;
    r->loop = l;
    r->fd = -1;
    r->header_size = header_size;
    r->path = r->buf;
    char *p = r->buf + dir->path_size;
    r->key = *key;
    r->key.path = p;
    if (key->path_len)
        memcpy(p, key->path, key->path_len);
    p += key->path_len;
    r->key.etag = p;
    if (key->etag_len)
        memcpy(p, key->etag, key->etag_len);
    p += key->etag_len;
    r->header = (uint8_t *)p;
    return r;
}

/* Lay out what r reads: the whole file, or the header and the span. */
static void disk_read_plan(struct disk_read *r)
{
    struct disk_read_segment *s = r->segment;
    s[0] = (struct disk_read_segment){0, r->header, r->header_size};
    s[1] = (struct disk_read_segment){r->header_size + r->span.offset, r->page->data, r->span.len};
    r->segment_count = 2;
    r->needed = r->header_size + r->span.len;
    if (r->whole) {
        s[2] = (struct disk_read_segment){r->header_size + r->expected_len, &r->extra, 1};
        r->segment_count = 3;
    }
}

bool disk_store_read(struct disk_store *d, struct loop *l, const struct page_key *key,
                     uint32_t expected_len, uint32_t from, uint32_t count, disk_store_read_cb cb,
                     void *arg)
{
    size_t header_size = page_file_header_size(key, expected_len);
    if (header_size == 0 || expected_len == 0 || expected_len > d->page_size) {
        disk_count(&d->misses);
        return false;
    }
    uint64_t name_hash = page_file_name_hash(key);
    struct disk_dir *dir = disk_place(d, name_hash, key->index);

    pthread_mutex_lock(&dir->lock);
    uint32_t slot = disk_index_find(dir->index, name_hash, key->index);
    struct disk_entry *e = slot == DISK_INDEX_NONE ? NULL : disk_index_entry(dir->index, slot);
    if (!e || e->state != DISK_ENTRY_READY) {
        pthread_mutex_unlock(&dir->lock);
        disk_count(&d->misses);
        return false;
    }
    struct disk_ref ref = {slot, e->gen};
    uint64_t file_size = e->file_size;
    /* The size in the name cannot be this page's: the file would fail its check anyway. */
    bool mismatch = file_size != header_size + expected_len;
    if (mismatch)
        disk_dir_drop_locked(dir, ref);
    else
        e->referenced = true;
    pthread_mutex_unlock(&dir->lock);

    struct disk_read *r = disk_read_alloc(d, dir, l, key, header_size);
    if (r) {
        r->ref = ref;
        disk_dir_path(dir, r->path, name_hash, key->index, file_size, false);
    }
    if (mismatch) {
        disk_count(&d->bad_pages);
        if (!r) {
            /* No memory to unlink it: forget it; the next open finds the file again. */
            disk_dir_remove(dir, ref, DISK_ENTRY_DROPPING);
            return false;
        }
        atomic_fetch_add(&d->pending, 1);
        r->drop = true;
        disk_read_enter(r, DISK_READ_DROP);
        return false;
    }
    if (r) {
        r->expected_len = expected_len;
        r->span = page_file_span_of(expected_len, from, count);
        r->whole = r->span.len == expected_len;
        /* The span's bytes land at data[0]; a part's buffer is the span's size, from the
         * page pool's part classes (page.c). */
        r->page = r->whole ? page_alloc(expected_len) : page_alloc_sparse(r->span.len);
    }
    if (!r || !r->page) {
        free(r);
        disk_count(&d->misses);
        return false;
    }
    r->cb = cb;
    r->arg = arg;
    disk_read_plan(r);
    atomic_fetch_add(&d->pending, 1);
    disk_read_enter(r, DISK_READ_OPEN);
    return true;
}

/* --- writes ------------------------------------------------------------------------------- */

enum disk_write_state {
    DISK_WRITE_EVICT,        /* unlinkat of the victims in flight */
    DISK_WRITE_OPEN,         /* openat of the temp file in flight */
    DISK_WRITE_MKDIR_ROOT,   /* the temp file's directory was missing: mkdirat of the dir */
    DISK_WRITE_MKDIR_SUB,    /* then of its subdir */
    DISK_WRITE_DATA,         /* writev in flight (again after a short write) */
    DISK_WRITE_CLOSE,        /* close in flight */
    DISK_WRITE_RENAME,       /* renameat of the temp file to its final name in flight */
    DISK_WRITE_ABORT_CLOSE,  /* failed with the file open: close in flight */
    DISK_WRITE_ABORT_UNLINK, /* failed after creating the temp file: unlinkat in flight */
    DISK_WRITE_DONE,         /* published or given up; about to be freed */
};

struct disk_write;

struct disk_victim {
    struct loop_op op;
    struct disk_write *w;
    struct disk_ref ref;
    uint64_t name_hash;
    uint64_t index;
    uint32_t file_size;
    char *path;
};

struct disk_write {
    struct loop_op op;
    enum disk_write_state state;
    struct disk_store *d;
    struct disk_dir *dir;
    struct loop *loop;
    struct disk_ref ref; /* our WRITING entry */
    struct page *page;   /* our reference */
    int fd;
    int error;          /* first failure (-errno), 0 while all is well */
    const char *failed; /* the step that failed, for the log */
    bool mkdir_tried;
    uint32_t victims, victims_pending;
    size_t header_size;
    size_t file_size;
    size_t written;
    struct iovec iov[2];
    uint8_t *header;
    char *temp_path;
    char *final_path;
    char *cut;                   /* the '/' of temp_path replaced by NUL during MKDIR_SUB */
    struct disk_victim victim[]; /* then header, temp path, final path, victims' paths */
};

static void disk_write_complete(struct loop_op *op, int res, uint32_t flags);
static void disk_victim_complete(struct loop_op *op, int res, uint32_t flags);
static void disk_write_slot_release(struct disk_store *d);

static void disk_write_finish(struct disk_write *w)
{
    struct disk_store *d = w->d;
    if (w->error) {
        disk_dir_remove(w->dir, w->ref, DISK_ENTRY_WRITING);
        disk_count(&d->write_errors);
        uint64_t now = loop_now_ms(w->loop);
        pthread_mutex_lock(&w->dir->lock);
        w->dir->fail_until_ms = now + d->backoff_ms;
        pthread_mutex_unlock(&w->dir->lock);
        disk_dir_log(w->dir, now, "%s of a page file failed: %s; writes paused for %u ms",
                     w->failed, strerror(-w->error), d->backoff_ms);
    } else {
        pthread_mutex_lock(&w->dir->lock);
        struct disk_entry *e = disk_index_get(w->dir->index, w->ref);
        assert(e && e->state == DISK_ENTRY_WRITING);
        disk_index_set_state(w->dir->index, w->ref.slot, DISK_ENTRY_READY);
        pthread_mutex_unlock(&w->dir->lock);
        disk_count(&d->writes);
    }
    page_unref(w->page);
    free(w);
    disk_write_slot_release(d);
    atomic_fetch_sub(&d->pending, 1);
}

/* The only writer of w->state: enter a state and queue its ring op(s). */
static void disk_write_enter(struct disk_write *w, enum disk_write_state state)
{
    w->state = state;
    struct io_uring_sqe *sqe;
    switch (state) {
    case DISK_WRITE_EVICT:
        w->victims_pending = w->victims;
        for (uint32_t i = 0; i < w->victims; i++) {
            struct disk_victim *v = &w->victim[i];
            sqe = loop_sqe(w->loop);
            io_uring_prep_unlinkat(sqe, AT_FDCWD, v->path, 0);
            v->op.complete = disk_victim_complete;
            io_uring_sqe_set_data(sqe, &v->op);
        }
        return;
    case DISK_WRITE_OPEN:
        sqe = loop_sqe(w->loop);
        io_uring_prep_openat(sqe, AT_FDCWD, w->temp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                             DISK_DIR_FILE_MODE);
        break;
    case DISK_WRITE_MKDIR_ROOT:
        sqe = loop_sqe(w->loop);
        io_uring_prep_mkdirat(sqe, AT_FDCWD, w->dir->root, DISK_DIR_MODE);
        break;
    case DISK_WRITE_MKDIR_SUB:
        /* The subdir is the temp path up to its last '/': cut there until the op completes. */
        w->cut = strrchr(w->temp_path, '/');
        *w->cut = '\0';
        sqe = loop_sqe(w->loop);
        io_uring_prep_mkdirat(sqe, AT_FDCWD, w->temp_path, DISK_DIR_MODE);
        break;
    case DISK_WRITE_DATA: {
        size_t seg_len[2] = {w->header_size, w->page->len};
        void *seg[2] = {w->header, w->page->data};
        size_t skip = w->written;
        unsigned n = 0;
        for (unsigned i = 0; i < 2; i++) {
            if (skip >= seg_len[i]) {
                skip -= seg_len[i];
                continue;
            }
            w->iov[n].iov_base = (char *)seg[i] + skip;
            w->iov[n].iov_len = seg_len[i] - skip;
            skip = 0;
            n++;
        }
        sqe = loop_sqe(w->loop);
        io_uring_prep_writev(sqe, w->fd, w->iov, n, w->written);
        break;
    }
    case DISK_WRITE_CLOSE:
    case DISK_WRITE_ABORT_CLOSE:
        sqe = loop_sqe(w->loop);
        io_uring_prep_close(sqe, w->fd);
        w->fd = -1;
        break;
    case DISK_WRITE_RENAME:
        sqe = loop_sqe(w->loop);
        io_uring_prep_renameat(sqe, AT_FDCWD, w->temp_path, AT_FDCWD, w->final_path, 0);
        break;
    case DISK_WRITE_ABORT_UNLINK:
        sqe = loop_sqe(w->loop);
        io_uring_prep_unlinkat(sqe, AT_FDCWD, w->temp_path, 0);
        break;
    case DISK_WRITE_DONE:
        disk_write_finish(w);
        return;
    }
    w->op.complete = disk_write_complete;
    io_uring_sqe_set_data(sqe, &w->op);
}

static void disk_write_fail(struct disk_write *w, const char *step, int res,
                            enum disk_write_state next)
{
    if (!w->error) {
        w->error = res;
        w->failed = step;
    }
    disk_write_enter(w, next);
}

static void disk_victim_complete(struct loop_op *op, int res, uint32_t flags)
{
    (void)flags;
    struct disk_victim *v = (struct disk_victim *)((char *)op - offsetof(struct disk_victim, op));
    struct disk_write *w = v->w;
    /* A failed unlink leaves a file the index no longer counts; the write that follows in the
     * same dir will most likely fail too and back the dir off. The next open finds the file. */
    if (res < 0 && res != -ENOENT)
        disk_dir_log(w->dir, loop_now_ms(w->loop), "evicting a page file failed: %s",
                     strerror(-res));
    disk_dir_remove(w->dir, v->ref, DISK_ENTRY_DROPPING);
    if (--w->victims_pending == 0)
        disk_write_enter(w, DISK_WRITE_OPEN);
}

static void disk_write_complete(struct loop_op *op, int res, uint32_t flags)
{
    (void)flags;
    struct disk_write *w = (struct disk_write *)((char *)op - offsetof(struct disk_write, op));
    switch (w->state) {
    case DISK_WRITE_OPEN:
        if (res >= 0) {
            w->fd = res;
            disk_write_enter(w, DISK_WRITE_DATA);
        } else if (res == -ENOENT && !w->mkdir_tried) {
            w->mkdir_tried = true;
            disk_write_enter(w, DISK_WRITE_MKDIR_ROOT);
        } else {
            disk_write_fail(w, "create", res, DISK_WRITE_DONE);
        }
        return;
    case DISK_WRITE_MKDIR_ROOT:
        if (res < 0 && res != -EEXIST)
            disk_write_fail(w, "mkdir", res, DISK_WRITE_DONE);
        else
            disk_write_enter(w, DISK_WRITE_MKDIR_SUB);
        return;
    case DISK_WRITE_MKDIR_SUB:
        *w->cut = '/';
        if (res < 0 && res != -EEXIST)
            disk_write_fail(w, "mkdir", res, DISK_WRITE_DONE);
        else
            disk_write_enter(w, DISK_WRITE_OPEN);
        return;
    case DISK_WRITE_DATA:
        if (res <= 0) {
            /* 0 for a non-empty write never happens on a sane file system: do not spin. */
            disk_write_fail(w, "write", res < 0 ? res : -EIO, DISK_WRITE_ABORT_CLOSE);
            return;
        }
        w->written += (size_t)res;
        disk_write_enter(w, w->written < w->file_size ? DISK_WRITE_DATA : DISK_WRITE_CLOSE);
        return;
    case DISK_WRITE_CLOSE:
        if (res < 0)
            disk_write_fail(w, "close", res, DISK_WRITE_ABORT_UNLINK);
        else
            disk_write_enter(w, DISK_WRITE_RENAME);
        return;
    case DISK_WRITE_RENAME:
        if (res < 0)
            disk_write_fail(w, "rename", res, DISK_WRITE_ABORT_UNLINK);
        else
            disk_write_enter(w, DISK_WRITE_DONE);
        return;
    case DISK_WRITE_ABORT_CLOSE:
        disk_write_enter(w, DISK_WRITE_ABORT_UNLINK);
        return;
    case DISK_WRITE_ABORT_UNLINK:
        disk_write_enter(w, DISK_WRITE_DONE);
        return;
    case DISK_WRITE_EVICT:
    case DISK_WRITE_DONE:
        break;
    }
    assert(!"disk_write: completion in an impossible state");
}

/* Under the dir lock: reserve need bytes for a new WRITING entry, choosing victims by CLOCK
 * (at most max). False, with every victim put back, when there is no room to be had. */
static bool disk_write_reserve(struct disk_write *w, uint64_t name_hash, uint64_t index,
                               uint64_t need, uint32_t max)
{
    struct disk_dir *dir = w->dir;
    while (dir->used + need > dir->capacity && w->victims < max) {
        uint32_t slot = disk_index_clock_victim(dir->index);
        if (slot == DISK_INDEX_NONE)
            break;
        struct disk_entry *e = disk_index_entry(dir->index, slot);
        struct disk_victim *v = &w->victim[w->victims++];
        v->ref.slot = slot;
        v->ref.gen = e->gen;
        v->name_hash = e->name_hash;
        v->index = e->index;
        v->file_size = e->file_size;
        disk_dir_drop_locked(dir, v->ref);
    }
    if (dir->used + need <= dir->capacity &&
        disk_index_add(dir->index, name_hash, index, (uint32_t)w->file_size, DISK_ENTRY_WRITING,
                       &w->ref) == 0) {
        dir->used += need;
        return true;
    }
    /* Everything left is being written or dropped, or out of memory: undo. */
    for (uint32_t i = 0; i < w->victims; i++) {
        struct disk_entry *e = disk_index_entry(dir->index, w->victim[i].ref.slot);
        disk_index_set_state(dir->index, w->victim[i].ref.slot, DISK_ENTRY_READY);
        dir->used += disk_dir_file_bytes(e->file_size);
    }
    w->victims = 0;
    return false;
}

/* Start the write of page under key; the caller holds a write slot, which this gives back on
 * every path that does not start the write. */
static void disk_write_start(struct disk_store *d, struct loop *l, const struct page_key *key,
                             struct page *page)
{
    size_t header_size = page_file_header_size(key, page->len);
    uint64_t name_hash = page_file_name_hash(key);
    struct disk_dir *dir = disk_place(d, name_hash, key->index);
    size_t file_size = header_size + page->len;
    uint64_t need = disk_dir_file_bytes(file_size);
    /* Each victim frees at least one block and its entry allowance. */
    uint32_t max_victims = (uint32_t)(need / (DISK_DIR_BLOCK_BYTES + DISK_DIR_DIRENT_BYTES) + 1);
    size_t size = sizeof(struct disk_write) + max_victims * sizeof(struct disk_victim) +
                  header_size + (2 + (size_t)max_victims) * dir->path_size;
    struct disk_write *w = NULL;
    if (need + dir->dir_bytes <= dir->capacity)
        w = malloc(size);
    if (!w)
        goto drop;
    memset(w, 0, sizeof(*w));
    w->d = d;
    w->dir = dir;
    w->loop = l;
    w->fd = -1;
    w->header_size = header_size;
    w->file_size = file_size;

    pthread_mutex_lock(&dir->lock);
    bool ok = loop_now_ms(l) >= dir->fail_until_ms &&
              disk_index_find(dir->index, name_hash, key->index) == DISK_INDEX_NONE &&
              disk_write_reserve(w, name_hash, key->index, need, max_victims);
    pthread_mutex_unlock(&dir->lock);
    if (!ok)
        goto drop;

    for (uint32_t i = 0; i < w->victims; i++)
        w->victim[i].w = w;
    atomic_fetch_add_explicit(&d->evictions, w->victims, memory_order_relaxed);
    char *p = (char *)&w->victim[max_victims];
    w->header = (uint8_t *)p;
    p += header_size;
    w->temp_path = p;
    p += dir->path_size;
    w->final_path = p;
    p += dir->path_size;
    disk_dir_path(dir, w->temp_path, name_hash, key->index, file_size, true);
    disk_dir_path(dir, w->final_path, name_hash, key->index, file_size, false);
    for (uint32_t i = 0; i < w->victims; i++, p += dir->path_size) {
        struct disk_victim *v = &w->victim[i];
        v->path = p;
        disk_dir_path(dir, v->path, v->name_hash, v->index, v->file_size, false);
    }
    page_file_header_encode(w->header, key, page->data, page->len);
    w->page = page_ref(page);
    atomic_fetch_add(&d->pending, 1);
    disk_write_enter(w, w->victims ? DISK_WRITE_EVICT : DISK_WRITE_OPEN);
    return;

drop:
    free(w);
    disk_count(&d->write_drops);
    disk_write_slot_release(d);
}

static void disk_queued_start(void *arg)
{
    struct disk_queued *q = arg;
    struct disk_store *d = q->d;
    disk_write_start(d, q->loop, &q->key, q->page);
    page_unref(q->page);
    free(q);
    atomic_fetch_sub(&d->pending, 1);
}

/* A write is over: its slot goes to the oldest waiting page (started at the end of this turn on
 * its own loop, so a chain of quick failures never recurses), or back to the pool. */
static void disk_write_slot_release(struct disk_store *d)
{
    pthread_mutex_lock(&d->queue_lock);
    struct disk_queued *q = d->queue_head;
    if (q) {
        d->queue_head = q->next;
        if (!d->queue_head)
            d->queue_tail = NULL;
        d->queue_bytes -= q->page->len;
    } else {
        d->writes_in_flight--;
    }
    pthread_mutex_unlock(&d->queue_lock);
    if (q)
        loop_post(q->loop, disk_queued_start, q);
}

/* Wait for a slot: false when the queue is full (or no memory), the page then dropped. */
static bool disk_write_enqueue(struct disk_store *d, struct loop *l, const struct page_key *key,
                               struct page *page)
{
    struct disk_queued *q = malloc(sizeof(*q) + key->path_len + key->etag_len);
    if (!q)
        return false;
    q->next = NULL;
    q->d = d;
    q->loop = l;
    memcpy(q->bytes, key->path, key->path_len);
    memcpy(q->bytes + key->path_len, key->etag, key->etag_len);
    q->key = (struct page_key){q->bytes, key->path_len, q->bytes + key->path_len, key->etag_len,
                               key->index};
    q->page = page_ref(page);
    atomic_fetch_add(&d->pending, 1);
    if (d->queue_tail)
        d->queue_tail->next = q;
    else
        d->queue_head = q;
    d->queue_tail = q;
    d->queue_bytes += page->len;
    return true;
}

void disk_store_write(struct disk_store *d, struct loop *l, const struct page_key *key,
                      struct page *page)
{
    size_t header_size = page_file_header_size(key, page->len);
    if (header_size == 0 || page->len == 0 || page->len > d->page_size || page->base != 0) {
        disk_count(&d->write_drops);
        return;
    }
    pthread_mutex_lock(&d->queue_lock);
    bool slot = d->writes_in_flight < d->max_writes;
    bool queued = false;
    if (slot)
        d->writes_in_flight++;
    else if (d->queue_bytes + page->len <= DISK_STORE_QUEUE_BYTES)
        queued = disk_write_enqueue(d, l, key, page);
    pthread_mutex_unlock(&d->queue_lock);
    if (slot)
        disk_write_start(d, l, key, page);
    else if (!queued)
        disk_count(&d->write_drops);
}

/* --- open, close, stats ------------------------------------------------------------------- */

static void disk_err(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void disk_err(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

void disk_store_close(struct disk_store *d)
{
    if (!d)
        return;
    assert(atomic_load(&d->pending) == 0);
    for (size_t i = 0; i < d->dir_count; i++)
        disk_dir_destroy(&d->dirs[i]);
    free(d->dirs);
    pthread_mutex_destroy(&d->queue_lock);
    free(d);
}

struct disk_store *disk_store_open(const struct disk_store_config *cfg, char *err, size_t err_size)
{
    struct disk_store *d = NULL;
    if (!cfg->dirs || !cfg->capacities || cfg->dir_count == 0 ||
        cfg->dir_count > DISK_STORE_MAX_DIRS) {
        disk_err(err, err_size, "page store: between 1 and %d dirs, with a size each",
                 DISK_STORE_MAX_DIRS);
        return NULL;
    }
    if (cfg->page_size == 0 || cfg->page_size > DISK_STORE_MAX_PAGE_SIZE) {
        disk_err(err, err_size, "page store: page size must be 1..%u bytes",
                 DISK_STORE_MAX_PAGE_SIZE);
        return NULL;
    }
    for (size_t i = 0; i < cfg->dir_count; i++) {
        if (!cfg->dirs[i] || !cfg->dirs[i][0] || cfg->capacities[i] == 0) {
            disk_err(err, err_size, "page store: dir %zu needs a path and a non-zero size", i);
            return NULL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->dirs[i], cfg->dirs[j]) == 0) {
                disk_err(err, err_size, "page store: dir %s is listed twice", cfg->dirs[i]);
                return NULL;
            }
        }
    }
    d = calloc(1, sizeof(*d));
    if (!d)
        goto nomem;
    d->dirs = aligned_alloc(DISK_DIR_CACHELINE, cfg->dir_count * sizeof(*d->dirs));
    if (!d->dirs)
        goto nomem;
    memset(d->dirs, 0, cfg->dir_count * sizeof(*d->dirs));
    d->page_size = cfg->page_size;
    d->max_writes = cfg->max_writes ? cfg->max_writes : DISK_STORE_WRITES_DEFAULT;
    pthread_mutex_init(&d->queue_lock, NULL);
    d->backoff_ms = cfg->fail_backoff_ms ? cfg->fail_backoff_ms : DISK_STORE_FAIL_BACKOFF_MS;
    /* Every dir's placement data first: loading a dir asks where each page belongs. */
    for (; d->dir_count < cfg->dir_count; d->dir_count++) {
        struct disk_dir *dir = &d->dirs[d->dir_count];
        if (disk_dir_init(dir, cfg->dirs[d->dir_count], cfg->capacities[d->dir_count],
                          cfg->page_size) < 0)
            goto nomem;
        dir->weight = (double)dir->capacity;
        dir->place_id = hash_siphash24(disk_place_key, dir->root, strlen(dir->root));
    }
    for (size_t i = 0; i < d->dir_count; i++) {
        if (disk_dir_load(&d->dirs[i], d->page_size, disk_belongs, d, err, err_size) < 0) {
            disk_store_close(d);
            return NULL;
        }
    }
    return d;

nomem:
    disk_err(err, err_size, "page store: out of memory");
    if (d && d->dirs)
        disk_store_close(d);
    else
        free(d);
    return NULL;
}

unsigned disk_store_pending(struct disk_store *d)
{
    return atomic_load(&d->pending);
}

void disk_store_stats(struct disk_store *d, struct disk_store_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->hits = atomic_load(&d->hits);
    out->misses = atomic_load(&d->misses);
    out->bad_pages = atomic_load(&d->bad_pages);
    out->read_errors = atomic_load(&d->read_errors);
    out->writes = atomic_load(&d->writes);
    out->write_errors = atomic_load(&d->write_errors);
    out->write_drops = atomic_load(&d->write_drops);
    out->evictions = atomic_load(&d->evictions);
    uint64_t now = loop_clock_ms();
    for (size_t i = 0; i < d->dir_count; i++) {
        struct disk_dir *dir = &d->dirs[i];
        pthread_mutex_lock(&dir->lock);
        out->bytes += dir->used;
        out->pages += disk_index_ready(dir->index);
        out->capacity += dir->capacity;
        out->dirs_failing += now < dir->fail_until_ms;
        pthread_mutex_unlock(&dir->lock);
    }
}
