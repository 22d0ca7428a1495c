/*
 * Unit tests for core/uri.c: the SigV4 percent-encoding rules (AWS docs "UriEncode") and
 * single decoding, with the edge cases that break signatures: UTF-8 bytes, '/', '~', '+', '%',
 * sub-delimiters, NUL bytes, malformed escapes and the buffer cap.
 */
#include "core/uri.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#define URI_TEST_CAP 4096

static char *enc(const char *s, size_t len, bool keep_slash)
{
    static char out[URI_TEST_CAP];
    struct buf b;
    buf_init(&b, URI_TEST_CAP - 1);
    cr_assert_eq(uri_encode(&b, s, len, keep_slash), 0);
    memcpy(out, b.data ? b.data : "", b.len + 1);
    buf_free(&b);
    return out;
}

static char *enc_str(const char *s, bool keep_slash)
{
    return enc(s, strlen(s), keep_slash);
}

Test(uri_encode, unreserved_pass_unchanged)
{
    const char *u = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    cr_expect_str_eq(enc_str(u, false), u);
    cr_expect_str_eq(enc_str(u, true), u);
}

Test(uri_encode, tilde_is_not_encoded)
{
    cr_expect_str_eq(enc_str("tilde~name.txt", true), "tilde~name.txt");
}

Test(uri_encode, slash_only_when_asked)
{
    cr_expect_str_eq(enc_str("/a/b//c/", true), "/a/b//c/");
    cr_expect_str_eq(enc_str("/a/b", false), "%2Fa%2Fb");
}

Test(uri_encode, space_is_pct20_never_plus)
{
    cr_expect_str_eq(enc_str("a b", false), "a%20b");
}

Test(uri_encode, plus_and_percent_are_encoded)
{
    cr_expect_str_eq(enc_str("a+b", true), "a%2Bb");
    cr_expect_str_eq(enc_str("100%", true), "100%25");
    cr_expect_str_eq(enc_str("%20", true), "%2520");
}

Test(uri_encode, sub_delimiters_are_encoded)
{
    cr_expect_str_eq(enc_str("!$'()*,;:@[]=&?#", true),
                     "%21%24%27%28%29%2A%2C%3B%3A%40%5B%5D%3D%26%3F%23");
}

Test(uri_encode, utf8_bytes_upper_hex)
{
    cr_expect_str_eq(enc_str("\xe1\x88\xb4", true), "%E1%88%B4");        /* U+1234 */
    cr_expect_str_eq(enc_str("caf\xc3\xa9", true), "caf%C3%A9");         /* e-acute */
    cr_expect_str_eq(enc_str("\xf0\x9f\x9a\x80", true), "%F0%9F%9A%80"); /* 4 bytes */
    cr_expect_str_eq(enc_str("\xe6\x97\xa5\xe6\x9c\xac", true), "%E6%97%A5%E6%9C%AC");
    cr_expect_str_eq(enc_str("\xff\x80", true), "%FF%80"); /* not UTF-8: bytes are bytes */
}

Test(uri_encode, nul_byte_is_encoded)
{
    cr_expect_str_eq(enc("a\0b", 3, true), "a%00b");
}

Test(uri_encode, empty_appends_nothing)
{
    struct buf b;
    buf_init(&b, 16);
    cr_assert_eq(uri_encode(&b, "", 0, true), 0);
    cr_expect_eq(b.len, 0);
    buf_free(&b);
}

Test(uri_encode, appends_to_existing_content)
{
    struct buf b;
    buf_init(&b, 64);
    cr_assert_eq(buf_append_str(&b, "x="), 0);
    cr_assert_eq(uri_encode(&b, "a b", 3, false), 0);
    cr_expect_str_eq(b.data, "x=a%20b");
    buf_free(&b);
}

Test(uri_encode, cap_gives_e2big)
{
    struct buf b;
    buf_init(&b, 5);
    cr_expect_eq(uri_encode(&b, "a b c", 5, false), -E2BIG);
    cr_expect_leq(b.len, 5);
    buf_free(&b);
}

static int dec(const char *s, size_t len, bool plus_as_space, struct buf *b)
{
    buf_init(b, URI_TEST_CAP);
    return uri_decode(b, s, len, plus_as_space);
}

Test(uri_decode, escapes_either_case)
{
    struct buf b;
    cr_assert_eq(dec("a%2fb%2Fc%7e%7E", 15, false, &b), 0);
    cr_expect_str_eq(b.data, "a/b/c~~");
    buf_free(&b);
}

Test(uri_decode, utf8_sequence)
{
    struct buf b;
    cr_assert_eq(dec("%E1%88%B4%f0%9f%9a%80", 21, false, &b), 0);
    cr_expect_str_eq(b.data, "\xe1\x88\xb4\xf0\x9f\x9a\x80");
    buf_free(&b);
}

Test(uri_decode, raw_bytes_pass_through)
{
    struct buf b;
    cr_assert_eq(dec("a b\xe1\x88\xb4~", 7, false, &b), 0);
    cr_expect_str_eq(b.data, "a b\xe1\x88\xb4~");
    buf_free(&b);
}

Test(uri_decode, plus_only_as_space_when_asked)
{
    struct buf b;
    cr_assert_eq(dec("a+b%2Bc", 7, false, &b), 0);
    cr_expect_str_eq(b.data, "a+b+c");
    buf_free(&b);
    cr_assert_eq(dec("a+b%2Bc", 7, true, &b), 0);
    cr_expect_str_eq(b.data, "a b+c");
    buf_free(&b);
}

Test(uri_decode, decodes_exactly_once)
{
    struct buf b;
    cr_assert_eq(dec("100%2525", 8, false, &b), 0);
    cr_expect_str_eq(b.data, "100%25");
    buf_free(&b);
}

Test(uri_decode, nul_byte)
{
    struct buf b;
    cr_assert_eq(dec("a%00b", 5, false, &b), 0);
    cr_expect_eq(b.len, 3);
    cr_expect_eq(memcmp(b.data, "a\0b", 3), 0);
    buf_free(&b);
}

Test(uri_decode, bad_escapes_are_einval)
{
    static const char *const bad[] = {"%", "a%", "%4", "a%4", "%zz", "%4g", "%g4", "%%41", "% 41"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf b;
        cr_expect_eq(dec(bad[i], strlen(bad[i]), false, &b), -EINVAL, "\"%s\"", bad[i]);
        buf_free(&b);
    }
}

Test(uri_decode, bad_escape_keeps_the_prefix)
{
    struct buf b;
    cr_assert_eq(dec("ab%41c%zz", 9, false, &b), -EINVAL);
    cr_expect_str_eq(b.data, "abAc");
    buf_free(&b);
}

Test(uri_decode, truncated_escape_reads_no_further)
{
    /* The length, not the NUL, ends the input: "%41" cut to "%4" must fail. */
    struct buf b;
    cr_expect_eq(dec("%41", 2, false, &b), -EINVAL);
    buf_free(&b);
}

Test(uri_decode, cap_gives_e2big)
{
    struct buf b;
    buf_init(&b, 2);
    cr_expect_eq(uri_decode(&b, "%41%42%43", 9, false), -E2BIG);
    buf_free(&b);
}

Test(uri_roundtrip, every_byte)
{
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    for (int keep = 0; keep < 2; keep++) {
        struct buf e, d;
        buf_init(&e, URI_TEST_CAP);
        buf_init(&d, URI_TEST_CAP);
        cr_assert_eq(uri_encode(&e, all, sizeof(all), keep), 0);
        for (size_t i = 0; i + 2 < e.len; i++) /* upper-case hex only */
            if (e.data[i] == '%')
                cr_expect(strchr("0123456789ABCDEF", e.data[i + 1]) &&
                          strchr("0123456789ABCDEF", e.data[i + 2]));
        cr_assert_eq(uri_decode(&d, e.data, e.len, false), 0);
        cr_expect_eq(d.len, sizeof(all));
        cr_expect_eq(memcmp(d.data, all, sizeof(all)), 0);
        buf_free(&e);
        buf_free(&d);
    }
}
