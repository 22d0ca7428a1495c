/*
 * page: the refcounted, immutable byte block every page store hands out (see page_store.h).
 * Kept apart from the stores because senders, fetchers and every backend share it.
 *
 * Large pages are mapped straight from the kernel and unmapped at their last reference. With
 * malloc, glibc raises its mmap threshold after the first big free and then serves 1 MiB pages
 * from per-thread arenas that keep freed memory: two loops streaming a 1 GiB object through a
 * 64 MiB store then held 140 MiB resident instead of 78 MiB (tests/integration t_cache memory
 * test). Mapping makes a page's memory go back to the system when the page goes.
 */
#include "page_store.h"

#include <stdlib.h>
#include <sys/mman.h>

#define PAGE_MMAP_MIN_BYTES (64 * 1024) /* smaller pages come from malloc */

static size_t page_bytes(uint32_t len)
{
    /* len is 32-bit, so the sum cannot overflow a 64-bit size_t. */
    return sizeof(struct page) + len;
}

struct page *page_alloc(uint32_t len)
{
    struct page *p;
    if (page_bytes(len) >= PAGE_MMAP_MIN_BYTES) {
        p = mmap(NULL, page_bytes(len), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                 0);
        if (p == MAP_FAILED)
            return NULL;
    } else {
        p = malloc(page_bytes(len));
        if (!p)
            return NULL;
    }
    atomic_init(&p->refs, 1);
    p->len = len;
    return p;
}

static void page_free(struct page *p)
{
    if (page_bytes(p->len) >= PAGE_MMAP_MIN_BYTES)
        munmap(p, page_bytes(p->len));
    else
        free(p);
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
