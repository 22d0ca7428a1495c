/*
 * page_file: the on-disk format of one cached page, and the file names that let the disk store
 * (disk.c) rebuild its index from directory entries alone.
 *
 * A page file is a header followed by the page's bytes. All integers are little-endian:
 *
 *   off size  field
 *     0    4  magic "ASPG"
 *     4    2  version (PAGE_FILE_VERSION)
 *     6    2  flags, 0
 *     8    4  header_len = PAGE_FILE_FIXED_BYTES + path_len + etag_len
 *    12    4  data_len, bytes of page data after the header
 *    16    8  page index
 *    24    4  path_len
 *    28    4  etag_len
 *    32    4  CRC-32C of the header (this field taken as 0) followed by the data
 *    36    4  reserved, 0
 *    40       path bytes, then etag bytes (the full identity), then data_len data bytes
 *
 * The header holds the page's full identity, so what a file claims to be is checked byte for
 * byte against the key asked for; the name only helps find it. Data follows the header
 * directly (no alignment padding): pages are read with one readv into a header buffer and the
 * page itself, and a short last page of a small object costs one 4 KiB block, not two.
 *
 * Name: "<h>-<i>-<s>" with h the 16 lowercase hex digits of page_file_name_hash(path, etag),
 * i the page index and s the file size (header + data), both lowercase hex without leading
 * zeros. The size is in the name so the store can count its bytes without a stat per file.
 * A file being written carries the suffix ".t" until it is renamed to its final name.
 */
#ifndef CORE_PAGE_STORE_PAGE_FILE_H
#define CORE_PAGE_STORE_PAGE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "page_store.h"

#define PAGE_FILE_MAGIC        0x47505341u /* "ASPG" read as a little-endian u32 */
#define PAGE_FILE_VERSION      1
#define PAGE_FILE_FIXED_BYTES  40
#define PAGE_FILE_IDENTITY_MAX 8192 /* path + etag bytes; longer keys are not cached on disk */
#define PAGE_FILE_HEADER_MAX   (PAGE_FILE_FIXED_BYTES + PAGE_FILE_IDENTITY_MAX)
#define PAGE_FILE_NAME_MAX     56 /* a name with its suffix and NUL: 16+1+16+1+16+2+1 */
#define PAGE_FILE_TEMP_SUFFIX  ".t"
#define PAGE_FILE_CRC_OFFSET   32

enum page_file_status {
    PAGE_FILE_OK,
    PAGE_FILE_TRUNCATED,    /* fewer bytes than the header or the data need */
    PAGE_FILE_TOO_LONG,     /* bytes after the data */
    PAGE_FILE_BAD_MAGIC,    /* not a page file */
    PAGE_FILE_BAD_VERSION,  /* another format version, or flags/reserved set */
    PAGE_FILE_BAD_LENGTH,   /* header_len or data_len not what the key and caller expect */
    PAGE_FILE_BAD_IDENTITY, /* another (path, etag, index) */
    PAGE_FILE_BAD_CHECKSUM, /* CRC-32C mismatch */
};

/* Bytes of the header for key; 0 when its identity is longer than PAGE_FILE_IDENTITY_MAX. */
size_t page_file_header_size(const struct page_key *key);

/* Fill out (page_file_header_size(key) bytes, which must be > 0) with the header of a file
 * holding len data bytes for key, its CRC computed over data. Pure; any thread. */
void page_file_header_encode(uint8_t *out, const struct page_key *key, const void *data,
                             uint32_t len);

/* Check a page file read back: header_got bytes of header in header (a buffer of
 * page_file_header_size(key) bytes), data_got bytes in data, and whether a byte was found past
 * the data (extra). OK only if the file is exactly a page of expected_len bytes for key, with
 * a matching checksum. Pure; any thread. */
enum page_file_status page_file_verify(const uint8_t *header, size_t header_got, const void *data,
                                       size_t data_got, bool extra, const struct page_key *key,
                                       uint32_t expected_len);

/* Static text for logs. */
const char *page_file_status_name(enum page_file_status st);

/* 64-bit name hash of (path, etag): SipHash-2-4 under a fixed key, so it is the same in every
 * run (the index is rebuilt from names). Not a secret and not what is trusted: a collision only
 * makes two pages share a file name, and the header check then rejects the wrong one. */
uint64_t page_file_name_hash(const struct page_key *key);

/* Write the name of a page file into out (PAGE_FILE_NAME_MAX bytes), temp adding the suffix. */
void page_file_name(char *out, uint64_t name_hash, uint64_t index, uint64_t file_size, bool temp);

/* Parse a directory entry's name. False when it is not in the exact form page_file_name
 * writes (no leading zeros, lowercase): such files are not the store's. */
bool page_file_name_parse(const char *name, uint64_t *name_hash, uint64_t *index,
                          uint64_t *file_size, bool *temp);

#endif
