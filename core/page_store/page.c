/*
 * page: the refcounted, immutable byte block every page store hands out (see page_store.h).
 * Kept apart from the stores because senders, fetchers and every backend share it.
 *
 * Large pages are mapped straight from the kernel and unmapped at their last reference. With
 * malloc, glibc raises its mmap threshold after the first big free and then serves 1 MiB pages
 * from per-thread arenas that keep freed memory: two loops streaming a 1 GiB object through a
 * 64 MiB store then held 140 MiB resident instead of 78 MiB (tests/integration t_cache memory
 * test). Mapping makes a page's memory go back to the system when the page goes.
 *
 * A fresh mapping costs a page fault and a zeroing per 4 KiB on first touch: for a 1 MiB page
 * that was about 30% of the CPU of serving a page from the disk store (perf, tests/bench). So:
 * - Pages that will be filled whole are mapped with MAP_POPULATE, one call instead of 257
 *   faults: reading 512 MiB cold through a fresh proxy took 8% less CPU.
 * - Freed mappings are kept for reuse in a pool bounded by bytes (32 MiB, inside the 64 MiB the
 *   proxy may hold beyond its page budget), by size: whole pages of the configured size
 *   (page_pool_init), and powers of two from 64 KiB for parts of pages read from disk
 *   (page_alloc_sparse), which live only until sent. A part takes a mapping of its own size
 *   class (or a larger one kept, a whole page's when churned pages fill the pool), left
 *   untouched beyond what is read into it (populating a whole page's mapping for a
 *   part cost the 256 KiB disk row 17% of its req/s). With parts borrowing whole-page mappings
 *   instead, 64 connections of 256 KiB ranges from disk cost 0.186 ms of CPU per request with
 *   a fresh mapping per part, 0.101 with a pool of 16, 0.083 with 32, 0.080 with 64.
 */
#include "page_store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>

#define PAGE_MMAP_MIN_BYTES (64 * 1024) /* smaller pages come from malloc */
#define PAGE_POOL_MAX_BYTES (32u << 20) /* bytes of mappings kept for reuse, all sizes */
#define PAGE_POOL_CLASSES   32          /* the whole-page size, then powers of two for parts */

/* Freed mappings of one size, linked through their first word. */
struct page_pool_class {
    size_t bytes;
    void *head;
};

static pthread_mutex_t page_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct page_pool_class page_pool[PAGE_POOL_CLASSES];
static size_t page_pool_class_count; /* 0: nothing is kept */
static size_t page_pool_held;        /* bytes of the mappings kept, all classes */

void page_pool_init(uint32_t page_len)
{
    pthread_mutex_lock(&page_pool_lock);
    /* Class 0: whole pages. Then the power-of-two sizes of parts (page_alloc_sparse), from
     * the smallest mapping up to below a whole page's. */
    page_pool[0] = (struct page_pool_class){sizeof(struct page) + (size_t)page_len, NULL};
    size_t n = 1;
    for (size_t b = PAGE_MMAP_MIN_BYTES; b < page_pool[0].bytes && n < PAGE_POOL_CLASSES; b *= 2)
        page_pool[n++] = (struct page_pool_class){b, NULL};
    page_pool_class_count = n;
    pthread_mutex_unlock(&page_pool_lock);
}

void page_pool_drain(void)
{
    pthread_mutex_lock(&page_pool_lock);
    for (size_t i = 0; i < page_pool_class_count; i++) {
        while (page_pool[i].head) {
            void *p = page_pool[i].head;
            page_pool[i].head = *(void **)p;
            munmap(p, page_pool[i].bytes);
        }
    }
    page_pool_class_count = 0;
    page_pool_held = 0;
    pthread_mutex_unlock(&page_pool_lock);
}

/* The class of mappings of exactly bytes, or NULL. Under the lock. */
static struct page_pool_class *page_pool_class_of(size_t bytes)
{
    for (size_t i = 0; i < page_pool_class_count; i++)
        if (page_pool[i].bytes == bytes)
            return &page_pool[i];
    return NULL;
}

/* A kept mapping of *bytes or, with or_larger, of the smallest kept size above it (then
 * *bytes says which): a part takes a whole page's mapping when its own class is empty. */
static void *page_pool_take(size_t *bytes, bool or_larger)
{
    pthread_mutex_lock(&page_pool_lock);
    struct page_pool_class *best = NULL;
    for (size_t i = 0; i < page_pool_class_count; i++) {
        struct page_pool_class *c = &page_pool[i];
        if (!c->head || c->bytes < *bytes || (c->bytes != *bytes && !or_larger))
            continue;
        if (!best || c->bytes < best->bytes)
            best = c;
    }
    void *p = NULL;
    if (best) {
        p = best->head;
        best->head = *(void **)p;
        page_pool_held -= best->bytes;
        *bytes = best->bytes;
    }
    pthread_mutex_unlock(&page_pool_lock);
    return p;
}

static bool page_pool_give(void *p, size_t bytes)
{
    bool kept = false;
    pthread_mutex_lock(&page_pool_lock);
    struct page_pool_class *c = page_pool_class_of(bytes);
    if (c && page_pool_held + bytes <= PAGE_POOL_MAX_BYTES) {
        *(void **)p = c->head;
        c->head = p;
        page_pool_held += bytes;
        kept = true;
    }
    pthread_mutex_unlock(&page_pool_lock);
    return kept;
}

static size_t page_bytes(uint32_t len)
{
    /* len is 32-bit, so the sum cannot overflow a 64-bit size_t. */
    return sizeof(struct page) + len;
}

/* A mapping of at least bytes for len bytes of data: kept by the pool when it holds one (a
 * part may take a larger one), else fresh, populated unless for a part. */
static struct page *page_alloc_mapped(uint32_t len, size_t bytes, bool part)
{
    struct page *p = page_pool_take(&bytes, part);
    if (!p) {
        int flags = MAP_PRIVATE | MAP_ANONYMOUS | (part ? 0 : MAP_POPULATE);
        p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
    }
    atomic_init(&p->refs, 1);
    p->len = len;
    p->base = 0;
    p->capacity = (uint32_t)(bytes - sizeof(struct page));
    return p;
}

struct page *page_alloc(uint32_t len)
{
    if (page_bytes(len) >= PAGE_MMAP_MIN_BYTES)
        return page_alloc_mapped(len, page_bytes(len), false);
    struct page *p = malloc(page_bytes(len));
    if (!p)
        return NULL;
    atomic_init(&p->refs, 1);
    p->len = len;
    p->base = 0;
    p->capacity = len;
    return p;
}

struct page *page_alloc_sparse(uint32_t len)
{
    /* A power-of-two size, so parts of any length share a few classes of the pool; a part
     * that needs more than half a page takes a whole page's mapping. */
    size_t bytes = PAGE_MMAP_MIN_BYTES;
    while (bytes < page_bytes(len))
        bytes *= 2;
    pthread_mutex_lock(&page_pool_lock);
    size_t whole = page_pool_class_count ? page_pool[0].bytes : 0;
    pthread_mutex_unlock(&page_pool_lock);
    if (whole && bytes >= whole && page_bytes(len) <= whole)
        bytes = whole;
    if (bytes < PAGE_MMAP_MIN_BYTES) /* pages below 64 KiB: one too small to map */
        return page_alloc(len);
    return page_alloc_mapped(len, bytes, true);
}

static void page_free(struct page *p)
{
    size_t bytes = page_bytes(p->capacity);
    if (bytes >= PAGE_MMAP_MIN_BYTES) {
        if (!page_pool_give(p, bytes))
            munmap(p, bytes);
    } else {
        free(p);
    }
}

struct page *page_ref(struct page *p)
{
    /* Taking a reference needs no ordering: the caller already holds one, so the page cannot be
     * freed meanwhile. */
    if (p)
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

void page_unref(struct page *p)
{
    if (!p)
        return;
    /* acq_rel: release so this thread's reads of the bytes happen before the drop, acquire so
     * the last dropper sees every other thread's before its free(). (Not release plus a separate
     * acquire fence: ThreadSanitizer does not model fences and would report every free as a race;
     * on x86 both compile to the same lock xadd.) */
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
        page_free(p);
}
