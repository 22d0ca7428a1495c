/*
 * disk_dir: one directory of the disk store (disk.c), private to it: where its page files
 * live, what they are charged against its capacity, its index and lock, its rate-limited log,
 * and the scan that rebuilds its index at open.
 *
 * A dir holds 256 subdirectories "00".."ff", the top byte of a page's name hash, so each holds
 * 1/256 of the dir's pages (16k files for 4 TiB of 1 MiB pages), under names from
 * page_file.h. A page file is charged its size rounded up to whole 4 KiB blocks plus
 * DISK_DIR_DIRENT_BYTES for its directory entry; the directories' own blocks, measured at
 * open, are charged too. So what `du` reports for the dir stays within its capacity as long as
 * the charged total does.
 */
#ifndef CORE_PAGE_STORE_DISK_DIR_H
#define CORE_PAGE_STORE_DISK_DIR_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disk_index.h"
#include "page_file.h"

#define DISK_DIR_SUBDIRS      256
#define DISK_DIR_BLOCK_BYTES  4096 /* allocation unit charged per file */
#define DISK_DIR_DIRENT_BYTES 64   /* charged per file for its directory entry (ext4: 8 + name) */
#define DISK_DIR_PATH_EXTRA   (4 + PAGE_FILE_NAME_MAX) /* "/xx/" + name + NUL after the root */
#define DISK_DIR_INDEX_EXPECT (1u << 20) /* cap on the index slots allocated up front */
#define DISK_DIR_CACHELINE    64
#define DISK_DIR_FILE_MODE    0644
#define DISK_DIR_MODE         0755

/* Owned by the store, one per configured dir; shared by every loop through lock. */
struct disk_dir {
    pthread_mutex_t lock; /* guards index, used and the fail/log fields */
    struct disk_index *index;
    uint64_t capacity;
    uint64_t used;      /* charged bytes: dir_bytes + disk_dir_file_bytes() of every entry */
    uint64_t dir_bytes; /* the directories' own blocks, measured at open */
    uint64_t fail_until_ms;
    uint64_t log_next_ms;
    uint64_t log_held; /* lines not logged since the last one */
    uint64_t place_id; /* the store's, for placement */
    double weight;     /* the store's, for placement */
    char *root;        /* as configured, trailing slashes removed */
    size_t path_size;  /* bytes for a file path under root, NUL included */
} __attribute__((aligned(DISK_DIR_CACHELINE)));

/* Set up dir for root (copied) with an empty index sized for capacity / page_size pages. 0 or
 * -errno; on failure nothing needs freeing. Touches no file. */
int disk_dir_init(struct disk_dir *dir, const char *root, uint64_t capacity, uint64_t page_size);
void disk_dir_destroy(struct disk_dir *dir);

/* Whether a page file named for (name_hash, index) belongs in dir (placement is the store's). */
typedef bool (*disk_dir_belongs_fn)(void *ctx, const struct disk_dir *dir, uint64_t name_hash,
                                    uint64_t index);

/* At open, blocking: create the dir (with parents) and its subdirs, remove temp files and
 * page files that are misplaced (wrong subdir, !belongs), impossible (size) or duplicated,
 * index the rest from their names, measure the directories, and evict (CLOCK, unlinking)
 * down to the capacity. Files not named as page files are left alone and logged. 0, or -errno
 * with a reason in err. No lock taken: nothing else sees dir yet. */
int disk_dir_load(struct disk_dir *dir, uint64_t page_size, disk_dir_belongs_fn belongs, void *ctx,
                  char *err, size_t err_size);

/* What a page file of file_size bytes is charged. */
static inline uint64_t disk_dir_file_bytes(uint64_t file_size)
{
    return (file_size + DISK_DIR_BLOCK_BYTES - 1) / DISK_DIR_BLOCK_BYTES * DISK_DIR_BLOCK_BYTES +
           DISK_DIR_DIRENT_BYTES;
}

/* The path of a page file under dir into out (dir->path_size bytes). */
void disk_dir_path(const struct disk_dir *dir, char *out, uint64_t name_hash, uint64_t index,
                   uint64_t file_size, bool temp);

/* Log a warning about dir, at most one line per DISK_STORE_LOG_INTERVAL_MS (now is the
 * caller's loop clock); the next line says how many were held back. Takes the lock. */
void disk_dir_log(struct disk_dir *dir, uint64_t now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Lock held: READY -> DROPPING with its bytes released. The caller then unlinks the file and
 * calls disk_dir_remove(.., DISK_ENTRY_DROPPING). False when ref no longer names a READY
 * entry (another op owns it, or it is gone). */
bool disk_dir_drop_locked(struct disk_dir *dir, struct disk_ref ref);
/* The same, taking the lock. */
bool disk_dir_drop(struct disk_dir *dir, struct disk_ref ref);

/* Takes the lock: remove the entry ref names if it is (still) in state; a READY or WRITING
 * entry's bytes are released, a DROPPING one released them already. */
void disk_dir_remove(struct disk_dir *dir, struct disk_ref ref, enum disk_entry_state state);

#endif
