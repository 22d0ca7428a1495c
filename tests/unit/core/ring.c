/*
 * Unit tests for core/ring.c, driven by the golden vectors in tests/vectors/ring (README there):
 * every row of lookups.tsv, ties.tsv, hashes.tsv, host_identities.tsv and path_ids.tsv, with the
 * workers of workers.json fed through the etcd value parser. Then the parser's rejections, the
 * worker_hosts list, duplicate identities and the limits.
 *
 * The vectors directory is $RING_VECTORS_DIR, else the compile-time RING_VECTORS_DIR.
 */
#include "core/ring.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RING_VECTORS_DIR
#define RING_VECTORS_DIR "tests/vectors/ring"
#endif

#define TSV_MAX_FIELDS  8
#define OWNERS_MAX      16  /* workers in one lookup row */
#define LABEL_MAX_BYTES 300 /* "host:port" */
#define RINGS_MAX       8   /* distinct virtual-node counts in lookups.tsv */

/* ---- helpers ------------------------------------------------------------------------------- */

static char *vec_read(const char *name, size_t *len)
{
    const char *dir = getenv("RING_VECTORS_DIR");
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : RING_VECTORS_DIR, name);
    cr_assert(n > 0 && (size_t)n < sizeof path);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    cr_assert(size >= 0);
    rewind(f);
    char *s = malloc((size_t)size + 1);
    cr_assert_not_null(s);
    cr_assert_eq(fread(s, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    s[size] = '\0';
    *len = (size_t)size;
    return s;
}

/* A TSV file as rows of NUL-terminated fields (the README: TAB-separated, LF-terminated, no
 * escaping, a header first). tsv_next returns the field count, 0 at the end. */
struct tsv {
    char *text;
    char *pos;
    char *end;
};

static size_t tsv_next(struct tsv *t, char *fields[TSV_MAX_FIELDS])
{
    if (t->pos >= t->end)
        return 0;
    char *nl = memchr(t->pos, '\n', (size_t)(t->end - t->pos));
    cr_assert_not_null(nl, "last line has no LF");
    *nl = '\0';
    size_t n = 0;
    char *p = t->pos;
    for (;;) {
        cr_assert_lt(n, TSV_MAX_FIELDS);
        fields[n++] = p;
        char *tab = strchr(p, '\t');
        if (tab == NULL)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    t->pos = nl + 1;
    return n;
}

/* Open name and check its header has the given columns. */
static void tsv_open(struct tsv *t, const char *name, size_t ncols, const char *const *cols)
{
    size_t len;
    t->text = vec_read(name, &len);
    t->pos = t->text;
    t->end = t->text + len;
    char *f[TSV_MAX_FIELDS];
    cr_assert_eq(tsv_next(t, f), ncols, "%s: header", name);
    for (size_t i = 0; i < ncols; i++)
        cr_assert_str_eq(f[i], cols[i], "%s: column %zu", name, i);
}

static unsigned parse_uint(const char *s)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    cr_assert(errno == 0 && end != s && *end == '\0' && v <= 1000000, "bad number %s", s);
    return (unsigned)v;
}

static long parse_long(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    cr_assert(errno == 0 && end != s && *end == '\0', "bad number %s", s);
    return v;
}

static void label_of(const struct ring_worker *w, char out[LABEL_MAX_BYTES])
{
    int n = snprintf(out, LABEL_MAX_BYTES, "%s:%u", w->host, (unsigned)w->http_port);
    cr_assert(n > 0 && n < LABEL_MAX_BYTES);
}

/* "a,b,c" of the owners' labels. */
static void owners_of(const struct ring_worker **ws, size_t n, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char label[LABEL_MAX_BYTES];
        label_of(ws[i], label);
        int k = snprintf(out + used, cap - used, "%s%s", i ? "," : "", label);
        cr_assert(k > 0 && (size_t)k < cap - used);
        used += (size_t)k;
    }
}

/* The workers of workers.json, each value serialized and fed to the etcd value parser. */
struct vec_workers {
    struct ring_worker w[OWNERS_MAX];
    size_t n;
};

static void load_workers(struct vec_workers *vw)
{
    size_t len;
    char *text = vec_read("workers.json", &len);
    struct json_object *root = json_tokener_parse(text), *list;
    cr_assert_not_null(root);
    cr_assert(json_object_object_get_ex(root, "workers", &list));
    vw->n = json_object_array_length(list);
    cr_assert(vw->n > 0 && vw->n <= OWNERS_MAX);
    for (size_t i = 0; i < vw->n; i++) {
        struct json_object *e = json_object_array_get_idx(list, i), *owner, *value;
        cr_assert(json_object_object_get_ex(e, "owner", &owner));
        cr_assert(json_object_object_get_ex(e, "value", &value));
        const char *s = json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN);
        enum ring_parse_result r = ring_worker_parse(s, strlen(s), &vw->w[i]);
        cr_assert_eq(r, RING_PARSE_OK, "worker %zu: %s", i, ring_parse_str(r));
        char label[LABEL_MAX_BYTES];
        label_of(&vw->w[i], label);
        cr_assert_str_eq(label, json_object_get_string(owner));
    }
    json_object_put(root);
    free(text);
}

/* One ring per virtual-node count, built on first use. */
struct ring_cache {
    struct vec_workers vw;
    unsigned vnodes[RINGS_MAX];
    struct ring *rings[RINGS_MAX];
    size_t n;
};

static struct ring *ring_for(struct ring_cache *c, unsigned vnodes)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->vnodes[i] == vnodes)
            return c->rings[i];
    }
    cr_assert_lt(c->n, RINGS_MAX);
    cr_assert_eq(ring_new(c->vw.w, c->vw.n, vnodes, &c->rings[c->n]), 0);
    c->vnodes[c->n] = vnodes;
    return c->rings[c->n++];
}

static void ring_cache_free(struct ring_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        ring_free(c->rings[i]);
}

/* ---- the vectors --------------------------------------------------------------------------- */

Test(ring_vectors, lookups)
{
    static const char *const cols[] = {"ufs_path", "virtual_nodes", "count", "owners"};
    struct ring_cache c = {0};
    load_workers(&c.vw);
    struct tsv t;
    tsv_open(&t, "lookups.tsv", 4, cols);
    char *f[TSV_MAX_FIELDS];
    size_t rows = 0, nf;
    while ((nf = tsv_next(&t, f)) != 0) {
        cr_assert_eq(nf, 4, "row %zu", rows + 1);
        struct ring *r = ring_for(&c, parse_uint(f[1]));
        size_t count = parse_uint(f[2]);
        const struct ring_worker *out[OWNERS_MAX];
        cr_assert_leq(count, OWNERS_MAX);
        size_t n = ring_lookup(r, f[0], strlen(f[0]), count, out);
        char got[OWNERS_MAX * LABEL_MAX_BYTES];
        owners_of(out, n, got, sizeof got);
        cr_expect_str_eq(got, f[3], "row %zu: %s vnodes %s count %s", rows + 1, f[0], f[1], f[2]);
        rows++;
    }
    cr_assert_gt(rows, 0);
    cr_log_info("lookups.tsv: %zu rows", rows);
    ring_cache_free(&c);
    free(t.text);
}

Test(ring_vectors, ties)
{
    static const char *const cols[] = {"ufs_path", "virtual_nodes", "count", "owners_alluxiofs",
                                       "owners_java_ceiling"};
    struct ring_cache c = {0};
    load_workers(&c.vw);
    struct tsv t;
    tsv_open(&t, "ties.tsv", 5, cols);
    char *f[TSV_MAX_FIELDS];
    size_t rows = 0, nf;
    while ((nf = tsv_next(&t, f)) != 0) {
        cr_assert_eq(nf, 5);
        unsigned vnodes = parse_uint(f[1]);
        struct ring *r = ring_for(&c, vnodes);
        /* The row is a tie only if attempt 1 hashes exactly onto a point. */
        int32_t h = ring_key_hash(f[0], strlen(f[0]), 1);
        bool on_point = false;
        for (size_t w = 0; w < c.vw.n && !on_point; w++) {
            for (unsigned i = 0; i < vnodes && !on_point; i++)
                on_point = ring_point_hash(&c.vw.w[w], i) == h;
        }
        cr_expect(on_point, "row %zu: %s is not a tie", rows + 1, f[0]);
        size_t count = parse_uint(f[2]);
        const struct ring_worker *out[OWNERS_MAX];
        cr_assert_leq(count, OWNERS_MAX);
        char got[OWNERS_MAX * LABEL_MAX_BYTES];
        owners_of(out, ring_lookup(r, f[0], strlen(f[0]), count, out), got, sizeof got);
        cr_expect_str_eq(got, f[3], "row %zu: %s", rows + 1, f[0]);
        cr_expect_str_neq(got, f[4], "row %zu: matches the Java ceiling rule", rows + 1);
        rows++;
    }
    cr_assert_gt(rows, 0);
    ring_cache_free(&c);
    free(t.text);
}

static void hex_identity(const char *hex, struct ring_worker *w)
{
    char value[512];
    int n =
        snprintf(value, sizeof value, "{\"Identity\":{\"version\":1,\"identifier\":\"%s\"}}", hex);
    cr_assert(n > 0 && (size_t)n < sizeof value);
    cr_assert_eq(ring_worker_parse(value, (size_t)n, w), RING_PARSE_OK, "identifier %s", hex);
}

Test(ring_vectors, hashes)
{
    static const char *const cols[] = {"kind", "input", "index", "signed_hash"};
    struct tsv t;
    tsv_open(&t, "hashes.tsv", 4, cols);
    char *f[TSV_MAX_FIELDS];
    size_t rows = 0, vnode_rows = 0, key_rows = 0, nf;
    while ((nf = tsv_next(&t, f)) != 0) {
        cr_assert_eq(nf, 4);
        long want = parse_long(f[3]);
        uint32_t index = parse_uint(f[2]);
        int32_t got;
        if (strcmp(f[0], "vnode") == 0) {
            struct ring_worker w;
            hex_identity(f[1], &w);
            got = ring_point_hash(&w, index);
            vnode_rows++;
        } else {
            cr_assert_str_eq(f[0], "key", "row %zu: kind", rows + 1);
            got = ring_key_hash(f[1], strlen(f[1]), index);
            key_rows++;
        }
        cr_expect_eq((long)got, want, "row %zu: %s %s %s: got %d", rows + 1, f[0], f[1], f[2], got);
        rows++;
    }
    cr_assert(vnode_rows > 0 && key_rows > 0);
    free(t.text);
}

Test(ring_vectors, host_identities)
{
    static const char *const cols[] = {"worker_host", "version", "identifier"};
    struct tsv t;
    tsv_open(&t, "host_identities.tsv", 3, cols);
    char *f[TSV_MAX_FIELDS];
    size_t rows = 0, nf;
    while ((nf = tsv_next(&t, f)) != 0) {
        cr_assert_eq(nf, 3);
        struct ring_worker w;
        cr_assert_eq(ring_worker_from_host(f[0], strlen(f[0]), 28080, &w), 0);
        char hex[2 * RING_IDENTIFIER_MAX_BYTES + 1];
        for (size_t i = 0; i < w.identifier_len; i++)
            snprintf(hex + 2 * i, 3, "%02x", w.identifier[i]);
        hex[2 * w.identifier_len] = '\0';
        cr_expect_eq(w.version, parse_uint(f[1]), "row %zu: %s", rows + 1, f[0]);
        cr_expect_str_eq(hex, f[2], "row %zu: %s", rows + 1, f[0]);
        cr_expect_str_eq(w.host, f[0]);
        rows++;
    }
    cr_assert_gt(rows, 0);
    free(t.text);
}

Test(ring_vectors, path_ids)
{
    static const char *const cols[] = {"ufs_path", "path_id"};
    struct tsv t;
    tsv_open(&t, "path_ids.tsv", 2, cols);
    char *f[TSV_MAX_FIELDS];
    size_t rows = 0, nf;
    while ((nf = tsv_next(&t, f)) != 0) {
        cr_assert_eq(nf, 2);
        char id[RING_PATH_ID_HEX_BYTES + 1];
        cr_assert_eq(ring_path_id(f[0], strlen(f[0]), id), 0);
        cr_expect_str_eq(id, f[1], "row %zu: %s", rows + 1, f[0]);
        rows++;
    }
    cr_assert_gt(rows, 0);
    free(t.text);
}

/* The same workers through ring_new_from_values give the same owners. */
Test(ring_vectors, from_values)
{
    struct vec_workers vw;
    load_workers(&vw);
    const char *values[] = {
        "{\"Identity\":{\"version\":1,\"identifier\":\"ead9eafd2e004f76a429a4fdede268a2\"},"
        "\"WorkerNetAddress\":{\"Host\":\"10.0.0.11\",\"HttpServerPort\":28080}}",
        "not json",
    };
    size_t lens[] = {strlen(values[0]), strlen(values[1])}, skipped = 9;
    struct ring *r;
    cr_assert_eq(ring_new_from_values(values, lens, 2, 5, &r, &skipped), 0);
    cr_assert_eq(skipped, 1);
    cr_assert_eq(ring_worker_count(r), 1);
    cr_assert_str_eq(ring_worker_at(r, 0)->host, "10.0.0.11");
    ring_free(r);
}

/* ---- the etcd value parser ----------------------------------------------------------------- */

static enum ring_parse_result parse(const char *s, struct ring_worker *w)
{
    return ring_worker_parse(s, strlen(s), w);
}

#define ID_OK "\"Identity\":{\"version\":1,\"identifier\":\"00112233445566778899AABBCCDDEEFF\"}"

Test(ring_parse, defaults_and_fields)
{
    struct ring_worker w;
    cr_assert_eq(parse("{" ID_OK "}", &w), RING_PARSE_OK);
    cr_assert_str_eq(w.host, "localhost");
    cr_assert_eq(w.http_port, 28080);
    cr_assert_eq(w.version, 1);
    cr_assert_eq(w.identifier_len, 16);
    cr_assert_eq(w.identifier[10], 0xaa);
    cr_assert_eq(parse("{" ID_OK ",\"WorkerNetAddress\":{}}", &w), RING_PARSE_OK);
    cr_assert_str_eq(w.host, "localhost");
    cr_assert_eq(parse(" {" ID_OK ",\"WorkerNetAddress\":{\"Host\":\"h\",\"HttpServerPort\":1,"
                       "\"RpcPort\":\"junk\"},\"State\":\"AUTHORIZED\"} \n",
                       &w),
                 RING_PARSE_OK);
    cr_assert_str_eq(w.host, "h");
    cr_assert_eq(w.http_port, 1);
    /* Python int(): a digit string is a version too. */
    cr_assert_eq(
        parse("{\"Identity\":{\"version\":\" 0 \",\"identifier\":\"0102030405060708\"}}", &w),
        RING_PARSE_OK);
    cr_assert_eq(w.version, 0);
    cr_assert_eq(w.identifier_len, 8);
}

Test(ring_parse, rejections)
{
    static const struct {
        const char *value;
        enum ring_parse_result want;
    } cases[] = {
        {"", RING_PARSE_NOT_JSON},
        {"{", RING_PARSE_NOT_JSON},
        {"{" ID_OK "} x", RING_PARSE_NOT_JSON},
        {"{" ID_OK "}{}", RING_PARSE_NOT_JSON},
        {"{Identity:1}", RING_PARSE_NOT_JSON},
        {"{\"Identity\":01}", RING_PARSE_NOT_JSON},
        {"[]", RING_PARSE_NOT_OBJECT},
        {"\"s\"", RING_PARSE_NOT_OBJECT},
        {"{}", RING_PARSE_NO_IDENTITY},
        {"{\"Identity\":null}", RING_PARSE_NO_IDENTITY},
        {"{\"Identity\":\"x\"}", RING_PARSE_NO_IDENTITY},
        {"{\"Identity\":{\"identifier\":\"00\"}}", RING_PARSE_BAD_VERSION},
        {"{\"Identity\":{\"version\":-1,\"identifier\":\"00\"}}", RING_PARSE_BAD_VERSION},
        {"{\"Identity\":{\"version\":4294967296,\"identifier\":\"00\"}}", RING_PARSE_BAD_VERSION},
        {"{\"Identity\":{\"version\":1.5,\"identifier\":\"00\"}}", RING_PARSE_BAD_VERSION},
        {"{\"Identity\":{\"version\":true,\"identifier\":\"00\"}}", RING_PARSE_BAD_VERSION},
        {"{\"Identity\":{\"version\":\"1x\",\"identifier\":\"00\"}}", RING_PARSE_BAD_VERSION},
        {"{\"Identity\":{\"version\":\"\",\"identifier\":\"00\"}}", RING_PARSE_BAD_VERSION},
        {"{\"Identity\":{\"version\":1}}", RING_PARSE_BAD_IDENTIFIER},
        {"{\"Identity\":{\"version\":1,\"identifier\":\"\"}}", RING_PARSE_BAD_IDENTIFIER},
        {"{\"Identity\":{\"version\":1,\"identifier\":\"abc\"}}", RING_PARSE_BAD_IDENTIFIER},
        {"{\"Identity\":{\"version\":1,\"identifier\":\"zz\"}}", RING_PARSE_BAD_IDENTIFIER},
        {"{\"Identity\":{\"version\":1,\"identifier\":12}}", RING_PARSE_BAD_IDENTIFIER},
        {"{" ID_OK ",\"WorkerNetAddress\":[]}", RING_PARSE_BAD_ADDRESS},
        {"{" ID_OK ",\"WorkerNetAddress\":{\"Host\":7}}", RING_PARSE_BAD_HOST},
        {"{" ID_OK ",\"WorkerNetAddress\":{\"Host\":\"\"}}", RING_PARSE_BAD_HOST},
        {"{" ID_OK ",\"WorkerNetAddress\":{\"Host\":\"a\\u0000b\"}}", RING_PARSE_BAD_HOST},
        {"{" ID_OK ",\"WorkerNetAddress\":{\"HttpServerPort\":0}}", RING_PARSE_BAD_PORT},
        {"{" ID_OK ",\"WorkerNetAddress\":{\"HttpServerPort\":65536}}", RING_PARSE_BAD_PORT},
        {"{" ID_OK ",\"WorkerNetAddress\":{\"HttpServerPort\":\"80\"}}", RING_PARSE_BAD_PORT},
        {"{" ID_OK ",\"WorkerNetAddress\":{\"HttpServerPort\":null}}", RING_PARSE_BAD_PORT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ring_worker w = {.http_port = 7};
        enum ring_parse_result got = parse(cases[i].value, &w);
        cr_expect_eq(got, cases[i].want, "case %zu %s: got %s", i, cases[i].value,
                     ring_parse_str(got));
        cr_expect_eq(w.http_port, 7, "case %zu wrote *out", i);
    }
}

Test(ring_parse, limits)
{
    struct ring_worker w;
    /* A NUL inside the value is junk after the JSON text, not an end. */
    static const char nul[] = "{" ID_OK "}\0{";
    cr_assert_eq(ring_worker_parse(nul, sizeof nul - 1, &w), RING_PARSE_NOT_JSON);
    /* Longest identifier and host accepted, one more refused. */
    char value[RING_WORKER_VALUE_MAX_BYTES + 2];
    char id[2 * RING_IDENTIFIER_MAX_BYTES + 3], host[RING_HOST_MAX_BYTES + 2];
    memset(id, 'a', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(value, sizeof value, "{\"Identity\":{\"version\":1,\"identifier\":\"%.*s\"}}",
             2 * RING_IDENTIFIER_MAX_BYTES, id);
    cr_assert_eq(parse(value, &w), RING_PARSE_OK);
    snprintf(value, sizeof value, "{\"Identity\":{\"version\":1,\"identifier\":\"%s\"}}", id);
    cr_assert_eq(parse(value, &w), RING_PARSE_BAD_IDENTIFIER);
    snprintf(value, sizeof value, "{" ID_OK ",\"WorkerNetAddress\":{\"Host\":\"%.*s\"}}",
             RING_HOST_MAX_BYTES, host);
    cr_assert_eq(parse(value, &w), RING_PARSE_OK);
    snprintf(value, sizeof value, "{" ID_OK ",\"WorkerNetAddress\":{\"Host\":\"%s\"}}", host);
    cr_assert_eq(parse(value, &w), RING_PARSE_BAD_HOST);
    /* Whole value over the cap, and nesting over the depth limit. */
    memset(value, ' ', sizeof value);
    memcpy(value, "{" ID_OK "}", sizeof("{" ID_OK "}") - 1);
    cr_assert_eq(ring_worker_parse(value, RING_WORKER_VALUE_MAX_BYTES, &w), RING_PARSE_OK);
    cr_assert_eq(ring_worker_parse(value, RING_WORKER_VALUE_MAX_BYTES + 1, &w), RING_PARSE_TOO_BIG);
    char deep[256];
    int n = snprintf(deep, sizeof deep, "{" ID_OK ",\"x\":%s}",
                     "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]");
    cr_assert_eq(ring_worker_parse(deep, (size_t)n, &w), RING_PARSE_NOT_JSON);
}

/* ---- worker_hosts -------------------------------------------------------------------------- */

Test(ring_hosts, split_and_trim)
{
    struct ring_worker ws[4], one;
    size_t n = 9, skipped = 9;
    const char *list = " a ,b:80,\t, ,c";
    cr_assert_eq(ring_workers_from_hosts(list, strlen(list), 1234, ws, 4, &n, &skipped), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(skipped, 2);
    cr_assert_str_eq(ws[0].host, "a");
    cr_assert_str_eq(ws[1].host, "b:80"); /* not split: host:port is one name (section 1.5) */
    cr_assert_eq(ws[1].http_port, 1234);
    cr_assert_eq(ring_worker_from_host("a", 1, 1234, &one), 0);
    cr_assert_eq(memcmp(one.identifier, ws[0].identifier, 16), 0);
    cr_assert_eq(ring_workers_from_hosts(list, strlen(list), 1234, ws, 2, &n, &skipped), -E2BIG);
    cr_assert_eq(ring_worker_from_host("a", 1, 0, &one), -EINVAL);
    cr_assert_eq(ring_worker_from_host("", 0, 1, &one), -EINVAL);
}

/* ---- building and lookups ------------------------------------------------------------------ */

static struct ring_worker worker(const char *hex, const char *host, uint16_t port)
{
    struct ring_worker w;
    hex_identity(hex, &w);
    size_t len = strlen(host);
    memcpy(w.host, host, len + 1);
    w.http_port = port;
    return w;
}

/* A repeated identity is one worker, at its first position, with its last address. */
Test(ring_build, duplicate_identity)
{
    struct ring_worker ws[] = {
        worker("aa", "first", 1),
        worker("bb", "other", 2),
        worker("aa", "last", 3),
    };
    struct ring *r;
    cr_assert_eq(ring_new(ws, 3, 50, &r), 0);
    cr_assert_eq(ring_worker_count(r), 2);
    cr_assert_str_eq(ring_worker_at(r, 0)->host, "last");
    cr_assert_eq(ring_worker_at(r, 0)->http_port, 3);
    cr_assert_str_eq(ring_worker_at(r, 1)->host, "other");
    cr_assert_eq(ring_vnodes(r), 50);
    /* count above the worker count is capped at it. */
    const struct ring_worker *out[8];
    cr_assert_eq(ring_lookup(r, "s3://b/k", 8, 8, out), 2);
    cr_assert_neq(out[0], out[1]);
    /* Same identity with another version is another worker. */
    ws[2].version = 2;
    ring_free(r);
    cr_assert_eq(ring_new(ws, 3, 50, &r), 0);
    cr_assert_eq(ring_worker_count(r), 3);
    ring_free(r);
}

Test(ring_build, empty_and_limits)
{
    struct ring *r = NULL;
    const struct ring_worker *out[1];
    cr_assert_eq(ring_new(NULL, 0, 5, &r), 0);
    cr_assert_eq(ring_lookup(r, "s3://b/k", 8, 1, out), 0);
    ring_free(r);
    ring_free(NULL);
    struct ring_worker w = worker("aa", "h", 1);
    cr_assert_eq(ring_new(&w, 1, 0, &r), -EINVAL);
    cr_assert_eq(ring_new(&w, 1, RING_VNODES_MAX + 1, &r), -EINVAL);
    cr_assert_eq(ring_new(&w, 1, RING_VNODES_MAX, &r), 0);
    cr_assert_eq(ring_lookup(r, "x", 1, 0, out), 0);
    cr_assert_eq(ring_lookup(r, "x", 1, 1, out), 1);
    ring_free(r);
    /* RING_POINTS_MAX: 64 distinct workers x 65536 points is one over. */
    struct ring_worker many[65];
    for (int i = 0; i < 65; i++) {
        char hex[3];
        snprintf(hex, sizeof hex, "%02x", i);
        many[i] = worker(hex, "h", 1);
    }
    cr_assert_eq(ring_new(many, 65, RING_POINTS_MAX / 64, &r), -E2BIG);
}
