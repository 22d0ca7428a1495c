/*
 * disk_index: the in-memory index of one disk store directory (disk.c): which pages it holds,
 * in which state, how big their files are, and the CLOCK state that picks eviction victims.
 *
 * Not thread-safe: disk.c holds the directory's lock around every call. Entries live in one
 * slot array (32 bytes each, no per-entry allocation) chained into a hash table by slot id;
 * the CLOCK hand sweeps the array itself. Slots are reused, so an entry is named across an
 * unlock by a struct disk_ref (slot + generation), which goes stale when the slot is freed.
 *
 * Entries are keyed by (name_hash, index): the index is rebuilt from file names, which carry
 * only the hash of (path, etag). Bucket choice rehashes that key under a random per-index
 * seed, since the name hash's own key is fixed and public (page_file.h).
 */
#ifndef CORE_PAGE_STORE_DISK_INDEX_H
#define CORE_PAGE_STORE_DISK_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "../hash.h"

#define DISK_INDEX_NONE      UINT32_MAX
#define DISK_INDEX_MAX_SLOTS (UINT32_MAX / 2) /* 2^31 pages per directory */

enum disk_entry_state {
    DISK_ENTRY_FREE,     /* slot unused (on the free list) */
    DISK_ENTRY_WRITING,  /* temp file being written: not readable, blocks a second write */
    DISK_ENTRY_READY,    /* file complete under its final name: readable, evictable */
    DISK_ENTRY_DROPPING, /* evicted or failed a check: unlink in flight, not readable */
};

struct disk_entry {
    uint64_t name_hash;
    uint64_t index;
    uint32_t next;      /* hash chain, or the free list when FREE */
    uint32_t gen;       /* bumped each time the slot is taken */
    uint32_t file_size; /* header + data bytes */
    uint8_t state;      /* enum disk_entry_state */
    bool referenced;    /* CLOCK bit: read since the hand last passed */
};

/* Names an entry across an unlock. */
struct disk_ref {
    uint32_t slot;
    uint32_t gen;
};

struct disk_index;

/* An empty index with room for about expect entries before it grows. NULL on ENOMEM or when
 * no random seed can be had (errno set). */
struct disk_index *disk_index_create(uint32_t expect);
void disk_index_destroy(struct disk_index *x);

/* The slot of (name_hash, index), any state but FREE, or DISK_INDEX_NONE. */
uint32_t disk_index_find(const struct disk_index *x, uint64_t name_hash, uint64_t index);

/* Add an entry (the key must not be present) in state (not FREE) with its CLOCK bit clear.
 * 0 with *out naming it, or -ENOMEM (nothing changed). */
int disk_index_add(struct disk_index *x, uint64_t name_hash, uint64_t index, uint32_t file_size,
                   enum disk_entry_state state, struct disk_ref *out)
    __attribute__((warn_unused_result));

/* The entry in a slot (valid until the next add or remove). */
struct disk_entry *disk_index_entry(struct disk_index *x, uint32_t slot);

/* The entry ref names, or NULL when its slot was freed (and perhaps reused) since. */
struct disk_entry *disk_index_get(struct disk_index *x, struct disk_ref ref);

/* Remove the entry in slot from the table and free the slot. */
void disk_index_remove(struct disk_index *x, uint32_t slot);

/* One CLOCK step: sweep from the hand, clearing the bits of READY entries as it passes, and
 * return the first READY entry whose bit was already clear (the hand moves past it); the
 * caller then drops or removes it. DISK_INDEX_NONE when there is no READY entry. At most two
 * passes over the slots. */
uint32_t disk_index_clock_victim(struct disk_index *x);

/* Entries in use (any state but FREE), and READY ones. */
uint32_t disk_index_count(const struct disk_index *x);
uint32_t disk_index_ready(const struct disk_index *x);

/* Change an entry's state (keeps the READY count exact; use instead of writing state). */
void disk_index_set_state(struct disk_index *x, uint32_t slot, enum disk_entry_state state);

#endif
