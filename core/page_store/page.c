/*
 * page: the refcounted, immutable byte block every page store hands out (see page_store.h).
 * Kept apart from the stores because senders, fetchers and every backend share it.
 */
#include "page_store.h"

#include <stdlib.h>

struct page *page_alloc(uint32_t len)
{
    /* len is 32-bit, so the sum cannot overflow a 64-bit size_t. */
    struct page *p = malloc(sizeof(*p) + len);
    if (!p)
        return NULL;
    atomic_init(&p->refs, 1);
    p->len = len;
    return p;
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
        free(p);
}
