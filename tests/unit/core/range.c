/*
 * Unit tests for core/range.c: Range resolution as S3 answers it (../shared/S3-BEHAVIOUR.md
 * "Range") and the strict Content-Range parser used on upstream replies.
 */
#include "core/range.h"

#include <criterion/criterion.h>

#include <string.h>

static enum range_result resolve(const char *h, uint64_t size, struct byte_range *r)
{
    return range_resolve(h, h ? strlen(h) : 0, size, r);
}

static void assert_partial(const char *h, uint64_t size, uint64_t first, uint64_t last)
{
    struct byte_range r = {0, 0};
    cr_assert_eq(resolve(h, size, &r), RANGE_PARTIAL, "%s on %llu", h, (unsigned long long)size);
    cr_assert_eq(r.first, first, "%s: first %llu", h, (unsigned long long)r.first);
    cr_assert_eq(r.last, last, "%s: last %llu", h, (unsigned long long)r.last);
}

static void assert_result(const char *h, uint64_t size, enum range_result want)
{
    struct byte_range r;
    cr_assert_eq(resolve(h, size, &r), want, "%s on %llu", h, (unsigned long long)size);
}

Test(range, absent_header_is_none)
{
    struct byte_range r;
    cr_assert_eq(range_resolve(NULL, 0, 100, &r), RANGE_NONE);
    cr_assert_eq(range_resolve("bytes=0-1", 0, 100, &r), RANGE_NONE);
}

Test(range, first_last)
{
    assert_partial("bytes=0-99", 1000, 0, 99);
    assert_partial("bytes=10-19", 1000, 10, 19);
    assert_partial("bytes=999-999", 1000, 999, 999);
}

Test(range, zero_zero_is_first_byte)
{
    assert_partial("bytes=0-0", 1000, 0, 0);
    assert_partial("bytes=0-0", 1, 0, 0);
}

Test(range, open_ended)
{
    assert_partial("bytes=0-", 1000, 0, 999);
    assert_partial("bytes=500-", 1000, 500, 999);
    assert_partial("bytes=999-", 1000, 999, 999);
}

Test(range, suffix)
{
    assert_partial("bytes=-1", 1000, 999, 999);
    assert_partial("bytes=-100", 1000, 900, 999);
    assert_partial("bytes=-1000", 1000, 0, 999);
    /* A suffix longer than the object selects all of it (RFC 7233 2.1). */
    assert_partial("bytes=-5000", 1000, 0, 999);
}

Test(range, suffix_zero_is_unsatisfiable)
{
    assert_result("bytes=-0", 1000, RANGE_UNSATISFIABLE);
    assert_result("bytes=-000", 1000, RANGE_UNSATISFIABLE);
}

Test(range, end_past_size_is_clamped)
{
    assert_partial("bytes=0-1000", 1000, 0, 999);
    assert_partial("bytes=900-5000", 1000, 900, 999);
    assert_partial("bytes=0-18446744073709551615", 10, 0, 9);
}

Test(range, start_at_or_past_size_is_unsatisfiable)
{
    assert_result("bytes=1000-", 1000, RANGE_UNSATISFIABLE);
    assert_result("bytes=1000-1000", 1000, RANGE_UNSATISFIABLE);
    assert_result("bytes=5000-6000", 1000, RANGE_UNSATISFIABLE);
}

Test(range, zero_byte_object_is_always_unsatisfiable)
{
    assert_result("bytes=0-0", 0, RANGE_UNSATISFIABLE);
    assert_result("bytes=0-", 0, RANGE_UNSATISFIABLE);
    assert_result("bytes=-1", 0, RANGE_UNSATISFIABLE);
    assert_result("bytes=-0", 0, RANGE_UNSATISFIABLE);
    /* ...but an ignored header is still ignored. */
    assert_result("bytes=0-0,1-1", 0, RANGE_NONE);
    assert_result("bytes=x", 0, RANGE_NONE);
}

Test(range, multi_range_is_none)
{
    assert_result("bytes=0-0,5-9", 1000, RANGE_NONE);
    assert_result("bytes=0-0, -1", 1000, RANGE_NONE);
    assert_result("bytes=5000-,0-1", 1000, RANGE_NONE);
    assert_result("bytes=0-1,junk", 1000, RANGE_NONE);
}

Test(range, junk_is_none)
{
    static const char *const junk[] = {
        "",           "bytes",       "bytes=",    "bytes=-",    "bytes=a-b",
        "bytes=1",    "bytes=1-2-3", "bytes=--1", "bytes=+1-2", "bytes=0x10-",
        "bytes=9-5", /* last before first: invalid, so ignored (RFC 7233 2.1) */
        "bytes=1-2x", "bytes 0-1",   "bytes:0-1", "items=0-1",  "byte=0-1",
        "bytesx=0-1", "=0-1",        "bytes=,",   "bytes= , ,",
    };
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        assert_result(junk[i], 1000, RANGE_NONE);
}

Test(range, whitespace)
{
    /* OWS around the value and around list elements is allowed by the #list rule... */
    assert_partial("  bytes=0-9\t", 1000, 0, 9);
    assert_partial("bytes= 0-9", 1000, 0, 9);
    assert_partial("bytes=0-9 ", 1000, 0, 9);
    assert_partial("bytes=0-9, ", 1000, 0, 9);
    assert_partial("bytes=, 0-9", 1000, 0, 9);
    /* ...but not inside a spec or around the '=' of the unit. */
    assert_result("bytes=0 -9", 1000, RANGE_NONE);
    assert_result("bytes=0- 9", 1000, RANGE_NONE);
    assert_result("bytes =0-9", 1000, RANGE_NONE);
    assert_result("bytes=- 1", 1000, RANGE_NONE);
}

Test(range, unit_is_case_insensitive)
{
    assert_partial("Bytes=0-9", 1000, 0, 9);
    assert_partial("BYTES=-1", 1000, 999, 999);
}

Test(range, overflowing_start_is_unsatisfiable)
{
    assert_result("bytes=99999999999999999999999-", 1000, RANGE_UNSATISFIABLE);
    assert_result("bytes=18446744073709551616-", 1000, RANGE_UNSATISFIABLE);
    assert_result("bytes=99999999999999999999999-99999999999999999999999", 1000,
                  RANGE_UNSATISFIABLE);
}

Test(range, overflowing_end_or_suffix_means_to_the_end)
{
    assert_partial("bytes=7-99999999999999999999999", 1000, 7, 999);
    assert_partial("bytes=-99999999999999999999999", 1000, 0, 999);
}

Test(range, overflowing_start_with_smaller_end_is_none)
{
    assert_result("bytes=99999999999999999999999-5", 1000, RANGE_NONE);
}

Test(range, leading_zeros)
{
    assert_partial("bytes=0000000000000000000000000010-0000000000000000000000000019", 1000, 10, 19);
}

Test(range, huge_object)
{
    uint64_t size = UINT64_MAX;
    assert_partial("bytes=18446744073709551613-", size, UINT64_MAX - 2, UINT64_MAX - 1);
    assert_partial("bytes=-2", size, UINT64_MAX - 2, UINT64_MAX - 1);
}

Test(range, never_reads_past_len)
{
    /* "bytes=0-99" cut to "bytes=0-9": the bytes after len must not count. */
    struct byte_range r;
    cr_assert_eq(range_resolve("bytes=0-99", 9, 1000, &r), RANGE_PARTIAL);
    cr_assert_eq(r.last, 9);
}

/* ---- Content-Range ---- */

static int parse_cr(const char *s, uint64_t *a, uint64_t *b, uint64_t *t)
{
    return range_parse_content_range(s, strlen(s), a, b, t);
}

Test(content_range, valid)
{
    uint64_t a, b, t;
    cr_assert_eq(parse_cr("bytes 0-99/1000", &a, &b, &t), 0);
    cr_assert_eq(a, 0);
    cr_assert_eq(b, 99);
    cr_assert_eq(t, 1000);
    cr_assert_eq(parse_cr("bytes 999-999/1000", &a, &b, &t), 0);
    cr_assert_eq(a, 999);
    cr_assert_eq(parse_cr(" bytes 0-0/1 ", &a, &b, &t), 0);
    cr_assert_eq(t, 1);
    cr_assert_eq(parse_cr("bytes 0-18446744073709551614/18446744073709551615", &a, &b, &t), 0);
    cr_assert_eq(b, UINT64_MAX - 1);
}

Test(content_range, unknown_total)
{
    uint64_t a, b, t;
    cr_assert_eq(parse_cr("bytes 5-9/*", &a, &b, &t), 0);
    cr_assert_eq(a, 5);
    cr_assert_eq(b, 9);
    cr_assert_eq(t, UINT64_MAX);
}

Test(content_range, invalid)
{
    static const char *const bad[] = {
        "",
        "bytes",
        "bytes ",
        "bytes */1000", /* unsatisfied-range: not a range */
        "bytes 0-99",
        "bytes 0-99/",
        "bytes 0-/1000",
        "bytes -5/1000",
        "bytes 5-4/1000",
        "bytes 0-1000/1000",
        "bytes 0-99/1000x",
        "bytes 0-99/**",
        "bytes  0-99/1000",
        "bytes=0-99/1000",
        "items 0-99/1000",
        "bytes 0 -99/1000",
        "bytes 0-99 /1000",
        "bytes 0-99/ 1000",
        "bytes +0-99/1000",
        "bytes 0-18446744073709551616/*",
        "bytes 0-1/99999999999999999999999",
    };
    uint64_t a = 7, b = 7, t = 7;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(parse_cr(bad[i], &a, &b, &t), -1, "%s", bad[i]);
        cr_assert_eq(a, 7);
    }
    cr_assert_eq(range_parse_content_range(NULL, 0, &a, &b, &t), -1);
}

Test(content_range, never_reads_past_len)
{
    uint64_t a, b, t;
    cr_assert_eq(range_parse_content_range("bytes 0-9/100junk", 13, &a, &b, &t), 0);
    cr_assert_eq(t, 100);
}
