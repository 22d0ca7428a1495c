/*
 * disk page store: pages cached in files under one or more directories, shared by every event
 * loop, surviving restarts. All file I/O of reads and writes goes through the calling loop's
 * io_uring; only disk_store_open (at start) blocks. See disk.c for the layout, eviction and
 * failure rules, page_file.h for the on-disk format.
 *
 * Unlike the memory store it is asynchronous, so it does not sit behind page_store_ops: a read
 * answers through a callback on the loop that asked.
 */
#ifndef CORE_PAGE_STORE_DISK_H
#define CORE_PAGE_STORE_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "page_store.h"

struct loop;
struct disk_store;

#define DISK_STORE_MAX_DIRS      64
#define DISK_STORE_MAX_PAGE_SIZE (1u << 30) /* bytes */

struct disk_store_config {
    const char *const *dirs;    /* dir_count paths; created (with parents) when missing */
    const uint64_t *capacities; /* bytes on disk per dir, directories themselves included */
    size_t dir_count;           /* 1..DISK_STORE_MAX_DIRS */
    uint64_t page_size;         /* bytes; longer pages are not stored */
    unsigned max_writes;        /* writes in flight per store; 0: DISK_STORE_WRITES_DEFAULT */
    uint32_t fail_backoff_ms;   /* writes to a failing dir pause this long; 0: the default */
};

#define DISK_STORE_WRITES_DEFAULT  32
#define DISK_STORE_QUEUE_BYTES     (64u << 20) /* pages waiting for a write slot, at most */
#define DISK_STORE_FAIL_BACKOFF_MS 30000       /* per dir, after a write error */
#define DISK_STORE_LOG_INTERVAL_MS 60000       /* at most one failure line per dir per interval */

struct disk_store_stats {
    uint64_t hits;         /* reads that delivered a verified page */
    uint64_t misses;       /* lookups with no usable entry, and entries whose file was gone */
    uint64_t bad_pages;    /* pages that failed a check (length, identity, checksum, format) */
    uint64_t read_errors;  /* reads that failed with an I/O error */
    uint64_t writes;       /* pages written and made visible */
    uint64_t write_errors; /* writes the disk refused (ENOSPC, EIO, EROFS, a removed dir...) */
    uint64_t write_drops;  /* writes not attempted: too many in flight, dir backing off, no
                            * room, too large, or the page already stored or being written */
    uint64_t evictions;
    uint64_t bytes; /* charged against capacity: page files in whole 4 KiB blocks plus an
                     * entry allowance, writes in flight, the directories themselves */
    uint64_t pages; /* readable pages */
    uint64_t capacity;
    uint64_t dirs_failing; /* dirs in their write back-off now */
};

/* Open the store: create the directories, remove temp files left by a crash, and rebuild the
 * index from file names (no file is read; pages are checked when read). Pages above a dir's
 * capacity (it was lowered) or in a dir they no longer belong to (dirs were changed) are
 * deleted. Blocking; call before the loops start. NULL on failure with a reason in err. */
struct disk_store *disk_store_open(const struct disk_store_config *cfg, char *err, size_t err_size);

/* Free the store. Every loop must be done with it: disk_store_pending() == 0 (no read or write
 * left in any ring). Files stay for the next open. */
void disk_store_close(struct disk_store *d);

/* Reads and writes whose ring operations have not all completed, over all loops. A loop that
 * is shutting down runs until this is 0 before disk_store_close. Any thread. */
unsigned disk_store_pending(struct disk_store *d);

/* result: 0 with page a new reference the callback owns; -ENOENT when the file was gone or the
 * page failed its checks (then it was dropped and counted); -EIO (or another -errno) when the
 * disk failed. page is NULL unless result is 0. Runs on the loop passed to disk_store_read,
 * never inside that call. */
typedef void (*disk_store_read_cb)(void *arg, int result, struct page *page);

/* Read the page of key, which must be expected_len bytes (its length in the object), or the
 * part of it that covers bytes [from, from + count) of the page: the page handed to cb then
 * holds the checksum blocks around them (page->base says where its data starts, page->len how
 * much there is; page_file_span_of), each block checked before the callback. A part is read
 * when it is smaller than the whole page; a whole page is read whole and checked whole (pass
 * from 0 and count expected_len). False at once, cb never called, when the store has no
 * readable page for key (absent, being written, a stored size that cannot match expected_len:
 * then the page is dropped and counted), or when memory is short. True: cb(arg, ...) will run
 * exactly once on l. key is copied. Call on l's thread. */
bool disk_store_read(struct disk_store *d, struct loop *l, const struct page_key *key,
                     uint32_t expected_len, uint32_t from, uint32_t count, disk_store_read_cb cb,
                     void *arg) __attribute__((warn_unused_result));

/* Store page (a whole one, base 0) under key, best effort and asynchronous: takes its own reference
 * (the caller keeps its one) and writes through l's ring to a temp name, renamed when complete, so
 * the page is readable only once whole. Evicts (CLOCK) to keep the dir within its capacity. Never
 * fails visibly: beyond max_writes in flight a page waits its turn (up to
 * DISK_STORE_QUEUE_BYTES of pages, so a cold read's burst still lands whole); a page already
 * stored or being written, too large, past that queue, or for a dir in back-off is dropped and
 * counted; a disk error drops the write,
 * counts it, logs (once per dir per minute) and backs the dir off. key is copied. Call on l's
 * thread. */
void disk_store_write(struct disk_store *d, struct loop *l, const struct page_key *key,
                      struct page *page);

/* Counters summed over the dirs (each exact under its lock; not one snapshot). Any thread. */
void disk_store_stats(struct disk_store *d, struct disk_store_stats *out);

#endif
