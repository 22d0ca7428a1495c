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
 */
#include "crc32c.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#define CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

static uint32_t crc32c_table[8][256];
static bool crc32c_use_hw;
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

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
/* The instruction consumes little-endian words, as x86 loads them. One 8-byte step per
 * instruction: about 8 bytes per 3 cycles (its latency), ~8 GB/s at 3 GHz. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t c, const uint8_t *p, size_t n)
{
    uint64_t c64 = c;
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
