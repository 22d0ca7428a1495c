/*
 * Unit tests for core/sigv4_verify.c and core/sigv4_body.c (included, so the statics are in
 * reach): every s3.jsonl request verifies at its `now`; every s3-negative.jsonl request is refused
 * with exactly its expected_error (status, Code, Message and the extra elements it lists); the
 * S3 docs' aws-chunked example at every split point; the signed-payload hash; then tables of junk
 * Authorization headers and presigned queries, the clock boundaries, tokens, and a replay of the
 * fuzz corpus (tests/fuzz/corpus/sigv4_verify) through the fuzz target.
 *
 * The vectors directory is $SIGV4_VECTORS_DIR, else the compile-time SIGV4_VECTORS_DIR.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "../../../core/sigv4_body.c" /* relative: "core/..." would find this file */
#include "../../../core/sigv4_verify.c"

#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <strings.h>

#ifndef SIGV4_VECTORS_DIR
#define SIGV4_VECTORS_DIR "tests/vectors/sigv4"
#endif
#ifndef CONF_TEST_SOURCE_ROOT
#define CONF_TEST_SOURCE_ROOT "."
#endif

#define TEST_CAP     (1024 * 1024) /* buffer cap for everything built here */
#define TREQ_MAX     40            /* headers in one test request */
#define T_NOW        1710506096    /* 20240315T123456Z, the generated vectors' signing time */
#define T_AMZ_DATE   "20240315T123456Z"
#define T_AK         "AKIAIOSFODNN7EXAMPLE"
#define T_SECRET     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define T_TEMP_AK    "ASIATEMPORARYEXAMPLE"
#define T_TEMP_KEY   "temporary/secret+key"
#define T_TEMP_TOKEN "FwoGZXIvYXdzEXAMPLE//token+abc=="
#define CHUNK_BODY   66824 /* s3-chunked.jsonl: the encoded body */

/* ---- helpers ------------------------------------------------------------------------------- */

static char *vec_path(const char *rel)
{
    const char *dir = getenv("SIGV4_VECTORS_DIR");
    struct buf b;
    buf_init(&b, 4096);
    cr_assert_eq(buf_appendf(&b, "%s/%s", dir && *dir ? dir : SIGV4_VECTORS_DIR, rel), 0);
    return b.data;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    struct buf b;
    buf_init(&b, 16 * TEST_CAP);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        cr_assert_eq(buf_append(&b, chunk, n), 0);
    fclose(f);
    cr_assert_eq(buf_append(&b, "", 0), 0);
    if (len)
        *len = b.len;
    return b.data;
}

static size_t jsonl_each(const char *file, void (*fn)(json_object *, void *), void *arg)
{
    char *abs = vec_path(file);
    char *text = slurp(abs, NULL);
    size_t n = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (*line) {
            json_object *o = json_tokener_parse(line);
            cr_assert_not_null(o, "%s line %zu does not parse", file, n + 1);
            fn(o, arg);
            json_object_put(o);
            n++;
        }
        line = nl ? nl + 1 : line + strlen(line);
    }
    free(text);
    free(abs);
    return n;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    return json_object_get_string(v);
}

static time_t amz_time(const char *s)
{
    time_t t;
    cr_assert(verify_parse_amz_date(s, strlen(s), &t), "bad date %s", s);
    return t;
}

/* Base64 body of a vector; *len its length. */
static unsigned char *b64(const char *s, size_t *len)
{
    size_t in = strlen(s);
    unsigned char *out = malloc(in + 4);
    cr_assert_not_null(out);
    int n = in ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)in) : 0;
    cr_assert_geq(n, 0);
    while (in && n > 0 && s[in - 1] == '=') { /* DecodeBlock counts the padding */
        in--;
        n--;
    }
    *len = (size_t)n;
    return out;
}

/* The credential table every test uses. */
struct key {
    const char *ak, *secret, *token;
};

static const struct key default_keys[] = {
    {T_AK, T_SECRET, NULL},
    {T_TEMP_AK, T_TEMP_KEY, T_TEMP_TOKEN},
    {NULL, NULL, NULL},
};

static int lookup_calls;

static int test_lookup(void *arg, const char *access_key, struct sigv4_verify_secret *out)
{
    const struct key *k = arg ? arg : default_keys;
    lookup_calls++;
    for (; k->ak; k++)
        if (strcmp(k->ak, access_key) == 0) {
            out->secret_key = k->secret;
            out->session_token = k->token;
            return 0;
        }
    return -ENOENT;
}

static struct sigv4_verify_config test_config(const char *region, bool strict,
                                              const struct key *keys, struct sigv4_key_cache *cache)
{
    return (struct sigv4_verify_config){
        .region = region,
        .service = "s3",
        .lookup = test_lookup,
        .lookup_arg = (void *)keys,
        .key_cache = cache,
        .require_content_sha256 = strict,
    };
}

static const char *extra(const struct sigv4_error *err, const char *name)
{
    for (size_t i = 0; i < err->extra_count; i++)
        if (strcmp(err->extras[i].name, name) == 0)
            return err->extras[i].value;
    return NULL;
}

/* A request as a vector gives it: path and query exactly as on the wire, every header sent. */
struct vreq {
    char *path;
    const char *query;
    struct sigv4_header headers[TREQ_MAX];
    size_t n;
    struct sigv4_verify_request req;
};

static void vreq_load(json_object *o, struct vreq *v)
{
    memset(v, 0, sizeof(*v));
    const char *url = jstr(o, "url");
    const char *host = strstr(url, "://");
    cr_assert_not_null(host);
    const char *target = host + 3 + strcspn(host + 3, "/?");
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    v->path = plen ? strndup(target, plen) : strdup("/");
    v->query = q ? q + 1 : "";
    json_object *headers;
    cr_assert(json_object_object_get_ex(o, "headers", &headers));
    for (size_t i = 0; i < json_object_array_length(headers); i++) {
        json_object *h = json_object_array_get_idx(headers, i);
        const char *name = json_object_get_string(json_object_array_get_idx(h, 0));
        const char *value = json_object_get_string(json_object_array_get_idx(h, 1));
        cr_assert_lt(v->n, TREQ_MAX);
        v->headers[v->n++] = (struct sigv4_header){name, strlen(name), value, strlen(value)};
    }
    v->req = (struct sigv4_verify_request){
        .method = jstr(o, "method"),
        .path = v->path,
        .path_len = strlen(v->path),
        .query = v->query,
        .query_len = strlen(v->query),
        .headers = v->headers,
        .header_count = v->n,
    };
}

/* ---- s3.jsonl: every request verifies ---------------------------------------------------------
 */

struct s3_run {
    struct sigv4_key_cache *cache;
    size_t checked, bodies;
};

static void s3_verify_once(json_object *o, struct vreq *v, struct sigv4_key_cache *cache,
                           bool strict, struct s3_run *run)
{
    const char *name = jstr(o, "name");
    const struct key keys[] = {
        {jstr(o, "access_key"), jstr(o, "secret_key"), jstr(o, "session_token")},
        {NULL, NULL, NULL},
    };
    struct sigv4_verify_config cfg = test_config(jstr(o, "region"), strict, keys, cache);
    struct sigv4_auth auth;
    struct sigv4_error err;
    enum sigv4_verify_error e = sigv4_verify(&cfg, &v->req, amz_time(jstr(o, "now")), &auth, &err);
    cr_expect_eq(e, SIGV4_VERIFY_OK, "%s: %s %s", name, err.code, err.message);
    if (e != SIGV4_VERIFY_OK) {
        for (size_t i = 0; i < err.extra_count; i++)
            cr_log_error("%s: %s = %s", name, err.extras[i].name, err.extras[i].value);
        sigv4_error_free(&err);
        return;
    }
    bool presigned = strcmp(jstr(o, "kind"), "presigned") == 0;
    const char *payload = jstr(o, "payload_hash");
    cr_expect_eq(auth.presigned, presigned, "%s", name);
    cr_expect_str_eq(auth.access_key, jstr(o, "access_key"), "%s", name);
    cr_expect_str_eq(auth.seed_signature, jstr(o, "expected_signature"), "%s", name);
    cr_expect_str_eq(auth.scope, jstr(o, "credential_scope"), "%s", name);
    cr_expect_str_eq(auth.amz_date, jstr(o, "amz_date"), "%s", name);
    cr_expect_not(auth.payload_hash_assumed, "%s", name);
    if (strcmp(payload, SIGV4_UNSIGNED_PAYLOAD) == 0) {
        cr_expect_eq(auth.payload_mode, SIGV4_PAYLOAD_UNSIGNED, "%s", name);
    } else {
        cr_expect_eq(auth.payload_mode, SIGV4_PAYLOAD_SHA256, "%s", name);
        cr_expect_str_eq(auth.payload_hash, payload, "%s", name);
        /* And the body it came with passes the streaming check, split in two anywhere. */
        size_t len;
        unsigned char *body = b64(jstr(o, "body_b64"), &len);
        for (size_t split = 0; split <= len; split++) {
            struct sigv4_body_hash *h = sigv4_body_hash_create(auth.payload_hash);
            cr_assert_not_null(h);
            cr_assert_eq(sigv4_body_hash_update(h, body, split), 0);
            cr_assert_eq(sigv4_body_hash_update(h, body + split, len - split), 0);
            struct sigv4_error berr = {0};
            cr_expect_eq(sigv4_body_hash_finish(h, &berr), SIGV4_VERIFY_OK, "%s split %zu", name,
                         split);
            sigv4_error_free(&berr);
            sigv4_body_hash_destroy(h);
        }
        free(body);
        run->bodies++;
    }
    for (size_t i = 0; i < 32; i++)
        cr_expect_eq(auth.signing_key[i], 0, "%s: key kept for a non-streaming request", name);
    sigv4_auth_clear(&auth);
    sigv4_error_free(&err);
}

static void s3_line(json_object *o, void *arg)
{
    struct s3_run *run = arg;
    struct vreq v;
    vreq_load(o, &v);
    s3_verify_once(o, &v, NULL, false, run);
    s3_verify_once(o, &v, run->cache, false, run); /* fills the shared cache */
    s3_verify_once(o, &v, run->cache, true, run);  /* from the cache; strict changes nothing */
    free(v.path);
    run->checked++;
}

Test(sigv4_verify_vectors, s3_jsonl_all_verify)
{
    struct s3_run run = {sigv4_key_cache_create(), 0, 0};
    cr_assert_not_null(run.cache);
    size_t n = jsonl_each("s3.jsonl", s3_line, &run);
    cr_expect_eq(n, 43);
    cr_expect_eq(run.checked, 43);
    cr_expect_gt(run.bodies, 0);
    sigv4_key_cache_destroy(run.cache);
}

/* ---- s3-negative.jsonl: every request refused, exactly as expected --------------------------- */

struct neg_run {
    bool strict;
    size_t refused, accepted;
};

static void neg_check_error(json_object *o, const struct sigv4_error *err)
{
    const char *name = jstr(o, "name");
    json_object *want;
    cr_assert(json_object_object_get_ex(o, "expected_error", &want));
    json_object_object_foreach(want, key, val)
    {
        const char *w = json_object_get_string(val);
        if (strcmp(key, "http_status") == 0)
            cr_expect_eq(err->http_status, json_object_get_int(val), "%s", name);
        else if (strcmp(key, "code") == 0)
            cr_expect_str_eq(err->code, w, "%s", name);
        else if (strcmp(key, "message") == 0)
            cr_expect_str_eq(err->message, w, "%s", name);
        else {
            const char *got = extra(err, key);
            cr_expect_not_null(got, "%s: no <%s>", name, key);
            if (got)
                cr_expect_str_eq(got, w, "%s: <%s>", name, key);
        }
    }
    cr_expect_eq(err->http_status, sigv4_verify_error_status(err->kind), "%s", name);
    cr_expect_str_eq(err->code, sigv4_verify_error_code(err->kind), "%s", name);

    if (strcmp(err->code, "SignatureDoesNotMatch") == 0) {
        /* The elements S3 adds, holding what we computed (the vector's expectations). */
        cr_expect_str_eq(extra(err, "AWSAccessKeyId"), jstr(o, "access_key"), "%s", name);
        cr_expect_str_eq(extra(err, "StringToSign"), jstr(o, "expected_string_to_sign"), "%s",
                         name);
        cr_expect_str_eq(extra(err, "CanonicalRequest"), jstr(o, "expected_canonical_request"),
                         "%s", name);
        cr_expect_str_eq(extra(err, "SignatureProvided"), jstr(o, "provided_signature"), "%s",
                         name);
        const char *sts = jstr(o, "expected_string_to_sign");
        const char *bytes = extra(err, "StringToSignBytes");
        cr_assert_not_null(bytes);
        cr_expect_eq(strlen(bytes), 3 * strlen(sts) - 1, "%s", name);
        cr_expect_eq(strncmp(bytes, "41 57 53 34 2d", 14), 0, "%s: %s", name, bytes);
        cr_expect_not_null(extra(err, "CanonicalRequestBytes"), "%s", name);
    }
    /* The XML the server adds after Message. */
    struct buf x;
    buf_init(&x, 16 * TEST_CAP);
    cr_assert_eq(sigv4_error_append_xml(err, &x), 0);
    for (size_t i = 0; i < err->extra_count; i++) {
        char open[64];
        snprintf(open, sizeof(open), "<%s>", err->extras[i].name);
        cr_expect_not_null(x.data && strstr(x.data, open), "%s: %s", name, open);
    }
    buf_free(&x);
}

static void neg_line(json_object *o, void *arg)
{
    struct neg_run *run = arg;
    const char *name = jstr(o, "name");
    struct vreq v;
    vreq_load(o, &v);
    struct sigv4_verify_config cfg = test_config("us-east-1", run->strict, NULL, NULL);
    struct sigv4_auth auth;
    struct sigv4_error err;
    enum sigv4_verify_error e = sigv4_verify(&cfg, &v.req, amz_time(jstr(o, "now")), &auth, &err);

    if (e == SIGV4_VERIFY_OK && auth.payload_mode == SIGV4_PAYLOAD_SHA256 &&
        !auth.payload_hash_assumed) {
        /* neg-payload-hash-mismatch: the headers verify, the body does not. */
        size_t len;
        unsigned char *body = b64(jstr(o, "body_b64"), &len);
        struct sigv4_body_hash *h = sigv4_body_hash_create(auth.payload_hash);
        cr_assert_not_null(h);
        cr_assert_eq(sigv4_body_hash_update(h, body, len), 0);
        e = sigv4_body_hash_finish(h, &err);
        sigv4_body_hash_destroy(h);
        free(body);
    }
    if (!run->strict && strcmp(name, "neg-missing-content-sha256") == 0) {
        /* Lenient mode (the default): curl --aws-sigv4 sends no x-amz-content-sha256 and signs
         * the empty body's hash; the signature in this vector is correct, so it verifies. */
        cr_expect_eq(e, SIGV4_VERIFY_OK, "%s: %s", name, err.message);
        cr_expect(auth.payload_hash_assumed);
        cr_expect_eq(auth.payload_mode, SIGV4_PAYLOAD_SHA256);
        cr_expect_str_eq(auth.payload_hash, SIGV4_EMPTY_SHA256);
        run->accepted++;
    } else {
        cr_expect_neq(e, SIGV4_VERIFY_OK, "%s was accepted", name);
        cr_expect_eq(err.kind, e, "%s", name);
        neg_check_error(o, &err);
        run->refused++;
    }
    sigv4_auth_clear(&auth);
    sigv4_error_free(&err);
    free(v.path);
}

Test(sigv4_verify_vectors, s3_negative_strict_all_refused_exactly)
{
    struct neg_run run = {true, 0, 0};
    size_t n = jsonl_each("s3-negative.jsonl", neg_line, &run);
    cr_expect_eq(n, 15);
    cr_expect_eq(run.refused, 15);
}

Test(sigv4_verify_vectors, s3_negative_lenient_all_but_missing_sha256_refused)
{
    struct neg_run run = {false, 0, 0};
    size_t n = jsonl_each("s3-negative.jsonl", neg_line, &run);
    cr_expect_eq(n, 15);
    cr_expect_eq(run.refused, 14);
    cr_expect_eq(run.accepted, 1);
}

/* ---- s3-chunked.jsonl ------------------------------------------------------------------------ */

struct chunked_vec {
    struct vreq v;
    json_object *o;
    char *body;
    size_t body_len;
    char *decoded;
    size_t decoded_len;
    struct sigv4_auth auth;
};

static void chunked_load_line(json_object *o, void *arg)
{
    struct chunked_vec *cv = arg;
    cv->o = json_object_get(o);
}

static void chunked_load(struct chunked_vec *cv)
{
    memset(cv, 0, sizeof(*cv));
    cr_assert_eq(jsonl_each("s3-chunked.jsonl", chunked_load_line, cv), 1);
    vreq_load(cv->o, &cv->v);
    json_object *chunks;
    cr_assert(json_object_object_get_ex(cv->o, "chunks", &chunks));
    struct buf body, decoded;
    buf_init(&body, TEST_CAP);
    buf_init(&decoded, TEST_CAP);
    for (size_t i = 0; i < json_object_array_length(chunks); i++) {
        json_object *c = json_object_array_get_idx(chunks, i);
        size_t size = (size_t)json_object_get_int(json_object_object_get(c, "size"));
        const char *fill = jstr(c, "fill");
        cr_assert_eq(buf_append_str(&body, jstr(c, "chunk_header")), 0);
        for (size_t k = 0; k < size; k++) {
            cr_assert_eq(buf_append_char(&body, fill[0]), 0);
            cr_assert_eq(buf_append_char(&decoded, fill[0]), 0);
        }
        cr_assert_eq(buf_append(&body, "\r\n", 2), 0);
    }
    cr_assert_eq(buf_append(&decoded, "", 0), 0);
    cv->body = body.data;
    cv->body_len = body.len;
    cv->decoded = decoded.data;
    cv->decoded_len = decoded.len;

    struct sigv4_verify_config cfg = test_config("us-east-1", true, NULL, NULL);
    struct sigv4_error err;
    enum sigv4_verify_error e =
        sigv4_verify(&cfg, &cv->v.req, amz_time(jstr(cv->o, "now")), &cv->auth, &err);
    cr_assert_eq(e, SIGV4_VERIFY_OK, "seed request: %s %s", err.code, err.message);
    sigv4_error_free(&err);
}

static void chunked_free(struct chunked_vec *cv)
{
    sigv4_auth_clear(&cv->auth);
    free(cv->v.path);
    free(cv->body);
    free(cv->decoded);
    json_object_put(cv->o);
}

/* Feed body in the pieces cut at splits[0..n) (ascending); the decoded bytes go to out. Returns
 * the verdict: OK, or the error in err. */
static enum sigv4_verify_error chunked_run(const struct sigv4_auth *auth, uint64_t decoded_length,
                                           const char *body, size_t len, const size_t *splits,
                                           size_t n, struct buf *out, struct sigv4_error *err)
{
    struct sigv4_chunked *c = sigv4_chunked_create(auth, decoded_length);
    cr_assert_not_null(c);
    enum sigv4_verify_error e = SIGV4_VERIFY_OK;
    size_t from = 0;
    for (size_t k = 0; k <= n && e == SIGV4_VERIFY_OK; k++) {
        size_t to = k < n ? splits[k] : len;
        const char *pos = body + from, *end = body + to;
        for (;;) {
            const char *data;
            size_t data_len;
            enum sigv4_chunked_rc rc = sigv4_chunked_parse(c, &pos, end, &data, &data_len, err);
            if (rc == SIGV4_CHUNKED_DATA) {
                cr_assert_gt(data_len, 0);
                cr_assert(data >= body + from && data + data_len <= end);
                cr_assert_eq(buf_append(out, data, data_len), 0);
                continue;
            }
            if (rc == SIGV4_CHUNKED_ERROR) {
                e = err->kind;
                cr_assert_neq(e, SIGV4_VERIFY_OK);
            } else if (rc == SIGV4_CHUNKED_DONE) {
                cr_assert(to == len && pos == end, "DONE before the end of the body");
            } else {
                cr_assert(pos == end, "AGAIN with input left");
            }
            break;
        }
        from = to;
    }
    if (e == SIGV4_VERIFY_OK)
        e = sigv4_chunked_finish(c, err);
    sigv4_chunked_destroy(c);
    return e;
}

Test(sigv4_verify_chunked, seed_request_verifies)
{
    struct chunked_vec cv;
    chunked_load(&cv);
    cr_expect_eq(cv.auth.payload_mode, SIGV4_PAYLOAD_STREAMING_SIGNED);
    cr_expect_str_eq(cv.auth.seed_signature, jstr(cv.o, "expected_signature"));
    cr_expect_eq(cv.auth.decoded_content_length, 66560);
    cr_expect_eq(cv.body_len, CHUNK_BODY);
    cr_expect_eq(cv.decoded_len, 66560);
    bool key_set = false;
    for (size_t i = 0; i < 32; i++)
        key_set |= cv.auth.signing_key[i] != 0;
    cr_expect(key_set);
    chunked_free(&cv);
}

Test(sigv4_verify_chunked, whole_body_decodes)
{
    struct chunked_vec cv;
    chunked_load(&cv);
    struct buf out;
    buf_init(&out, TEST_CAP);
    struct sigv4_error err = {0};
    cr_expect_eq(chunked_run(&cv.auth, cv.auth.decoded_content_length, cv.body, cv.body_len, NULL,
                             0, &out, &err),
                 SIGV4_VERIFY_OK, "%s %s", err.code, err.message);
    cr_expect_eq(out.len, cv.decoded_len);
    cr_expect_eq(memcmp(out.data, cv.decoded, cv.decoded_len), 0);
    buf_free(&out);
    sigv4_error_free(&err);
    chunked_free(&cv);
}

/* Every split point of the body into two reads. */
Test(sigv4_verify_chunked, every_split_point, .timeout = 120)
{
    struct chunked_vec cv;
    chunked_load(&cv);
    struct buf out;
    buf_init(&out, TEST_CAP);
    for (size_t split = 0; split <= cv.body_len; split++) {
        struct sigv4_error err = {0};
        buf_reset(&out);
        enum sigv4_verify_error e =
            chunked_run(&cv.auth, UINT64_MAX, cv.body, cv.body_len, &split, 1, &out, &err);
        if (e != SIGV4_VERIFY_OK || out.len != cv.decoded_len)
            cr_assert_fail("split %zu: %s %s, %zu bytes", split, err.code, err.message, out.len);
        sigv4_error_free(&err);
    }
    cr_expect_eq(memcmp(out.data, cv.decoded, cv.decoded_len), 0);
    buf_free(&out);
    chunked_free(&cv);
}

/* Three reads, both cuts inside or around the framing, and one byte at a time. */
Test(sigv4_verify_chunked, many_splits_and_byte_at_a_time)
{
    struct chunked_vec cv;
    chunked_load(&cv);
    struct buf out;
    buf_init(&out, TEST_CAP);
    /* Where the framing is: the first header, the CRLF + second header, the tail. */
    const size_t marks[] = {0,     1,     5,     22,    86,    87,    88,    65624,
                            65625, 65626, 65700, 65710, 65711, 65712, 66736, 66737,
                            66738, 66820, 66821, 66822, 66823, 66824};
    size_t nm = sizeof(marks) / sizeof(marks[0]);
    for (size_t i = 0; i < nm; i++)
        for (size_t j = i; j < nm; j++) {
            size_t cuts[2] = {marks[i], marks[j]};
            struct sigv4_error err = {0};
            buf_reset(&out);
            cr_assert_eq(chunked_run(&cv.auth, 66560, cv.body, cv.body_len, cuts, 2, &out, &err),
                         SIGV4_VERIFY_OK, "cuts %zu %zu: %s", cuts[0], cuts[1], err.message);
            cr_assert_eq(out.len, cv.decoded_len);
            sigv4_error_free(&err);
        }
    size_t *every = malloc(cv.body_len * sizeof(*every));
    cr_assert_not_null(every);
    for (size_t i = 0; i < cv.body_len; i++)
        every[i] = i + 1;
    struct sigv4_error err = {0};
    buf_reset(&out);
    cr_expect_eq(
        chunked_run(&cv.auth, 66560, cv.body, cv.body_len, every, cv.body_len - 1, &out, &err),
        SIGV4_VERIFY_OK, "%s", err.message);
    cr_expect_eq(out.len, cv.decoded_len);
    cr_expect_eq(memcmp(out.data, cv.decoded, cv.decoded_len), 0);
    sigv4_error_free(&err);
    free(every);
    buf_free(&out);
    chunked_free(&cv);
}

/* One defect in a copy of the body -> the error, at any split. */
static void chunked_expect_refused(const struct chunked_vec *cv, const char *body, size_t len,
                                   uint64_t decoded_length, enum sigv4_verify_error want,
                                   const char *what)
{
    const size_t splits[] = {0, 1, 50, 87, 88, 1000, 65624, 66000, 66800, len};
    for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
        size_t s = splits[i] > len ? len : splits[i];
        struct buf out;
        buf_init(&out, TEST_CAP);
        struct sigv4_error err = {0};
        enum sigv4_verify_error e =
            chunked_run(&cv->auth, decoded_length, body, len, &s, 1, &out, &err);
        cr_expect_eq(e, want, "%s (split %zu): got %s %s", what, s, err.code, err.message);
        cr_expect_eq(err.http_status, sigv4_verify_error_status(want), "%s", what);
        sigv4_error_free(&err);
        buf_free(&out);
    }
}

static char *body_with(const struct chunked_vec *cv, size_t at, const char *bytes, size_t n,
                       size_t drop, size_t *len)
{
    /* The body with `drop` bytes at `at` replaced by `bytes`. */
    char *b = malloc(cv->body_len + n + 1);
    cr_assert_not_null(b);
    memcpy(b, cv->body, at);
    memcpy(b + at, bytes, n);
    memcpy(b + at + n, cv->body + at + drop, cv->body_len - at - drop);
    *len = cv->body_len - drop + n;
    return b;
}

Test(sigv4_verify_chunked, defects_are_refused)
{
    struct chunked_vec cv;
    chunked_load(&cv);
    size_t len;
    char *b;
    /* Where the pieces are (the vector's body_layout): "10000;chunk-signature=<64>" (86 bytes)
     * CRLF, 65536 data, CRLF, "400;chunk-signature=<64>" (84) CRLF, 1024 data, CRLF, the final
     * "0;chunk-signature=<64>" (82) CRLF CRLF. */
    const size_t sig1 = 22, data1 = 88, crlf1 = data1 + 65536, hdr2 = crlf1 + 2;

    b = body_with(&cv, data1 + 5, "b", 1, 1, &len);
    chunked_expect_refused(&cv, b, len, 66560, SIGV4_VERIFY_SIGNATURE_DOES_NOT_MATCH,
                           "data byte of chunk 1");
    free(b);
    b = body_with(&cv, cv.body_len - 200, "b", 1, 1, &len);
    chunked_expect_refused(&cv, b, len, 66560, SIGV4_VERIFY_SIGNATURE_DOES_NOT_MATCH,
                           "data byte of chunk 2");
    free(b);
    b = body_with(&cv, sig1 + 63, cv.body[sig1 + 63] == '0' ? "1" : "0", 1, 1, &len);
    chunked_expect_refused(&cv, b, len, 66560, SIGV4_VERIFY_SIGNATURE_DOES_NOT_MATCH,
                           "chunk signature 1");
    free(b);
    /* The final chunk's signature (the last 64 hex before the closing CRLFs). */
    b = body_with(&cv, cv.body_len - 5, cv.body[cv.body_len - 5] == '0' ? "1" : "0", 1, 1, &len);
    chunked_expect_refused(&cv, b, len, 66560, SIGV4_VERIFY_SIGNATURE_DOES_NOT_MATCH,
                           "final chunk signature");
    free(b);
    /* Chunks swapped in order would break the chain; so does dropping the middle one. */
    b = body_with(&cv, hdr2, "", 0, 84 + 2 + 1024 + 2, &len);
    chunked_expect_refused(&cv, b, len, UINT64_MAX, SIGV4_VERIFY_SIGNATURE_DOES_NOT_MATCH,
                           "chunk 2 removed");
    free(b);

    /* Framing. */
    b = body_with(&cv, crlf1, "\n\n", 2, 2, &len);
    chunked_expect_refused(&cv, b, len, 66560, SIGV4_VERIFY_INCOMPLETE_BODY, "LF LF after data");
    free(b);
    b = body_with(&cv, 86, "\n", 1, 2, &len); /* header 1 ends in a bare LF */
    chunked_expect_refused(&cv, b, len, 66560, SIGV4_VERIFY_INCOMPLETE_BODY, "bare LF header");
    free(b);
    b = body_with(&cv, 5, ";Chunk-Signature=", 17, 17, &len);
    chunked_expect_refused(&cv, b, len, 66560, SIGV4_VERIFY_INCOMPLETE_BODY, "extension case");
    free(b);
    b = body_with(&cv, 0, "0000000000000010000", 19, 5, &len); /* 19 hex digits */
    chunked_expect_refused(&cv, b, len, 66560, SIGV4_VERIFY_INCOMPLETE_BODY, "long size");
    free(b);
    b = body_with(&cv, 0, "fffffffff", 9, 5, &len); /* over SIGV4_CHUNK_MAX_BYTES */
    chunked_expect_refused(&cv, b, len, UINT64_MAX, SIGV4_VERIFY_INCOMPLETE_BODY, "huge size");
    free(b);
    b = body_with(&cv, 0, "x", 1, 0, &len);
    chunked_expect_refused(&cv, b, len, 66560, SIGV4_VERIFY_INCOMPLETE_BODY, "junk first");
    free(b);
    b = body_with(&cv, 5, "", 0, 81, &len); /* no signature at all */
    chunked_expect_refused(&cv, b, len, 66560, SIGV4_VERIFY_INCOMPLETE_BODY, "no signature");
    free(b);
    char junk[300];
    memset(junk, '1', sizeof(junk));
    b = body_with(&cv, 0, junk, sizeof(junk), 0, &len); /* a header line past the cap */
    chunked_expect_refused(&cv, b, len, 66560, SIGV4_VERIFY_INCOMPLETE_BODY, "long header");
    free(b);

    /* Length. */
    chunked_expect_refused(&cv, cv.body, cv.body_len, 66559, SIGV4_VERIFY_INCOMPLETE_BODY,
                           "decoded length one short");
    chunked_expect_refused(&cv, cv.body, cv.body_len, 66561, SIGV4_VERIFY_INCOMPLETE_BODY,
                           "decoded length one over");
    for (size_t cut = 0; cut < cv.body_len; cut += 997) {
        struct buf out;
        buf_init(&out, TEST_CAP);
        struct sigv4_error err = {0};
        cr_expect_eq(chunked_run(&cv.auth, 66560, cv.body, cut, NULL, 0, &out, &err),
                     SIGV4_VERIFY_INCOMPLETE_BODY, "truncated at %zu", cut);
        sigv4_error_free(&err);
        buf_free(&out);
    }
    {
        struct buf out;
        buf_init(&out, TEST_CAP);
        struct sigv4_error err = {0};
        cr_expect_eq(chunked_run(&cv.auth, 66560, cv.body, cv.body_len - 1, NULL, 0, &out, &err),
                     SIGV4_VERIFY_INCOMPLETE_BODY, "last byte missing");
        sigv4_error_free(&err);
        buf_free(&out);
    }
    /* Bytes after the end: DONE leaves them, the next call refuses them. */
    {
        struct sigv4_chunked *c = sigv4_chunked_create(&cv.auth, 66560);
        char *more = malloc(cv.body_len + 3);
        memcpy(more, cv.body, cv.body_len);
        memcpy(more + cv.body_len, "xyz", 3);
        const char *pos = more, *end = more + cv.body_len + 3, *data;
        size_t dl;
        struct sigv4_error err = {0};
        enum sigv4_chunked_rc rc;
        while ((rc = sigv4_chunked_parse(c, &pos, end, &data, &dl, &err)) == SIGV4_CHUNKED_DATA)
            ;
        cr_expect_eq(rc, SIGV4_CHUNKED_DONE);
        cr_expect_eq(pos, more + cv.body_len);
        cr_expect_eq(sigv4_chunked_parse(c, &pos, end, &data, &dl, &err), SIGV4_CHUNKED_ERROR);
        cr_expect_str_eq(err.code, "IncompleteBody");
        /* Sticky. */
        cr_expect_eq(sigv4_chunked_parse(c, &pos, end, &data, &dl, &err), SIGV4_CHUNKED_ERROR);
        cr_expect_eq(sigv4_chunked_finish(c, &err), SIGV4_VERIFY_INCOMPLETE_BODY);
        sigv4_error_free(&err);
        sigv4_chunked_destroy(c);
        free(more);
    }
    chunked_free(&cv);
}

/* A body of our own: chunks of the given sizes, signed from the vector's seed with its key. */
static char *chunked_make(const struct sigv4_auth *auth, const size_t *sizes, size_t n, char fill,
                          size_t *len)
{
    struct buf b;
    buf_init(&b, 16 * TEST_CAP);
    char prev[65], sig[65], hash[65];
    memcpy(prev, auth->seed_signature, 65);
    for (size_t i = 0; i < n; i++) {
        char *data = malloc(sizes[i] + 1);
        memset(data, fill, sizes[i]);
        sigv4_sha256_hex(data, sizes[i], hash);
        struct buf sts;
        buf_init(&sts, 4096);
        cr_assert_eq(buf_appendf(&sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s",
                                 auth->amz_date, auth->scope, prev, SIGV4_EMPTY_SHA256, hash),
                     0);
        sigv4_signature(auth->signing_key, sts.data, sts.len, sig);
        cr_assert_eq(buf_appendf(&b, "%zx;chunk-signature=%s\r\n", sizes[i], sig), 0);
        cr_assert_eq(buf_append(&b, data, sizes[i]), 0);
        cr_assert_eq(buf_append(&b, "\r\n", 2), 0);
        memcpy(prev, sig, 65);
        buf_free(&sts);
        free(data);
    }
    *len = b.len;
    return b.data;
}

Test(sigv4_verify_chunked, chunk_size_rule)
{
    struct chunked_vec cv;
    chunked_load(&cv);
    size_t len;
    struct buf out;
    buf_init(&out, TEST_CAP);

    /* Our own signer agrees with the vector. */
    const size_t doc[] = {65536, 1024, 0};
    char *b = chunked_make(&cv.auth, doc, 3, 'a', &len);
    cr_expect_eq(len, cv.body_len);
    cr_expect_eq(memcmp(b, cv.body, len), 0);
    free(b);

    /* Small last data chunk, one chunk only, and an empty body: fine. */
    const size_t ok1[] = {8192, 100, 0}, ok2[] = {5, 0}, ok3[] = {0};
    const size_t *oks[] = {ok1, ok2, ok3};
    const size_t okn[] = {3, 2, 1};
    for (size_t i = 0; i < 3; i++) {
        b = chunked_make(&cv.auth, oks[i], okn[i], 'q', &len);
        struct sigv4_error err = {0};
        buf_reset(&out);
        cr_expect_eq(chunked_run(&cv.auth, UINT64_MAX, b, len, NULL, 0, &out, &err),
                     SIGV4_VERIFY_OK, "case %zu: %s", i, err.message);
        sigv4_error_free(&err);
        free(b);
    }
    /* "hello" in chunks of 3: S3 reports chunk 2 and the 3 bytes of chunk 1. */
    const size_t bad[] = {3, 2, 0};
    b = chunked_make(&cv.auth, bad, 3, 'q', &len);
    struct sigv4_error err = {0};
    cr_expect_eq(chunked_run(&cv.auth, UINT64_MAX, b, len, NULL, 0, &out, &err),
                 SIGV4_VERIFY_INVALID_CHUNK_SIZE);
    cr_expect_eq(err.http_status, 400);
    cr_expect_str_eq(err.code, "InvalidChunkSizeError");
    cr_expect_str_eq(extra(&err, "Chunk"), "2");
    cr_expect_str_eq(extra(&err, "BadChunkSize"), "3");
    sigv4_error_free(&err);
    free(b);
    buf_free(&out);

    /* Not for a request in another mode. */
    struct sigv4_auth other = cv.auth;
    other.payload_mode = SIGV4_PAYLOAD_UNSIGNED;
    cr_expect_null(sigv4_chunked_create(&other, UINT64_MAX));
    sigv4_auth_clear(&other);
    chunked_free(&cv);
}

/* ---- signed payload hash ------------------------------------------------------------------- */

Test(sigv4_verify_body_hash, empty_upper_case_and_junk)
{
    struct sigv4_error err = {0};
    struct sigv4_body_hash *h = sigv4_body_hash_create(SIGV4_EMPTY_SHA256);
    cr_assert_not_null(h);
    cr_expect_eq(sigv4_body_hash_finish(h, &err), SIGV4_VERIFY_OK);
    sigv4_body_hash_destroy(h);

    char upper[65];
    for (size_t i = 0; i < 65; i++)
        upper[i] = (char)toupper((unsigned char)SIGV4_EMPTY_SHA256[i]);
    h = sigv4_body_hash_create(upper);
    cr_assert_not_null(h);
    cr_expect_eq(sigv4_body_hash_finish(h, &err), SIGV4_VERIFY_OK);
    sigv4_body_hash_destroy(h);

    h = sigv4_body_hash_create(SIGV4_EMPTY_SHA256);
    cr_assert_eq(sigv4_body_hash_update(h, "x", 1), 0);
    cr_expect_eq(sigv4_body_hash_finish(h, &err), SIGV4_VERIFY_CONTENT_SHA256_MISMATCH);
    cr_expect_str_eq(extra(&err, "ClientComputedContentSHA256"), SIGV4_EMPTY_SHA256);
    cr_expect_str_eq(extra(&err, "S3ComputedContentSHA256"),
                     "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
    sigv4_error_free(&err);
    sigv4_body_hash_destroy(h);

    cr_expect_null(sigv4_body_hash_create("abc"));
    cr_expect_null(sigv4_body_hash_create(SIGV4_UNSIGNED_PAYLOAD));
    cr_expect_null(
        sigv4_body_hash_create("g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    cr_expect_null(sigv4_body_hash_create(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550"));
}

/* ---- requests of our own ----------------------------------------------------------------------
 */

/* A GET signed by sigv4_sign (or presigned below), then changed by a test. */
struct treq {
    const char *method;
    const char *path;
    char query[16384];
    struct sigv4_header h[TREQ_MAX];
    size_t n;
    struct sigv4_signed sig;
    char auth[16384];
};

static void treq_init(struct treq *r, const char *path, const char *query)
{
    memset(r, 0, sizeof(*r));
    r->method = "GET";
    r->path = path;
    snprintf(r->query, sizeof(r->query), "%s", query ? query : "");
}

static void treq_add(struct treq *r, const char *name, const char *value)
{
    cr_assert_lt(r->n, TREQ_MAX);
    r->h[r->n++] = (struct sigv4_header){name, strlen(name), value, strlen(value)};
}

static struct sigv4_header *treq_find(struct treq *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strlen(name) == r->h[i].name_len && strncasecmp(r->h[i].name, name, strlen(name)) == 0)
            return &r->h[i];
    return NULL;
}

static void treq_set(struct treq *r, const char *name, const char *value)
{
    struct sigv4_header *h = treq_find(r, name);
    if (!h) {
        treq_add(r, name, value);
        return;
    }
    h->value = value;
    h->value_len = strlen(value);
}

static void treq_remove(struct treq *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcasecmp(r->h[i].name, name) == 0) {
            memmove(&r->h[i], &r->h[i + 1], (r->n - i - 1) * sizeof(r->h[0]));
            r->n--;
            i--;
        }
}

/* Header auth over every header added so far (host, x-amz-date, x-amz-content-sha256 first). */
static void treq_sign(struct treq *r, const char *ak, const char *secret, time_t t)
{
    struct sigv4_request req = {
        .method = r->method,
        .path = r->path,
        .path_len = strlen(r->path),
        .query = r->query,
        .query_len = strlen(r->query),
        .headers = r->h,
        .header_count = r->n,
        .payload_hash = treq_find(r, "x-amz-content-sha256")
                            ? treq_find(r, "x-amz-content-sha256")->value
                            : SIGV4_EMPTY_SHA256,
    };
    struct sigv4_credentials cred = {ak, secret, NULL};
    cr_assert_eq(sigv4_sign(&req, &cred, "us-east-1", "s3", t, &r->sig), 0);
    snprintf(r->auth, sizeof(r->auth), "%s", r->sig.authorization);
    treq_add(r, "Authorization", r->auth);
}

/* The usual boto3-like GET: signed at t with the default key; a User-Agent added unsigned. */
static void treq_default(struct treq *r, time_t t)
{
    static char date[17];
    sigv4_amz_date(t, date);
    treq_init(r, "/mybucket/photos/cat.jpg", "");
    treq_add(r, "Host", "127.0.0.1:8080");
    treq_add(r, "X-Amz-Date", date);
    treq_add(r, "X-Amz-Content-SHA256", SIGV4_EMPTY_SHA256);
    treq_sign(r, T_AK, T_SECRET, t);
    treq_add(r, "User-Agent", "test/1.0");
}

/* A presigned GET (SignedHeaders host, UNSIGNED-PAYLOAD) made from scratch. */
static void treq_presign(struct treq *r, const char *ak, const char *secret, const char *token,
                         time_t t, const char *expires, const char *extra_query)
{
    char date[17], date8[9];
    sigv4_amz_date(t, date);
    memcpy(date8, date, 8);
    date8[8] = '\0';
    treq_init(r, "/mybucket/photos/cat.jpg", "");
    treq_add(r, "Host", "127.0.0.1:8080");
    struct buf q, tok;
    buf_init(&q, TEST_CAP);
    buf_init(&tok, TEST_CAP);
    if (extra_query)
        cr_assert_eq(buf_appendf(&q, "%s&", extra_query), 0);
    cr_assert_eq(buf_appendf(&q,
                             "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%s%%2F%s%%2Fus-"
                             "east-1%%2Fs3%%2Faws4_request&X-Amz-Date=%s&X-Amz-Expires=%s&X-Amz-"
                             "SignedHeaders=host",
                             ak, date8, date, expires),
                 0);
    if (token) {
        cr_assert_eq(uri_encode(&tok, token, strlen(token), false), 0);
        cr_assert_eq(buf_appendf(&q, "&X-Amz-Security-Token=%s", tok.data), 0);
    }
    struct sigv4_request req = {
        .method = r->method,
        .path = r->path,
        .path_len = strlen(r->path),
        .query = q.data,
        .query_len = q.len,
        .headers = r->h,
        .header_count = r->n,
        .payload_hash = SIGV4_UNSIGNED_PAYLOAD,
    };
    struct buf creq, sts;
    buf_init(&creq, TEST_CAP);
    buf_init(&sts, TEST_CAP);
    cr_assert_eq(sigv4_canonical_request(&req, &creq), 0);
    cr_assert_eq(sigv4_string_to_sign(date, "us-east-1", "s3", creq.data, creq.len, &sts), 0);
    uint8_t key[32];
    char sig[65];
    sigv4_signing_key(secret, date8, "us-east-1", "s3", key);
    sigv4_signature(key, sts.data, sts.len, sig);
    cr_assert_eq(buf_appendf(&q, "&X-Amz-Signature=%s", sig), 0);
    snprintf(r->query, sizeof(r->query), "%s", q.data);
    treq_add(r, "User-Agent", "curl/7.88.1");
    buf_free(&q);
    buf_free(&tok);
    buf_free(&creq);
    buf_free(&sts);
}

static enum sigv4_verify_error treq_verify_cfg(struct treq *r,
                                               const struct sigv4_verify_config *cfg, time_t now,
                                               struct sigv4_auth *auth, struct sigv4_error *err)
{
    struct sigv4_verify_request req = {
        .method = r->method,
        .path = r->path,
        .path_len = strlen(r->path),
        .query = r->query,
        .query_len = strlen(r->query),
        .headers = r->h,
        .header_count = r->n,
    };
    return sigv4_verify(cfg, &req, now, auth, err);
}

/* Verify with the default config; the error's code, or "OK". err is freed. */
static const char *treq_code(struct treq *r, time_t now, bool strict, char *message, size_t mlen)
{
    struct sigv4_verify_config cfg = test_config("us-east-1", strict, NULL, NULL);
    struct sigv4_auth auth;
    struct sigv4_error err;
    enum sigv4_verify_error e = treq_verify_cfg(r, &cfg, now, &auth, &err);
    const char *code = e == SIGV4_VERIFY_OK ? "OK" : err.code;
    if (message)
        snprintf(message, mlen, "%s", err.message);
    cr_assert_eq(err.http_status, sigv4_verify_error_status(e));
    sigv4_error_free(&err);
    sigv4_auth_clear(&auth);
    return code;
}

Test(sigv4_verify_requests, own_requests_verify)
{
    struct treq r;
    treq_default(&r, T_NOW);
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "OK");
    treq_presign(&r, T_AK, T_SECRET, NULL, T_NOW, "900", NULL);
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "OK");
    treq_presign(&r, T_TEMP_AK, T_TEMP_KEY, T_TEMP_TOKEN, T_NOW, "60", "response-expires=0");
    cr_expect_str_eq(treq_code(&r, T_NOW + 60, true, NULL, 0), "OK");
}

/* ---- header junk ----------------------------------------------------------------------------- */

struct junk {
    const char *authorization; /* "%s" is replaced by the valid signature */
    const char *code;          /* "OK" when it must verify */
    const char *message_part;  /* a piece of the message, or NULL */
};

Test(sigv4_verify_requests, authorization_junk_table)
{
    static char huge[2 * SIGV4_VERIFY_MAX_AUTH_BYTES];
    static char long_key[512], long_sig[256];
    memset(huge, 0, sizeof(huge));
    snprintf(huge, sizeof(huge),
             "AWS4-HMAC-SHA256 Credential=" T_AK "/20240315/us-east-1/s3/aws4_request, "
             "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%%s, Pad=");
    memset(huge + strlen(huge), 'p', SIGV4_VERIFY_MAX_AUTH_BYTES);
    size_t at = (size_t)snprintf(long_key, sizeof(long_key), "AWS4-HMAC-SHA256 Credential=");
    memset(long_key + at, 'K', SIGV4_VERIFY_MAX_ACCESS_KEY_BYTES + 1);
    at += SIGV4_VERIFY_MAX_ACCESS_KEY_BYTES + 1;
    snprintf(long_key + at, sizeof(long_key) - at,
             "/20240315/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;"
             "x-amz-date, Signature=%%s");
    snprintf(long_sig, sizeof(long_sig),
             "AWS4-HMAC-SHA256 Credential=" T_AK "/20240315/us-east-1/s3/aws4_request, "
             "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%%s%%s%%s");
#define CRED "Credential=" T_AK "/20240315/us-east-1/s3/aws4_request"
#define SH   "SignedHeaders=host;x-amz-content-sha256;x-amz-date"
    const struct junk table[] = {
        /* the valid forms */
        {"AWS4-HMAC-SHA256 " CRED ", " SH ", Signature=%s", "OK", NULL},
        {"AWS4-HMAC-SHA256 " CRED "," SH ",Signature=%s", "OK", NULL},
        {"AWS4-HMAC-SHA256  " CRED " , " SH " ,Signature=%s ", "OK", NULL},
        {"AWS4-HMAC-SHA256\t" CRED ",\t" SH ",\tSignature=%s", "OK", NULL},
        {"AWS4-HMAC-SHA256 Signature=%s, " SH ", " CRED, "OK", NULL},
        /* other schemes */
        {"", "InvalidArgument", "Unsupported Authorization Type"},
        {"Bearer abc", "InvalidArgument", "Unsupported Authorization Type"},
        {"aws4-hmac-sha256 " CRED ", " SH ", Signature=%s", "InvalidArgument", NULL},
        {"AWS4-HMAC-SHA256" CRED ", " SH ", Signature=%s", "InvalidArgument", NULL},
        {"AWS4-HMAC-SHA512 " CRED ", " SH ", Signature=%s", "InvalidArgument", NULL},
        {"AWS4-ECDSA-P256-SHA256 " CRED ", " SH ", Signature=%s", "InvalidArgument", NULL},
        {"AWS " T_AK ":frJIUN8DYpKDtOLCwo//yllqDzg=", "InvalidRequest", "AWS4-HMAC-SHA256"},
        /* missing parts */
        {"AWS4-HMAC-SHA256", "AuthorizationHeaderMalformed", "three components"},
        {"AWS4-HMAC-SHA256 ", "AuthorizationHeaderMalformed", "three components"},
        {"AWS4-HMAC-SHA256 " CRED, "AuthorizationHeaderMalformed", "three components"},
        {"AWS4-HMAC-SHA256 " CRED ", " SH, "AuthorizationHeaderMalformed", "three components"},
        {"AWS4-HMAC-SHA256 " CRED ", Signature=%s", "AuthorizationHeaderMalformed", NULL},
        {"AWS4-HMAC-SHA256 " SH ", Signature=%s", "AuthorizationHeaderMalformed", NULL},
        {"AWS4-HMAC-SHA256 " CRED ", " SH ", Signature=", "AuthorizationHeaderMalformed", NULL},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=, Signature=%s", "AuthorizationHeaderMalformed",
         NULL},
        {"AWS4-HMAC-SHA256 Credential=, " SH ", Signature=%s", "AuthorizationHeaderMalformed",
         NULL},
        {"AWS4-HMAC-SHA256 " CRED ", " SH ", Signature=%s,", "AuthorizationHeaderMalformed", NULL},
        {"AWS4-HMAC-SHA256 ," CRED ", " SH ", Signature=%s", "AuthorizationHeaderMalformed", NULL},
        {"AWS4-HMAC-SHA256 " CRED ",, " SH ", Signature=%s", "AuthorizationHeaderMalformed", NULL},
        /* duplicates and strangers */
        {"AWS4-HMAC-SHA256 " CRED ", " CRED ", " SH ", Signature=%s",
         "AuthorizationHeaderMalformed", NULL},
        {"AWS4-HMAC-SHA256 " CRED ", " SH ", Signature=%s, Signature=%s",
         "AuthorizationHeaderMalformed", NULL},
        {"AWS4-HMAC-SHA256 " CRED ", " SH ", Signature=%s, Foo=bar", "AuthorizationHeaderMalformed",
         NULL},
        {"AWS4-HMAC-SHA256 credential=" T_AK "/20240315/us-east-1/s3/aws4_request, " SH
         ", Signature=%s",
         "AuthorizationHeaderMalformed", NULL},
        {"AWS4-HMAC-SHA256 Credential " T_AK "/20240315/us-east-1/s3/aws4_request, " SH
         ", Signature=%s",
         "AuthorizationHeaderMalformed", NULL},
        {huge, "AuthorizationHeaderMalformed", NULL},
        /* Credential */
        {"AWS4-HMAC-SHA256 Credential=" T_AK "/20240315/us-east-1/aws4_request, " SH
         ", Signature=%s",
         "AuthorizationHeaderMalformed", "Credential is mal-formed"},
        {"AWS4-HMAC-SHA256 Credential=" T_AK "/20240315/us-east-1/s3/aws4_request/x, " SH
         ", Signature=%s",
         "AuthorizationHeaderMalformed", "Credential is mal-formed"},
        {"AWS4-HMAC-SHA256 Credential=/20240315/us-east-1/s3/aws4_request, " SH ", Signature=%s",
         "AuthorizationHeaderMalformed", "Credential is mal-formed"},
        {"AWS4-HMAC-SHA256 Credential=" T_AK "//us-east-1/s3/aws4_request, " SH ", Signature=%s",
         "AuthorizationHeaderMalformed", "Credential is mal-formed"},
        {"AWS4-HMAC-SHA256 Credential=" T_AK "/2024031/us-east-1/s3/aws4_request, " SH
         ", Signature=%s",
         "AuthorizationHeaderMalformed", "Credential is mal-formed"},
        {"AWS4-HMAC-SHA256 Credential=" T_AK "/202403150/us-east-1/s3/aws4_request, " SH
         ", Signature=%s",
         "AuthorizationHeaderMalformed", "Credential is mal-formed"},
        {"AWS4-HMAC-SHA256 Credential=" T_AK "/20240316/us-east-1/s3/aws4_request, " SH
         ", Signature=%s",
         "AuthorizationHeaderMalformed", "Date is not the same as X-Amz-Date"},
        {"AWS4-HMAC-SHA256 Credential=" T_AK "/20240315/us-west-2/s3/aws4_request, " SH
         ", Signature=%s",
         "AuthorizationHeaderMalformed", "the region 'us-west-2' is wrong; expecting 'us-east-1'"},
        {"AWS4-HMAC-SHA256 Credential=" T_AK "/20240315/US-EAST-1/s3/aws4_request, " SH
         ", Signature=%s",
         "AuthorizationHeaderMalformed", "region"},
        {"AWS4-HMAC-SHA256 Credential=" T_AK "/20240315/us-east-1/S3/aws4_request, " SH
         ", Signature=%s",
         "AuthorizationHeaderMalformed", "incorrect service"},
        {"AWS4-HMAC-SHA256 Credential=" T_AK "/20240315/us-east-1/s3/aws4_requests, " SH
         ", Signature=%s",
         "AuthorizationHeaderMalformed", "incorrect terminal"},
        {"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLF/20240315/us-east-1/s3/aws4_request, " SH
         ", Signature=%s",
         "InvalidAccessKeyId", NULL},
        {"AWS4-HMAC-SHA256 Credential=" T_TEMP_AK "/20240315/us-east-1/s3/aws4_request, " SH
         ", Signature=%s",
         "InvalidToken", NULL},
        {long_key, "AuthorizationHeaderMalformed", "Credential is mal-formed"},
        /* SignedHeaders */
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;;x-amz-content-sha256;x-amz-date, "
         "Signature=%s",
         "AuthorizationHeaderMalformed", "SignedHeaders"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;host;x-amz-content-sha256;x-amz-date, "
         "Signature=%s",
         "AuthorizationHeaderMalformed", "SignedHeaders"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;x-amz-content-sha256;x-amz-date;, "
         "Signature=%s",
         "AuthorizationHeaderMalformed", "SignedHeaders"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=ho st;x-amz-content-sha256;x-amz-date, "
         "Signature=%s",
         "AuthorizationHeaderMalformed", "SignedHeaders"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=ho:st;x-amz-content-sha256;x-amz-date, "
         "Signature=%s",
         "AuthorizationHeaderMalformed", "SignedHeaders"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=x-amz-content-sha256;x-amz-date, "
         "Signature=%s",
         "AccessDenied", "not signed"},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;x-amz-content-sha256, Signature=%s",
         "AccessDenied", "not signed"},
        /* the same names in another case and order: the canonical list is sorted lower-case */
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=HOST;X-Amz-Content-Sha256;x-amz-date, "
         "Signature=%s",
         "OK", NULL},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=x-amz-date;host;x-amz-content-sha256, "
         "Signature=%s",
         "OK", NULL},
        /* a header signed but not sent, a header sent and signed but not by the client */
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
         "Signature=%s",
         "SignatureDoesNotMatch", NULL},
        {"AWS4-HMAC-SHA256 " CRED
         ", SignedHeaders=host;user-agent;x-amz-content-sha256;x-amz-date, Signature=%s",
         "SignatureDoesNotMatch", NULL},
        /* Signature */
        {"AWS4-HMAC-SHA256 " CRED ", " SH
         ", Signature=zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
         "SignatureDoesNotMatch", NULL},
        {"AWS4-HMAC-SHA256 " CRED ", " SH ", Signature=abc", "SignatureDoesNotMatch", NULL},
        {"AWS4-HMAC-SHA256 " CRED ", " SH ", Signature=%s0", "SignatureDoesNotMatch", NULL},
        {"AWS4-HMAC-SHA256 " CRED ", " SH ", Signature=%S", "SignatureDoesNotMatch", NULL},
        {long_sig, "AuthorizationHeaderMalformed", "Signature"},
    };
#undef CRED
#undef SH
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        struct treq r;
        treq_default(&r, T_NOW);
        const char *good = strstr(r.sig.authorization, "Signature=") + 10;
        char upper[65];
        for (size_t k = 0; k < 65; k++)
            upper[k] = (char)toupper((unsigned char)good[k]);
        /* Expand %s (the valid signature) and %S (it in upper case). */
        struct buf a;
        buf_init(&a, TEST_CAP);
        for (const char *p = table[i].authorization; *p; p++) {
            if (p[0] == '%' && (p[1] == 's' || p[1] == 'S')) {
                cr_assert_eq(buf_append_str(&a, p[1] == 's' ? good : upper), 0);
                p++;
            } else if (p[0] == '%' && p[1] == '%') {
                cr_assert_eq(buf_append_char(&a, '%'), 0);
                p++;
            } else {
                cr_assert_eq(buf_append_char(&a, *p), 0);
            }
        }
        cr_assert_eq(buf_append(&a, "", 0), 0);
        treq_set(&r, "Authorization", a.data);
        char msg[4096];
        const char *code = treq_code(&r, T_NOW, true, msg, sizeof(msg));
        cr_expect_str_eq(code, table[i].code, "row %zu (%.120s): %s", i, a.data, msg);
        if (table[i].message_part)
            cr_expect_not_null(strstr(msg, table[i].message_part), "row %zu: %s", i, msg);
        buf_free(&a);
    }
}

Test(sigv4_verify_requests, amz_date_junk)
{
    const char *bad[] = {
        "",
        "20240315T123456",
        "20240315 123456Z",
        "2024-03-15T12:34:56Z",
        "20240230T123456Z", /* Feb 30 */
        "20241315T123456Z",
        "20240315T243456Z",
        "20240315T126056Z",
        "20240315T123460Z",
        "2024031aT123456Z",
        "Fri, 15 Mar 2024 12:34:56 GMT",
        "20240315T123456Z0",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct treq r;
        treq_default(&r, T_NOW);
        treq_set(&r, "X-Amz-Date", bad[i]);
        char msg[512];
        cr_expect_str_eq(treq_code(&r, T_NOW, true, msg, sizeof(msg)), "AccessDenied", "%s",
                         bad[i]);
        cr_expect_str_eq(msg, "AWS authentication requires a valid Date or x-amz-date header");
    }
    struct treq r;
    treq_default(&r, T_NOW);
    treq_remove(&r, "X-Amz-Date");
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "AccessDenied");
    treq_default(&r, T_NOW);
    treq_add(&r, "x-amz-date", T_AMZ_DATE); /* twice */
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "AccessDenied");
    /* Surrounding whitespace is not part of the value (and is trimmed when signing too). */
    treq_default(&r, T_NOW);
    treq_set(&r, "X-Amz-Date", " " T_AMZ_DATE " ");
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "OK");
}

Test(sigv4_verify_requests, mechanisms)
{
    struct treq r;
    char msg[512];
    /* Nothing at all. */
    treq_init(&r, "/mybucket/k", "");
    treq_add(&r, "Host", "127.0.0.1:8080");
    cr_expect_str_eq(treq_code(&r, T_NOW, true, msg, sizeof(msg)), "AccessDenied");
    cr_expect_str_eq(msg, "Access Denied");
    /* SigV2 in the query. */
    treq_init(&r, "/mybucket/k", "AWSAccessKeyId=" T_AK "&Expires=1710509696&Signature=abc%3D");
    treq_add(&r, "Host", "127.0.0.1:8080");
    cr_expect_str_eq(treq_code(&r, T_NOW, true, msg, sizeof(msg)), "InvalidRequest");
    cr_expect_str_eq(msg, "The authorization mechanism you have provided is not supported. Please "
                          "use AWS4-HMAC-SHA256.");
    /* Header and query both. */
    treq_default(&r, T_NOW);
    snprintf(r.query, sizeof(r.query), "X-Amz-Signature=abc");
    cr_expect_str_eq(treq_code(&r, T_NOW, true, msg, sizeof(msg)), "InvalidArgument");
    cr_expect_not_null(strstr(msg, "Only one auth mechanism allowed"));
    /* Two Authorization headers. */
    treq_default(&r, T_NOW);
    treq_add(&r, "authorization", r.auth);
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "AuthorizationHeaderMalformed");
    /* Parameters that merely look like them (names are case-sensitive) are plain parameters. */
    treq_init(&r, "/mybucket/k", "x-amz-signature=abc&signature=x&awsaccesskeyid=y");
    treq_add(&r, "Host", "127.0.0.1:8080");
    treq_add(&r, "X-Amz-Date", T_AMZ_DATE);
    treq_add(&r, "X-Amz-Content-SHA256", SIGV4_EMPTY_SHA256);
    treq_sign(&r, T_AK, T_SECRET, T_NOW);
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "OK");
}

Test(sigv4_verify_requests, clock_skew_boundaries)
{
    struct treq r;
    treq_default(&r, T_NOW);
    cr_expect_str_eq(treq_code(&r, T_NOW + 900, true, NULL, 0), "OK");
    cr_expect_str_eq(treq_code(&r, T_NOW - 900, true, NULL, 0), "OK");
    cr_expect_str_eq(treq_code(&r, T_NOW + 901, true, NULL, 0), "RequestTimeTooSkewed");
    cr_expect_str_eq(treq_code(&r, T_NOW - 901, true, NULL, 0), "RequestTimeTooSkewed");

    struct sigv4_verify_config cfg = test_config("us-east-1", true, NULL, NULL);
    struct sigv4_auth auth;
    struct sigv4_error err;
    cr_expect_eq(treq_verify_cfg(&r, &cfg, T_NOW - 3600, &auth, &err),
                 SIGV4_VERIFY_REQUEST_TIME_TOO_SKEWED);
    cr_expect_str_eq(extra(&err, "RequestTime"), T_AMZ_DATE);
    cr_expect_str_eq(extra(&err, "ServerTime"), "2024-03-15T11:34:56Z");
    cr_expect_str_eq(extra(&err, "MaxAllowedSkewMilliseconds"), "900000");
    sigv4_error_free(&err);
}

Test(sigv4_verify_requests, presigned_boundaries_and_junk)
{
    struct treq r;
    char msg[512];
    treq_presign(&r, T_AK, T_SECRET, NULL, T_NOW, "900", NULL);
    cr_expect_str_eq(treq_code(&r, T_NOW + 900, true, NULL, 0), "OK");
    cr_expect_str_eq(treq_code(&r, T_NOW + 901, true, msg, sizeof(msg)), "AccessDenied");
    cr_expect_str_eq(msg, "Request has expired");
    cr_expect_str_eq(treq_code(&r, T_NOW - 900, true, NULL, 0), "OK");
    cr_expect_str_eq(treq_code(&r, T_NOW - 901, true, msg, sizeof(msg)), "AccessDenied");
    cr_expect_str_eq(msg, "Request is not yet valid");
    /* Presigned never needs x-amz-content-sha256, strict or not. */
    cr_expect_str_eq(treq_code(&r, T_NOW, false, NULL, 0), "OK");

    treq_presign(&r, T_AK, T_SECRET, NULL, T_NOW, "604800", NULL);
    cr_expect_str_eq(treq_code(&r, T_NOW + 604800, true, NULL, 0), "OK");
    treq_presign(&r, T_AK, T_SECRET, NULL, T_NOW, "0", NULL);
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "OK");
    cr_expect_str_eq(treq_code(&r, T_NOW + 1, true, NULL, 0), "AccessDenied");

    const struct {
        const char *from, *to, *code, *message_part;
    } edits[] = {
        {"X-Amz-Expires=900", "X-Amz-Expires=604801", "AuthorizationQueryParametersError",
         "less than a week"},
        {"X-Amz-Expires=900", "X-Amz-Expires=99999999999999999999",
         "AuthorizationQueryParametersError", "less than a week"},
        {"X-Amz-Expires=900", "X-Amz-Expires=abc", "AuthorizationQueryParametersError",
         "should be a number"},
        {"X-Amz-Expires=900", "X-Amz-Expires=", "AuthorizationQueryParametersError",
         "should be a number"},
        {"X-Amz-Expires=900", "X-Amz-Expires=-1", "AuthorizationQueryParametersError",
         "non-negative"},
        {"X-Amz-Expires=900", "X-Amz-Expires=9%200", "AuthorizationQueryParametersError",
         "should be a number"},
        {"X-Amz-Expires=900&", "", "AuthorizationQueryParametersError", "requires the"},
        {"X-Amz-Algorithm=AWS4-HMAC-SHA256&", "", "AuthorizationQueryParametersError",
         "requires the"},
        {"&X-Amz-SignedHeaders=host", "", "AuthorizationQueryParametersError", "requires the"},
        {"X-Amz-Date=20240315T123456Z&", "", "AuthorizationQueryParametersError", "requires the"},
        {"X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1",
         "AuthorizationQueryParametersError", "only supports"},
        {"X-Amz-Expires=900", "X-Amz-Expires=900&X-Amz-Expires=900",
         "AuthorizationQueryParametersError", "more than once"},
        {"X-Amz-Date=20240315T123456Z", "X-Amz-Date=20240315T12345Z",
         "AuthorizationQueryParametersError", "ISO8601"},
        {"X-Amz-Date=20240315T123456Z", "X-Amz-Date=20240316T123456Z",
         "AuthorizationQueryParametersError", "Date is not the same"},
        {"%2Fus-east-1%2F", "%2Feu-west-1%2F", "AuthorizationQueryParametersError",
         "the region 'eu-west-1' is wrong; expecting 'us-east-1'"},
        {"%2Fs3%2F", "%2Fec2%2F", "AuthorizationQueryParametersError", "incorrect service"},
        {"%2Fs3%2F", "%2F", "AuthorizationQueryParametersError", "Credential is mal-formed"},
        {"X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=", "AuthorizationQueryParametersError",
         "SignedHeaders"},
        {"X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=user-agent", "AccessDenied",
         "not signed"},
        {"X-Amz-Signature=", "X-Amz-Signature=0", "SignatureDoesNotMatch", NULL},
        {"/mybucket", "/mybucket", "OK", NULL},
        {"X-Amz-Credential=AKIA", "X-Amz-Credential=XKIA", "InvalidAccessKeyId", NULL},
        {"X-Amz-Credential=AKIA", "X-Amz-Credential=%ZZ", "InvalidURI", NULL},
        {"X-Amz-Signature=", "X-Amz-Security-Token=abc&X-Amz-Signature=", "InvalidToken", NULL},
        {"X-Amz-Algorithm=", "AWSAccessKeyId=x&X-Amz-Algorithm=", "InvalidArgument", NULL},
    };
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        treq_presign(&r, T_AK, T_SECRET, NULL, T_NOW, "900", NULL);
        char *at = strstr(r.query, edits[i].from);
        if (strcmp(edits[i].from, "/mybucket") != 0) {
            cr_assert_not_null(at, "row %zu: %s not in %s", i, edits[i].from, r.query);
            char copy[sizeof(r.query)];
            snprintf(copy, sizeof(copy), "%.*s%s%s", (int)(at - r.query), r.query, edits[i].to,
                     at + strlen(edits[i].from));
            memcpy(r.query, copy, sizeof(copy));
        }
        const char *code = treq_code(&r, T_NOW, true, msg, sizeof(msg));
        cr_expect_str_eq(code, edits[i].code, "row %zu (%s): %s", i, r.query, msg);
        if (edits[i].message_part)
            cr_expect_not_null(strstr(msg, edits[i].message_part), "row %zu: %s", i, msg);
    }
    /* An x-amz-* header sent along with a presigned URL must be signed too. */
    treq_presign(&r, T_AK, T_SECRET, NULL, T_NOW, "900", NULL);
    treq_add(&r, "x-amz-meta-extra", "1");
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "AccessDenied");
}

Test(sigv4_verify_requests, session_tokens)
{
    struct treq r;
    struct sigv4_verify_config cfg = test_config("us-east-1", true, NULL, NULL);
    struct sigv4_auth auth;
    struct sigv4_error err;
    /* Signed with the token: fine. */
    treq_init(&r, "/mybucket/k", "");
    treq_add(&r, "Host", "127.0.0.1:8080");
    treq_add(&r, "X-Amz-Date", T_AMZ_DATE);
    treq_add(&r, "X-Amz-Content-SHA256", SIGV4_EMPTY_SHA256);
    treq_add(&r, "X-Amz-Security-Token", T_TEMP_TOKEN);
    treq_sign(&r, T_TEMP_AK, T_TEMP_KEY, T_NOW);
    cr_expect_eq(treq_verify_cfg(&r, &cfg, T_NOW, &auth, &err), SIGV4_VERIFY_OK, "%s", err.message);
    cr_expect_str_eq(auth.access_key, T_TEMP_AK);
    sigv4_error_free(&err);
    /* Another token (signed): 400 InvalidToken. */
    treq_init(&r, "/mybucket/k", "");
    treq_add(&r, "Host", "127.0.0.1:8080");
    treq_add(&r, "X-Amz-Date", T_AMZ_DATE);
    treq_add(&r, "X-Amz-Content-SHA256", SIGV4_EMPTY_SHA256);
    treq_add(&r, "X-Amz-Security-Token", T_TEMP_TOKEN "x");
    treq_sign(&r, T_TEMP_AK, T_TEMP_KEY, T_NOW);
    cr_expect_eq(treq_verify_cfg(&r, &cfg, T_NOW, &auth, &err), SIGV4_VERIFY_INVALID_TOKEN);
    cr_expect_eq(err.http_status, 400);
    cr_expect_str_eq(err.code, "InvalidToken");
    sigv4_error_free(&err);
    /* No token for a key that needs one. */
    treq_init(&r, "/mybucket/k", "");
    treq_add(&r, "Host", "127.0.0.1:8080");
    treq_add(&r, "X-Amz-Date", T_AMZ_DATE);
    treq_add(&r, "X-Amz-Content-SHA256", SIGV4_EMPTY_SHA256);
    treq_sign(&r, T_TEMP_AK, T_TEMP_KEY, T_NOW);
    cr_expect_eq(treq_verify_cfg(&r, &cfg, T_NOW, &auth, &err), SIGV4_VERIFY_INVALID_TOKEN);
    sigv4_error_free(&err);
    /* A token for a key that takes none. */
    treq_init(&r, "/mybucket/k", "");
    treq_add(&r, "Host", "127.0.0.1:8080");
    treq_add(&r, "X-Amz-Date", T_AMZ_DATE);
    treq_add(&r, "X-Amz-Content-SHA256", SIGV4_EMPTY_SHA256);
    treq_add(&r, "X-Amz-Security-Token", T_TEMP_TOKEN);
    treq_sign(&r, T_AK, T_SECRET, T_NOW);
    cr_expect_eq(treq_verify_cfg(&r, &cfg, T_NOW, &auth, &err), SIGV4_VERIFY_INVALID_TOKEN);
    sigv4_error_free(&err);
    /* The right token sent unsigned: an x-amz-* header nobody signed. */
    treq_init(&r, "/mybucket/k", "");
    treq_add(&r, "Host", "127.0.0.1:8080");
    treq_add(&r, "X-Amz-Date", T_AMZ_DATE);
    treq_add(&r, "X-Amz-Content-SHA256", SIGV4_EMPTY_SHA256);
    treq_sign(&r, T_TEMP_AK, T_TEMP_KEY, T_NOW);
    treq_add(&r, "X-Amz-Security-Token", T_TEMP_TOKEN);
    cr_expect_eq(treq_verify_cfg(&r, &cfg, T_NOW, &auth, &err), SIGV4_VERIFY_ACCESS_DENIED);
    cr_expect_str_eq(extra(&err, "HeadersNotSigned"), "x-amz-security-token");
    sigv4_error_free(&err);
    /* Presigned with the token, and with a wrong one. */
    treq_presign(&r, T_TEMP_AK, T_TEMP_KEY, T_TEMP_TOKEN, T_NOW, "900", NULL);
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "OK");
    treq_presign(&r, T_TEMP_AK, T_TEMP_KEY, "another", T_NOW, "900", NULL);
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "InvalidToken");
    treq_presign(&r, T_TEMP_AK, T_TEMP_KEY, NULL, T_NOW, "900", NULL);
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "InvalidToken");
}

Test(sigv4_verify_requests, content_sha256_modes)
{
    const struct {
        const char *value;
        enum sigv4_payload_mode mode;
    } ok[] = {
        {SIGV4_UNSIGNED_PAYLOAD, SIGV4_PAYLOAD_UNSIGNED},
        {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", SIGV4_PAYLOAD_STREAMING_SIGNED},
        {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", SIGV4_PAYLOAD_STREAMING_SIGNED_TRAILER},
        {"STREAMING-UNSIGNED-PAYLOAD-TRAILER", SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER},
        {"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", SIGV4_PAYLOAD_SHA256},
    };
    struct sigv4_verify_config cfg = test_config("us-east-1", true, NULL, NULL);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct treq r;
        treq_init(&r, "/mybucket/k", "");
        treq_add(&r, "Host", "127.0.0.1:8080");
        treq_add(&r, "X-Amz-Date", T_AMZ_DATE);
        treq_add(&r, "X-Amz-Content-SHA256", ok[i].value);
        treq_sign(&r, T_AK, T_SECRET, T_NOW);
        struct sigv4_auth auth;
        struct sigv4_error err;
        cr_expect_eq(treq_verify_cfg(&r, &cfg, T_NOW, &auth, &err), SIGV4_VERIFY_OK, "%s: %s",
                     ok[i].value, err.message);
        cr_expect_eq(auth.payload_mode, ok[i].mode, "%s", ok[i].value);
        if (ok[i].mode == SIGV4_PAYLOAD_SHA256)
            cr_expect_str_eq(auth.payload_hash, SIGV4_EMPTY_SHA256);
        sigv4_auth_clear(&auth);
        sigv4_error_free(&err);
    }
    const char *bad[] = {"", "unsigned-payload", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct treq r;
        treq_init(&r, "/mybucket/k", "");
        treq_add(&r, "Host", "127.0.0.1:8080");
        treq_add(&r, "X-Amz-Date", T_AMZ_DATE);
        treq_add(&r, "X-Amz-Content-SHA256", bad[i]);
        treq_sign(&r, T_AK, T_SECRET, T_NOW);
        cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "InvalidArgument", "'%s'", bad[i]);
    }
    /* Twice. */
    struct treq r;
    treq_default(&r, T_NOW);
    treq_add(&r, "x-amz-content-sha256", SIGV4_EMPTY_SHA256);
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "InvalidArgument");
    /* Streaming: x-amz-decoded-content-length must be a number. */
    treq_init(&r, "/mybucket/k", "");
    treq_add(&r, "Host", "127.0.0.1:8080");
    treq_add(&r, "X-Amz-Date", T_AMZ_DATE);
    treq_add(&r, "X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    treq_add(&r, "X-Amz-Decoded-Content-Length", "12x");
    treq_sign(&r, T_AK, T_SECRET, T_NOW);
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "InvalidArgument");
}

/* curl --aws-sigv4 (7.88): SignedHeaders host;x-amz-date, no x-amz-content-sha256. */
Test(sigv4_verify_requests, missing_content_sha256_strict_and_lenient)
{
    struct treq r;
    char msg[512];
    treq_init(&r, "/mybucket/k", "");
    treq_add(&r, "Host", "127.0.0.1:8080");
    treq_add(&r, "X-Amz-Date", T_AMZ_DATE);
    treq_sign(&r, T_AK, T_SECRET, T_NOW); /* payload hash: the empty body's */
    treq_add(&r, "User-Agent", "curl/7.88.1");
    cr_expect_str_eq(treq_code(&r, T_NOW, false, NULL, 0), "OK");
    cr_expect_str_eq(treq_code(&r, T_NOW, true, msg, sizeof(msg)), "InvalidRequest");
    cr_expect_str_eq(msg, "Missing required header for this request: x-amz-content-sha256");
    treq_add(&r, "Content-Length", "0");
    cr_expect_str_eq(treq_code(&r, T_NOW, false, NULL, 0), "OK");
    /* With a body there is nothing to assume: refused, lenient or not. */
    treq_set(&r, "Content-Length", "5");
    cr_expect_str_eq(treq_code(&r, T_NOW, false, NULL, 0), "InvalidRequest");
    treq_remove(&r, "Content-Length");
    treq_add(&r, "Transfer-Encoding", "chunked");
    cr_expect_str_eq(treq_code(&r, T_NOW, false, NULL, 0), "InvalidRequest");
}

Test(sigv4_verify_requests, headers_not_signed_lists_every_one)
{
    struct treq r;
    struct sigv4_verify_config cfg = test_config("us-east-1", true, NULL, NULL);
    struct sigv4_auth auth;
    struct sigv4_error err;
    treq_init(&r, "/mybucket/k", "");
    treq_add(&r, "X-Amz-Date", T_AMZ_DATE);
    treq_add(&r, "X-Amz-Content-SHA256", SIGV4_EMPTY_SHA256);
    treq_sign(&r, T_AK, T_SECRET, T_NOW);
    treq_add(&r, "Host", "127.0.0.1:8080");
    treq_add(&r, "X-Amz-Meta-B", "1");
    treq_add(&r, "x-amz-meta-a", "2");
    treq_add(&r, "X-AMZ-META-B", "3");
    treq_add(&r, "amz-sdk-request", "attempt=1"); /* not x-amz-: fine unsigned */
    cr_expect_eq(treq_verify_cfg(&r, &cfg, T_NOW, &auth, &err), SIGV4_VERIFY_ACCESS_DENIED);
    cr_expect_eq(err.http_status, 403);
    cr_expect_str_eq(err.message,
                     "There were headers present in the request which were not signed");
    cr_expect_str_eq(extra(&err, "HeadersNotSigned"), "host, x-amz-meta-b, x-amz-meta-a");
    sigv4_error_free(&err);
}

Test(sigv4_verify_requests, bad_escapes_and_limits)
{
    struct treq r;
    treq_init(&r, "/mybucket/a%zz", "");
    treq_add(&r, "Host", "127.0.0.1:8080");
    treq_add(&r, "X-Amz-Date", T_AMZ_DATE);
    treq_add(&r, "X-Amz-Content-SHA256", SIGV4_EMPTY_SHA256);
    struct sigv4_header auth = {"Authorization", 13, NULL, 0};
    static const char a[] =
        "AWS4-HMAC-SHA256 Credential=" T_AK "/20240315/us-east-1/s3/"
        "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
        "Signature=0000000000000000000000000000000000000000000000000000000000000000";
    auth.value = a;
    auth.value_len = strlen(a);
    r.h[r.n++] = auth;
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "InvalidURI");
    r.path = "/mybucket/k";
    snprintf(r.query, sizeof(r.query), "a=%%4");
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "InvalidURI");
    /* Too many signed headers for a canonical request. */
    struct buf sh;
    buf_init(&sh, TEST_CAP);
    cr_assert_eq(buf_append_str(&sh, "AWS4-HMAC-SHA256 Credential=" T_AK "/20240315/us-east-1/s3/"
                                     "aws4_request, SignedHeaders=host;x-amz-content-sha256;"
                                     "x-amz-date"),
                 0);
    for (int i = 0; i < SIGV4_MAX_HEADERS; i++)
        cr_assert_eq(buf_appendf(&sh, ";h%d", i), 0);
    cr_assert_eq(buf_append_str(&sh, ", Signature=00"), 0);
    snprintf(r.query, sizeof(r.query), "%s", "");
    r.h[r.n - 1].value = sh.data;
    r.h[r.n - 1].value_len = sh.len;
    cr_expect_str_eq(treq_code(&r, T_NOW, true, NULL, 0), "AuthorizationHeaderMalformed");
    buf_free(&sh);
}

Test(sigv4_verify_requests, key_cache_and_one_lookup)
{
    struct sigv4_key_cache *cache = sigv4_key_cache_create();
    struct sigv4_verify_config cfg = test_config("us-east-1", true, NULL, cache);
    struct treq r;
    treq_default(&r, T_NOW);
    for (int i = 0; i < 3; i++) {
        struct sigv4_auth auth;
        struct sigv4_error err;
        lookup_calls = 0;
        cr_expect_eq(treq_verify_cfg(&r, &cfg, T_NOW, &auth, &err), SIGV4_VERIFY_OK);
        cr_expect_eq(lookup_calls, 1);
        sigv4_error_free(&err);
    }
    /* A rotated secret for the same key id is not served the old signing key. */
    const struct key rotated[] = {{T_AK, "another-secret", NULL}, {NULL, NULL, NULL}};
    cfg.lookup_arg = (void *)rotated;
    struct sigv4_auth auth;
    struct sigv4_error err;
    cr_expect_eq(treq_verify_cfg(&r, &cfg, T_NOW, &auth, &err),
                 SIGV4_VERIFY_SIGNATURE_DOES_NOT_MATCH);
    sigv4_error_free(&err);
    /* No lookup at all: nobody is known. */
    cfg.lookup = NULL;
    cr_expect_eq(treq_verify_cfg(&r, &cfg, T_NOW, &auth, &err), SIGV4_VERIFY_INVALID_ACCESS_KEY_ID);
    cr_expect_str_eq(extra(&err, "AWSAccessKeyId"), T_AK);
    sigv4_error_free(&err);
    sigv4_key_cache_destroy(cache);
}

Test(sigv4_verify_errors, table_and_xml)
{
    for (int e = SIGV4_VERIFY_OK; e <= SIGV4_VERIFY_INTERNAL_ERROR; e++) {
        cr_expect_not_null(sigv4_verify_error_code(e));
        cr_expect(sigv4_verify_error_status(e) == 200 || sigv4_verify_error_status(e) >= 400);
    }
    cr_expect_eq(sigv4_verify_error_status(SIGV4_VERIFY_INTERNAL_ERROR + 1), 500);
    struct sigv4_error err = {0};
    sigv4_error__set(&err, SIGV4_VERIFY_AUTH_HEADER_MALFORMED, NULL);
    sigv4_error__extra(&err, "Region", "a<b&c", 5);
    for (int i = 0; i < 20; i++) /* past the cap: dropped */
        sigv4_error__extra(&err, "X", "y", 1);
    cr_expect_eq(err.extra_count, SIGV4_VERIFY_MAX_EXTRAS);
    struct buf x;
    buf_init(&x, TEST_CAP);
    cr_assert_eq(sigv4_error_append_xml(&err, &x), 0);
    cr_expect_eq(strncmp(x.data, "<Region>a&lt;b&amp;c</Region><X>y</X>", 37), 0, "%s", x.data);
    /* Under a cap: what does not fit is left out, the rest still goes in. */
    struct buf tiny;
    buf_init(&tiny, 10);
    cr_expect_eq(sigv4_error_append_xml(&err, &tiny), 0);
    cr_expect_str_eq(tiny.data, "<X>y</X>");
    buf_free(&tiny);
    buf_free(&x);
    sigv4_error_free(&err);
    sigv4_error_free(&err); /* twice is fine */
}

/* ---- the fuzz corpus, replayed -----------------------------------------------------------------
 */

#include "../../fuzz/sigv4_verify.c"

Test(sigv4_verify_fuzz, corpus_replay)
{
    const char *dir = CONF_TEST_SOURCE_ROOT "/tests/fuzz/corpus/sigv4_verify";
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        size_t len;
        char *data = slurp(path, &len);
        cr_expect_eq(LLVMFuzzerTestOneInput((const uint8_t *)data, len), 0);
        free(data);
        n++;
    }
    closedir(d);
    cr_expect_geq(n, 5);
}
