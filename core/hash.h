/*
 * hash: SipHash-2-4, the keyed hash behind every table that client-chosen strings (object paths)
 * can reach. A plain fast hash lets a client who knows it pick paths that all land in one bucket
 * and turn each lookup into a list walk; with a secret random key (hash_seed_random, once per
 * table) the bucket of a path cannot be predicted. SipHash-2-4 is the function of Aumasson and
 * Bernstein, "SipHash: a fast short-input PRF" (2012), written here from that paper; its test
 * vector is in tests/unit/core/hash.c.
 */
#ifndef CORE_HASH_H
#define CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_SIPHASH_KEY_BYTES 16

/* Incremental state, for keys made of several fields (path, etag, index) without concatenating
 * them into a scratch buffer. Callers allocate it (on the stack); fields are private. */
struct hash_sip {
    uint64_t _v0, _v1, _v2, _v3;
    uint64_t _tail;   /* up to 7 pending bytes, little-endian */
    size_t _tail_len; /* bytes in _tail */
    uint64_t _total;  /* bytes fed so far; only its low byte enters the hash */
};

void hash_sip_init(struct hash_sip *h, const uint8_t key[HASH_SIPHASH_KEY_BYTES]);
/* Feed len bytes; the result equals hash_siphash24 over the concatenation of all updates. */
void hash_sip_update(struct hash_sip *h, const void *data, size_t len);
/* The 64-bit result; h must not be updated afterwards. */
uint64_t hash_sip_final(struct hash_sip *h);

/* One-shot SipHash-2-4 of data under key. */
uint64_t hash_siphash24(const uint8_t key[HASH_SIPHASH_KEY_BYTES], const void *data, size_t len);

/* Fill key from getrandom(). 0 or -errno (-ENOSYS on kernels before 3.17). May block only
 * before the kernel's entropy pool is first initialised (early boot). */
int hash_seed_random(uint8_t key[HASH_SIPHASH_KEY_BYTES]) __attribute__((warn_unused_result));

#endif
