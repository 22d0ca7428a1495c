/*
 * Tests for the page file format (core/page_store/page_file.c): round trip, every truncation
 * point and every flipped byte rejected, wrong identities rejected, the block checksums (block
 * size, spans, a part checked alone), and the file names.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/page_store/page_file.h"
#include "page_key_fixture.h"

static uint8_t *image_of(const struct page_key *k, uint32_t len, size_t *total, size_t *hs)
{
    *hs = page_file_header_size(k, len);
    cr_assert_gt(*hs, 0);
    *total = *hs + len;
    uint8_t *img = malloc(*total);
    for (uint32_t j = 0; j < len; j++)
        img[*hs + j] = fill_byte(k, j);
    page_file_header_encode(img, k, img + *hs, len);
    return img;
}

static enum page_file_status verify_prefix(const uint8_t *img, size_t got, size_t hs,
                                           const struct page_key *k, uint32_t len, bool extra)
{
    size_t hg = got < hs ? got : hs;
    size_t dg = got > hs ? got - hs : 0;
    return page_file_verify(img, hg, img + hs, dg, extra, k, len);
}

Test(page_file, round_trip)
{
    struct tkey k;
    tkey_set(&k, 1, 42);
    size_t total, hs;
    uint8_t *img = image_of(&k.key, 1000, &total, &hs);
    cr_assert_eq(hs, PAGE_FILE_FIXED_BYTES + k.key.path_len + k.key.etag_len + 4); /* 1 block */
    cr_assert_eq(verify_prefix(img, total, hs, &k.key, 1000, false), PAGE_FILE_OK);
    cr_assert_eq(verify_prefix(img, total, hs, &k.key, 1000, true), PAGE_FILE_TOO_LONG);
    cr_assert_eq(memcmp(img, "ASPG", 4), 0);
    free(img);

    /* An empty etag and path are still identities. */
    struct page_key e = {"", 0, "", 0, 0};
    img = image_of(&e, 3, &total, &hs);
    cr_assert_eq(verify_prefix(img, total, hs, &e, 3, false), PAGE_FILE_OK);
    free(img);
}

Test(page_file, every_truncation_point_is_rejected)
{
    struct tkey k;
    tkey_set(&k, 2, 7);
    size_t total, hs;
    uint8_t *img = image_of(&k.key, 777, &total, &hs);
    for (size_t got = 0; got < total; got++)
        cr_assert_eq(verify_prefix(img, got, hs, &k.key, 777, false), PAGE_FILE_TRUNCATED,
                     "a file cut at %zu of %zu bytes", got, total);
    free(img);
}

Test(page_file, every_flipped_byte_is_rejected)
{
    struct tkey k;
    tkey_set(&k, 3, 9);
    size_t total, hs;
    uint8_t *img = image_of(&k.key, 300, &total, &hs);
    for (size_t i = 0; i < total; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            img[i] ^= (uint8_t)(1 << bit);
            cr_assert_neq(verify_prefix(img, total, hs, &k.key, 300, false), PAGE_FILE_OK,
                          "byte %zu bit %d flipped", i, bit);
            img[i] ^= (uint8_t)(1 << bit);
        }
    }
    cr_assert_eq(verify_prefix(img, total, hs, &k.key, 300, false), PAGE_FILE_OK);
    free(img);
}

Test(page_file, another_identity_is_rejected)
{
    struct tkey k, other_path, other_index;
    tkey_set(&k, 4, 5);
    tkey_set(&other_path, 5, 5);
    tkey_set(&other_index, 4, 6);
    struct page_key other_etag = k.key;
    other_etag.etag = "\"0123456789abcdeF\"";
    size_t total, hs;
    uint8_t *img = image_of(&k.key, 100, &total, &hs);
    cr_assert_eq(verify_prefix(img, total, hs, &other_path.key, 100, false),
                 PAGE_FILE_BAD_IDENTITY);
    cr_assert_eq(verify_prefix(img, total, hs, &other_index.key, 100, false),
                 PAGE_FILE_BAD_IDENTITY);
    cr_assert_eq(verify_prefix(img, total, hs, &other_etag, 100, false), PAGE_FILE_BAD_IDENTITY);
    cr_assert_eq(verify_prefix(img, total, hs, &k.key, 99, false), PAGE_FILE_BAD_LENGTH);
    free(img);
}

Test(page_file, oversized_identity_is_not_stored)
{
    static char path[PAGE_FILE_IDENTITY_MAX + 1];
    memset(path, 'a', sizeof path);
    struct page_key k = {path, sizeof path, "", 0, 0};
    cr_assert_eq(page_file_header_size(&k, 1), 0);
    k.path_len = PAGE_FILE_IDENTITY_MAX;
    cr_assert_eq(page_file_header_size(&k, 1), PAGE_FILE_FIXED_BYTES + PAGE_FILE_IDENTITY_MAX + 4);
    cr_assert_eq(page_file_header_size(&k, UINT32_MAX), PAGE_FILE_HEADER_MAX);
}

Test(page_file, names)
{
    char name[PAGE_FILE_NAME_MAX];
    uint64_t h, i, s;
    bool temp;
    page_file_name(name, 0x00ab0000000000ffULL, 0, 4137, false);
    cr_assert_str_eq(name, "00ab0000000000ff-0-1029");
    cr_assert(page_file_name_parse(name, &h, &i, &s, &temp));
    cr_assert_eq(h, 0x00ab0000000000ffULL);
    cr_assert_eq(i, 0);
    cr_assert_eq(s, 4137);
    cr_assert(!temp);
    page_file_name(name, UINT64_MAX, UINT64_MAX, UINT64_MAX, true);
    cr_assert_lt(strlen(name), PAGE_FILE_NAME_MAX);
    cr_assert(page_file_name_parse(name, &h, &i, &s, &temp));
    cr_assert(temp && h == UINT64_MAX && i == UINT64_MAX && s == UINT64_MAX);

    const char *bad[] = {
        "",
        "README",
        "00ab0000000000ff-0",
        "00ab0000000000f-0-1029",      /* 15 hash digits */
        "00ab0000000000fff-0-1029",    /* 17 */
        "00AB0000000000ff-0-1029",     /* uppercase */
        "00ab0000000000ff-00-1029",    /* leading zero */
        "00ab0000000000ff-0-01029",    /* leading zero */
        "00ab0000000000ff-0-1029.tmp", /* another suffix */
        "00ab0000000000ff-0-1029.t.t",
        "00ab0000000000ff-0-10000000000000000", /* 17 size digits */
        "00ab0000000000ff--1029",
    };
    for (size_t n = 0; n < sizeof bad / sizeof bad[0]; n++)
        cr_assert(!page_file_name_parse(bad[n], &h, &i, &s, &temp), "%s", bad[n]);
}

Test(page_file, name_hash_separates_fields)
{
    struct page_key a = {"ab", 2, "c", 1, 0}, b = {"a", 1, "bc", 2, 0};
    cr_assert_neq(page_file_name_hash(&a), page_file_name_hash(&b));
    struct page_key a2 = a;
    a2.index = 1; /* the index is not in the name hash: it is its own field of the name */
    cr_assert_eq(page_file_name_hash(&a), page_file_name_hash(&a2));
}

/* --- block checksums ----------------------------------------------------------------------- */

Test(page_file, block_size_follows_the_page_length)
{
    cr_assert_eq(page_file_block_shift(0), PAGE_FILE_BLOCK_SHIFT_MIN);
    cr_assert_eq(page_file_block_shift(1), 14);
    cr_assert_eq(page_file_block_shift(1u << 20), 14);       /* 1 MiB: 64 blocks of 16 KiB */
    cr_assert_eq(page_file_block_shift(4u << 20), 14);       /* 256 blocks: the most */
    cr_assert_eq(page_file_block_shift((4u << 20) + 1), 15); /* 257 would be too many */
    cr_assert_eq(page_file_block_shift(64u << 20), 18);      /* 64 MiB: 256 KiB blocks */
    cr_assert_eq(page_file_block_shift(UINT32_MAX), 24);
    struct page_key e = {"", 0, "", 0, 0};
    cr_assert_eq(page_file_header_size(&e, 0), PAGE_FILE_FIXED_BYTES);
    cr_assert_eq(page_file_header_size(&e, 16384), PAGE_FILE_FIXED_BYTES + 4);
    cr_assert_eq(page_file_header_size(&e, 16385), PAGE_FILE_FIXED_BYTES + 8);
    cr_assert_eq(page_file_header_size(&e, 1u << 20), PAGE_FILE_FIXED_BYTES + 4 * 64);
}

Test(page_file, spans_cover_what_is_asked_on_block_edges)
{
    const uint32_t B = 16384;
    struct {
        uint32_t page_len, from, count, offset, len;
    } cases[] = {
        {0, 0, 10, 0, 0},      /* an empty page has no span */
        {1000, 0, 0, 0, 1000}, /* count 0 is one byte */
        {1000, 999, 1, 0, 1000},
        {1000, 5000, 1, 0, 1000},             /* from past the end: the last byte */
        {10 * B, B, B, B, B},                 /* exactly one block */
        {10 * B, B - 1, 2, 0, 2 * B},         /* across an edge */
        {10 * B + 7, 10 * B, 100, 10 * B, 7}, /* the short last block, count clamped */
        {10 * B, 0, UINT32_MAX, 0, 10 * B},
        {UINT32_MAX, UINT32_MAX - 1, UINT32_MAX, UINT32_MAX & ~((1u << 24) - 1),
         UINT32_MAX - (UINT32_MAX & ~((1u << 24) - 1))},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct page_file_span s =
            page_file_span_of(cases[i].page_len, cases[i].from, cases[i].count);
        cr_assert_eq(s.offset, cases[i].offset, "case %zu: offset %u", i, s.offset);
        cr_assert_eq(s.len, cases[i].len, "case %zu: len %u", i, s.len);
    }
}

/* A page of 7 blocks, the last one short: every span verifies alone; a flipped data byte fails
 * exactly the spans holding it; a span's data cut short is truncated; a span that is not one of
 * this page's is refused. */
Test(page_file, spans_verify_alone)
{
    struct tkey k;
    tkey_set(&k, 6, 2);
    const uint32_t B = 16384, len = 6 * B + 1234, blocks = 7;
    size_t total, hs;
    uint8_t *img = image_of(&k.key, len, &total, &hs);
    const uint8_t *data = img + hs;
    for (uint32_t first = 0; first < blocks; first++) {
        for (uint32_t last = first; last < blocks; last++) {
            struct page_file_span s = page_file_span_of(len, first * B, (last - first) * B + 1);
            cr_assert_eq(s.offset, first * B);
            cr_assert_eq(page_file_verify_span(img, hs, &k.key, len, s, data + s.offset, s.len),
                         PAGE_FILE_OK, "blocks %u..%u", first, last);
            cr_assert_eq(page_file_verify_span(img, hs, &k.key, len, s, data + s.offset, s.len - 1),
                         PAGE_FILE_TRUNCATED, "blocks %u..%u cut", first, last);
            cr_assert_eq(page_file_verify_span(img, hs - 1, &k.key, len, s, data + s.offset, s.len),
                         PAGE_FILE_TRUNCATED, "blocks %u..%u, header cut", first, last);
        }
    }
    for (uint32_t bad = 0; bad < blocks; bad++) {
        size_t at = hs + bad * B + (bad * 977) % (bad == blocks - 1 ? 1234 : B);
        img[at] ^= 0x40;
        for (uint32_t first = 0; first < blocks; first++) {
            for (uint32_t last = first; last < blocks; last++) {
                struct page_file_span s = page_file_span_of(len, first * B, (last - first) * B + 1);
                enum page_file_status want =
                    first <= bad && bad <= last ? PAGE_FILE_BAD_CHECKSUM : PAGE_FILE_OK;
                cr_assert_eq(page_file_verify_span(img, hs, &k.key, len, s, data + s.offset, s.len),
                             want, "flip in block %u, span %u..%u", bad, first, last);
            }
        }
        cr_assert_eq(page_file_verify(img, hs, data, len, false, &k.key, len),
                     PAGE_FILE_BAD_CHECKSUM);
        img[at] ^= 0x40;
    }
    struct page_file_span misaligned = {100, B}, past = {6 * B, B}, cut = {0, B + 1};
    cr_assert_eq(page_file_verify_span(img, hs, &k.key, len, misaligned, data + 100, B),
                 PAGE_FILE_BAD_LENGTH);
    cr_assert_eq(page_file_verify_span(img, hs, &k.key, len, past, data + 6 * B, B),
                 PAGE_FILE_BAD_LENGTH);
    cr_assert_eq(page_file_verify_span(img, hs, &k.key, len, cut, data, B + 1),
                 PAGE_FILE_BAD_LENGTH);
    free(img);
}

/* A part is only as good as its header: every flipped header byte fails every span. */
Test(page_file, spans_check_the_whole_header)
{
    struct tkey k;
    tkey_set(&k, 7, 1);
    const uint32_t len = 3 * 16384;
    size_t total, hs;
    uint8_t *img = image_of(&k.key, len, &total, &hs);
    struct page_file_span s = page_file_span_of(len, 16384, 1);
    for (size_t i = 0; i < hs; i++) {
        img[i] ^= 0x08;
        cr_assert_neq(page_file_verify_span(img, hs, &k.key, len, s, img + hs + s.offset, s.len),
                      PAGE_FILE_OK, "header byte %zu flipped", i);
        img[i] ^= 0x08;
    }
    free(img);
}
