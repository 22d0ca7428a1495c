/*
 * ring: Alluxio's consistent-hash ring as alluxiofs 1.0.x builds and walks it
 * (alluxiofs/client/worker_ring.py, ALLUXIO-PROTOCOL.md section 2), plus parsing of the worker
 * lists it is built from (sections 1.2 and 1.5). See ring.h for the contracts.
 *
 * A ring is a sorted array of (signed point, worker index); a lookup is a binary search for the
 * first point strictly greater than the key hash (Python bisect_right; the Java client's
 * ceilingEntry differs only on an exact hit, tests/vectors/ring/ties.tsv).
 */
#include "ring.h"

#include "murmur3.h"

#include <errno.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct ring_point {
    int32_t hash;
    uint32_t worker; /* index into ring.workers */
};

struct ring {
    struct ring_worker *workers; /* distinct identities, in first-listed order */
    size_t n_workers;
    struct ring_point *points; /* sorted by hash, hashes distinct */
    size_t n_points;
    unsigned vnodes;
};

/* ---- hashing (section 2.1-2.3) ------------------------------------------------------------- */

int32_t ring_point_hash(const struct ring_worker *w, uint32_t index)
{
    struct murmur3_32 m;
    murmur3_32_init(&m, 0);
    murmur3_32_update(&m, w->identifier, w->identifier_len);
    murmur3_32_update_le32(&m, w->version);
    murmur3_32_update_le32(&m, index);
    return (int32_t)murmur3_32_final(&m);
}

int32_t ring_key_hash(const char *path, size_t path_len, uint32_t attempt)
{
    struct murmur3_32 m;
    murmur3_32_init(&m, 0);
    murmur3_32_update(&m, path, path_len);
    murmur3_32_update_le32(&m, attempt);
    return (int32_t)murmur3_32_final(&m);
}

/* ---- etcd values (section 1.2) ------------------------------------------------------------- */

const char *ring_parse_str(enum ring_parse_result r)
{
    switch (r) {
    case RING_PARSE_OK:
        return "ok";
    case RING_PARSE_TOO_BIG:
        return "worker value too big";
    case RING_PARSE_NOT_JSON:
        return "worker value is not JSON";
    case RING_PARSE_NOT_OBJECT:
        return "worker value is not a JSON object";
    case RING_PARSE_NO_IDENTITY:
        return "Identity missing or not an object";
    case RING_PARSE_BAD_VERSION:
        return "Identity.version missing or not an integer in 0..4294967295";
    case RING_PARSE_BAD_IDENTIFIER:
        return "Identity.identifier missing or not a non-empty hex string";
    case RING_PARSE_BAD_ADDRESS:
        return "WorkerNetAddress is not an object";
    case RING_PARSE_BAD_HOST:
        return "WorkerNetAddress.Host not a usable host string";
    case RING_PARSE_BAD_PORT:
        return "WorkerNetAddress.HttpServerPort not an integer in 1..65535";
    }
    return "unknown ring parse result";
}

static bool ring_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int ring_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* alluxiofs applies Python int() to the version, so "1" works as well as 1. We take a JSON
 * integer or a string of decimal digits with optional surrounding ASCII whitespace; floats,
 * booleans, signs and underscores are refused (no writer produces them). */
static bool ring_parse_version(struct json_object *v, uint32_t *out)
{
    if (json_object_is_type(v, json_type_int)) {
        errno = 0;
        int64_t x = json_object_get_int64(v);
        if (errno != 0 || x < 0 || x > (int64_t)UINT32_MAX)
            return false;
        *out = (uint32_t)x;
        return true;
    }
    if (!json_object_is_type(v, json_type_string))
        return false;
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v), i = 0;
    while (i < len && ring_is_space(s[i]))
        i++;
    uint64_t x = 0;
    size_t digits = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        x = x * 10 + (uint64_t)(s[i] - '0');
        if (x > UINT32_MAX)
            return false;
    }
    while (i < len && ring_is_space(s[i]))
        i++;
    if (digits == 0 || i != len)
        return false;
    *out = (uint32_t)x;
    return true;
}

/* bytes.fromhex: case-insensitive hex pairs. Whitespace between pairs, which Python would skip,
 * is refused: Java writes plain lowercase hex. */
static bool ring_parse_identifier(struct json_object *v, struct ring_worker *w)
{
    if (!json_object_is_type(v, json_type_string))
        return false;
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (len == 0 || len % 2 != 0 || len / 2 > RING_IDENTIFIER_MAX_BYTES)
        return false;
    for (size_t i = 0; i < len; i += 2) {
        int hi = ring_hex_digit(s[i]), lo = ring_hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        w->identifier[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    w->identifier_len = len / 2;
    return true;
}

static bool ring_set_host(struct ring_worker *w, const char *host, size_t len)
{
    if (len == 0 || len > RING_HOST_MAX_BYTES || memchr(host, '\0', len) != NULL)
        return false;
    memcpy(w->host, host, len);
    w->host[len] = '\0';
    return true;
}

static enum ring_parse_result ring_parse_address(struct json_object *addr, struct ring_worker *w)
{
    struct json_object *v;
    if (json_object_object_get_ex(addr, "Host", &v)) {
        if (!json_object_is_type(v, json_type_string) ||
            !ring_set_host(w, json_object_get_string(v), (size_t)json_object_get_string_len(v)))
            return RING_PARSE_BAD_HOST;
    }
    if (json_object_object_get_ex(addr, "HttpServerPort", &v)) {
        if (!json_object_is_type(v, json_type_int))
            return RING_PARSE_BAD_PORT;
        errno = 0;
        int64_t port = json_object_get_int64(v);
        if (errno != 0 || port < 1 || port > UINT16_MAX)
            return RING_PARSE_BAD_PORT;
        w->http_port = (uint16_t)port;
    }
    return RING_PARSE_OK;
}

static enum ring_parse_result ring_parse_object(struct json_object *root, struct ring_worker *w)
{
    struct json_object *identity, *v;
    if (!json_object_is_type(root, json_type_object))
        return RING_PARSE_NOT_OBJECT;
    if (!json_object_object_get_ex(root, "Identity", &identity) ||
        !json_object_is_type(identity, json_type_object))
        return RING_PARSE_NO_IDENTITY;
    if (!json_object_object_get_ex(identity, "version", &v) || !ring_parse_version(v, &w->version))
        return RING_PARSE_BAD_VERSION;
    if (!json_object_object_get_ex(identity, "identifier", &v) || !ring_parse_identifier(v, w))
        return RING_PARSE_BAD_IDENTIFIER;

    /* Defaults of worker_ring.py:30-38 for an absent address or absent members. */
    memcpy(w->host, RING_HOST_DEFAULT, sizeof RING_HOST_DEFAULT);
    w->http_port = RING_HTTP_PORT_DEFAULT;
    if (!json_object_object_get_ex(root, "WorkerNetAddress", &v))
        return RING_PARSE_OK;
    if (!json_object_is_type(v, json_type_object))
        return RING_PARSE_BAD_ADDRESS;
    return ring_parse_address(v, w);
}

enum ring_parse_result ring_worker_parse(const char *value, size_t len, struct ring_worker *out)
{
    if (len > RING_WORKER_VALUE_MAX_BYTES)
        return RING_PARSE_TOO_BIG;
    enum ring_parse_result res = RING_PARSE_NOT_JSON;
    struct json_object *root = NULL;
    struct json_tokener *tok = json_tokener_new_ex(RING_JSON_MAX_DEPTH);
    if (tok == NULL)
        return RING_PARSE_NOT_JSON;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, value, (int)len);
    if (root == NULL || json_tokener_get_error(tok) != json_tokener_success)
        goto fail;
    /* One JSON text: only whitespace may follow it (as Python json.loads). */
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
        if (value[i] != ' ' && value[i] != '\t' && value[i] != '\n' && value[i] != '\r')
            goto fail;
    }
    struct ring_worker w;
    res = ring_parse_object(root, &w);
    if (res == RING_PARSE_OK)
        *out = w;
fail:
    json_object_put(root);
    json_tokener_free(tok);
    return res;
}

/* ---- static worker_hosts (section 1.5) ----------------------------------------------------- */

int ring_worker_from_host(const char *host, size_t len, uint16_t http_port, struct ring_worker *out)
{
    struct ring_worker w;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (http_port == 0 || !ring_set_host(&w, host, len))
        return -EINVAL;
    /* Java UUID.nameUUIDFromBytes: MD5 of the bytes (no namespace), then version 3 in the high
     * nibble of byte 6 and the RFC 4122 variant (10xx) in byte 8. */
    if (EVP_Digest(host, len, md, &md_len, EVP_md5(), NULL) != 1 || md_len != 16)
        return -EIO;
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x30);
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    w.version = 1;
    w.identifier_len = 16;
    memcpy(w.identifier, md, 16);
    w.http_port = http_port;
    *out = w;
    return 0;
}

int ring_workers_from_hosts(const char *list, size_t len, uint16_t http_port,
                            struct ring_worker *out, size_t cap, size_t *n, size_t *skipped)
{
    size_t count = 0, bad = 0, start = 0;
    int err = 0;
    while (start <= len) {
        const char *comma = memchr(list + start, ',', len - start);
        size_t end = comma != NULL ? (size_t)(comma - list) : len;
        size_t a = start, b = end;
        while (a < b && ring_is_space(list[a]))
            a++;
        while (b > a && ring_is_space(list[b - 1]))
            b--;
        struct ring_worker w;
        int rc = ring_worker_from_host(list + a, b - a, http_port, &w);
        if (rc == -EINVAL) {
            bad++;
        } else if (rc < 0) {
            err = rc;
            break;
        } else if (count == cap) {
            err = -E2BIG;
            break;
        } else {
            out[count++] = w;
        }
        start = end + 1;
    }
    *n = count;
    *skipped = bad;
    return err;
}

/* ---- building ------------------------------------------------------------------------------ */

static int ring_identity_cmp(const struct ring_worker *a, const struct ring_worker *b)
{
    if (a->version != b->version)
        return a->version < b->version ? -1 : 1;
    if (a->identifier_len != b->identifier_len)
        return a->identifier_len < b->identifier_len ? -1 : 1;
    return memcmp(a->identifier, b->identifier, a->identifier_len);
}

struct ring_slot {
    const struct ring_worker *w;
    size_t pos; /* index in the caller's list */
};

static int ring_slot_by_identity(const void *pa, const void *pb)
{
    const struct ring_slot *a = pa, *b = pb;
    int c = ring_identity_cmp(a->w, b->w);
    if (c != 0)
        return c;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int ring_slot_by_pos(const void *pa, const void *pb)
{
    const struct ring_slot *a = pa, *b = pb;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Points sort by hash, then by insertion order, so the last of equal hashes is the winner. */
struct ring_build_point {
    int32_t hash;
    uint32_t worker;
    size_t seq;
};

static int ring_build_point_cmp(const void *pa, const void *pb)
{
    const struct ring_build_point *a = pa, *b = pb;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Distinct identities like alluxiofs's dict: in order of first appearance, each with the address
 * of its last appearance. Fills r->workers. */
static int ring_dedupe(struct ring *r, const struct ring_worker *workers, size_t n)
{
    int err = -ENOMEM;
    struct ring_slot *slots = calloc(n, sizeof *slots);
    if (slots == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++)
        slots[i] = (struct ring_slot){.w = &workers[i], .pos = i};
    qsort(slots, n, sizeof *slots, ring_slot_by_identity);
    /* Keep one slot per identity: first position, last entry's address. */
    size_t kept = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && ring_identity_cmp(slots[i].w, slots[j].w) == 0)
            j++;
        slots[kept++] = (struct ring_slot){.w = slots[j - 1].w, .pos = slots[i].pos};
        i = j;
    }
    if (kept > RING_WORKERS_MAX) {
        err = -E2BIG;
        goto fail;
    }
    qsort(slots, kept, sizeof *slots, ring_slot_by_pos);
    r->workers = calloc(kept > 0 ? kept : 1, sizeof *r->workers);
    if (r->workers == NULL)
        goto fail;
    for (size_t i = 0; i < kept; i++)
        r->workers[i] = *slots[i].w;
    r->n_workers = kept;
    err = 0;
fail:
    free(slots);
    return err;
}

static int ring_place(struct ring *r)
{
    size_t total = r->n_workers * r->vnodes;
    struct ring_build_point *bp = calloc(total > 0 ? total : 1, sizeof *bp);
    r->points = calloc(total > 0 ? total : 1, sizeof *r->points);
    if (bp == NULL || r->points == NULL) {
        free(bp);
        return -ENOMEM;
    }
    /* worker_ring.py _update_hash_ring: for each worker in order, for i in 0..V-1. */
    size_t seq = 0;
    for (size_t w = 0; w < r->n_workers; w++) {
        for (unsigned i = 0; i < r->vnodes; i++, seq++)
            bp[seq] = (struct ring_build_point){
                .hash = ring_point_hash(&r->workers[w], i), .worker = (uint32_t)w, .seq = seq};
    }
    qsort(bp, total, sizeof *bp, ring_build_point_cmp);
    size_t n = 0;
    for (size_t i = 0; i < total; i++) {
        if (i + 1 < total && bp[i + 1].hash == bp[i].hash)
            continue; /* a later insertion replaces this one */
        r->points[n++] = (struct ring_point){.hash = bp[i].hash, .worker = bp[i].worker};
    }
    r->n_points = n;
    free(bp);
    return 0;
}

int ring_new(const struct ring_worker *workers, size_t n, unsigned vnodes, struct ring **out)
{
    int err = -EINVAL;
    struct ring *r = NULL;
    if (vnodes == 0 || vnodes > RING_VNODES_MAX)
        goto fail;
    err = -E2BIG;
    if (n > RING_POINTS_MAX) /* each entry is at least one point; keeps n * vnodes from wrapping */
        goto fail;
    err = -ENOMEM;
    r = calloc(1, sizeof *r);
    if (r == NULL)
        goto fail;
    r->vnodes = vnodes;
    err = ring_dedupe(r, workers, n);
    if (err < 0)
        goto fail;
    err = -E2BIG;
    if (r->n_workers * vnodes > RING_POINTS_MAX)
        goto fail;
    err = ring_place(r);
    if (err < 0)
        goto fail;
    *out = r;
    return 0;
fail:
    ring_free(r);
    return err;
}

int ring_new_from_values(const char *const *values, const size_t *lens, size_t n, unsigned vnodes,
                         struct ring **out, size_t *skipped)
{
    size_t good = 0;
    struct ring_worker *ws = calloc(n > 0 ? n : 1, sizeof *ws);
    if (ws == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (ring_worker_parse(values[i], lens[i], &ws[good]) == RING_PARSE_OK)
            good++;
    }
    *skipped = n - good;
    int err = ring_new(ws, good, vnodes, out);
    free(ws);
    return err;
}

void ring_free(struct ring *r)
{
    if (r == NULL)
        return;
    free(r->workers);
    free(r->points);
    free(r);
}

/* ---- lookups (sections 2.4, 2.5) ----------------------------------------------------------- */

/* Index of the first point strictly greater than h, wrapping to 0 past the end. */
static size_t ring_successor(const struct ring *r, int32_t h)
{
    size_t lo = 0, hi = r->n_points;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->points[mid].hash <= h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == r->n_points ? 0 : lo;
}

size_t ring_lookup(const struct ring *r, const char *path, size_t path_len, size_t count,
                   const struct ring_worker **out)
{
    size_t want = count < r->n_workers ? count : r->n_workers, found = 0;
    if (r->n_points == 0)
        return 0;
    for (uint32_t a = 1; found < want && a <= RING_LOOKUP_ATTEMPTS; a++) {
        const struct ring_worker *w =
            &r->workers[r->points[ring_successor(r, ring_key_hash(path, path_len, a))].worker];
        bool seen = false;
        for (size_t i = 0; i < found && !seen; i++)
            seen = out[i] == w;
        if (!seen)
            out[found++] = w;
    }
    return found;
}

size_t ring_worker_count(const struct ring *r)
{
    return r->n_workers;
}

const struct ring_worker *ring_worker_at(const struct ring *r, size_t i)
{
    return &r->workers[i];
}

unsigned ring_vnodes(const struct ring *r)
{
    return r->vnodes;
}

/* ---- path id (section 3.2) ----------------------------------------------------------------- */

int ring_path_id(const char *path, size_t path_len, char out[RING_PATH_ID_HEX_BYTES + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(path, path_len, md, &md_len, EVP_sha256(), NULL) != 1 ||
        md_len * 2 != RING_PATH_ID_HEX_BYTES)
        return -EIO;
    for (unsigned i = 0; i < md_len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0x0f];
    }
    out[RING_PATH_ID_HEX_BYTES] = '\0';
    return 0;
}
