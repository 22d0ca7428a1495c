/*
 * page_file: the on-disk format of one cached page, and the file names that let the disk store
 * (disk.c) rebuild its index from directory entries alone.
 *
 * A page file is a header followed by the page's bytes. All integers are little-endian:
 *
 *   off size  field
 *     0    4  magic "ASPG"
 *     4    2  version (PAGE_FILE_VERSION)
 *     6    1  block_shift: the data is checksummed in blocks of 2^block_shift bytes
 *     7    1  flags, 0
 *     8    4  header_len = PAGE_FILE_FIXED_BYTES + path_len + etag_len + 4 * blocks
 *    12    4  data_len, bytes of page data after the header
 *    16    8  page index
 *    24    4  path_len
 *    28    4  etag_len
 *    32    4  CRC-32C of the header, this field taken as 0 (block checksums included)
 *    36    4  reserved, 0
 *    40       path bytes, then etag bytes (the full identity), then the CRC-32C of each block
 *             of data (4 bytes each, the last block short), then data_len data bytes
 *
 * The header holds the page's full identity, so what a file claims to be is checked byte for
 * byte against the key asked for; the name only helps find it. Data follows the header
 * directly (no alignment padding): a whole page is read with one readv into a header buffer
 * and the page itself, and a short last page of a small object costs one 4 KiB block, not two.
 *
 * Checksums per block, not per page: a 256 KiB range that crosses a page edge needs a quarter
 * of each of two 1 MiB pages, and with one checksum per page the store had to read and
 * checksum both pages whole (2 MiB for 256 KiB sent; tests/bench disk rows). With a checksum
 * per 16 KiB block it reads and checks only the blocks the range touches, and every byte sent
 * is still checked first. The block size is a function of data_len alone (page_file_block_shift)
 * so a reader knows the header size before reading it.
 *
 * Version 1 files (one checksum over header and data) are not read: their size in the name no
 * longer matches, so the store drops them at first use and fetches the page again.
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

#define PAGE_FILE_MAGIC           0x47505341u /* "ASPG" read as a little-endian u32 */
#define PAGE_FILE_VERSION         2
#define PAGE_FILE_FIXED_BYTES     40
#define PAGE_FILE_IDENTITY_MAX    8192 /* path + etag bytes; longer keys are not cached on disk */
#define PAGE_FILE_BLOCK_SHIFT_MIN 14   /* 16 KiB checksum blocks... */
#define PAGE_FILE_BLOCKS_MAX      256  /* ...or larger ones, so a page has at most this many */
#define PAGE_FILE_HEADER_MAX                                                                       \
    (PAGE_FILE_FIXED_BYTES + PAGE_FILE_IDENTITY_MAX + 4 * PAGE_FILE_BLOCKS_MAX)
#define PAGE_FILE_NAME_MAX    56 /* a name with its suffix and NUL: 16+1+16+1+16+2+1 */
#define PAGE_FILE_TEMP_SUFFIX ".t"
#define PAGE_FILE_CRC_OFFSET  32

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

/* log2 of the checksum block size of a page of len bytes. */
unsigned page_file_block_shift(uint32_t len);

/* Bytes of the header of a file holding len data bytes for key; 0 when key's identity is longer
 * than PAGE_FILE_IDENTITY_MAX. */
size_t page_file_header_size(const struct page_key *key, uint32_t len);

/* Fill out (page_file_header_size(key, len) bytes, which must be > 0) with the header of a
 * file holding the len bytes of data for key, checksums included. Pure; any thread. */
void page_file_header_encode(uint8_t *out, const struct page_key *key, const void *data,
                             uint32_t len);

/* Check a whole page file read back: header_got bytes of header in header (a buffer of
 * page_file_header_size bytes), data_got bytes in data, and whether a byte was found past the
 * data (extra). OK only if the file is exactly a page of expected_len bytes for key, every
 * checksum matching. Pure; any thread. */
enum page_file_status page_file_verify(const uint8_t *header, size_t header_got, const void *data,
                                       size_t data_got, bool extra, const struct page_key *key,
                                       uint32_t expected_len);

/* Bytes [offset, offset + len) of a page's data, on checksum block edges. */
struct page_file_span {
    uint32_t offset, len;
};

/* The smallest span of a page of page_len bytes that covers [from, from + count) (clamped to
 * the page; count 0 is taken as 1, so the span is never empty for a non-empty page). */
struct page_file_span page_file_span_of(uint32_t page_len, uint32_t from, uint32_t count);

/* Check a part of a page file: the header as page_file_verify does (header_got bytes), then
 * the data_got bytes read at span's offset against the checksums of span's blocks. Bytes past
 * the span are not looked at, so a file with a bad block elsewhere still passes. Pure. */
enum page_file_status page_file_verify_span(const uint8_t *header, size_t header_got,
                                            const struct page_key *key, uint32_t expected_len,
                                            struct page_file_span span, const void *data,
                                            size_t data_got);

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
