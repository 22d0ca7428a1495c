/*
 * page_key_fixture: page keys and page bytes for the page file and disk store tests, so both
 * build the same (path, ETag, index) identities and fill pages the same way.
 */
#ifndef TESTS_UNIT_CORE_PAGE_KEY_FIXTURE_H
#define TESTS_UNIT_CORE_PAGE_KEY_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/page_store/page_store.h"

#define TEST_ETAG "\"0123456789abcdef\""

/* A key with its own storage for the path. */
struct tkey {
    char path[96];
    struct page_key key;
};

static inline void tkey_set(struct tkey *k, unsigned object, uint64_t index)
{
    snprintf(k->path, sizeof k->path, "s3://bucket/dir/object-%u.parquet", object);
    k->key = (struct page_key){k->path, strlen(k->path), TEST_ETAG, strlen(TEST_ETAG), index};
}

/* Byte j of k's page: differs between keys and along the page. */
static inline uint8_t fill_byte(const struct page_key *k, size_t j)
{
    uint8_t last = k->path_len ? (uint8_t)k->path[k->path_len - 1] : 0;
    return (uint8_t)(k->path_len * 31 + last * 17 + k->index * 7 + j * 13);
}

#endif
