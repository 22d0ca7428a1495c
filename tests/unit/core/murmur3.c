/*
 * Tests for core/murmur3.c: MurmurHash3 x86_32 against its widely published test values, the
 * SMHasher verification value, and the incremental API against the one-shot one. The ring's own
 * hash vectors (tests/vectors/ring/hashes.tsv) are checked in tests/unit/core/ring.c.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "core/murmur3.h"

struct murmur3_case {
    const char *data;
    size_t len;
    uint32_t seed;
    uint32_t hash;
};

#define M3(s, seed, h)                                                                             \
    {                                                                                              \
        s, sizeof(s) - 1, seed, h                                                                  \
    }

/* The commonly quoted MurmurHash3_x86_32 test values (each tail length 0-3, with and without a
 * full block before it, and seeds that exercise the seed path). */
static const struct murmur3_case murmur3_cases[] = {
    M3("", 0, 0),
    M3("", 1, 0x514e28b7),
    M3("", 0xffffffff, 0x81f16f39),
    M3("\xff\xff\xff\xff", 0, 0x76293b50),
    M3("\x21\x43\x65\x87", 0, 0xf55b516b),
    M3("\x21\x43\x65\x87", 0x5082edee, 0x2362f9de),
    M3("\x21\x43\x65", 0, 0x7e4a8634),
    M3("\x21\x43", 0, 0xa0f7b07a),
    M3("\x21", 0, 0x72661cf4),
    M3("\x00\x00\x00\x00", 0, 0x2362f9de),
    M3("\x00\x00\x00", 0, 0x85f0b427),
    M3("\x00\x00", 0, 0x30f4c306),
    M3("\x00", 0, 0x514e28b7),
    M3("aaaa", 0x9747b28c, 0x5a97808a),
    M3("aaa", 0x9747b28c, 0x283e0130),
    M3("aa", 0x9747b28c, 0x5d211726),
    M3("a", 0x9747b28c, 0x7fa09ea6),
    M3("abcd", 0x9747b28c, 0xf0478627),
    M3("abc", 0x9747b28c, 0xc84a62dd),
    M3("ab", 0x9747b28c, 0x74875592),
    M3("Hello, world!", 0x9747b28c, 0x24884cba),
    M3("\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80", 0x9747b28c, 0xd58063c1),
    M3("The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd),
    M3("abc", 0, 0xb3dd93fa),
    M3("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0, 0xee925b90),
};

Test(murmur3, published_values)
{
    for (size_t i = 0; i < sizeof murmur3_cases / sizeof murmur3_cases[0]; i++) {
        const struct murmur3_case *c = &murmur3_cases[i];
        cr_expect_eq(murmur3_x86_32(c->data, c->len, c->seed), c->hash,
                     "case %zu: got %08x want %08x", i, murmur3_x86_32(c->data, c->len, c->seed),
                     c->hash);
    }
}

/* 256 x 'a' with seed 0x9747b28c: a long input of many blocks. */
Test(murmur3, long_input)
{
    char a[256];
    memset(a, 'a', sizeof a);
    cr_assert_eq(murmur3_x86_32(a, sizeof a, 0x9747b28c), 0x37405bdc);
}

/* SMHasher's VerificationTest: hash the keys {}, {0}, {0,1}, .. {0..254} with seed 256 - len,
 * store each result little-endian, hash those 1024 bytes with seed 0; x86_32's published
 * verification value is 0xb0f57ee3. */
Test(murmur3, smhasher_verification)
{
    uint8_t key[256], hashes[1024];
    for (int i = 0; i < 256; i++) {
        key[i] = (uint8_t)i;
        uint32_t h = murmur3_x86_32(key, (size_t)i, 256u - (uint32_t)i);
        for (int b = 0; b < 4; b++)
            hashes[i * 4 + b] = (uint8_t)(h >> (8 * b));
    }
    cr_assert_eq(murmur3_x86_32(hashes, sizeof hashes, 0), 0xb0f57ee3);
}

/* Any split of the input into two or three updates gives the one-shot result. */
Test(murmur3, incremental_matches_one_shot)
{
    uint8_t msg[37];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof msg; len++) {
        uint32_t want = murmur3_x86_32(msg, len, 42);
        for (size_t a = 0; a <= len; a++) {
            for (size_t b = a; b <= len; b++) {
                struct murmur3_32 m;
                murmur3_32_init(&m, 42);
                murmur3_32_update(&m, msg, a);
                murmur3_32_update(&m, msg + a, b - a);
                murmur3_32_update(&m, msg + b, len - b);
                cr_assert_eq(murmur3_32_final(&m), want, "len %zu split %zu/%zu", len, a, b);
            }
        }
    }
}

/* update_le32 feeds the 4 little-endian bytes of its argument. */
Test(murmur3, update_le32)
{
    struct murmur3_32 m;
    murmur3_32_init(&m, 0);
    murmur3_32_update(&m, "ab", 2);
    murmur3_32_update_le32(&m, 0x04030201u);
    cr_assert_eq(murmur3_32_final(&m), murmur3_x86_32("ab\x01\x02\x03\x04", 6, 0));
}
