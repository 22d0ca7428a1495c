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
 * that was about 30% of the CPU of serving a page from the disk store (perf, tests/bench).
 * Pages that will be filled whole are mapped with MAP_POPULATE, one call instead of 257
 * faults: reading 512 MiB cold through a fresh proxy took 8% less CPU. A part read from disk
 * fills only its span of a whole page's mapping, so page_alloc_sparse leaves the rest
 * untouched (populating it cost the 256 KiB disk row 17% of its req/s).
 * So a few freed mappings of the common size (page_pool_init: the configured page size) are
 * kept for reuse: a bounded pool, so the resident memory it adds is bounded too. Parts of pages
 * read from disk (a 256 KiB range's share of a page) borrow a mapping of that size as well, as
 * they live only until sent: 64 connections of 256 KiB ranges served from disk cost 0.186 ms
 * of CPU per request with a fresh mapping per part, 0.101 with a pool of 16, 0.083 with 32
 * (this bound, 32 MiB of 1 MiB pages), 0.080 with 64; 32 MiB keeps the pool inside the 64 MiB
 * the proxy may hold beyond its page budget.
 */
#include "page_store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>

#define PAGE_MMAP_MIN_BYTES (64 * 1024) /* smaller pages come from malloc */
#define PAGE_POOL_MAX       64          /* mappings kept for reuse, at most... */
#define PAGE_POOL_MAX_BYTES (32u << 20) /* ...and at most this many bytes of them */

/* Freed mappings of pool_bytes, linked through their first word. */
static pthread_mutex_t page_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static void *page_pool_head;
static size_t page_pool_count, page_pool_limit, page_pool_bytes;

void page_pool_init(uint32_t page_len)
{
    pthread_mutex_lock(&page_pool_lock);
    page_pool_bytes = sizeof(struct page) + (size_t)page_len;
    page_pool_limit = PAGE_POOL_MAX_BYTES / page_pool_bytes;
    if (page_pool_limit > PAGE_POOL_MAX)
        page_pool_limit = PAGE_POOL_MAX;
    pthread_mutex_unlock(&page_pool_lock);
}

void page_pool_drain(void)
{
    pthread_mutex_lock(&page_pool_lock);
    while (page_pool_head) {
        void *p = page_pool_head;
        page_pool_head = *(void **)p;
        munmap(p, page_pool_bytes);
    }
    page_pool_count = 0;
    page_pool_limit = 0;
    pthread_mutex_unlock(&page_pool_lock);
}

static void *page_pool_take(size_t bytes)
{
    void *p = NULL;
    pthread_mutex_lock(&page_pool_lock);
    if (bytes == page_pool_bytes && page_pool_head) {
        p = page_pool_head;
        page_pool_head = *(void **)p;
        page_pool_count--;
    }
    pthread_mutex_unlock(&page_pool_lock);
    return p;
}

static bool page_pool_give(void *p, size_t bytes)
{
    bool kept = false;
    pthread_mutex_lock(&page_pool_lock);
    if (bytes == page_pool_bytes && page_pool_count < page_pool_limit) {
        *(void **)p = page_pool_head;
        page_pool_head = p;
        page_pool_count++;
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

static struct page *page_alloc_mapped(uint32_t len, bool populate)
{
    struct page *p;
    if (page_bytes(len) >= PAGE_MMAP_MIN_BYTES) {
        p = page_pool_take(page_bytes(len));
        if (!p) {
            int flags = MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0);
            p = mmap(NULL, page_bytes(len), PROT_READ | PROT_WRITE, flags, -1, 0);
            if (p == MAP_FAILED)
                return NULL;
        }
    } else {
        p = malloc(page_bytes(len));
        if (!p)
            return NULL;
    }
    atomic_init(&p->refs, 1);
    p->len = len;
    p->base = 0;
    p->capacity = len;
    return p;
}

struct page *page_alloc(uint32_t len)
{
    return page_alloc_mapped(len, true);
}

struct page *page_alloc_sparse(uint32_t len)
{
    return page_alloc_mapped(len, false);
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
