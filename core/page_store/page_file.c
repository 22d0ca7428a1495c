/*
 * page_file: encode and verify the page file header, and the file names (see page_file.h).
 */
#include "page_file.h"

#include <stdio.h>
#include <string.h>

#include "../crc32c.h"
#include "../hash.h"

/* Fixed: names must hash the same in every run and on every host. Changing it orphans every
 * cached page (they become misplaced names, removed at the next start). */
static const uint8_t page_file_name_key[HASH_SIPHASH_KEY_BYTES] = {
    'a', 'l', 'l', 'u', 'x', 'i', 'o', '-', 's', '3', '-', 'p', 'r', 'o', 'x', 'y'};

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

unsigned page_file_block_shift(uint32_t len)
{
    unsigned shift = PAGE_FILE_BLOCK_SHIFT_MIN;
    while (((uint64_t)len + (1ull << shift) - 1) >> shift > PAGE_FILE_BLOCKS_MAX)
        shift++;
    return shift;
}

static uint32_t page_file_blocks(uint32_t len, unsigned shift)
{
    return (uint32_t)(((uint64_t)len + (1ull << shift) - 1) >> shift);
}

size_t page_file_header_size(const struct page_key *key, uint32_t len)
{
    if (key->path_len > PAGE_FILE_IDENTITY_MAX ||
        key->etag_len > PAGE_FILE_IDENTITY_MAX - key->path_len)
        return 0;
    return PAGE_FILE_FIXED_BYTES + key->path_len + key->etag_len +
           4 * (size_t)page_file_blocks(len, page_file_block_shift(len));
}

/* CRC of the header with its CRC field read as zero. */
static uint32_t page_file_header_crc(const uint8_t *header, size_t header_size)
{
    static const uint8_t zero[4];
    uint32_t crc = crc32c(0, header, PAGE_FILE_CRC_OFFSET);
    crc = crc32c(crc, zero, sizeof zero);
    return crc32c(crc, header + PAGE_FILE_CRC_OFFSET + 4, header_size - PAGE_FILE_CRC_OFFSET - 4);
}

/* Where the block checksums start in a header for key. */
static size_t page_file_sums_offset(const struct page_key *key)
{
    return PAGE_FILE_FIXED_BYTES + key->path_len + key->etag_len;
}

void page_file_header_encode(uint8_t *out, const struct page_key *key, const void *data,
                             uint32_t len)
{
    size_t size = page_file_header_size(key, len);
    unsigned shift = page_file_block_shift(len);
    put_le32(out, PAGE_FILE_MAGIC);
    put_le16(out + 4, PAGE_FILE_VERSION);
    out[6] = (uint8_t)shift;
    out[7] = 0;
    put_le32(out + 8, (uint32_t)size);
    put_le32(out + 12, len);
    put_le64(out + 16, key->index);
    put_le32(out + 24, (uint32_t)key->path_len);
    put_le32(out + 28, (uint32_t)key->etag_len);
    put_le32(out + PAGE_FILE_CRC_OFFSET, 0);
    put_le32(out + 36, 0);
    if (key->path_len)
        memcpy(out + PAGE_FILE_FIXED_BYTES, key->path, key->path_len);
    if (key->etag_len)
        memcpy(out + PAGE_FILE_FIXED_BYTES + key->path_len, key->etag, key->etag_len);
    uint8_t *sums = out + page_file_sums_offset(key);
    const uint8_t *bytes = data;
    uint32_t block = 1u << shift;
    for (uint32_t off = 0, i = 0; off < len; off += block, i++) {
        uint32_t n = len - off < block ? len - off : block;
        put_le32(sums + 4 * (size_t)i, crc32c(0, bytes + off, n));
    }
    put_le32(out + PAGE_FILE_CRC_OFFSET, page_file_header_crc(out, size));
}

static bool bytes_eq(const uint8_t *a, const char *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

/* Everything the header says, and its checksum. */
static enum page_file_status page_file_check_header(const uint8_t *header, size_t header_got,
                                                    const struct page_key *key,
                                                    uint32_t expected_len)
{
    size_t size = page_file_header_size(key, expected_len);
    if (size == 0)
        return PAGE_FILE_BAD_IDENTITY;
    /* What is there is checked before the length, so a truncated file of the wrong kind is
     * reported as such; a file cut inside its fixed part can only be called truncated. */
    if (header_got < PAGE_FILE_FIXED_BYTES)
        return PAGE_FILE_TRUNCATED;
    if (get_le32(header) != PAGE_FILE_MAGIC)
        return PAGE_FILE_BAD_MAGIC;
    if (get_le16(header + 4) != PAGE_FILE_VERSION ||
        header[6] != page_file_block_shift(expected_len) || header[7] != 0 ||
        get_le32(header + 36) != 0)
        return PAGE_FILE_BAD_VERSION;
    if (get_le32(header + 8) != size || get_le32(header + 12) != expected_len)
        return PAGE_FILE_BAD_LENGTH;
    if (get_le64(header + 16) != key->index || get_le32(header + 24) != key->path_len ||
        get_le32(header + 28) != key->etag_len)
        return PAGE_FILE_BAD_IDENTITY;
    if (header_got < size)
        return PAGE_FILE_TRUNCATED;
    if (!bytes_eq(header + PAGE_FILE_FIXED_BYTES, key->path, key->path_len) ||
        !bytes_eq(header + PAGE_FILE_FIXED_BYTES + key->path_len, key->etag, key->etag_len))
        return PAGE_FILE_BAD_IDENTITY;
    if (get_le32(header + PAGE_FILE_CRC_OFFSET) != page_file_header_crc(header, size))
        return PAGE_FILE_BAD_CHECKSUM;
    return PAGE_FILE_OK;
}

/* The blocks of span, data holding span.len bytes, against a header that passed its check. */
static enum page_file_status page_file_check_blocks(const uint8_t *header,
                                                    const struct page_key *key,
                                                    uint32_t expected_len,
                                                    struct page_file_span span, const void *data)
{
    unsigned shift = page_file_block_shift(expected_len);
    uint32_t block = 1u << shift;
    const uint8_t *sums = header + page_file_sums_offset(key);
    const uint8_t *bytes = data;
    for (uint32_t off = 0; off < span.len; off += block) {
        uint32_t n = span.len - off < block ? span.len - off : block;
        uint32_t i = (span.offset + off) >> shift;
        if (get_le32(sums + 4 * (size_t)i) != crc32c(0, bytes + off, n))
            return PAGE_FILE_BAD_CHECKSUM;
    }
    return PAGE_FILE_OK;
}

enum page_file_status page_file_verify(const uint8_t *header, size_t header_got, const void *data,
                                       size_t data_got, bool extra, const struct page_key *key,
                                       uint32_t expected_len)
{
    enum page_file_status st = page_file_check_header(header, header_got, key, expected_len);
    if (st != PAGE_FILE_OK)
        return st;
    if (data_got < expected_len)
        return PAGE_FILE_TRUNCATED;
    if (extra)
        return PAGE_FILE_TOO_LONG;
    struct page_file_span all = {0, expected_len};
    return page_file_check_blocks(header, key, expected_len, all, data);
}

struct page_file_span page_file_span_of(uint32_t page_len, uint32_t from, uint32_t count)
{
    struct page_file_span span = {0, 0};
    if (page_len == 0)
        return span;
    if (from >= page_len)
        from = page_len - 1;
    uint64_t end = (uint64_t)from + (count ? count : 1);
    if (end > page_len)
        end = page_len;
    unsigned shift = page_file_block_shift(page_len);
    uint64_t block = 1ull << shift;
    uint64_t first = (uint64_t)from & ~(block - 1);
    uint64_t last = (end + block - 1) & ~(block - 1);
    if (last > page_len)
        last = page_len;
    span.offset = (uint32_t)first;
    span.len = (uint32_t)(last - first);
    return span;
}

enum page_file_status page_file_verify_span(const uint8_t *header, size_t header_got,
                                            const struct page_key *key, uint32_t expected_len,
                                            struct page_file_span span, const void *data,
                                            size_t data_got)
{
    uint32_t block_mask = (1u << page_file_block_shift(expected_len)) - 1;
    uint64_t end = (uint64_t)span.offset + span.len;
    if (end > expected_len || (span.offset & block_mask) ||
        ((end & block_mask) && end != expected_len))
        return PAGE_FILE_BAD_LENGTH; /* not a span of this page: the caller's mistake */
    enum page_file_status st = page_file_check_header(header, header_got, key, expected_len);
    if (st != PAGE_FILE_OK)
        return st;
    if (data_got < span.len)
        return PAGE_FILE_TRUNCATED;
    return page_file_check_blocks(header, key, expected_len, span, data);
}

const char *page_file_status_name(enum page_file_status st)
{
    switch (st) {
    case PAGE_FILE_OK:
        return "ok";
    case PAGE_FILE_TRUNCATED:
        return "truncated";
    case PAGE_FILE_TOO_LONG:
        return "too long";
    case PAGE_FILE_BAD_MAGIC:
        return "bad magic";
    case PAGE_FILE_BAD_VERSION:
        return "bad version";
    case PAGE_FILE_BAD_LENGTH:
        return "bad length";
    case PAGE_FILE_BAD_IDENTITY:
        return "bad identity";
    case PAGE_FILE_BAD_CHECKSUM:
        return "bad checksum";
    }
    return "?";
}

/* The lengths go in too, so ("ab", "c") and ("a", "bc") hash differently. */
uint64_t page_file_name_hash(const struct page_key *key)
{
    struct hash_sip h;
    uint64_t path_len = key->path_len, etag_len = key->etag_len;
    uint8_t len_le[8];
    hash_sip_init(&h, page_file_name_key);
    put_le64(len_le, path_len);
    hash_sip_update(&h, len_le, sizeof len_le);
    hash_sip_update(&h, key->path, key->path_len);
    put_le64(len_le, etag_len);
    hash_sip_update(&h, len_le, sizeof len_le);
    hash_sip_update(&h, key->etag, key->etag_len);
    return hash_sip_final(&h);
}

void page_file_name(char *out, uint64_t name_hash, uint64_t index, uint64_t file_size, bool temp)
{
    snprintf(out, PAGE_FILE_NAME_MAX, "%016llx-%llx-%llx%s", (unsigned long long)name_hash,
             (unsigned long long)index, (unsigned long long)file_size,
             temp ? PAGE_FILE_TEMP_SUFFIX : "");
}

/* Lowercase hex digits up to a stop character: 1..max_digits of them, no leading zero unless
 * the number is 0, or exactly max_digits when exact (the hash). Advances *p past them. */
static bool parse_hex(const char **p, unsigned max_digits, bool exact, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    unsigned n = 0;
    for (;; n++) {
        char c = s[n];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            break;
        if (n == max_digits)
            return false;
        v = v << 4 | d;
    }
    if (n == 0 || (exact && n != max_digits) || (!exact && n > 1 && s[0] == '0'))
        return false;
    *p = s + n;
    *out = v;
    return true;
}

bool page_file_name_parse(const char *name, uint64_t *name_hash, uint64_t *index,
                          uint64_t *file_size, bool *temp)
{
    const char *p = name;
    if (!parse_hex(&p, 16, true, name_hash) || *p++ != '-')
        return false;
    if (!parse_hex(&p, 16, false, index) || *p++ != '-')
        return false;
    if (!parse_hex(&p, 16, false, file_size))
        return false;
    if (*p == '\0') {
        *temp = false;
        return true;
    }
    if (strcmp(p, PAGE_FILE_TEMP_SUFFIX) == 0) {
        *temp = true;
        return true;
    }
    return false;
}
