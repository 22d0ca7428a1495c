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

size_t page_file_header_size(const struct page_key *key)
{
    if (key->path_len > PAGE_FILE_IDENTITY_MAX ||
        key->etag_len > PAGE_FILE_IDENTITY_MAX - key->path_len)
        return 0;
    return PAGE_FILE_FIXED_BYTES + key->path_len + key->etag_len;
}

/* CRC of the header with its CRC field read as zero, then of the data. */
static uint32_t page_file_crc(const uint8_t *header, size_t header_size, const void *data,
                              uint32_t len)
{
    static const uint8_t zero[4];
    uint32_t crc = crc32c(0, header, PAGE_FILE_CRC_OFFSET);
    crc = crc32c(crc, zero, sizeof zero);
    crc = crc32c(crc, header + PAGE_FILE_CRC_OFFSET + 4, header_size - PAGE_FILE_CRC_OFFSET - 4);
    return crc32c(crc, data, len);
}

void page_file_header_encode(uint8_t *out, const struct page_key *key, const void *data,
                             uint32_t len)
{
    size_t size = page_file_header_size(key);
    put_le32(out, PAGE_FILE_MAGIC);
    put_le16(out + 4, PAGE_FILE_VERSION);
    put_le16(out + 6, 0);
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
    put_le32(out + PAGE_FILE_CRC_OFFSET, page_file_crc(out, size, data, len));
}

static bool bytes_eq(const uint8_t *a, const char *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

enum page_file_status page_file_verify(const uint8_t *header, size_t header_got, const void *data,
                                       size_t data_got, bool extra, const struct page_key *key,
                                       uint32_t expected_len)
{
    size_t size = page_file_header_size(key);
    if (size == 0)
        return PAGE_FILE_BAD_IDENTITY;
    /* What is there is checked before the length, so a truncated file of the wrong kind is
     * reported as such; a file cut inside its fixed part can only be called truncated. */
    if (header_got < PAGE_FILE_FIXED_BYTES)
        return PAGE_FILE_TRUNCATED;
    if (get_le32(header) != PAGE_FILE_MAGIC)
        return PAGE_FILE_BAD_MAGIC;
    if (get_le16(header + 4) != PAGE_FILE_VERSION || get_le16(header + 6) != 0 ||
        get_le32(header + 36) != 0)
        return PAGE_FILE_BAD_VERSION;
    if (get_le32(header + 8) != size || get_le32(header + 12) != expected_len)
        return PAGE_FILE_BAD_LENGTH;
    if (get_le64(header + 16) != key->index || get_le32(header + 24) != key->path_len ||
        get_le32(header + 28) != key->etag_len)
        return PAGE_FILE_BAD_IDENTITY;
    if (header_got < size || data_got < expected_len)
        return PAGE_FILE_TRUNCATED;
    if (extra)
        return PAGE_FILE_TOO_LONG;
    if (!bytes_eq(header + PAGE_FILE_FIXED_BYTES, key->path, key->path_len) ||
        !bytes_eq(header + PAGE_FILE_FIXED_BYTES + key->path_len, key->etag, key->etag_len))
        return PAGE_FILE_BAD_IDENTITY;
    if (get_le32(header + PAGE_FILE_CRC_OFFSET) != page_file_crc(header, size, data, expected_len))
        return PAGE_FILE_BAD_CHECKSUM;
    return PAGE_FILE_OK;
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
