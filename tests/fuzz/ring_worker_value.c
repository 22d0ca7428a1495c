/*
 * libFuzzer target for the worker lists the consistent-hash ring is built from (core/ring.c):
 * etcd worker values (ring_worker_parse, JSON through json-c) and the static worker_hosts list
 * (ring_workers_from_hosts). Etcd values are written by any process that can reach etcd, so
 * nothing in them may crash, leak or hang the membership thread.
 *
 * Input: two control bytes, then
 *   byte 0 bit 0 clear: up to FUZZ_RING_MAX_VALUES etcd values separated by 0x1e (ASCII record
 *                       separator, never legal inside JSON), each through ring_worker_parse;
 *   byte 0 bit 0 set:   one worker_hosts list for ring_workers_from_hosts, with http_port
 *                       (byte 0 >> 1) * 1009 % 65536 (0 included) and cap (byte 1 >> 3) % 24;
 *   byte 1:             vnodes (byte 1 % 8 + 1) of the ring built from the workers parsed.
 *
 * Checked (__builtin_trap on a violation): results are in range and ring_parse_str has text for
 * them; *out is untouched unless RING_PARSE_OK; a parsed worker obeys core/ring.h (identifier_len
 * 1..RING_IDENTIFIER_MAX_BYTES, host non-empty and NUL-terminated inside its array, port
 * nonzero) and survives a round trip through JSON written by json-c; a hosts list gives version
 * 1 name-based (version 3) UUIDs equal to ring_worker_from_host of each trimmed host, hosts
 * without edge whitespace, and n + skipped = entries (or -E2BIG with n = cap). The workers then
 * make a ring (ring_new, and ring_new_from_values for the values): one worker per identity in
 * first-listed order with the last-listed address, and ring_lookup of a fixed path and of the
 * input returns distinct workers of the ring, min(count, workers) of them, the same every time.
 *
 * Build and run: tests/fuzz/run.sh [SECONDS] [ring_worker_value]. Only statics and
 * LLVMFuzzerTestOneInput here, so a unit test may include it to replay the corpus.
 */
#include "core/ring.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_RING_MAX_VALUES 16
#define FUZZ_RING_MAX_HOSTS  24
#define FUZZ_RING_SEP        '\x1e'
#define FUZZ_RING_PATH       "s3://bucket/dir/object.bin"

#define FUZZ_RING_CHECK(cond)                                                                      \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

static int fuzz_ring_same_identity(const struct ring_worker *a, const struct ring_worker *b)
{
    return a->version == b->version && a->identifier_len == b->identifier_len &&
           memcmp(a->identifier, b->identifier, a->identifier_len) == 0;
}

static int fuzz_ring_same(const struct ring_worker *a, const struct ring_worker *b)
{
    return fuzz_ring_same_identity(a, b) && a->http_port == b->http_port &&
           strcmp(a->host, b->host) == 0;
}

/* The contracts of core/ring.h for a worker handed out. */
static void fuzz_ring_check_worker(const struct ring_worker *w)
{
    FUZZ_RING_CHECK(w->identifier_len >= 1 && w->identifier_len <= RING_IDENTIFIER_MAX_BYTES);
    const char *nul = memchr(w->host, '\0', sizeof w->host);
    FUZZ_RING_CHECK(nul != NULL && nul > w->host);
    FUZZ_RING_CHECK(w->http_port != 0);
}

/* The worker written back as an etcd value by json-c parses to the same worker. */
static void fuzz_ring_round_trip(const struct ring_worker *w)
{
    char hex[2 * RING_IDENTIFIER_MAX_BYTES + 1];
    for (size_t i = 0; i < w->identifier_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", w->identifier[i]);
    struct json_object *root = json_object_new_object(), *id = json_object_new_object(),
                       *addr = json_object_new_object();
    if (!root || !id || !addr)
        abort();
    json_object_object_add(id, "version", json_object_new_int64(w->version));
    json_object_object_add(id, "identifier",
                           json_object_new_string_len(hex, (int)(2 * w->identifier_len)));
    json_object_object_add(addr, "Host", json_object_new_string(w->host));
    json_object_object_add(addr, "HttpServerPort", json_object_new_int(w->http_port));
    json_object_object_add(root, "Identity", id);
    json_object_object_add(root, "WorkerNetAddress", addr);
    size_t len;
    const char *text = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN, &len);
    FUZZ_RING_CHECK(text != NULL);
    struct ring_worker back;
    FUZZ_RING_CHECK(ring_worker_parse(text, len, &back) == RING_PARSE_OK);
    FUZZ_RING_CHECK(fuzz_ring_same(&back, w));
    json_object_put(root);
}

static enum ring_parse_result fuzz_ring_parse(const char *value, size_t len, struct ring_worker *w)
{
    /* A buffer of exactly len bytes (not NUL-terminated), so ASan sees any read past it. */
    char *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    if (len)
        memcpy(copy, value, len);
    struct ring_worker before;
    memset(&before, 0xa5, sizeof before);
    *w = before;
    enum ring_parse_result r = ring_worker_parse(copy, len, w);
    free(copy);
    FUZZ_RING_CHECK(r >= RING_PARSE_OK && r <= RING_PARSE_BAD_PORT);
    const char *text = ring_parse_str(r);
    FUZZ_RING_CHECK(text != NULL && text[0] != '\0' && strncmp(text, "unknown", 7) != 0);
    if (r != RING_PARSE_OK) {
        FUZZ_RING_CHECK(memcmp(w, &before, sizeof before) == 0); /* written only on OK */
        return r;
    }
    fuzz_ring_check_worker(w);
    if (len > RING_WORKER_VALUE_MAX_BYTES)
        __builtin_trap();
    fuzz_ring_round_trip(w);
    return r;
}

/* Build a ring from ws[0..n) and check what it holds and what lookups give. */
static void fuzz_ring_build(const struct ring_worker *ws, size_t n, unsigned vnodes,
                            const char *path, size_t path_len)
{
    struct ring *r = NULL;
    FUZZ_RING_CHECK(ring_new(ws, n, vnodes, &r) == 0 && r != NULL);
    FUZZ_RING_CHECK(ring_vnodes(r) == vnodes);

    /* Distinct identities in first-listed order, each with the address listed last. */
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        size_t first = i, last = i;
        for (size_t j = 0; j < i; j++)
            if (fuzz_ring_same_identity(&ws[j], &ws[i]))
                first = j;
        if (first != i)
            continue;
        for (size_t j = i + 1; j < n; j++)
            if (fuzz_ring_same_identity(&ws[j], &ws[i]))
                last = j;
        FUZZ_RING_CHECK(distinct < ring_worker_count(r));
        FUZZ_RING_CHECK(fuzz_ring_same(ring_worker_at(r, distinct), &ws[last]));
        distinct++;
    }
    FUZZ_RING_CHECK(ring_worker_count(r) == distinct);

    const struct ring_worker *out[FUZZ_RING_MAX_HOSTS + 2], *again[FUZZ_RING_MAX_HOSTS + 2];
    const char *paths[2] = {FUZZ_RING_PATH, path};
    size_t lens[2] = {sizeof FUZZ_RING_PATH - 1, path_len};
    for (int p = 0; p < 2; p++) {
        for (size_t count = 0; count <= distinct + 1; count++) {
            size_t got = ring_lookup(r, paths[p], lens[p], count, out);
            size_t want = count < distinct ? count : distinct;
            FUZZ_RING_CHECK(got <= want);
            /* The first attempt always lands on a worker. */
            FUZZ_RING_CHECK(want == 0 || got >= 1);
            for (size_t i = 0; i < got; i++) {
                size_t k = 0;
                while (k < distinct && ring_worker_at(r, k) != out[i])
                    k++;
                FUZZ_RING_CHECK(k < distinct); /* a worker of this ring */
                fuzz_ring_check_worker(out[i]);
                for (size_t j = 0; j < i; j++)
                    FUZZ_RING_CHECK(out[j] != out[i]);
            }
            FUZZ_RING_CHECK(ring_lookup(r, paths[p], lens[p], count, again) == got);
            for (size_t i = 0; i < got; i++)
                FUZZ_RING_CHECK(again[i] == out[i]);
        }
    }
    ring_free(r);
}

static void fuzz_ring_values(const char *data, size_t len, unsigned vnodes)
{
    const char *values[FUZZ_RING_MAX_VALUES];
    size_t lens[FUZZ_RING_MAX_VALUES], n = 0, good = 0;
    struct ring_worker ws[FUZZ_RING_MAX_VALUES];
    const char *p = data, *end = data + len;
    while (n < FUZZ_RING_MAX_VALUES) {
        const char *sep = memchr(p, FUZZ_RING_SEP, (size_t)(end - p));
        values[n] = p;
        lens[n] = sep ? (size_t)(sep - p) : (size_t)(end - p);
        if (fuzz_ring_parse(values[n], lens[n], &ws[good]) == RING_PARSE_OK)
            good++;
        n++;
        if (!sep)
            break;
        p = sep + 1;
    }
    fuzz_ring_build(ws, good, vnodes, data, len);

    /* The same values through ring_new_from_values make the same ring. */
    struct ring *r = NULL;
    size_t skipped = (size_t)-1;
    FUZZ_RING_CHECK(ring_new_from_values(values, lens, n, vnodes, &r, &skipped) == 0);
    FUZZ_RING_CHECK(skipped == n - good);
    struct ring *r2 = NULL;
    FUZZ_RING_CHECK(ring_new(ws, good, vnodes, &r2) == 0);
    FUZZ_RING_CHECK(ring_worker_count(r) == ring_worker_count(r2));
    for (size_t i = 0; i < ring_worker_count(r); i++)
        FUZZ_RING_CHECK(fuzz_ring_same(ring_worker_at(r, i), ring_worker_at(r2, i)));
    const struct ring_worker *a[3], *b[3];
    size_t na = ring_lookup(r, FUZZ_RING_PATH, sizeof FUZZ_RING_PATH - 1, 3, a);
    FUZZ_RING_CHECK(ring_lookup(r2, FUZZ_RING_PATH, sizeof FUZZ_RING_PATH - 1, 3, b) == na);
    for (size_t i = 0; i < na; i++)
        FUZZ_RING_CHECK(fuzz_ring_same(a[i], b[i]));
    ring_free(r);
    ring_free(r2);
}

static int fuzz_ring_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static void fuzz_ring_hosts(const char *data, size_t len, uint16_t port, size_t cap,
                            unsigned vnodes)
{
    char *list = malloc(len ? len : 1);
    if (!list)
        abort();
    if (len)
        memcpy(list, data, len);
    struct ring_worker ws[FUZZ_RING_MAX_HOSTS];
    size_t n = (size_t)-1, skipped = (size_t)-1;
    int rc = ring_workers_from_hosts(list, len, port, ws, cap, &n, &skipped);
    FUZZ_RING_CHECK(rc == 0 || rc == -E2BIG);
    FUZZ_RING_CHECK(n <= cap);

    /* Walk the entries the same way: split on ',', trim, usable when 1..255 bytes, no NUL. */
    size_t entries = 0, usable = 0, start = 0, k = 0;
    for (;;) {
        const char *comma = memchr(list + start, ',', len - start);
        size_t e = comma ? (size_t)(comma - list) : len, a = start, b = e;
        while (a < b && fuzz_ring_space(list[a]))
            a++;
        while (b > a && fuzz_ring_space(list[b - 1]))
            b--;
        entries++;
        if (port != 0 && b > a && b - a <= RING_HOST_MAX_BYTES && !memchr(list + a, '\0', b - a)) {
            usable++;
            if (k < n) {
                /* The k-th worker out is this entry's. */
                const struct ring_worker *w = &ws[k++];
                struct ring_worker ref;
                FUZZ_RING_CHECK(ring_worker_from_host(list + a, b - a, port, &ref) == 0);
                FUZZ_RING_CHECK(fuzz_ring_same(w, &ref));
                FUZZ_RING_CHECK(strlen(w->host) == b - a && memcmp(w->host, list + a, b - a) == 0);
            }
        }
        if (!comma)
            break;
        start = e + 1;
    }
    if (rc == 0) {
        FUZZ_RING_CHECK(n == usable && n + skipped == entries);
    } else {
        FUZZ_RING_CHECK(n == cap && usable > cap);
    }
    for (size_t i = 0; i < n; i++) {
        const struct ring_worker *w = &ws[i];
        fuzz_ring_check_worker(w);
        FUZZ_RING_CHECK(w->version == 1 && w->identifier_len == 16 && w->http_port == port);
        FUZZ_RING_CHECK((w->identifier[6] & 0xf0) == 0x30 && (w->identifier[8] & 0xc0) == 0x80);
        FUZZ_RING_CHECK(!fuzz_ring_space(w->host[0]) &&
                        !fuzz_ring_space(w->host[strlen(w->host) - 1]));
        fuzz_ring_round_trip(w);
    }
    fuzz_ring_build(ws, n, vnodes, list, len);
    free(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned vnodes = data[1] % 8 + 1;
    const char *s = (const char *)data + 2;
    size_t len = size - 2;
    if (data[0] & 1)
        fuzz_ring_hosts(s, len, (uint16_t)((data[0] >> 1) * 1009u % 65536u),
                        (size_t)(data[1] >> 3) % FUZZ_RING_MAX_HOSTS, vnodes);
    else
        fuzz_ring_values(s, len, vnodes);
    return 0;
}
