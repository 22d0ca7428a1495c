/*
 * crc32c: CRC-32C from its published definition: reflected polynomial 0x82F63B78 (Castagnoli,
 * Brauer, Herrmann, "Optimization of cyclic redundancy-check codes with 24 and 32 parity bits",
 * 1993), initial value and final XOR 0xFFFFFFFF.
 *
 * Two paths with one result: the SSE4.2 CRC32 instruction (which computes exactly this CRC,
 * Intel SDM vol. 2A "CRC32"), chosen at run time by __builtin_cpu_supports, and the classic
 * slicing-by-8 table method (Kounavis and Berry, Intel, 2005) for other CPUs. The tables are
 * built once from the polynomial. tests/unit/core/crc32c.c checks both against the standard
 * check value and against each other.
 *
 * The instruction is latency-bound (one 8-byte step per ~3 cycles), and every page read from
 * the disk store is checked in full, so a profile of disk hits put it first. Long inputs run
 * three independent lanes at once (the processor overlaps them) and join the lane results with
 * the CRC's linearity: the register after A||B equals "A's register advanced over len(B) zero
 * bytes" XOR "B's register from zero". Advancing over a fixed length is a linear map of the
 * 32-bit register, kept as four 256-entry tables per length (Intel's "Fast CRC computation
 * for iSCSI polynomial using CRC32 instruction", 2011, describes the same split).
 */
#include "crc32c.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#define CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

#define CRC32C_LANE_LONG  8192 /* bytes per lane in the main three-lane loop */
#define CRC32C_LANE_SHORT 256  /* bytes per lane for what is left, before the plain loop */

static uint32_t crc32c_table[8][256];
static bool crc32c_use_hw;
/* Advance a register over CRC32C_LANE_LONG (resp. _SHORT) zero bytes: [k][b] is the result for
 * the register b << 8k, and the result for any register the XOR over its four bytes. */
static uint32_t crc32c_shift_long[4][256], crc32c_shift_short[4][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

/* The register after len zero bytes from register c, one bit at a time: used only to build the
 * shift tables, from the polynomial alone (no table needed yet). */
static uint32_t crc32c_zeros_slow(uint32_t c, size_t len)
{
    for (size_t i = 0; i < len * 8; i++)
        c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
    return c;
}

static void crc32c_shift_tables(uint32_t table[4][256], size_t len)
{
    uint32_t basis[32]; /* the shift of each single-bit register: the map is linear */
    for (unsigned bit = 0; bit < 32; bit++)
        basis[bit] = crc32c_zeros_slow(UINT32_C(1) << bit, len);
    for (unsigned k = 0; k < 4; k++) {
        for (unsigned b = 0; b < 256; b++) {
            uint32_t v = 0;
            for (unsigned j = 0; j < 8; j++)
                if (b & (1u << j))
                    v ^= basis[8 * k + j];
            table[k][b] = v;
        }
    }
}

static inline uint32_t crc32c_shift(const uint32_t table[4][256], uint32_t c)
{
    return table[0][c & 0xff] ^ table[1][(c >> 8) & 0xff] ^ table[2][(c >> 16) & 0xff] ^
           table[3][c >> 24];
}

/* table[0] is the byte-at-a-time table; table[k][b] is the CRC of byte b followed by k zero
 * bytes, which lets the loop below fold 8 bytes per step. */
static void crc32c_init(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int i = 0; i < 8; i++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc32c_table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = crc32c_table[0][b];
        for (int k = 1; k < 8; k++) {
            c = crc32c_table[0][c & 0xff] ^ (c >> 8);
            crc32c_table[k][b] = c;
        }
    }
    crc32c_shift_tables(crc32c_shift_long, CRC32C_LANE_LONG);
    crc32c_shift_tables(crc32c_shift_short, CRC32C_LANE_SHORT);
#if defined(__x86_64__)
    __builtin_cpu_init();
    crc32c_use_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static inline uint64_t crc32c_load_le64(const uint8_t *p)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < 8; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

/* c is the running (inverted) register. */
static uint32_t crc32c_slice8(uint32_t c, const uint8_t *p, size_t n)
{
    while (n >= 8) {
        uint64_t w = crc32c_load_le64(p) ^ c;
        c = crc32c_table[7][w & 0xff] ^ crc32c_table[6][(w >> 8) & 0xff] ^
            crc32c_table[5][(w >> 16) & 0xff] ^ crc32c_table[4][(w >> 24) & 0xff] ^
            crc32c_table[3][(w >> 32) & 0xff] ^ crc32c_table[2][(w >> 40) & 0xff] ^
            crc32c_table[1][(w >> 48) & 0xff] ^ crc32c_table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = crc32c_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return c;
}

#if defined(__x86_64__)
/* Three lanes of lane bytes each from p, joined (see the top of the file). */
__attribute__((target("sse4.2"))) static inline uint64_t
crc32c_hw_lanes(uint64_t c, const uint8_t *p, size_t lane, const uint32_t shift[4][256])
{
    uint64_t b = 0, d = 0;
    for (size_t i = 0; i < lane; i += 8) {
        uint64_t w0, w1, w2;
        memcpy(&w0, p + i, 8);
        memcpy(&w1, p + lane + i, 8);
        memcpy(&w2, p + 2 * lane + i, 8);
        c = _mm_crc32_u64(c, w0);
        b = _mm_crc32_u64(b, w1);
        d = _mm_crc32_u64(d, w2);
    }
    c = crc32c_shift(shift, (uint32_t)c) ^ b;
    return crc32c_shift(shift, (uint32_t)c) ^ d;
}

/* The instruction consumes little-endian words, as x86 loads them. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t c, const uint8_t *p, size_t n)
{
    uint64_t c64 = c;
    while (n >= 3 * CRC32C_LANE_LONG) {
        c64 = crc32c_hw_lanes(c64, p, CRC32C_LANE_LONG, crc32c_shift_long);
        p += 3 * CRC32C_LANE_LONG;
        n -= 3 * CRC32C_LANE_LONG;
    }
    while (n >= 3 * CRC32C_LANE_SHORT) {
        c64 = crc32c_hw_lanes(c64, p, CRC32C_LANE_SHORT, crc32c_shift_short);
        p += 3 * CRC32C_LANE_SHORT;
        n -= 3 * CRC32C_LANE_SHORT;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, sizeof w);
        c64 = _mm_crc32_u64(c64, w);
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
    while (n--)
        c = _mm_crc32_u8(c, *p++);
    return c;
}
#endif

uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc32c_once, crc32c_init);
    return ~crc32c_slice8(~crc, data, len);
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc32c_once, crc32c_init);
#if defined(__x86_64__)
    if (crc32c_use_hw)
        return ~crc32c_hw(~crc, data, len);
#endif
    return ~crc32c_slice8(~crc, data, len);
}
