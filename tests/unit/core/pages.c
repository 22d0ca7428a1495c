/*
 * Unit tests for core/pages.h: page i covers [i*P, min((i+1)*P, size)).
 */
#include "core/pages.h"

#include <criterion/criterion.h>

#define P 1048576ULL

Test(pages, zero_byte_object_has_no_pages)
{
    cr_assert_eq(pages_count(0, P), 0);
    cr_assert_eq(pages_length(0, P, 0), 0);
}

Test(pages, exact_multiples)
{
    cr_assert_eq(pages_count(P, P), 1);
    cr_assert_eq(pages_count(3 * P, P), 3);
    cr_assert_eq(pages_length(3 * P, P, 2), P);
    cr_assert_eq(pages_length(3 * P, P, 3), 0);
}

Test(pages, last_page_is_short)
{
    uint64_t size = 3 * P + P / 2;
    cr_assert_eq(pages_count(size, P), 4);
    cr_assert_eq(pages_length(size, P, 3), P / 2);
    cr_assert_eq(pages_length(1, P, 0), 1);
    cr_assert_eq(pages_length(P - 1, P, 0), P - 1);
    cr_assert_eq(pages_count(P + 1, P), 2);
    cr_assert_eq(pages_length(P + 1, P, 1), 1);
}

Test(pages, index_and_offset)
{
    cr_assert_eq(pages_index(0, P), 0);
    cr_assert_eq(pages_index(P - 1, P), 0);
    cr_assert_eq(pages_index(P, P), 1);
    cr_assert_eq(pages_offset(5, P), 5 * P);
    /* Page sizes need not be powers of two. */
    cr_assert_eq(pages_index(2999, 1000), 2);
    cr_assert_eq(pages_length(2500, 1000, 2), 500);
}

Test(pages, huge_objects_do_not_overflow)
{
    uint64_t size = 5ULL << 40; /* 5 TiB */
    cr_assert_eq(pages_count(size, P), 5ULL << 20);
    cr_assert_eq(pages_length(size, P, (5ULL << 20) - 1), P);
}
