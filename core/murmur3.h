/*
 * murmur3: MurmurHash3, x86 32-bit variant (Austin Appleby, SMHasher, placed in the public
 * domain), written here from the published description of the algorithm. It is not a keyed or
 * secure hash: the proxy uses it only where another program fixed the choice, namely Alluxio's
 * consistent-hash ring (../shared/ALLUXIO-PROTOCOL.md section 2.1), so that we place paths on
 * workers exactly as alluxiofs and the Alluxio Java client do. Test values in
 * tests/unit/core/murmur3.c.
 */
#ifndef CORE_MURMUR3_H
#define CORE_MURMUR3_H

#include <stddef.h>
#include <stdint.h>

/* Incremental state, for inputs made of several pieces (a path, then a little-endian attempt
 * number) without concatenating them. Callers allocate it (on the stack); fields are private. */
struct murmur3_32 {
    uint32_t _h;        /* running hash */
    uint32_t _tail;     /* up to 3 pending bytes, little-endian */
    unsigned _tail_len; /* bytes in _tail */
    uint32_t _total;    /* bytes fed so far, modulo 2^32 (the algorithm mixes in len as 32 bits) */
};

void murmur3_32_init(struct murmur3_32 *m, uint32_t seed);
/* Feed len bytes; the result equals murmur3_x86_32 over the concatenation of all updates. */
void murmur3_32_update(struct murmur3_32 *m, const void *data, size_t len);
/* Feed v as 4 bytes little-endian (Python int.to_bytes(4, "little"), Guava putInt). */
void murmur3_32_update_le32(struct murmur3_32 *m, uint32_t v);
/* The 32-bit result; m must not be updated afterwards. */
uint32_t murmur3_32_final(struct murmur3_32 *m);

/* One-shot MurmurHash3 x86_32 of data with seed. */
uint32_t murmur3_x86_32(const void *data, size_t len, uint32_t seed);

#endif
