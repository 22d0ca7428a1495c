/*
 * disk_dir: one directory of the disk store (see disk_dir.h): paths, charging, the rate-limited
 * log, entry drops, and the blocking scan that rebuilds the index at open from file names alone
 * (readdir, no stat and no read per file: the size is in the name).
 */
#include "disk_dir.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../log.h"
#include "../loop.h"
#include "disk.h"

int disk_dir_init(struct disk_dir *dir, const char *root, uint64_t capacity, uint64_t page_size)
{
    memset(dir, 0, sizeof(*dir));
    size_t len = strlen(root);
    while (len > 1 && root[len - 1] == '/')
        len--;
    dir->root = malloc(len + 1);
    if (!dir->root)
        return -ENOMEM;
    memcpy(dir->root, root, len);
    dir->root[len] = '\0';
    dir->path_size = len + DISK_DIR_PATH_EXTRA;
    dir->capacity = capacity;
    uint64_t expect = capacity / page_size + 64;
    dir->index = disk_index_create(expect < DISK_DIR_INDEX_EXPECT ? (uint32_t)expect
                                                                  : DISK_DIR_INDEX_EXPECT);
    if (!dir->index) {
        int rc = -errno;
        free(dir->root);
        dir->root = NULL;
        return rc;
    }
    pthread_mutex_init(&dir->lock, NULL);
    return 0;
}

void disk_dir_destroy(struct disk_dir *dir)
{
    disk_index_destroy(dir->index);
    pthread_mutex_destroy(&dir->lock);
    free(dir->root);
}

void disk_dir_path(const struct disk_dir *dir, char *out, uint64_t name_hash, uint64_t index,
                   uint64_t file_size, bool temp)
{
    char name[PAGE_FILE_NAME_MAX];
    page_file_name(name, name_hash, index, file_size, temp);
    snprintf(out, dir->path_size, "%s/%02x/%s", dir->root, (unsigned)(name_hash >> 56), name);
}

void disk_dir_log(struct disk_dir *dir, uint64_t now, const char *fmt, ...)
{
    pthread_mutex_lock(&dir->lock);
    bool now_log = now >= dir->log_next_ms;
    uint64_t held = dir->log_held;
    if (now_log) {
        dir->log_next_ms = now + DISK_STORE_LOG_INTERVAL_MS;
        dir->log_held = 0;
    } else {
        dir->log_held++;
    }
    pthread_mutex_unlock(&dir->lock);
    if (!now_log)
        return;
    char msg[LOG_LINE_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (held)
        log_warn("disk store: %s: %s (%llu more such lines held back)", dir->root, msg,
                 (unsigned long long)held);
    else
        log_warn("disk store: %s: %s", dir->root, msg);
}

bool disk_dir_drop_locked(struct disk_dir *dir, struct disk_ref ref)
{
    struct disk_entry *e = disk_index_get(dir->index, ref);
    if (!e || e->state != DISK_ENTRY_READY)
        return false;
    dir->used -= disk_dir_file_bytes(e->file_size);
    disk_index_set_state(dir->index, ref.slot, DISK_ENTRY_DROPPING);
    return true;
}

bool disk_dir_drop(struct disk_dir *dir, struct disk_ref ref)
{
    pthread_mutex_lock(&dir->lock);
    bool ok = disk_dir_drop_locked(dir, ref);
    pthread_mutex_unlock(&dir->lock);
    return ok;
}

void disk_dir_remove(struct disk_dir *dir, struct disk_ref ref, enum disk_entry_state state)
{
    pthread_mutex_lock(&dir->lock);
    struct disk_entry *e = disk_index_get(dir->index, ref);
    if (e && e->state == state) {
        if (state != DISK_ENTRY_DROPPING)
            dir->used -= disk_dir_file_bytes(e->file_size);
        disk_index_remove(dir->index, ref.slot);
    }
    pthread_mutex_unlock(&dir->lock);
}

/* --- the scan at open --------------------------------------------------------------------- */

struct disk_dir_scan {
    struct disk_dir *dir;
    uint64_t page_size;
    disk_dir_belongs_fn belongs;
    void *ctx;
    uint64_t pages, temps, stale, foreign, evicted;
};

/* mkdir -p: each missing component of path, then path itself, which must be a directory. */
static int disk_dir_mkdir_p(const char *path)
{
    size_t len = strlen(path);
    char *tmp = malloc(len + 1);
    if (!tmp)
        return -ENOMEM;
    memcpy(tmp, path, len + 1);
    int rc = 0;
    for (size_t i = 1; i <= len && rc == 0; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char c = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, DISK_DIR_MODE) != 0 && errno != EEXIST)
            rc = -errno;
        tmp[i] = c;
    }
    free(tmp);
    struct stat st;
    if (rc == 0 && stat(path, &st) != 0)
        rc = -errno;
    if (rc == 0 && !S_ISDIR(st.st_mode))
        rc = -ENOTDIR;
    return rc;
}

static uint64_t disk_dir_blocks(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

/* Whether a page file name found in subdir sub is one to index. */
static bool disk_dir_keeps(struct disk_dir_scan *s, unsigned sub, uint64_t name_hash,
                           uint64_t index, uint64_t file_size)
{
    return (name_hash >> 56) == sub && file_size > PAGE_FILE_FIXED_BYTES &&
           file_size <= s->page_size + PAGE_FILE_HEADER_MAX &&
           s->belongs(s->ctx, s->dir, name_hash, index) &&
           disk_index_find(s->dir->index, name_hash, index) == DISK_INDEX_NONE;
}

static int disk_dir_scan_subdir(struct disk_dir_scan *s, unsigned sub, const char *sub_path)
{
    DIR *dp = opendir(sub_path);
    if (!dp)
        return -errno;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
            continue;
        uint64_t name_hash, index, file_size;
        bool temp;
        if (!page_file_name_parse(de->d_name, &name_hash, &index, &file_size, &temp)) {
            s->foreign++;
            continue;
        }
        if (temp || !disk_dir_keeps(s, sub, name_hash, index, file_size)) {
            if (temp)
                s->temps++;
            else
                s->stale++;
            if (unlinkat(dirfd(dp), de->d_name, 0) != 0 && errno != ENOENT) {
                rc = -errno;
                break;
            }
            continue;
        }
        struct disk_ref ref;
        rc = disk_index_add(s->dir->index, name_hash, index, (uint32_t)file_size, DISK_ENTRY_READY,
                            &ref);
        if (rc < 0)
            break;
        s->dir->used += disk_dir_file_bytes(file_size);
        s->pages++;
    }
    closedir(dp);
    return rc;
}

/* Over capacity (it was lowered since the last run): evict, unlinking, until within it. */
static void disk_dir_trim(struct disk_dir_scan *s, char *path)
{
    struct disk_dir *dir = s->dir;
    while (dir->used > dir->capacity) {
        uint32_t slot = disk_index_clock_victim(dir->index);
        if (slot == DISK_INDEX_NONE)
            break;
        struct disk_entry *e = disk_index_entry(dir->index, slot);
        disk_dir_path(dir, path, e->name_hash, e->index, e->file_size, false);
        if (unlink(path) != 0 && errno != ENOENT)
            log_warn("disk store: %s: removing %s: %s", dir->root, path, strerror(errno));
        dir->used -= disk_dir_file_bytes(e->file_size);
        disk_index_remove(dir->index, slot);
        s->evicted++;
        s->pages--;
    }
}

int disk_dir_load(struct disk_dir *dir, uint64_t page_size, disk_dir_belongs_fn belongs, void *ctx,
                  char *err, size_t err_size)
{
    uint64_t t0 = loop_clock_ms();
    struct disk_dir_scan s = {.dir = dir, .page_size = page_size, .belongs = belongs, .ctx = ctx};
    char *path = malloc(dir->path_size);
    int rc = path ? disk_dir_mkdir_p(dir->root) : -ENOMEM;
    if (rc < 0) {
        snprintf(err, err_size, "page store dir %s: %s", dir->root, strerror(-rc));
        free(path);
        return rc;
    }
    dir->dir_bytes = disk_dir_blocks(dir->root);
    for (unsigned sub = 0; sub < DISK_DIR_SUBDIRS && rc == 0; sub++) {
        snprintf(path, dir->path_size, "%s/%02x", dir->root, sub);
        if (mkdir(path, DISK_DIR_MODE) != 0 && errno != EEXIST)
            rc = -errno;
        if (rc == 0)
            rc = disk_dir_scan_subdir(&s, sub, path);
        dir->dir_bytes += disk_dir_blocks(path);
    }
    if (rc < 0) {
        snprintf(err, err_size, "page store dir %s: %s: %s", dir->root, path, strerror(-rc));
        free(path);
        return rc;
    }
    dir->used += dir->dir_bytes;
    disk_dir_trim(&s, path);
    free(path);
    if (dir->dir_bytes >= dir->capacity)
        log_warn("disk store: %s: capacity %llu bytes is below its directories' own %llu: "
                 "nothing will be cached there",
                 dir->root, (unsigned long long)dir->capacity, (unsigned long long)dir->dir_bytes);
    if (s.foreign)
        log_warn("disk store: %s: %llu files that are not page files were left alone (they "
                 "take space the capacity does not count)",
                 dir->root, (unsigned long long)s.foreign);
    log_info("disk store: %s: %llu pages, %llu of %llu bytes used; removed %llu temp, %llu "
             "stale, %llu over capacity; %llu ms",
             dir->root, (unsigned long long)s.pages, (unsigned long long)dir->used,
             (unsigned long long)dir->capacity, (unsigned long long)s.temps,
             (unsigned long long)s.stale, (unsigned long long)s.evicted,
             (unsigned long long)(loop_clock_ms() - t0));
    return 0;
}
