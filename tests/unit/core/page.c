/*
 * Unit tests for core/page_store/page.c: page sizes and the pool of freed mappings (whole pages
 * and the power-of-two classes of parts), its reuse and its byte bound.
 */
#include "core/page_store/page_store.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#define KiB        1024u
#define MiB        (1024u * 1024u)
#define POOL_BOUND (32u * MiB) /* PAGE_POOL_MAX_BYTES */

static const char marker[] = "reused mapping";

/* Marks p's bytes and frees it; the address is kept only to compare with later allocations. */
static struct page *marked_and_freed(struct page *p)
{
    cr_assert_not_null(p);
    memcpy(p->data, marker, sizeof marker);
    page_unref(p);
    return p;
}

Test(page, small_pages_are_exact)
{
    struct page *p = page_alloc(100);
    cr_assert_not_null(p);
    cr_assert_eq(p->len, 100);
    cr_assert_eq(p->capacity, 100);
    cr_assert_eq(p->base, 0);
    page_unref(p);
}

Test(page, parts_round_up_to_a_class)
{
    page_pool_init(MiB);
    /* All held until the end: with nothing kept in the pool, each part maps its own class. */
    struct page *p[4] = {page_alloc_sparse(100000), page_alloc_sparse(700 * KiB),
                         page_alloc_sparse(MiB), page_alloc_sparse(10)};
    cr_assert_eq(p[0]->len, 100000);
    cr_assert_eq(p[0]->capacity + sizeof(struct page), 128 * KiB);
    cr_assert_eq(p[1]->capacity + sizeof(struct page), MiB);
    /* More than the largest power of two below a whole page: a whole page's mapping. */
    cr_assert_eq(p[2]->capacity, MiB);
    cr_assert_eq(p[2]->len, MiB);
    cr_assert_eq(p[3]->capacity + sizeof(struct page), 64 * KiB);
    for (int i = 0; i < 4; i++)
        page_unref(p[i]);
    page_pool_drain();
}

Test(page, a_part_takes_a_larger_mapping_when_its_class_is_empty)
{
    page_pool_init(MiB);
    /* Whole pages churned out of the memory tier fill the pool; parts must still find them. */
    struct page *whole = marked_and_freed(page_alloc(MiB));
    struct page *part = page_alloc_sparse(200 * KiB);
    cr_assert_eq(part, whole);
    cr_assert_eq(part->capacity, MiB);
    cr_assert_eq(part->len, 200 * KiB);
    /* Freed, it goes back as what it is: a whole page's mapping. */
    page_unref(part);
    struct page *again = page_alloc(MiB);
    cr_assert_eq(again, whole);
    cr_assert_str_eq(again->data, marker);
    page_unref(again);
    page_pool_drain();

    /* A whole page never takes a part's (smaller) mapping: it gets a fresh, zeroed one. */
    page_pool_init(MiB);
    marked_and_freed(page_alloc_sparse(100 * KiB));
    struct page *fresh = page_alloc(MiB);
    cr_assert_neq(memcmp(fresh->data, marker, sizeof marker), 0);
    cr_assert_eq(fresh->capacity, MiB);
    page_unref(fresh);
    page_pool_drain();
}

Test(page, parts_of_pages_below_a_mapping_are_malloced)
{
    /* 4 KiB pages (the smallest page size): a part is never bigger than a whole page, so it
     * comes from malloc and goes back there (a mapping freed with free() would abort). */
    page_pool_init(4 * KiB);
    for (uint32_t len = 1; len <= 4 * KiB; len *= 2) {
        struct page *p = page_alloc_sparse(len);
        cr_assert_not_null(p);
        cr_assert_eq(p->len, len);
        cr_assert_eq(p->capacity, len);
        memset(p->data, 0xab, len);
        page_unref(p);
    }
    page_pool_drain();
}

Test(page, freed_mappings_are_reused_by_class)
{
    page_pool_init(MiB);
    struct page *part = marked_and_freed(page_alloc_sparse(200 * KiB));
    /* Another length of the same class (256 KiB) gets that mapping, bytes and all. */
    struct page *again = page_alloc_sparse(150 * KiB);
    cr_assert_eq(again, part);
    cr_assert_str_eq(again->data, marker);
    cr_assert_eq(again->len, 150 * KiB);

    struct page *whole = marked_and_freed(page_alloc(MiB));
    struct page *whole_again = page_alloc(MiB);
    cr_assert_eq(whole_again, whole);
    cr_assert_eq(whole_again->capacity, MiB);
    page_unref(whole_again);
    page_unref(again);
    page_pool_drain();
}

/* Frees n mappings of one class, marked, and counts how many come back marked. */
static unsigned reused_of(unsigned n, uint32_t len, struct page *(*alloc)(uint32_t))
{
    struct page *pages[64];
    cr_assert(n <= 64);
    for (unsigned i = 0; i < n; i++) {
        pages[i] = alloc(len);
        cr_assert_not_null(pages[i]);
        memcpy(pages[i]->data, marker, sizeof marker);
    }
    for (unsigned i = 0; i < n; i++)
        page_unref(pages[i]);
    unsigned reused = 0;
    for (unsigned i = 0; i < n; i++) {
        pages[i] = alloc(len);
        reused += memcmp(pages[i]->data, marker, sizeof marker) == 0;
    }
    for (unsigned i = 0; i < n; i++)
        page_unref(pages[i]);
    return reused;
}

Test(page, pool_keeps_at_most_its_bytes)
{
    page_pool_init(MiB);
    /* 40 whole pages of 1 MiB + header: the pool keeps as many as fit in 32 MiB. */
    size_t whole_bytes = MiB + sizeof(struct page);
    cr_assert_eq(reused_of(40, MiB, page_alloc), POOL_BOUND / whole_bytes);
    page_pool_drain();

    page_pool_init(MiB);
    /* 64 parts of 512 KiB mappings: 32 MiB holds 64. */
    cr_assert_eq(reused_of(64, 400 * KiB, page_alloc_sparse), 64);
    page_pool_drain();
}

Test(page, drain_keeps_nothing_more)
{
    page_pool_init(MiB);
    page_pool_drain();
    /* Fresh mappings are zeroed: nothing freed after the drain comes back. */
    cr_assert_eq(reused_of(4, MiB, page_alloc), 0);
    cr_assert_eq(reused_of(4, 200 * KiB, page_alloc_sparse), 0);
}

Test(page, other_sizes_are_not_kept)
{
    page_pool_init(MiB);
    /* The last page of an object (not the configured size) is unmapped when freed. */
    cr_assert_eq(reused_of(4, 300 * KiB, page_alloc), 0);
    page_pool_drain();
}
