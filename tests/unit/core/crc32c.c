/*
 * Tests for core/crc32c.c: the standard check value, the RFC 3720 (iSCSI) test patterns,
 * chaining, and the hardware path against the table path over many lengths and alignments.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "core/crc32c.h"

/* The check value of the CRC-32C parameter set ("CRC-32/ISCSI" in Greg Cook's CRC catalogue
 * and every CRC library): the CRC of the ASCII digits "123456789". */
Test(crc32c, check_value)
{
    cr_assert_eq(crc32c(0, "123456789", 9), 0xE3069283u);
    cr_assert_eq(crc32c_sw(0, "123456789", 9), 0xE3069283u);
    cr_assert_eq(crc32c(0, "", 0), 0);
}

/* RFC 3720 appendix B.4: 32 bytes of zeros, of 0xff, and ascending 00..1f. */
Test(crc32c, rfc3720_patterns)
{
    uint8_t buf[32];
    memset(buf, 0, sizeof buf);
    cr_assert_eq(crc32c(0, buf, sizeof buf), 0x8A9136AAu);
    cr_assert_eq(crc32c_sw(0, buf, sizeof buf), 0x8A9136AAu);
    memset(buf, 0xff, sizeof buf);
    cr_assert_eq(crc32c(0, buf, sizeof buf), 0x62A8AB43u);
    cr_assert_eq(crc32c_sw(0, buf, sizeof buf), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    cr_assert_eq(crc32c(0, buf, sizeof buf), 0x46DD794Eu);
    cr_assert_eq(crc32c_sw(0, buf, sizeof buf), 0x46DD794Eu);
}

Test(crc32c, chaining_equals_one_pass)
{
    uint8_t buf[1000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    uint32_t whole = crc32c(0, buf, sizeof buf);
    for (size_t cut = 0; cut <= sizeof buf; cut += 37) {
        cr_assert_eq(crc32c(crc32c(0, buf, cut), buf + cut, sizeof buf - cut), whole);
        cr_assert_eq(crc32c_sw(crc32c_sw(0, buf, cut), buf + cut, sizeof buf - cut), whole);
    }
}

Test(crc32c, hardware_matches_tables)
{
    static uint8_t buf[4096 + 16];
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < sizeof buf; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        buf[i] = (uint8_t)s;
    }
    for (size_t off = 0; off < 16; off++)
        for (size_t len = 0; len <= 4096; len += (len < 64 ? 1 : 61))
            cr_assert_eq(crc32c(0, buf + off, len), crc32c_sw(0, buf + off, len),
                         "offset %zu length %zu", off, len);
}

/* Lengths around the three-lane thresholds (3 x 256 and 3 x 8192 bytes) and a 1 MiB page, at
 * every alignment the loop could see. */
Test(crc32c, hardware_lanes_match_tables)
{
    static uint8_t buf[(1 << 20) + 64];
    uint64_t s = 0x2545F4914F6CDD1DULL;
    for (size_t i = 0; i < sizeof buf; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        buf[i] = (uint8_t)s;
    }
    const size_t lens[] = {767,   768,   769,         1535,        1536,   24575,
                           24576, 24577, 24576 + 768, 49152 + 800, 100000, 1 << 20};
    for (size_t off = 0; off < 9; off++)
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
            cr_assert_eq(crc32c(0, buf + off, lens[i]), crc32c_sw(0, buf + off, lens[i]),
                         "offset %zu length %zu", off, lens[i]);
    /* Chaining across a lane boundary. */
    uint32_t whole = crc32c(0, buf, 1 << 20);
    cr_assert_eq(crc32c(crc32c(0, buf, 30000), buf + 30000, (1 << 20) - 30000), whole);
}
