/*
 * target: request targets of the Alluxio worker REST API, and the small pure helpers around
 * them (see target.h). Every input is outside bytes: numbers are parsed with overflow checks,
 * views are never read past their length, and nothing here asserts on input.
 */
#include "target.h"

#include "../../core/buf.h"
#include "../../core/uri.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKER_API_UFS_MARK     "ufsFullPath="
#define WORKER_API_UFS_MARK_LEN (sizeof(WORKER_API_UFS_MARK) - 1)

static const char *const worker_api_ufs_ends[] = {"&offset=", "&length=", "&chunkSize="};

static bool worker_api_eq(const char *p, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len == n && memcmp(p, lit, n) == 0;
}

/* Decimal digits only, at least one, no overflow. */
static int worker_api_parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0)
        return -EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* An optional '-', then decimal digits; within int64_t. */
static int worker_api_parse_i64(const char *s, size_t len, int64_t *out)
{
    bool neg = len > 0 && s[0] == '-';
    uint64_t v;
    if (worker_api_parse_u64(s + neg, len - neg, &v) != 0)
        return -EINVAL;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return -EINVAL;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return -EINVAL;
        *out = (int64_t)v;
    }
    return 0;
}

static int worker_api_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* 64 hex digits (either case) -> lowercase in out. */
static int worker_api_parse_path_id(const char *s, size_t len,
                                    char out[WORKER_API_PATH_ID_BYTES + 1])
{
    static const char hex[] = "0123456789abcdef";
    if (len != WORKER_API_PATH_ID_BYTES)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        int v = worker_api_hex_value(s[i]);
        if (v < 0)
            return -EINVAL;
        out[i] = hex[v];
    }
    out[len] = '\0';
    return 0;
}

/* --- decoding ----------------------------------------------------------------------------- */

static int worker_api_take(struct buf *b, char **out, size_t *out_len)
{
    size_t n = 0;
    char *s = buf_take(b, &n);
    if (!s)
        return -ENOMEM;
    *out = s;
    if (out_len)
        *out_len = n;
    return 0;
}

int worker_api_form_decode(const char *s, size_t len, char **out, size_t *out_len)
{
    struct buf b;
    buf_init(&b, WORKER_API_PATH_MAX_BYTES);
    int rc = uri_decode(&b, s, len, true);
    if (rc == -E2BIG)
        rc = -EINVAL;
    if (!rc && b.len && memchr(b.data, '\0', b.len))
        rc = -EINVAL;
    if (!rc)
        rc = worker_api_take(&b, out, out_len);
    buf_free(&b);
    return rc;
}

/* 1 when p hashes to path_id, 0 when not, -ENOMEM when the digest cannot be had. */
static int worker_api_hash_matches(const char *p, size_t len, const char *path_id)
{
    char hex[RING_PATH_ID_HEX_BYTES + 1];
    if (ring_path_id(p, len, hex) != 0)
        return -ENOMEM;
    return memcmp(hex, path_id, RING_PATH_ID_HEX_BYTES) == 0;
}

int worker_api_recover_ufs_path(const char *raw, size_t len, const char *path_id, char **out,
                                size_t *out_len)
{
    if (len > WORKER_API_PATH_MAX_BYTES)
        return -ENOENT;
    struct buf b;
    buf_init(&b, WORKER_API_PATH_MAX_BYTES);
    int rc = -ENOENT;
    /* Candidate 1: percent-decoded, RFC 3986 style ('+' stays '+'). Without a '%' it is the
     * raw value, tried below. A bad escape or a decoded NUL rules it out. */
    if (memchr(raw, '%', len)) {
        int d = uri_decode(&b, raw, len, false);
        if (d == -ENOMEM) {
            rc = -ENOMEM;
            goto out;
        }
        if (d == 0 && !(b.len && memchr(b.data, '\0', b.len))) {
            int m = worker_api_hash_matches(b.data ? b.data : "", b.len, path_id);
            if (m < 0) {
                rc = m;
                goto out;
            }
            if (m) {
                rc = worker_api_take(&b, out, out_len);
                goto out;
            }
        }
        buf_reset(&b);
    }
    /* Candidate 2: the value as received. */
    if (!memchr(raw, '\0', len)) {
        int m = worker_api_hash_matches(raw, len, path_id);
        if (m < 0) {
            rc = m;
            goto out;
        }
        if (m) {
            rc = buf_append(&b, raw, len);
            if (!rc)
                rc = worker_api_take(&b, out, out_len);
            else
                rc = -ENOMEM;
        }
    }
out:
    buf_free(&b);
    return rc;
}

/* --- parameters --------------------------------------------------------------------------- */

/* offset, length, chunkSize of a raw-style query part (no ufsFullPath in it). */
static enum worker_api_parse_status worker_api_raw_params(const char *q, size_t len,
                                                          struct worker_api_target *t)
{
    size_t i = 0;
    while (i < len) {
        const char *amp = memchr(q + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - q) : len;
        const char *eq = memchr(q + i, '=', end - i);
        if (eq) {
            const char *name = q + i, *value = eq + 1;
            size_t name_len = (size_t)(eq - name), value_len = (size_t)(q + end - value);
            if (worker_api_eq(name, name_len, "offset") && !t->has_offset) {
                if (worker_api_parse_u64(value, value_len, &t->offset) != 0) {
                    t->error = "offset is not a non-negative decimal number";
                    return WORKER_API_PARSE_BAD;
                }
                t->has_offset = true;
            } else if (worker_api_eq(name, name_len, "length") && !t->has_length) {
                if (worker_api_parse_i64(value, value_len, &t->length) != 0) {
                    t->error = "length is not a decimal number";
                    return WORKER_API_PARSE_BAD;
                }
                t->has_length = true;
            } else if (worker_api_eq(name, name_len, "chunkSize") && !t->has_chunk_size) {
                if (worker_api_parse_u64(value, value_len, &t->chunk_size) != 0) {
                    t->error = "chunkSize is not a non-negative decimal number";
                    return WORKER_API_PARSE_BAD;
                }
                t->has_chunk_size = true;
            }
        }
        i = end + 1;
    }
    return WORKER_API_PARSE_OK;
}

/* Where the ufsFullPath value may end at or after from: the nearest of the three ends, or len. */
static size_t worker_api_next_end(const char *q, size_t len, size_t from)
{
    size_t best = len;
    for (size_t i = 0; i < sizeof(worker_api_ufs_ends) / sizeof(worker_api_ufs_ends[0]); i++) {
        const char *hit =
            memmem(q + from, len - from, worker_api_ufs_ends[i], strlen(worker_api_ufs_ends[i]));
        if (hit && (size_t)(hit - q) < best)
            best = (size_t)(hit - q);
    }
    return best;
}

/* Offset of the first ufsFullPath= that starts a parameter, or -1. */
static long worker_api_find_mark(const char *q, size_t len)
{
    if (len >= WORKER_API_UFS_MARK_LEN &&
        memcmp(q, WORKER_API_UFS_MARK, WORKER_API_UFS_MARK_LEN) == 0)
        return 0;
    const char *hit = memmem(q, len, "&" WORKER_API_UFS_MARK, WORKER_API_UFS_MARK_LEN + 1);
    return hit ? (long)(hit - q) + 1 : -1;
}

static enum worker_api_parse_status worker_api_raw_query(const char *q, size_t len,
                                                         struct worker_api_target *t)
{
    long mark = worker_api_find_mark(q, len);
    if (mark < 0)
        return worker_api_raw_params(q, len, t);
    size_t s = (size_t)mark, v = s + WORKER_API_UFS_MARK_LEN, from = v;
    for (unsigned tries = 1;; tries++) {
        /* The last try is always the end of the query. */
        size_t e = tries < WORKER_API_UFS_END_TRIES ? worker_api_next_end(q, len, from) : len;
        int rc =
            worker_api_recover_ufs_path(q + v, e - v, t->path_id, &t->ufs_path, &t->ufs_path_len);
        if (rc == -ENOMEM)
            return WORKER_API_PARSE_NO_MEMORY;
        if (rc == 0) {
            enum worker_api_parse_status st =
                s > 0 ? worker_api_raw_params(q, s - 1, t) : WORKER_API_PARSE_OK;
            if (st == WORKER_API_PARSE_OK && e < len)
                st = worker_api_raw_params(q + e + 1, len - e - 1, t);
            return st;
        }
        if (e == len) {
            t->error = "ufsFullPath does not match the path id (its SHA-256)";
            return WORKER_API_PARSE_BAD;
        }
        from = e + 1;
    }
}

/* path and opType of a form-encoded query. */
static enum worker_api_parse_status worker_api_form_query(const char *q, size_t len,
                                                          struct worker_api_target *t)
{
    size_t i = 0;
    while (i < len) {
        const char *amp = memchr(q + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - q) : len;
        const char *eq = memchr(q + i, '=', end - i);
        if (eq) {
            const char *name = q + i, *value = eq + 1;
            size_t name_len = (size_t)(eq - name), value_len = (size_t)(q + end - value);
            char **field = NULL;
            size_t *field_len = NULL;
            if (worker_api_eq(name, name_len, "path") && !t->ufs_path) {
                field = &t->ufs_path;
                field_len = &t->ufs_path_len;
            } else if (worker_api_eq(name, name_len, "opType") && !t->op_type) {
                field = &t->op_type;
            }
            if (field) {
                int rc = worker_api_form_decode(value, value_len, field, field_len);
                if (rc == -ENOMEM)
                    return WORKER_API_PARSE_NO_MEMORY;
                if (rc) {
                    t->error = "a parameter is not form-encoded properly";
                    return WORKER_API_PARSE_BAD;
                }
            }
        }
        i = end + 1;
    }
    return WORKER_API_PARSE_OK;
}

/* E8: everything after the first path= is the path, raw style (it may hold '&'). */
static enum worker_api_parse_status worker_api_node_query(const char *q, size_t len,
                                                          struct worker_api_target *t)
{
    size_t v;
    if (len >= 5 && memcmp(q, "path=", 5) == 0) {
        v = 5;
    } else {
        const char *hit = memmem(q, len, "&path=", 6);
        if (!hit)
            return WORKER_API_PARSE_OK;
        v = (size_t)(hit - q) + 6;
    }
    const char *raw = q + v;
    size_t raw_len = len - v;
    if (raw_len > WORKER_API_PATH_MAX_BYTES || memchr(raw, '\0', raw_len)) {
        t->error = "path is not a UFS path";
        return WORKER_API_PARSE_BAD;
    }
    struct buf b;
    buf_init(&b, WORKER_API_PATH_MAX_BYTES);
    int rc = uri_decode(&b, raw, raw_len, false);
    if (rc == -ENOMEM) {
        buf_free(&b);
        return WORKER_API_PARSE_NO_MEMORY;
    }
    if (rc != 0 || (b.len && memchr(b.data, '\0', b.len))) {
        /* Not decodable: requests sent it as it was. */
        buf_reset(&b);
        rc = buf_append(&b, raw, raw_len);
    }
    if (!rc)
        rc = worker_api_take(&b, &t->ufs_path, &t->ufs_path_len);
    buf_free(&b);
    return rc ? WORKER_API_PARSE_NO_MEMORY : WORKER_API_PARSE_OK;
}

/* --- the target --------------------------------------------------------------------------- */

void worker_api_target_free(struct worker_api_target *t)
{
    free(t->ufs_path);
    free(t->op_type);
    t->ufs_path = NULL;
    t->op_type = NULL;
}

/* Split "/v1/<rest>" into at most 5 segments; returns how many there are (6: too many). */
static size_t worker_api_segments(const char *p, size_t len, const char *seg[5], size_t seg_len[5])
{
    size_t n = 0, i = 0;
    for (;;) {
        const char *slash = memchr(p + i, '/', len - i);
        size_t end = slash ? (size_t)(slash - p) : len;
        if (n == 5)
            return 6;
        seg[n] = p + i;
        seg_len[n] = end - i;
        n++;
        if (!slash)
            return n;
        i = end + 1;
    }
}

static enum worker_api_parse_status worker_api_classify(const char *path, size_t len,
                                                        struct worker_api_target *t)
{
    if (len < 4 || memcmp(path, "/v1/", 4) != 0) {
        t->ep = WORKER_API_EP_NONE;
        return WORKER_API_PARSE_OK;
    }
    const char *seg[5];
    size_t seg_len[5];
    size_t n = worker_api_segments(path + 4, len - 4, seg, seg_len);
    if (n == 1) {
        static const struct {
            const char *name;
            enum worker_api_endpoint ep;
        } simple[] = {{"info", WORKER_API_EP_INFO},
                      {"files", WORKER_API_EP_FILES},
                      {"node", WORKER_API_EP_NODE},
                      {"load", WORKER_API_EP_LOAD}};
        t->ep = WORKER_API_EP_OTHER;
        for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
            if (worker_api_eq(seg[0], seg_len[0], simple[i].name))
                t->ep = simple[i].ep;
        return WORKER_API_PARSE_OK;
    }
    bool file = worker_api_eq(seg[0], seg_len[0], "file");
    bool range = worker_api_eq(seg[0], seg_len[0], "range");
    bool chunk = worker_api_eq(seg[0], seg_len[0], "chunk");
    if (!file && !range && !chunk) {
        t->ep = WORKER_API_EP_OTHER;
        return WORKER_API_PARSE_OK;
    }
    t->ep = file ? WORKER_API_EP_PAGE : range ? WORKER_API_EP_RANGE : WORKER_API_EP_CHUNK;
    if (file ? n != 4 || !worker_api_eq(seg[2], seg_len[2], "page") : n != 2) {
        t->error = file ? "expected /v1/file/{path_id}/page/{index}"
                        : "expected /v1/range/{path_id} or /v1/chunk/{path_id}";
        return WORKER_API_PARSE_BAD;
    }
    if (worker_api_parse_path_id(seg[1], seg_len[1], t->path_id) != 0) {
        t->error = "the path id is not 64 hex digits";
        return WORKER_API_PARSE_BAD;
    }
    if (file && worker_api_parse_u64(seg[3], seg_len[3], &t->page_index) != 0) {
        t->error = "the page index is not a decimal number";
        return WORKER_API_PARSE_BAD;
    }
    return WORKER_API_PARSE_OK;
}

enum worker_api_parse_status worker_api_target_parse(const char *path, size_t path_len,
                                                     const char *query, size_t query_len,
                                                     struct worker_api_target *t)
{
    memset(t, 0, sizeof(*t));
    if (!query)
        query_len = 0;
    enum worker_api_parse_status st = worker_api_classify(path ? path : "", path ? path_len : 0, t);
    if (st != WORKER_API_PARSE_OK)
        return st;
    switch (t->ep) {
    case WORKER_API_EP_PAGE:
    case WORKER_API_EP_RANGE:
    case WORKER_API_EP_CHUNK:
        st = worker_api_raw_query(query ? query : "", query_len, t);
        break;
    case WORKER_API_EP_INFO:
    case WORKER_API_EP_FILES:
    case WORKER_API_EP_LOAD:
        st = worker_api_form_query(query ? query : "", query_len, t);
        break;
    case WORKER_API_EP_NODE:
        st = worker_api_node_query(query ? query : "", query_len, t);
        break;
    case WORKER_API_EP_NONE:
    case WORKER_API_EP_OTHER:
        break;
    }
    if (st != WORKER_API_PARSE_OK) {
        worker_api_target_free(t);
        if (st == WORKER_API_PARSE_NO_MEMORY)
            t->error = "out of memory";
    }
    return st;
}

/* --- UFS paths, sizes, dates -------------------------------------------------------------- */

int worker_api_split_ufs_path(const char *path, size_t len, const char *scheme,
                              struct worker_api_ufs_path *out)
{
    size_t sl = strlen(scheme);
    if (len < sl + 3 || memcmp(path, scheme, sl) != 0 || memcmp(path + sl, "://", 3) != 0)
        return -EINVAL;
    const char *b = path + sl + 3;
    size_t rest = len - sl - 3;
    const char *slash = memchr(b, '/', rest);
    size_t blen = slash ? (size_t)(slash - b) : rest;
    if (blen == 0 || memchr(path, '\0', len))
        return -EINVAL;
    out->bucket = b;
    out->bucket_len = blen;
    out->key = slash ? slash + 1 : b + rest;
    out->key_len = slash ? rest - blen - 1 : 0;
    return 0;
}

void worker_api_human_size(uint64_t bytes, char out[WORKER_API_HUMAN_SIZE_MAX])
{
    static const char *const units[] = {"KB", "MB", "GB", "TB", "PB"};
    if (bytes <= 5 * 1024) {
        snprintf(out, WORKER_API_HUMAN_SIZE_MAX, "%lluB", (unsigned long long)bytes);
        return;
    }
    /* Java divides a double by 1024 per unit and stops once it is <= 5120; the value is exact
     * in a double below 2^53 bytes, so exact integer arithmetic gives the same unit and, with
     * half-up rounding of the hundredths, the same digits. */
    unsigned unit = 0;
    unsigned __int128 div = 1024;
    while (unit < 4 && (unsigned __int128)bytes > (unsigned __int128)5 * 1024 * div) {
        div *= 1024;
        unit++;
    }
    unsigned __int128 hundredths = ((unsigned __int128)bytes * 200 + div) / (2 * div);
    snprintf(out, WORKER_API_HUMAN_SIZE_MAX, "%llu.%02u%s", (unsigned long long)(hundredths / 100),
             (unsigned)(hundredths % 100), units[unit]);
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (the civil-from-days
 * arithmetic on 400-year eras: every era has the same 146097 days). */
static int64_t worker_api_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned mp = m > 2 ? m - 3 : m + 9; /* months from March */
    unsigned doy = (153 * mp + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int worker_api_digits(const char *s, size_t len, size_t at, size_t n, unsigned *out)
{
    uint64_t v;
    if (at + n > len || worker_api_parse_u64(s + at, n, &v) != 0)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

int worker_api_iso8601_ms(const char *s, size_t len, int64_t *out_ms)
{
    unsigned y, mo, d, h, mi, sec, ms = 0;
    if (worker_api_digits(s, len, 0, 4, &y) || len < 19 || s[4] != '-' ||
        worker_api_digits(s, len, 5, 2, &mo) || s[7] != '-' ||
        worker_api_digits(s, len, 8, 2, &d) || s[10] != 'T' ||
        worker_api_digits(s, len, 11, 2, &h) || s[13] != ':' ||
        worker_api_digits(s, len, 14, 2, &mi) || s[16] != ':' ||
        worker_api_digits(s, len, 17, 2, &sec))
        return -EINVAL;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
        return -EINVAL;
    size_t i = 19;
    if (i < len && s[i] == '.') {
        i++;
        size_t start = i;
        unsigned scale = 100;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            ms += (unsigned)(s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        if (i == start)
            return -EINVAL;
    }
    if (i < len && s[i] == 'Z')
        i++;
    if (i != len)
        return -EINVAL;
    int64_t days = worker_api_days_from_civil(y, mo, d);
    *out_ms = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000 + ms;
    return 0;
}
