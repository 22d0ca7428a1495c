/*
 * hash: SipHash-2-4 written from the paper (Aumasson, Bernstein, "SipHash: a fast short-input
 * PRF", 2012, section 2), plus the random key that makes it useful against chosen paths. See
 * hash.h for why the proxy's tables use a keyed hash.
 */
#include "hash.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

/* Initialisation constants from the paper: "somepseudorandomlygeneratedbytes" in ASCII. */
#define HASH_SIP_C0 0x736f6d6570736575ULL
#define HASH_SIP_C1 0x646f72616e646f6dULL
#define HASH_SIP_C2 0x6c7967656e657261ULL
#define HASH_SIP_C3 0x7465646279746573ULL

static inline uint64_t hash_rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

/* Bytes are read as little-endian words whatever the host order (the paper's convention). */
static inline uint64_t hash_load_le64(const uint8_t *p)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < 8; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

static inline void hash_sip_round(struct hash_sip *h)
{
    h->_v0 += h->_v1;
    h->_v1 = hash_rotl(h->_v1, 13);
    h->_v1 ^= h->_v0;
    h->_v0 = hash_rotl(h->_v0, 32);
    h->_v2 += h->_v3;
    h->_v3 = hash_rotl(h->_v3, 16);
    h->_v3 ^= h->_v2;
    h->_v0 += h->_v3;
    h->_v3 = hash_rotl(h->_v3, 21);
    h->_v3 ^= h->_v0;
    h->_v2 += h->_v1;
    h->_v1 = hash_rotl(h->_v1, 17);
    h->_v1 ^= h->_v2;
    h->_v2 = hash_rotl(h->_v2, 32);
}

/* One message word: c = 2 compression rounds (the "2" of SipHash-2-4). */
static inline void hash_sip_compress(struct hash_sip *h, uint64_t m)
{
    h->_v3 ^= m;
    hash_sip_round(h);
    hash_sip_round(h);
    h->_v0 ^= m;
}

void hash_sip_init(struct hash_sip *h, const uint8_t key[HASH_SIPHASH_KEY_BYTES])
{
    uint64_t k0 = hash_load_le64(key);
    uint64_t k1 = hash_load_le64(key + 8);
    h->_v0 = k0 ^ HASH_SIP_C0;
    h->_v1 = k1 ^ HASH_SIP_C1;
    h->_v2 = k0 ^ HASH_SIP_C2;
    h->_v3 = k1 ^ HASH_SIP_C3;
    h->_tail = 0;
    h->_tail_len = 0;
    h->_total = 0;
}

void hash_sip_update(struct hash_sip *h, const void *data, size_t len)
{
    const uint8_t *p = data;
    h->_total += len;
    /* Top up a partial word left by the previous update first. */
    while (len > 0 && h->_tail_len > 0) {
        h->_tail |= (uint64_t)*p++ << (8 * h->_tail_len);
        len--;
        if (++h->_tail_len == 8) {
            hash_sip_compress(h, h->_tail);
            h->_tail = 0;
            h->_tail_len = 0;
        }
    }
    for (; len >= 8; p += 8, len -= 8)
        hash_sip_compress(h, hash_load_le64(p));
    for (size_t i = 0; i < len; i++)
        h->_tail |= (uint64_t)p[i] << (8 * i);
    h->_tail_len += len;
}

uint64_t hash_sip_final(struct hash_sip *h)
{
    /* Last word: the pending bytes, with the message length mod 256 in the top byte. */
    hash_sip_compress(h, h->_tail | (h->_total & 0xff) << 56);
    /* d = 4 finalisation rounds (the "4"). */
    h->_v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        hash_sip_round(h);
    return h->_v0 ^ h->_v1 ^ h->_v2 ^ h->_v3;
}

uint64_t hash_siphash24(const uint8_t key[HASH_SIPHASH_KEY_BYTES], const void *data, size_t len)
{
    struct hash_sip h;
    hash_sip_init(&h, key);
    hash_sip_update(&h, data, len);
    return hash_sip_final(&h);
}

int hash_seed_random(uint8_t key[HASH_SIPHASH_KEY_BYTES])
{
    size_t got = 0;
    while (got < HASH_SIPHASH_KEY_BYTES) {
        ssize_t n = getrandom(key + got, HASH_SIPHASH_KEY_BYTES - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    return 0;
}
