/*
 * murmur3: MurmurHash3 x86_32 from the published algorithm (Appleby, SMHasher, public domain):
 * the input is read as little-endian 32-bit blocks, each block is multiplied, rotated and
 * multiplied by two constants and folded into the hash, which is rotated and scaled; the 1-3
 * trailing bytes are mixed the same way without the hash step; then the length is mixed in and
 * the "fmix32" avalanche finishes. See murmur3.h for why the proxy needs this function.
 */
#include "murmur3.h"

#define MURMUR3_C1 0xcc9e2d51u
#define MURMUR3_C2 0x1b873593u
#define MURMUR3_N  0xe6546b64u

static inline uint32_t murmur3_rotl(uint32_t x, unsigned r)
{
    return (x << r) | (x >> (32 - r));
}

/* The per-block key scramble, also applied to the tail. */
static inline uint32_t murmur3_scramble(uint32_t k)
{
    k *= MURMUR3_C1;
    k = murmur3_rotl(k, 15);
    return k * MURMUR3_C2;
}

static inline void murmur3_block(struct murmur3_32 *m, uint32_t k)
{
    m->_h ^= murmur3_scramble(k);
    m->_h = murmur3_rotl(m->_h, 13);
    m->_h = m->_h * 5 + MURMUR3_N;
}

void murmur3_32_init(struct murmur3_32 *m, uint32_t seed)
{
    m->_h = seed;
    m->_tail = 0;
    m->_tail_len = 0;
    m->_total = 0;
}

void murmur3_32_update(struct murmur3_32 *m, const void *data, size_t len)
{
    const uint8_t *p = data;
    m->_total += (uint32_t)len;
    /* Top up a partial block first. */
    while (m->_tail_len > 0 && len > 0) {
        m->_tail |= (uint32_t)*p++ << (8 * m->_tail_len);
        len--;
        if (++m->_tail_len == 4) {
            murmur3_block(m, m->_tail);
            m->_tail = 0;
            m->_tail_len = 0;
        }
    }
    for (; len >= 4; p += 4, len -= 4)
        murmur3_block(m, (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24);
    for (; len > 0; len--)
        m->_tail |= (uint32_t)*p++ << (8 * m->_tail_len++);
}

void murmur3_32_update_le32(struct murmur3_32 *m, uint32_t v)
{
    const uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    murmur3_32_update(m, b, sizeof b);
}

uint32_t murmur3_32_final(struct murmur3_32 *m)
{
    uint32_t h = m->_h;
    if (m->_tail_len > 0)
        h ^= murmur3_scramble(m->_tail);
    h ^= m->_total;
    /* fmix32 */
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

uint32_t murmur3_x86_32(const void *data, size_t len, uint32_t seed)
{
    struct murmur3_32 m;
    murmur3_32_init(&m, seed);
    murmur3_32_update(&m, data, len);
    return murmur3_32_final(&m);
}
