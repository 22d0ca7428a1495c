/*
 * Unit tests for core/buf.c: growth, the cap, formatting (printf and decimal), take.
 */
#include "core/buf.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(buf, append_grows_and_terminates)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(buf_append(&b, "abc", 3), 0);
    cr_assert_eq(b.len, 3000);
    cr_assert_eq(b.data[b.len], '\0');
    cr_assert_eq(memcmp(b.data + 2997, "abc", 3), 0);
    buf_free(&b);
}

Test(buf, cap_refuses_and_keeps_contents)
{
    struct buf b;
    buf_init(&b, 8);
    cr_assert_eq(buf_append(&b, "12345678", 8), 0);
    cr_assert_eq(buf_append(&b, "9", 1), -E2BIG);
    cr_assert_eq(b.len, 8);
    cr_assert_str_eq(b.data, "12345678");
    cr_assert_eq(buf_appendf(&b, "%d", 1), -E2BIG);
    buf_free(&b);
}

Test(buf, appendf_formats)
{
    struct buf b;
    buf_init(&b, 100);
    cr_assert_eq(buf_appendf(&b, "%s-%llu", "x", 18446744073709551615ULL), 0);
    cr_assert_str_eq(b.data, "x-18446744073709551615");
    buf_free(&b);
}

Test(buf, binary_bytes_and_reset)
{
    struct buf b;
    buf_init(&b, 100);
    cr_assert_eq(buf_append(&b, "a\0b", 3), 0);
    cr_assert_eq(b.len, 3);
    buf_reset(&b);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(b.data, "");
    buf_free(&b);
}

Test(buf, take_hands_over_storage)
{
    struct buf b;
    buf_init(&b, 100);
    size_t len = 99;
    char *p = buf_take(&b, &len);
    cr_assert_not_null(p);
    cr_assert_eq(len, 0);
    cr_assert_str_eq(p, "");
    free(p);
    cr_assert_eq(buf_append_str(&b, "hello"), 0);
    p = buf_take(&b, &len);
    cr_assert_eq(len, 5);
    cr_assert_str_eq(p, "hello");
    cr_assert_null(b.data);
    free(p);
}

Test(buf, append_u64_matches_printf)
{
    const uint64_t values[] = {0,
                               1,
                               9,
                               10,
                               99,
                               100,
                               4096,
                               1048575,
                               4294967295u,
                               4294967296u,
                               10000000000000000000u,
                               UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        struct buf b;
        buf_init(&b, 64);
        cr_assert_eq(buf_append_str(&b, "x="), 0);
        cr_assert_eq(buf_append_u64(&b, values[i]), 0);
        char want[32];
        snprintf(want, sizeof want, "x=%llu", (unsigned long long)values[i]);
        cr_assert_eq(b.len, strlen(want));
        cr_assert_eq(memcmp(b.data, want, b.len), 0, "%s", want);
        buf_free(&b);
    }
    struct buf small;
    buf_init(&small, 3);
    cr_assert_eq(buf_append_u64(&small, 1234), -E2BIG);
    cr_assert_eq(small.len, 0);
    buf_free(&small);
}
