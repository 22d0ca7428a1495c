/*
 * libFuzzer target for the Alluxio worker REST API's pure parsers (server/worker_api/target.c):
 * request targets (endpoint, path id, page index, offset/length/chunkSize, the ufsFullPath
 * recovery of ALLUXIO-PROTOCOL.md 3.3, form and node paths), the form decoder, UFS path
 * splitting, the human-size formatter and ISO 8601 dates. Every byte comes from a client.
 *
 * Input: one selector byte, then, by selector % 8:
 *   0:    "path?query" (split at the first '?'; no '?' means no query) for
 *         worker_api_target_parse, as is;
 *   1:    "seed\npath?query": the first "@ID@" in the target becomes the path id (SHA-256 hex)
 *         of seed, so a mutated seed and ufsFullPath can still agree;
 *   2, 3: "path?query": "@ID@" becomes the path id of the ufsFullPath value as this file finds
 *         it on its own, cut at the (selector / 8 % 8 + 1)-th candidate end, as received (2) or
 *         percent-decoded (3), so the parser's success path is reached with any path bytes;
 *   4:    worker_api_form_decode of the rest;
 *   5:    worker_api_human_size of the next 8 bytes (little endian), and of each byte shift;
 *   6:    worker_api_iso8601_ms of the rest;
 *   7:    "scheme\npath": worker_api_split_ufs_path, and worker_api_recover_ufs_path of the path
 *         against its own path id and against the id of its decoded form.
 *
 * Checked (__builtin_trap on a violation): the status is OK or BAD (never NO_MEMORY here), BAD
 * has an error and no strings; on OK every string is NUL-terminated at its length with no NUL
 * inside; a raw endpoint's path id is the lowercase form of the one in the path, and a recovered
 * ufs_path hashes to it (ring_path_id) and is, as received or percent-decoded, the query's
 * ufsFullPath value cut at one of the ends section 3.3 allows; offset, length and chunkSize (with
 * their has_ flags) and the page index equal what a reference reading of the query and path
 * gives; form and node paths equal a reference decoding; the helpers agree with references
 * (form decoding, timegm, the human size read back within half a hundredth of its unit).
 *
 * Build and run: tests/fuzz/run.sh [SECONDS] [worker_api_target]. Only statics and
 * LLVMFuzzerTestOneInput here, so a unit test may include it to replay the corpus.
 */
#include "core/ring.h"
#include "server/worker_api/target.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FUZZ_WA_CHECK(cond)                                                                        \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

#define FUZZ_WA_MARK     "ufsFullPath="
#define FUZZ_WA_MARK_LEN 12

static const char *const fuzz_wa_ends[] = {"&offset=", "&length=", "&chunkSize="};

static void *fuzz_wa_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

static int fuzz_wa_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reference percent-decoding into out (len bytes at least): 0, or -1 on a bad escape. */
static int fuzz_wa_decode(const char *s, size_t len, int plus_as_space, char *out, size_t *out_len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            if (len - i < 3 || fuzz_wa_hex(s[i + 1]) < 0 || fuzz_wa_hex(s[i + 2]) < 0)
                return -1;
            out[n++] = (char)(fuzz_wa_hex(s[i + 1]) * 16 + fuzz_wa_hex(s[i + 2]));
            i += 2;
        } else if (plus_as_space && s[i] == '+') {
            out[n++] = ' ';
        } else {
            out[n++] = s[i];
        }
    }
    *out_len = n;
    return 0;
}

static int fuzz_wa_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* A string the parser handed out: NUL-terminated at len, nothing inside. */
static void fuzz_wa_check_str(const char *s, size_t len)
{
    FUZZ_WA_CHECK(s != NULL && s[len] == '\0' && strlen(s) == len);
}

/* Reference numbers: decimal digits only, at least one, within uint64_t. */
static int fuzz_wa_u64(const char *s, size_t len, uint64_t *out)
{
    unsigned __int128 v = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
        if (v > UINT64_MAX)
            return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

static int fuzz_wa_i64(const char *s, size_t len, int64_t *out)
{
    uint64_t v;
    if (len > 0 && s[0] == '-') {
        if (fuzz_wa_u64(s + 1, len - 1, &v) != 0 || v > (uint64_t)1 << 63)
            return -1;
        *out = (int64_t)(0 - v);
        return 0;
    }
    if (fuzz_wa_u64(s, len, &v) != 0 || v > INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

/* The raw parameters a query part gives, by the rules of target.h: first occurrence counts. */
struct fuzz_wa_params {
    int bad;
    int has_offset, has_length, has_chunk_size;
    uint64_t offset, chunk_size;
    int64_t length;
};

static void fuzz_wa_raw_params(const char *q, size_t len, struct fuzz_wa_params *r)
{
    size_t i = 0;
    while (i < len && !r->bad) {
        size_t end = i;
        while (end < len && q[end] != '&')
            end++;
        size_t eq = i;
        while (eq < end && q[eq] != '=')
            eq++;
        if (eq < end) {
            const char *name = q + i, *v = q + eq + 1;
            size_t nlen = eq - i, vlen = end - eq - 1;
            if (fuzz_wa_eq(name, nlen, "offset", 6) && !r->has_offset) {
                r->bad = fuzz_wa_u64(v, vlen, &r->offset) != 0;
                r->has_offset = 1;
            } else if (fuzz_wa_eq(name, nlen, "length", 6) && !r->has_length) {
                r->bad = fuzz_wa_i64(v, vlen, &r->length) != 0;
                r->has_length = 1;
            } else if (fuzz_wa_eq(name, nlen, "chunkSize", 9) && !r->has_chunk_size) {
                r->bad = fuzz_wa_u64(v, vlen, &r->chunk_size) != 0;
                r->has_chunk_size = 1;
            }
        }
        i = end + 1;
    }
}

/* Where the ufsFullPath value starts (after "ufsFullPath=" at the start or after '&'), or -1. */
static long fuzz_wa_mark(const char *q, size_t len)
{
    for (size_t i = 0; i + FUZZ_WA_MARK_LEN <= len; i++) {
        if ((i == 0 || q[i - 1] == '&') && memcmp(q + i, FUZZ_WA_MARK, FUZZ_WA_MARK_LEN) == 0)
            return (long)i;
    }
    return -1;
}

/* The nearest end at or after from, or len. */
static size_t fuzz_wa_next_end(const char *q, size_t len, size_t from)
{
    for (size_t i = from; i < len; i++) {
        for (size_t k = 0; k < 3; k++) {
            size_t n = strlen(fuzz_wa_ends[k]);
            if (len - i >= n && memcmp(q + i, fuzz_wa_ends[k], n) == 0)
                return i;
        }
    }
    return len;
}

/* The ends section 3.3 (as target.h extends it) tries for a value starting at v, in order. */
static size_t fuzz_wa_ends_list(const char *q, size_t len, size_t v, size_t ends[8])
{
    size_t n = 0, from = v;
    for (unsigned tries = 1;; tries++) {
        size_t e = tries < WORKER_API_UFS_END_TRIES ? fuzz_wa_next_end(q, len, from) : len;
        ends[n++] = e;
        if (e == len)
            return n;
        from = e + 1;
    }
}

/* The path id of p, lowercase hex. */
static void fuzz_wa_id(const char *p, size_t len, char id[RING_PATH_ID_HEX_BYTES + 1])
{
    FUZZ_WA_CHECK(ring_path_id(p, len, id) == 0);
    FUZZ_WA_CHECK(strlen(id) == RING_PATH_ID_HEX_BYTES);
}

/* Reference for a raw endpoint's query: which ufs_path and parameters it must give, or BAD. */
static void fuzz_wa_check_raw(const char *q, size_t qlen, const struct worker_api_target *t,
                              enum worker_api_parse_status st)
{
    struct fuzz_wa_params r = {0};
    long mark = fuzz_wa_mark(q, qlen);
    if (mark < 0) {
        fuzz_wa_raw_params(q, qlen, &r);
        FUZZ_WA_CHECK(st == (r.bad ? WORKER_API_PARSE_BAD : WORKER_API_PARSE_OK));
        if (st == WORKER_API_PARSE_OK)
            FUZZ_WA_CHECK(t->ufs_path == NULL);
    } else {
        size_t v = (size_t)mark + FUZZ_WA_MARK_LEN, ends[8],
               n = fuzz_wa_ends_list(q, qlen, v, ends);
        size_t hit = n; /* the end whose candidate matches the path id */
        char *dec = fuzz_wa_malloc(qlen);
        const char *found = NULL;
        size_t found_len = 0;
        for (size_t k = 0; k < n && hit == n; k++) {
            const char *raw = q + v;
            size_t len = ends[k] - v, dlen;
            char id[RING_PATH_ID_HEX_BYTES + 1];
            if (len > WORKER_API_PATH_MAX_BYTES)
                continue;
            if (memchr(raw, '%', len) && fuzz_wa_decode(raw, len, 0, dec, &dlen) == 0 &&
                !memchr(dec, '\0', dlen)) {
                fuzz_wa_id(dec, dlen, id);
                if (strcmp(id, t->path_id) == 0) {
                    hit = k, found = dec, found_len = dlen;
                    break;
                }
            }
            if (!memchr(raw, '\0', len)) {
                fuzz_wa_id(raw, len, id);
                if (strcmp(id, t->path_id) == 0)
                    hit = k, found = raw, found_len = len;
            }
        }
        if (hit == n) {
            FUZZ_WA_CHECK(st == WORKER_API_PARSE_BAD);
        } else {
            if ((size_t)mark > 0)
                fuzz_wa_raw_params(q, (size_t)mark - 1, &r);
            if (ends[hit] < qlen)
                fuzz_wa_raw_params(q + ends[hit] + 1, qlen - ends[hit] - 1, &r);
            FUZZ_WA_CHECK(st == (r.bad ? WORKER_API_PARSE_BAD : WORKER_API_PARSE_OK));
            if (st == WORKER_API_PARSE_OK) {
                fuzz_wa_check_str(t->ufs_path, t->ufs_path_len);
                FUZZ_WA_CHECK(fuzz_wa_eq(t->ufs_path, t->ufs_path_len, found, found_len));
                char id[RING_PATH_ID_HEX_BYTES + 1];
                fuzz_wa_id(t->ufs_path, t->ufs_path_len, id);
                FUZZ_WA_CHECK(strcmp(id, t->path_id) == 0);
            }
        }
        free(dec);
    }
    if (st != WORKER_API_PARSE_OK)
        return;
    FUZZ_WA_CHECK(t->has_offset == r.has_offset && t->offset == r.offset);
    FUZZ_WA_CHECK(t->has_length == r.has_length && t->length == r.length);
    FUZZ_WA_CHECK(t->has_chunk_size == r.has_chunk_size && t->chunk_size == r.chunk_size);
    FUZZ_WA_CHECK(t->op_type == NULL);
}

/* The first value of parameter name in a form query, or NULL. */
static const char *fuzz_wa_form_param(const char *q, size_t len, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name), i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && q[end] != '&')
            end++;
        if (end - i > nlen && memcmp(q + i, name, nlen) == 0 && q[i + nlen] == '=') {
            *vlen = end - i - nlen - 1;
            return q + i + nlen + 1;
        }
        i = end + 1;
    }
    return NULL;
}

/* 1 when a form value decodes to a usable string (and it goes to out), 0 when it is BAD. */
static int fuzz_wa_form_ok(const char *v, size_t vlen, char *out, size_t *out_len)
{
    return fuzz_wa_decode(v, vlen, 1, out, out_len) == 0 && !memchr(out, '\0', *out_len) &&
           *out_len <= WORKER_API_PATH_MAX_BYTES;
}

static void fuzz_wa_check_form(const char *q, size_t qlen, const struct worker_api_target *t,
                               enum worker_api_parse_status st)
{
    size_t plen = 0, olen = 0, dplen = 0, dolen = 0;
    const char *pv = fuzz_wa_form_param(q, qlen, "path", &plen);
    const char *ov = fuzz_wa_form_param(q, qlen, "opType", &olen);
    char *dp = fuzz_wa_malloc(plen), *dop = fuzz_wa_malloc(olen);
    int ok = (!pv || fuzz_wa_form_ok(pv, plen, dp, &dplen)) &&
             (!ov || fuzz_wa_form_ok(ov, olen, dop, &dolen));
    FUZZ_WA_CHECK(st == (ok ? WORKER_API_PARSE_OK : WORKER_API_PARSE_BAD));
    if (st == WORKER_API_PARSE_OK) {
        FUZZ_WA_CHECK((pv != NULL) == (t->ufs_path != NULL));
        FUZZ_WA_CHECK((ov != NULL) == (t->op_type != NULL));
        if (pv) {
            fuzz_wa_check_str(t->ufs_path, t->ufs_path_len);
            FUZZ_WA_CHECK(fuzz_wa_eq(t->ufs_path, t->ufs_path_len, dp, dplen));
        }
        if (ov)
            FUZZ_WA_CHECK(strlen(t->op_type) == dolen && fuzz_wa_eq(t->op_type, dolen, dop, dolen));
        FUZZ_WA_CHECK(!t->has_offset && !t->has_length && !t->has_chunk_size);
    }
    free(dp);
    free(dop);
}

static void fuzz_wa_check_node(const char *q, size_t qlen, const struct worker_api_target *t,
                               enum worker_api_parse_status st)
{
    long v = -1;
    for (size_t i = 0; i + 5 <= qlen && v < 0; i++) {
        if ((i == 0 || q[i - 1] == '&') && memcmp(q + i, "path=", 5) == 0)
            v = (long)i + 5;
    }
    if (v < 0) {
        FUZZ_WA_CHECK(st == WORKER_API_PARSE_OK && t->ufs_path == NULL);
        return;
    }
    const char *raw = q + v;
    size_t len = qlen - (size_t)v, dlen;
    if (len > WORKER_API_PATH_MAX_BYTES || memchr(raw, '\0', len)) {
        FUZZ_WA_CHECK(st == WORKER_API_PARSE_BAD);
        return;
    }
    FUZZ_WA_CHECK(st == WORKER_API_PARSE_OK);
    fuzz_wa_check_str(t->ufs_path, t->ufs_path_len);
    char *dec = fuzz_wa_malloc(len);
    if (fuzz_wa_decode(raw, len, 0, dec, &dlen) == 0 && !memchr(dec, '\0', dlen))
        FUZZ_WA_CHECK(fuzz_wa_eq(t->ufs_path, t->ufs_path_len, dec, dlen));
    else
        FUZZ_WA_CHECK(fuzz_wa_eq(t->ufs_path, t->ufs_path_len, raw, len));
    free(dec);
}

/* Split p on '/' into at most 5 segments; how many there are (6: more than 5). */
static size_t fuzz_wa_segments(const char *p, size_t len, const char *seg[5], size_t seg_len[5])
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != '/')
            continue;
        if (n == 5)
            return 6;
        seg[n] = p + start;
        seg_len[n] = i - start;
        n++;
        start = i + 1;
    }
    return n;
}

/* The endpoint a path names, by the table of target.h. */
static enum worker_api_endpoint fuzz_wa_classify(const char *path, size_t len)
{
    if (len < 4 || memcmp(path, "/v1/", 4) != 0)
        return WORKER_API_EP_NONE;
    const char *seg[5];
    size_t seg_len[5], n = fuzz_wa_segments(path + 4, len - 4, seg, seg_len);
    if (n == 1) {
        if (fuzz_wa_eq(seg[0], seg_len[0], "info", 4))
            return WORKER_API_EP_INFO;
        if (fuzz_wa_eq(seg[0], seg_len[0], "files", 5))
            return WORKER_API_EP_FILES;
        if (fuzz_wa_eq(seg[0], seg_len[0], "node", 4))
            return WORKER_API_EP_NODE;
        if (fuzz_wa_eq(seg[0], seg_len[0], "load", 4))
            return WORKER_API_EP_LOAD;
        return WORKER_API_EP_OTHER;
    }
    if (fuzz_wa_eq(seg[0], seg_len[0], "file", 4))
        return WORKER_API_EP_PAGE;
    if (fuzz_wa_eq(seg[0], seg_len[0], "range", 5))
        return WORKER_API_EP_RANGE;
    if (fuzz_wa_eq(seg[0], seg_len[0], "chunk", 5))
        return WORKER_API_EP_CHUNK;
    return WORKER_API_EP_OTHER;
}

/* Parse one target (path up to the first '?', the query after it) and check it. */
static void fuzz_wa_target(const char *target, size_t len)
{
    const char *qm = memchr(target, '?', len);
    size_t plen = qm ? (size_t)(qm - target) : len;
    const char *q = qm ? qm + 1 : NULL;
    size_t qlen = qm ? len - plen - 1 : 0;
    /* Buffers of their exact sizes, so a read past either is caught. */
    char *path = fuzz_wa_malloc(plen), *query = q ? fuzz_wa_malloc(qlen) : NULL;
    if (plen)
        memcpy(path, target, plen);
    if (qlen)
        memcpy(query, q, qlen);

    struct worker_api_target t;
    memset(&t, 0xa5, sizeof t);
    enum worker_api_parse_status st = worker_api_target_parse(path, plen, query, qlen, &t);
    FUZZ_WA_CHECK(st == WORKER_API_PARSE_OK || st == WORKER_API_PARSE_BAD);
    if (st == WORKER_API_PARSE_BAD) {
        FUZZ_WA_CHECK(t.error != NULL && t.error[0] != '\0');
        FUZZ_WA_CHECK(t.ufs_path == NULL && t.op_type == NULL);
    } else {
        FUZZ_WA_CHECK(t.error == NULL);
    }
    FUZZ_WA_CHECK(t.ep == fuzz_wa_classify(path, plen));

    if (t.ep == WORKER_API_EP_PAGE || t.ep == WORKER_API_EP_RANGE || t.ep == WORKER_API_EP_CHUNK) {
        /* "/v1/<kind>/<id>" or "/v1/file/<id>/page/<index>": segments after "/v1/". */
        const char *seg[5];
        size_t seg_len[5], n = fuzz_wa_segments(path + 4, plen - 4, seg, seg_len);
        int shape = t.ep == WORKER_API_EP_PAGE ? n == 4 && fuzz_wa_eq(seg[2], seg_len[2], "page", 4)
                                               : n == 2;
        int id_ok = shape && seg_len[1] == WORKER_API_PATH_ID_BYTES;
        for (size_t i = 0; id_ok && i < seg_len[1]; i++)
            id_ok = fuzz_wa_hex(seg[1][i]) >= 0;
        uint64_t idx = 0;
        int idx_ok =
            id_ok && (t.ep != WORKER_API_EP_PAGE || fuzz_wa_u64(seg[3], seg_len[3], &idx) == 0);
        if (!id_ok || !idx_ok) {
            FUZZ_WA_CHECK(st == WORKER_API_PARSE_BAD);
        } else {
            FUZZ_WA_CHECK(strlen(t.path_id) == WORKER_API_PATH_ID_BYTES);
            for (size_t i = 0; i < WORKER_API_PATH_ID_BYTES; i++) {
                char c = t.path_id[i];
                FUZZ_WA_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
                FUZZ_WA_CHECK(fuzz_wa_hex(seg[1][i]) == fuzz_wa_hex(c));
            }
            if (st == WORKER_API_PARSE_OK)
                FUZZ_WA_CHECK(t.page_index == idx);
            fuzz_wa_check_raw(query ? query : "", qlen, &t, st);
        }
    } else {
        FUZZ_WA_CHECK(t.path_id[0] == '\0' && t.page_index == 0);
        FUZZ_WA_CHECK(!t.has_offset && !t.has_length && !t.has_chunk_size);
        if (t.ep == WORKER_API_EP_INFO || t.ep == WORKER_API_EP_FILES ||
            t.ep == WORKER_API_EP_LOAD) {
            fuzz_wa_check_form(query ? query : "", qlen, &t, st);
        } else if (t.ep == WORKER_API_EP_NODE) {
            fuzz_wa_check_node(query ? query : "", qlen, &t, st);
            FUZZ_WA_CHECK(t.op_type == NULL);
        } else {
            FUZZ_WA_CHECK(st == WORKER_API_PARSE_OK && !t.ufs_path && !t.op_type);
        }
    }
    worker_api_target_free(&t);
    FUZZ_WA_CHECK(t.ufs_path == NULL && t.op_type == NULL);
    worker_api_target_free(&t); /* twice is harmless */
    free(path);
    free(query);
}

/* target with its first "@ID@" replaced by id; the result is malloc'd. */
static char *fuzz_wa_subst(const char *target, size_t len, const char *id, size_t *out_len)
{
    const char *at = memmem(target, len, "@ID@", 4);
    if (!at) {
        char *c = fuzz_wa_malloc(len);
        memcpy(c, target, len);
        *out_len = len;
        return c;
    }
    size_t pre = (size_t)(at - target), n = len - 4 + RING_PATH_ID_HEX_BYTES;
    char *c = fuzz_wa_malloc(n);
    memcpy(c, target, pre);
    memcpy(c + pre, id, RING_PATH_ID_HEX_BYTES);
    memcpy(c + pre + RING_PATH_ID_HEX_BYTES, at + 4, len - pre - 4);
    *out_len = n;
    return c;
}

/* Modes 2 and 3: the id of the ufsFullPath value cut at the which-th end. */
static void fuzz_wa_target_self_id(const char *target, size_t len, unsigned which, int decode)
{
    char id[RING_PATH_ID_HEX_BYTES + 1];
    const char *qm = memchr(target, '?', len);
    const char *q = qm ? qm + 1 : target + len;
    size_t qlen = (size_t)(target + len - q);
    long mark = fuzz_wa_mark(q, qlen);
    if (mark < 0) {
        fuzz_wa_id("", 0, id);
    } else {
        size_t v = (size_t)mark + FUZZ_WA_MARK_LEN, ends[8],
               n = fuzz_wa_ends_list(q, qlen, v, ends);
        size_t e = ends[which < n ? which : n - 1], dlen;
        char *dec = fuzz_wa_malloc(e - v);
        if (decode && fuzz_wa_decode(q + v, e - v, 0, dec, &dlen) == 0)
            fuzz_wa_id(dec, dlen, id);
        else
            fuzz_wa_id(q + v, e - v, id);
        free(dec);
    }
    size_t n;
    char *t = fuzz_wa_subst(target, len, id, &n);
    fuzz_wa_target(t, n);
    free(t);
}

static void fuzz_wa_form(const char *s, size_t len)
{
    char *in = fuzz_wa_malloc(len), *ref = fuzz_wa_malloc(len), *out = NULL;
    if (len)
        memcpy(in, s, len);
    size_t out_len = (size_t)-1, ref_len;
    int rc = worker_api_form_decode(in, len, &out, &out_len);
    FUZZ_WA_CHECK(rc == 0 || rc == -EINVAL);
    int ok = fuzz_wa_form_ok(in, len, ref, &ref_len);
    FUZZ_WA_CHECK((rc == 0) == ok);
    if (rc == 0) {
        fuzz_wa_check_str(out, out_len);
        FUZZ_WA_CHECK(out_len <= len && fuzz_wa_eq(out, out_len, ref, ref_len));
    }
    free(out);
    free(ref);
    free(in);
}

static void fuzz_wa_human(uint64_t bytes)
{
    char out[WORKER_API_HUMAN_SIZE_MAX];
    memset(out, 0x5a, sizeof out);
    worker_api_human_size(bytes, out);
    FUZZ_WA_CHECK(memchr(out, '\0', sizeof out) != NULL);
    size_t n = strlen(out);
    if (bytes <= 5 * 1024) {
        uint64_t v;
        FUZZ_WA_CHECK(n >= 2 && out[n - 1] == 'B' && fuzz_wa_u64(out, n - 1, &v) == 0 &&
                      v == bytes);
        return;
    }
    /* "<int>.<2 digits><unit>": read it back, and it is bytes / 1024^unit rounded to 0.01. */
    static const char *const units[] = {"KB", "MB", "GB", "TB", "PB"};
    FUZZ_WA_CHECK(n >= 6);
    unsigned unit = 5;
    for (unsigned u = 0; u < 5; u++) {
        if (memcmp(out + n - 2, units[u], 2) == 0)
            unit = u;
    }
    FUZZ_WA_CHECK(unit < 5 && out[n - 5] == '.');
    uint64_t ip, fp;
    FUZZ_WA_CHECK(fuzz_wa_u64(out, n - 5, &ip) == 0 && fuzz_wa_u64(out + n - 4, 2, &fp) == 0);
    FUZZ_WA_CHECK(n - 5 == 1 || out[0] != '0'); /* no leading zeros */
    unsigned __int128 div = (unsigned __int128)1 << (10 * (unit + 1));
    unsigned __int128 shown = (unsigned __int128)ip * 100 + fp; /* hundredths of a unit */
    unsigned __int128 exact = (unsigned __int128)bytes * 100;   /* hundredths, times div */
    unsigned __int128 lo = shown * div, diff = lo > exact ? lo - exact : exact - lo;
    FUZZ_WA_CHECK(2 * diff <= div); /* within half a hundredth, ties up */
    if (lo < exact)
        FUZZ_WA_CHECK(2 * diff < div);
    /* The unit is the first whose value is at most 5120 (PB takes everything above). */
    FUZZ_WA_CHECK(unit == 4 || (unsigned __int128)bytes <= 5120 * div);
    FUZZ_WA_CHECK((unsigned __int128)bytes > 5 * div);
}

static void fuzz_wa_iso(const char *s, size_t len)
{
    char *in = fuzz_wa_malloc(len);
    if (len)
        memcpy(in, s, len);
    int64_t ms = INT64_MIN;
    int rc = worker_api_iso8601_ms(in, len, &ms);
    FUZZ_WA_CHECK(rc == 0 || rc == -EINVAL);
    if (rc == 0) {
        /* "YYYY-MM-DDTHH:MM:SS" then ".f+" and 'Z', both optional; timegm agrees. */
        FUZZ_WA_CHECK(len >= 19 && in[4] == '-' && in[7] == '-' && in[10] == 'T' && in[13] == ':' &&
                      in[16] == ':');
        uint64_t y, mo, d, h, mi, sec;
        FUZZ_WA_CHECK(!fuzz_wa_u64(in, 4, &y) && !fuzz_wa_u64(in + 5, 2, &mo) &&
                      !fuzz_wa_u64(in + 8, 2, &d) && !fuzz_wa_u64(in + 11, 2, &h) &&
                      !fuzz_wa_u64(in + 14, 2, &mi) && !fuzz_wa_u64(in + 17, 2, &sec));
        FUZZ_WA_CHECK(mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && sec <= 60);
        struct tm tm = {.tm_year = (int)y - 1900,
                        .tm_mon = (int)mo - 1,
                        .tm_mday = (int)d,
                        .tm_hour = (int)h,
                        .tm_min = (int)mi,
                        .tm_sec = (int)sec};
        time_t secs = timegm(&tm);
        int64_t frac = ms - (int64_t)secs * 1000;
        FUZZ_WA_CHECK(frac >= 0 && frac < 1000);
        if (len == 19 || (len == 20 && in[19] == 'Z'))
            FUZZ_WA_CHECK(frac == 0);
    }
    free(in);
}

static void fuzz_wa_ufs(const char *s, size_t len)
{
    const char *nl = memchr(s, '\n', len);
    size_t slen = nl ? (size_t)(nl - s) : 0;
    char *scheme = strndup(nl ? s : "s3", nl ? slen : 2);
    if (!scheme)
        abort();
    slen = strlen(scheme); /* up to a NUL in it */
    const char *p = nl ? nl + 1 : s;
    size_t plen = (size_t)(s + len - p);
    char *path = fuzz_wa_malloc(plen);
    if (plen)
        memcpy(path, p, plen);

    struct worker_api_ufs_path u;
    int rc = worker_api_split_ufs_path(path, plen, scheme, &u);
    FUZZ_WA_CHECK(rc == 0 || rc == -EINVAL);
    if (rc == 0) {
        FUZZ_WA_CHECK(plen >= slen + 3 && memcmp(path, scheme, slen) == 0 &&
                      memcmp(path + slen, "://", 3) == 0 && !memchr(path, '\0', plen));
        FUZZ_WA_CHECK(u.bucket == path + slen + 3 && u.bucket_len >= 1);
        FUZZ_WA_CHECK(u.bucket_len <= plen - slen - 3 && !memchr(u.bucket, '/', u.bucket_len));
        FUZZ_WA_CHECK(u.key >= u.bucket + u.bucket_len && u.key + u.key_len == path + plen);
        if (u.key_len > 0)
            FUZZ_WA_CHECK(u.key == u.bucket + u.bucket_len + 1 && u.key[-1] == '/');
    }

    /* Recovery against the id of the bytes as received, and of their decoded form. */
    char id[RING_PATH_ID_HEX_BYTES + 1], *out = NULL, *dec = fuzz_wa_malloc(plen);
    size_t out_len = 0, dlen;
    fuzz_wa_id(path, plen, id);
    rc = worker_api_recover_ufs_path(path, plen, id, &out, &out_len);
    if (plen <= WORKER_API_PATH_MAX_BYTES && !memchr(path, '\0', plen)) {
        FUZZ_WA_CHECK(rc == 0);
        fuzz_wa_check_str(out, out_len);
        FUZZ_WA_CHECK(fuzz_wa_eq(out, out_len, path, plen));
        free(out);
    } else {
        FUZZ_WA_CHECK(rc == -ENOENT);
    }
    if (fuzz_wa_decode(path, plen, 0, dec, &dlen) == 0) {
        out = NULL;
        fuzz_wa_id(dec, dlen, id);
        rc = worker_api_recover_ufs_path(path, plen, id, &out, &out_len);
        if (plen <= WORKER_API_PATH_MAX_BYTES && !memchr(dec, '\0', dlen)) {
            FUZZ_WA_CHECK(rc == 0);
            fuzz_wa_check_str(out, out_len);
            FUZZ_WA_CHECK(fuzz_wa_eq(out, out_len, dec, dlen));
            free(out);
        } else {
            FUZZ_WA_CHECK(rc == -ENOENT);
        }
    }
    free(dec);
    free(path);
    free(scheme);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned sel = data[0];
    const char *s = (const char *)data + 1;
    size_t len = size - 1;
    switch (sel % 8) {
    case 0:
        fuzz_wa_target(s, len);
        break;
    case 1: {
        const char *nl = memchr(s, '\n', len);
        size_t seed_len = nl ? (size_t)(nl - s) : 0, n;
        const char *target = nl ? nl + 1 : s;
        char id[RING_PATH_ID_HEX_BYTES + 1];
        fuzz_wa_id(s, seed_len, id);
        char *t = fuzz_wa_subst(target, (size_t)(s + len - target), id, &n);
        fuzz_wa_target(t, n);
        free(t);
        break;
    }
    case 2:
    case 3:
        fuzz_wa_target_self_id(s, len, sel / 8 % 8, sel % 8 == 3);
        break;
    case 4:
        fuzz_wa_form(s, len);
        break;
    case 5: {
        uint64_t v = 0;
        for (size_t i = 0; i < len && i < 8; i++)
            v |= (uint64_t)(unsigned char)s[i] << (8 * i);
        for (unsigned sh = 0; sh < 64; sh++)
            fuzz_wa_human(v >> sh);
        fuzz_wa_human(~v);
        break;
    }
    case 6:
        fuzz_wa_iso(s, len);
        break;
    default:
        fuzz_wa_ufs(s, len);
        break;
    }
    return 0;
}
