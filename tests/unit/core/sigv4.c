/*
 * Unit tests for core/sigv4.c, driven mostly by the vectors in tests/vectors/sigv4 (README there):
 * the AWS SigV4 suite in botocore's layout (suite/) and aws-c-auth's (suite-c-auth/v4/), where
 * the six path-normalization cases must NOT match because S3 never normalizes, and the S3
 * requests captured from botocore (s3.jsonl, s3-negative.jsonl). Then the edge cases of the
 * canonical form the vectors do not reach, the limits, and the signing-key cache (threads too).
 *
 * The vectors directory is $SIGV4_VECTORS_DIR, else the compile-time SIGV4_VECTORS_DIR.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "core/sigv4.h"
#include "core/uri.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#ifndef SIGV4_VECTORS_DIR
#define SIGV4_VECTORS_DIR "tests/vectors/sigv4"
#endif

#define TEST_CAP         (1024 * 1024) /* buffer cap for everything built here */
#define TREQ_MAX_HEADERS 32            /* headers in one vector request, extras included */
#define SUITE_MAX_CASES  64            /* .req files under suite/ */
#define SUITE_TIME       1440938160    /* 2015-08-30T12:36:00Z, the suites' signing time */
#define SUITE_AMZ_DATE   "20150830T123600Z"
#define SUITE_ACCESS_KEY "AKIDEXAMPLE"
#define SUITE_SECRET     "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_REGION     "us-east-1"
#define SUITE_SERVICE    "service"
/* get-vanilla-with-session-token: the token comes with the credentials (suite/ README). */
#define SUITE_SESSION_TOKEN "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"

/* The generic suite's path-normalization cases: S3 keeps "." ".." and "//", so these differ. */
static const char *const normalize_cases[] = {
    "get-relative",        "get-relative-relative",   "get-slash",
    "get-slash-dot-slash", "get-slash-pointless-dot", "get-slashes",
};

/* ---- helpers ------------------------------------------------------------------------------- */

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    cr_assert_not_null(p);
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    cr_assert_not_null(p);
    return p;
}

static char *vec_path(const char *rel)
{
    const char *dir = getenv("SIGV4_VECTORS_DIR");
    struct buf b;
    buf_init(&b, 4096);
    cr_assert_eq(buf_appendf(&b, "%s/%s", dir && *dir ? dir : SIGV4_VECTORS_DIR, rel), 0);
    return b.data;
}

/* Whole file, NUL-terminated; *len without the NUL. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    struct buf b;
    buf_init(&b, TEST_CAP);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        cr_assert_eq(buf_append(&b, chunk, n), 0);
    fclose(f);
    cr_assert_eq(buf_append(&b, "", 0), 0); /* data non-NULL even when empty */
    if (len)
        *len = b.len;
    return b.data;
}

/* The expected-output files end with or without a newline; what they give never does. */
static char *read_expected(const char *path)
{
    size_t len;
    char *s = read_file(path, &len);
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        s[--len] = '\0';
    return s;
}

static bool is_normalize_case(const char *name)
{
    for (size_t i = 0; i < sizeof(normalize_cases) / sizeof(normalize_cases[0]); i++)
        if (strcmp(name, normalize_cases[i]) == 0)
            return true;
    return false;
}

/* A raw request as the suites write it: request line, headers (obsolete folding allowed, joined
 * with one space as RFC 7230 3.2.4 says), an empty line, body. */
struct treq {
    char *method;
    char *target;
    char *names[TREQ_MAX_HEADERS];
    char *values[TREQ_MAX_HEADERS];
    size_t n;
    char *body;
    size_t body_len;
    struct sigv4_header headers[TREQ_MAX_HEADERS];
};

static void treq_add(struct treq *r, const char *name, const char *value)
{
    cr_assert_lt(r->n, TREQ_MAX_HEADERS);
    r->names[r->n] = xstrdup(name);
    r->values[r->n] = xstrdup(value);
    r->n++;
}

static void treq_parse(struct treq *r, const char *text, size_t len)
{
    memset(r, 0, sizeof(*r));
    const char *p = text, *end = text + len;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *line_end = eol ? eol : end;
    const char *sp1 = memchr(p, ' ', (size_t)(line_end - p));
    const char *sp2 = line_end;
    while (sp2 > p && sp2[-1] != ' ')
        sp2--;
    cr_assert(sp1 && sp2 - 1 > sp1, "bad request line");
    r->method = xstrndup(p, (size_t)(sp1 - p));
    /* The target may hold raw spaces ("/example space/"): it ends at the last space. */
    r->target = xstrndup(sp1 + 1, (size_t)(sp2 - 1 - (sp1 + 1)));
    p = eol ? eol + 1 : end;
    while (p < end) {
        eol = memchr(p, '\n', (size_t)(end - p));
        line_end = eol ? eol : end;
        size_t l = (size_t)(line_end - p);
        if (l && p[l - 1] == '\r')
            l--;
        if (l == 0) {
            p = eol ? eol + 1 : end;
            break;
        }
        if (p[0] == ' ' || p[0] == '\t') {
            cr_assert_gt(r->n, 0, "continuation line first");
            size_t i = 0;
            while (i < l && (p[i] == ' ' || p[i] == '\t'))
                i++;
            char *prev = r->values[r->n - 1];
            size_t plen = strlen(prev);
            char *v = malloc(plen + 1 + (l - i) + 1);
            cr_assert_not_null(v);
            memcpy(v, prev, plen);
            v[plen] = ' ';
            memcpy(v + plen + 1, p + i, l - i);
            v[plen + 1 + l - i] = '\0';
            free(prev);
            r->values[r->n - 1] = v;
        } else {
            const char *colon = memchr(p, ':', l);
            cr_assert_not_null(colon, "header without ':'");
            cr_assert_lt(r->n, TREQ_MAX_HEADERS);
            r->names[r->n] = xstrndup(p, (size_t)(colon - p));
            r->values[r->n] = xstrndup(colon + 1, (size_t)(p + l - colon - 1));
            r->n++;
        }
        p = eol ? eol + 1 : end;
    }
    r->body_len = (size_t)(end - p);
    r->body = xstrndup(p, r->body_len);
}

static void treq_free(struct treq *r)
{
    free(r->method);
    free(r->target);
    for (size_t i = 0; i < r->n; i++) {
        free(r->names[i]);
        free(r->values[i]);
    }
    free(r->body);
}

static const struct sigv4_header *treq_headers(struct treq *r)
{
    for (size_t i = 0; i < r->n; i++) {
        r->headers[i].name = r->names[i];
        r->headers[i].name_len = strlen(r->names[i]);
        r->headers[i].value = r->values[i];
        r->headers[i].value_len = strlen(r->values[i]);
    }
    return r->headers;
}

/* The suites write the path decoded ("/example space/", raw UTF-8): encode it once to get what
 * a client puts on the wire. The query is left raw; it mixes raw and encoded bytes, and the
 * canonicalizer's decode-then-encode handles both. */
static void split_target_decoded(const char *target, struct buf *path, const char **query)
{
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    buf_init(path, TEST_CAP);
    cr_assert_eq(uri_encode(path, target, plen, true), 0);
    cr_assert_eq(buf_append(path, "", 0), 0);
    *query = q ? q + 1 : "";
}

/* A raw query with every parameter whose raw name is `name` left out. */
static char *query_without(const char *query, const char *name)
{
    struct buf b;
    buf_init(&b, TEST_CAP);
    cr_assert_eq(buf_append(&b, "", 0), 0);
    size_t nlen = strlen(name);
    const char *p = query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t l = amp ? (size_t)(amp - p) : strlen(p);
        bool drop = l >= nlen && strncmp(p, name, nlen) == 0 && (l == nlen || p[nlen] == '=');
        if (!drop) {
            if (b.len)
                cr_assert_eq(buf_append_char(&b, '&'), 0);
            cr_assert_eq(buf_append(&b, p, l), 0);
        }
        p += l + (amp ? 1 : 0);
    }
    return b.data;
}

static char *sha256_hex(const void *p, size_t n)
{
    static char out[65];
    sigv4_sha256_hex(p, n, out);
    return out;
}

static time_t parse_amz_date(const char *s)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
    cr_assert(end && *end == '\0', "bad amz date %s", s);
    return timegm(&tm);
}

/* Everything one vector case yields, built by the code under test. */
struct computed {
    struct buf creq, sts;
    char signature[65];
};

static void compute(const struct sigv4_request *req, const char *omit, const char *amz_date,
                    const char *secret, const char *region, const char *service, struct computed *c)
{
    buf_init(&c->creq, TEST_CAP);
    buf_init(&c->sts, TEST_CAP);
    cr_assert_eq(sigv4_canonical_request_omit(req, omit, &c->creq), 0);
    cr_assert_eq(
        sigv4_string_to_sign(amz_date, region, service, c->creq.data, c->creq.len, &c->sts), 0);
    uint8_t key[32];
    char date8[9] = {0};
    memcpy(date8, amz_date, 8);
    sigv4_signing_key(secret, date8, region, service, key);
    sigv4_signature(key, c->sts.data, c->sts.len, c->signature);
}

static void computed_free(struct computed *c)
{
    buf_free(&c->creq);
    buf_free(&c->sts);
}

/* ---- suite/ ---------------------------------------------------------------------------------- */

struct suite_case {
    char *dir;  /* relative to the vectors dir */
    char *name; /* file stem */
};

static void suite_collect(const char *rel, struct suite_case *cases, size_t *n)
{
    char *abs = vec_path(rel);
    DIR *d = opendir(abs);
    cr_assert_not_null(d, "cannot open %s", abs);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        struct buf sub, full;
        buf_init(&sub, 4096);
        buf_init(&full, 4096);
        cr_assert_eq(buf_appendf(&sub, "%s/%s", rel, e->d_name), 0);
        cr_assert_eq(buf_appendf(&full, "%s/%s", abs, e->d_name), 0);
        struct stat st;
        cr_assert_eq(stat(full.data, &st), 0);
        size_t l = strlen(e->d_name);
        if (S_ISDIR(st.st_mode)) {
            suite_collect(sub.data, cases, n);
        } else if (l > 4 && strcmp(e->d_name + l - 4, ".req") == 0) {
            cr_assert_lt(*n, SUITE_MAX_CASES);
            cases[*n].dir = xstrdup(rel);
            cases[*n].name = xstrndup(e->d_name, l - 4);
            (*n)++;
        }
        buf_free(&sub);
        buf_free(&full);
    }
    closedir(d);
    free(abs);
}

static char *suite_file(const struct suite_case *c, const char *ext)
{
    struct buf b;
    buf_init(&b, 4096);
    cr_assert_eq(buf_appendf(&b, "%s/%s.%s", c->dir, c->name, ext), 0);
    char *abs = vec_path(b.data);
    buf_free(&b);
    char *s = read_expected(abs);
    free(abs);
    return s;
}

Test(sigv4_vectors, suite_s3_mode)
{
    struct suite_case cases[SUITE_MAX_CASES];
    size_t n = 0, matched = 0, differed = 0;
    suite_collect("suite", cases, &n);
    cr_assert_eq(n, 34, "suite/ should hold 34 cases, found %zu", n);

    for (size_t i = 0; i < n; i++) {
        const struct suite_case *c = &cases[i];
        char *abs_req = NULL;
        {
            struct buf b;
            buf_init(&b, 4096);
            cr_assert_eq(buf_appendf(&b, "%s/%s.req", c->dir, c->name), 0);
            abs_req = vec_path(b.data);
            buf_free(&b);
        }
        size_t len;
        char *text = read_file(abs_req, &len);
        struct treq r;
        treq_parse(&r, text, len);
        if (strcmp(c->name, "get-vanilla-with-session-token") == 0)
            treq_add(&r, "X-Amz-Security-Token", SUITE_SESSION_TOKEN);
        struct buf path;
        const char *query;
        split_target_decoded(r.target, &path, &query);
        char payload[65];
        sigv4_sha256_hex(r.body, r.body_len, payload);
        struct sigv4_request req = {
            .method = r.method,
            .path = path.data,
            .path_len = path.len,
            .query = query,
            .query_len = strlen(query),
            .headers = treq_headers(&r),
            .header_count = r.n,
            .payload_hash = payload,
        };
        struct computed got;
        compute(&req, NULL, SUITE_AMZ_DATE, SUITE_SECRET, SUITE_REGION, SUITE_SERVICE, &got);

        struct sigv4_credentials cred = {SUITE_ACCESS_KEY, SUITE_SECRET, NULL};
        struct sigv4_signed out;
        cr_assert_eq(sigv4_sign(&req, &cred, SUITE_REGION, SUITE_SERVICE, SUITE_TIME, &out), 0);
        cr_expect_str_eq(out.amz_date, SUITE_AMZ_DATE);

        char *creq = suite_file(c, "creq");
        char *sts = suite_file(c, "sts");
        char *authz = suite_file(c, "authz");
        bool same = strcmp(got.creq.data, creq) == 0;
        if (is_normalize_case(c->name)) {
            /* S3 mode must keep ".", ".." and "//": every derived value differs too. */
            cr_expect(!same, "%s: S3 canonical request must not normalize the path", c->name);
            cr_expect_str_neq(got.sts.data, sts, "%s", c->name);
            cr_expect_str_neq(out.authorization, authz, "%s", c->name);
            differed += !same;
        } else {
            cr_expect_str_eq(got.creq.data, creq, "%s: canonical request", c->name);
            cr_expect_str_eq(got.sts.data, sts, "%s: string to sign", c->name);
            cr_expect_str_eq(out.authorization, authz, "%s: Authorization", c->name);
            cr_expect(strstr(authz, got.signature) != NULL, "%s: signature", c->name);
            matched += same;
        }
        free(creq);
        free(sts);
        free(authz);
        computed_free(&got);
        buf_free(&path);
        treq_free(&r);
        free(text);
        free(abs_req);
        free(c->dir);
        free(c->name);
    }
    cr_expect_eq(matched, 28);
    cr_expect_eq(differed, 6);
}

/* ---- suite-c-auth/v4/ ------------------------------------------------------------------------ */

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    return json_object_get_string(v);
}

static bool json_flag(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static char *cauth_file(const char *name, const char *file)
{
    struct buf b;
    buf_init(&b, 4096);
    cr_assert_eq(buf_appendf(&b, "suite-c-auth/v4/%s/%s", name, file), 0);
    char *abs = vec_path(b.data);
    buf_free(&b);
    return abs;
}

/* The six "-normalized" cases whose path normalization changes something. */
static bool cauth_expect_differ(const char *name)
{
    size_t l = strlen(name);
    static const char suffix[] = "-normalized";
    if (l <= sizeof(suffix) - 1 || strcmp(name + l - (sizeof(suffix) - 1), suffix) != 0)
        return false;
    char *base = xstrndup(name, l - (sizeof(suffix) - 1));
    bool r = is_normalize_case(base);
    free(base);
    return r;
}

static void cauth_case(const char *name, size_t *matched, size_t *differed)
{
    char *p = cauth_file(name, "context.json");
    json_object *ctx = json_object_from_file(p);
    cr_assert_not_null(ctx, "%s", p);
    free(p);
    json_object *credj;
    cr_assert(json_object_object_get_ex(ctx, "credentials", &credj));
    const char *ak = jstr(credj, "access_key_id");
    const char *secret = jstr(credj, "secret_access_key");
    const char *token = jstr(credj, "token");
    const char *region = jstr(ctx, "region");
    const char *service = jstr(ctx, "service");
    const char *ts = jstr(ctx, "timestamp");
    bool sign_body = json_flag(ctx, "sign_body");
    bool omit_token = json_flag(ctx, "omit_session_token");
    cr_assert(ak && secret && region && service && ts);
    struct tm tm = {0};
    const char *ts_end = strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cr_assert(ts_end && *ts_end == '\0');
    time_t now = timegm(&tm);
    char amz_date[17];
    sigv4_amz_date(now, amz_date);
    bool expect_differ = cauth_expect_differ(name);

    size_t len;
    p = cauth_file(name, "request.txt");
    char *text = read_file(p, &len);
    free(p);

    /* Header variant: the signer adds X-Amz-Date, x-amz-content-sha256 (sign_body) and the token
     * (unless omitted), then signs every header. */
    struct treq r;
    treq_parse(&r, text, len);
    char payload[65];
    sigv4_sha256_hex(r.body, r.body_len, payload);
    treq_add(&r, "X-Amz-Date", amz_date);
    if (sign_body)
        treq_add(&r, "x-amz-content-sha256", payload);
    if (token && !omit_token)
        treq_add(&r, "X-Amz-Security-Token", token);
    struct buf path;
    const char *query;
    split_target_decoded(r.target, &path, &query);
    struct sigv4_request req = {
        .method = r.method,
        .path = path.data,
        .path_len = path.len,
        .query = query,
        .query_len = strlen(query),
        .headers = treq_headers(&r),
        .header_count = r.n,
        .payload_hash = payload,
    };
    struct computed got;
    compute(&req, NULL, amz_date, secret, region, service, &got);
    struct sigv4_credentials cred = {ak, secret, token};
    struct sigv4_signed out;
    cr_assert_eq(sigv4_sign(&req, &cred, region, service, now, &out), 0);

    p = cauth_file(name, "header-canonical-request.txt");
    char *creq = read_expected(p);
    free(p);
    p = cauth_file(name, "header-string-to-sign.txt");
    char *sts = read_expected(p);
    free(p);
    p = cauth_file(name, "header-signature.txt");
    char *sig = read_expected(p);
    free(p);
    p = cauth_file(name, "header-signed-request.txt");
    char *sreq = read_expected(p);
    free(p);
    char *authz_line = strstr(sreq, "\nAuthorization:");
    cr_assert_not_null(authz_line, "%s", name);
    authz_line += strlen("\nAuthorization:");
    char *authz_end = strchr(authz_line, '\n');
    if (authz_end)
        *authz_end = '\0';

    if (expect_differ) {
        cr_expect_str_neq(got.creq.data, creq, "%s: header creq must differ", name);
        cr_expect_str_neq(got.signature, sig, "%s", name);
        *differed += strcmp(got.creq.data, creq) != 0;
    } else {
        cr_expect_str_eq(got.creq.data, creq, "%s: header canonical request", name);
        cr_expect_str_eq(got.sts.data, sts, "%s: header string to sign", name);
        cr_expect_str_eq(got.signature, sig, "%s: header signature", name);
        cr_expect_str_eq(out.authorization, authz_line, "%s: Authorization", name);
        *matched += strcmp(got.creq.data, creq) == 0;
    }
    free(creq);
    free(sts);
    free(sig);
    free(sreq);
    computed_free(&got);
    buf_free(&path);
    treq_free(&r);

    /* Query (presigned) variant: the X-Amz-* parameters are in the signed request's target;
     * the signature parameter, and a token added after signing, are not signed. */
    treq_parse(&r, text, len);
    p = cauth_file(name, "query-signed-request.txt");
    size_t qlen;
    char *qtext = read_file(p, &qlen);
    free(p);
    struct treq qr;
    treq_parse(&qr, qtext, qlen);
    split_target_decoded(qr.target, &path, &query);
    char *signed_query = omit_token ? query_without(query, "X-Amz-Security-Token") : NULL;
    if (signed_query)
        query = signed_query;
    struct sigv4_request qreq = {
        .method = r.method,
        .path = path.data,
        .path_len = path.len,
        .query = query,
        .query_len = strlen(query),
        .headers = treq_headers(&r),
        .header_count = r.n,
        .payload_hash = payload,
    };
    compute(&qreq, "X-Amz-Signature", amz_date, secret, region, service, &got);
    p = cauth_file(name, "query-canonical-request.txt");
    creq = read_expected(p);
    free(p);
    p = cauth_file(name, "query-string-to-sign.txt");
    sts = read_expected(p);
    free(p);
    p = cauth_file(name, "query-signature.txt");
    sig = read_expected(p);
    free(p);
    if (expect_differ) {
        cr_expect_str_neq(got.creq.data, creq, "%s: query creq must differ", name);
        cr_expect_str_neq(got.signature, sig, "%s", name);
    } else {
        cr_expect_str_eq(got.creq.data, creq, "%s: query canonical request", name);
        cr_expect_str_eq(got.sts.data, sts, "%s: query string to sign", name);
        cr_expect_str_eq(got.signature, sig, "%s: query signature", name);
    }
    free(creq);
    free(sts);
    free(sig);
    free(signed_query);
    computed_free(&got);
    buf_free(&path);
    treq_free(&qr);
    treq_free(&r);
    free(qtext);
    free(text);
    json_object_put(ctx);
}

Test(sigv4_vectors, suite_c_auth_v4)
{
    char *abs = vec_path("suite-c-auth/v4");
    DIR *d = opendir(abs);
    cr_assert_not_null(d, "cannot open %s", abs);
    size_t n = 0, matched = 0, differed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        cauth_case(e->d_name, &matched, &differed);
        n++;
    }
    closedir(d);
    free(abs);
    cr_expect_eq(n, 38);
    cr_expect_eq(matched, 32);
    cr_expect_eq(differed, 6);
}

/* ---- s3.jsonl and s3-negative.jsonl -------------------------------------------------------- */

/* Calls fn for each line of a .jsonl vectors file; returns the number of lines. */
static size_t jsonl_each(const char *file, void (*fn)(json_object *, void *), void *arg)
{
    char *abs = vec_path(file);
    char *text = read_file(abs, NULL);
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

/* The wire parts of a captured request: path and query exactly as sent, the headers named in
 * signed_headers (all occurrences, any case). */
struct s3_case {
    const char *name;
    char *path;
    const char *query;
    struct sigv4_header headers[TREQ_MAX_HEADERS];
    size_t header_count;
    struct sigv4_request req;
};

static void s3_case_load(json_object *o, const char *payload, struct s3_case *c)
{
    memset(c, 0, sizeof(*c));
    c->name = jstr(o, "name");
    const char *url = jstr(o, "url");
    const char *host = strstr(url, "://");
    cr_assert_not_null(host);
    const char *target = host + 3 + strcspn(host + 3, "/?");
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    c->path = plen ? xstrndup(target, plen) : xstrdup("/");
    c->query = q ? q + 1 : "";

    json_object *signed_headers, *headers;
    cr_assert(json_object_object_get_ex(o, "signed_headers", &signed_headers));
    cr_assert(json_object_object_get_ex(o, "headers", &headers));
    for (size_t i = 0; i < json_object_array_length(headers); i++) {
        json_object *h = json_object_array_get_idx(headers, i);
        const char *name = json_object_get_string(json_object_array_get_idx(h, 0));
        const char *value = json_object_get_string(json_object_array_get_idx(h, 1));
        bool is_signed = false;
        for (size_t j = 0; j < json_object_array_length(signed_headers); j++)
            if (strcasecmp(name, json_object_get_string(
                                     json_object_array_get_idx(signed_headers, j))) == 0)
                is_signed = true;
        if (!is_signed)
            continue;
        cr_assert_lt(c->header_count, TREQ_MAX_HEADERS);
        c->headers[c->header_count++] =
            (struct sigv4_header){name, strlen(name), value, strlen(value)};
    }
    c->req = (struct sigv4_request){
        .method = jstr(o, "method"),
        .path = c->path,
        .path_len = strlen(c->path),
        .query = c->query,
        .query_len = strlen(c->query),
        .headers = c->headers,
        .header_count = c->header_count,
        .payload_hash = payload,
    };
}

/* "date/region/service/aws4_request" into its parts (each at most 63 bytes). */
static void split_scope(const char *scope, char date8[9], char region[64], char service[64])
{
    const char *a = strchr(scope, '/');
    const char *b = a ? strchr(a + 1, '/') : NULL;
    const char *c = b ? strchr(b + 1, '/') : NULL;
    cr_assert(a && b && c && a - scope == 8 && b - a - 1 < 64 && c - b - 1 < 64, "scope %s", scope);
    memcpy(date8, scope, 8);
    date8[8] = '\0';
    memcpy(region, a + 1, (size_t)(b - a - 1));
    region[b - a - 1] = '\0';
    memcpy(service, b + 1, (size_t)(c - b - 1));
    service[c - b - 1] = '\0';
}

struct s3_run {
    struct sigv4_key_cache *cache;
    size_t checked;
};

static void s3_line(json_object *o, void *arg)
{
    struct s3_run *run = arg;
    struct s3_case c;
    s3_case_load(o, jstr(o, "payload_hash"), &c);
    bool presigned = strcmp(jstr(o, "kind"), "presigned") == 0;
    const char *amz_date = jstr(o, "amz_date");
    const char *secret = jstr(o, "secret_key");
    const char *ak = jstr(o, "access_key");
    const char *scope = jstr(o, "credential_scope");
    char date8[9], region[64], service[64];
    split_scope(scope, date8, region, service);

    struct computed got;
    compute(&c.req, presigned ? "X-Amz-Signature" : NULL, amz_date, secret, region, service, &got);
    cr_expect_str_eq(got.creq.data, jstr(o, "expected_canonical_request"), "%s", c.name);
    cr_expect_str_eq(got.sts.data, jstr(o, "expected_string_to_sign"), "%s", c.name);
    cr_expect_str_eq(got.signature, jstr(o, "expected_signature"), "%s", c.name);

    /* The same through the cache, shared by every line (several keys, dates and regions). */
    uint8_t key[32];
    char sig[65];
    sigv4_key_cache_get(run->cache, ak, secret, date8, region, service, key);
    sigv4_signature(key, got.sts.data, got.sts.len, sig);
    cr_expect_str_eq(sig, jstr(o, "expected_signature"), "%s (cached key)", c.name);

    /* And as a signer: header requests re-signed from the same headers give botocore's
     * Authorization, in botocore's format. */
    if (!presigned) {
        struct sigv4_credentials cred = {ak, secret, jstr(o, "session_token")};
        struct sigv4_signed out;
        struct buf signed_list, want;
        buf_init(&signed_list, TEST_CAP);
        buf_init(&want, TEST_CAP);
        cr_assert_eq(sigv4_signed_headers(&c.req, &signed_list), 0);
        cr_assert_eq(buf_appendf(&want,
                                 "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                                 "Signature=%s",
                                 ak, scope, signed_list.data, jstr(o, "expected_signature")),
                     0);
        cr_assert_eq(sigv4_sign_cached(run->cache, &c.req, &cred, region, service,
                                       parse_amz_date(amz_date), &out),
                     0);
        cr_expect_str_eq(out.amz_date, amz_date, "%s", c.name);
        cr_expect_str_eq(out.authorization, want.data, "%s (sigv4_sign_cached)", c.name);
        buf_free(&signed_list);
        buf_free(&want);
    }
    computed_free(&got);
    free(c.path);
    run->checked++;
}

Test(sigv4_vectors, s3_jsonl)
{
    struct s3_run run = {sigv4_key_cache_create(), 0};
    cr_assert_not_null(run.cache);
    size_t n = jsonl_each("s3.jsonl", s3_line, &run);
    cr_expect_eq(n, 43);
    cr_expect_eq(run.checked, n);
    sigv4_key_cache_destroy(run.cache);
}

/* The credential scope a verifier reads from the request: Authorization's Credential=, or the
 * decoded X-Amz-Credential parameter. Returns the "date/region/service/aws4_request" part. */
static char *request_scope(const struct s3_case *c, json_object *o)
{
    json_object *headers;
    cr_assert(json_object_object_get_ex(o, "headers", &headers));
    for (size_t i = 0; i < json_object_array_length(headers); i++) {
        json_object *h = json_object_array_get_idx(headers, i);
        if (strcasecmp(json_object_get_string(json_object_array_get_idx(h, 0)), "Authorization") !=
            0)
            continue;
        const char *v = json_object_get_string(json_object_array_get_idx(h, 1));
        const char *cred = strstr(v, "Credential=");
        cr_assert_not_null(cred);
        cred += strlen("Credential=");
        const char *slash = strchr(cred, '/');
        cr_assert_not_null(slash);
        return xstrndup(slash + 1, strcspn(slash + 1, ", "));
    }
    const char *p = strstr(c->query, "X-Amz-Credential=");
    cr_assert_not_null(p, "%s: no credential", c->name);
    p += strlen("X-Amz-Credential=");
    struct buf b;
    buf_init(&b, 4096);
    cr_assert_eq(uri_decode(&b, p, strcspn(p, "&"), false), 0);
    char *slash = strchr(b.data, '/');
    cr_assert_not_null(slash);
    char *scope = xstrdup(slash + 1);
    buf_free(&b);
    return scope;
}

struct neg_run {
    size_t checked, skipped;
};

static void neg_line(json_object *o, void *arg)
{
    struct neg_run *run = arg;
    const char *expected_sig = jstr(o, "expected_signature");
    if (!expected_sig) { /* the credential cannot be used at all: nothing to compute */
        run->skipped++;
        return;
    }
    /* Without x-amz-content-sha256 the verifier hashes the body it received. */
    const char *payload = jstr(o, "payload_hash");
    struct s3_case c;
    s3_case_load(o, payload ? payload : jstr(o, "body_sha256"), &c);
    bool presigned = strcmp(jstr(o, "kind"), "presigned") == 0;
    char *scope = request_scope(&c, o);
    char date8[9], region[64], service[64];
    split_scope(scope, date8, region, service);

    struct computed got;
    compute(&c.req, presigned ? "X-Amz-Signature" : NULL, jstr(o, "amz_date"),
            jstr(o, "secret_key"), region, service, &got);
    cr_expect_str_eq(got.creq.data, jstr(o, "expected_canonical_request"), "%s", c.name);
    cr_expect_str_eq(got.sts.data, jstr(o, "expected_string_to_sign"), "%s", c.name);
    cr_expect_str_eq(got.signature, expected_sig, "%s", c.name);
    json_object *matches;
    cr_assert(json_object_object_get_ex(o, "signature_matches", &matches));
    bool same = strcmp(got.signature, jstr(o, "provided_signature")) == 0;
    cr_expect_eq(same, json_object_get_boolean(matches), "%s: signature_matches", c.name);

    computed_free(&got);
    free(scope);
    free(c.path);
    run->checked++;
}

Test(sigv4_vectors, s3_negative_jsonl)
{
    struct neg_run run = {0, 0};
    size_t n = jsonl_each("s3-negative.jsonl", neg_line, &run);
    cr_expect_eq(n, 15);
    cr_expect_eq(run.checked, 13);
    cr_expect_eq(run.skipped, 2);
}

/* ---- canonical form edge cases --------------------------------------------------------------- */

/* Line `line` (0-based) of the canonical request for a GET with these parts. */
static char *creq_line(const char *path, const char *query, const struct sigv4_header *h, size_t nh,
                       int line)
{
    static char out[4096];
    struct sigv4_request req = {
        .method = "GET",
        .path = path,
        .path_len = path ? strlen(path) : 0,
        .query = query,
        .query_len = query ? strlen(query) : 0,
        .headers = h,
        .header_count = nh,
        .payload_hash = SIGV4_EMPTY_SHA256,
    };
    struct buf b;
    buf_init(&b, TEST_CAP);
    cr_assert_eq(sigv4_canonical_request(&req, &b), 0);
    const char *p = b.data;
    for (int i = 0; i < line; i++) {
        p = strchr(p, '\n');
        cr_assert_not_null(p);
        p++;
    }
    size_t l = strcspn(p, "\n");
    cr_assert_lt(l, sizeof(out));
    memcpy(out, p, l);
    out[l] = '\0';
    buf_free(&b);
    return out;
}

static char *cpath(const char *path)
{
    return creq_line(path, NULL, NULL, 0, 1);
}

static char *cquery(const char *query)
{
    return creq_line("/", query, NULL, 0, 2);
}

Test(sigv4_canonical, path_decoded_once_encoded_once)
{
    cr_expect_str_eq(cpath("/b/a%20b"), "/b/a%20b");
    cr_expect_str_eq(cpath("/b/a b"), "/b/a%20b");              /* legal but unencoded */
    cr_expect_str_eq(cpath("/b/%7euser%2a"), "/b/~user%2A");    /* case and ~ fixed */
    cr_expect_str_eq(cpath("/b/100%2525"), "/b/100%2525");      /* never twice */
    cr_expect_str_eq(cpath("/b/\xe1\x88\xb4"), "/b/%E1%88%B4"); /* raw UTF-8 */
    cr_expect_str_eq(cpath("/b/a%2Fb"), "/b/a/b");              /* README: decode, encode */
}

Test(sigv4_canonical, path_plus_is_literal)
{
    cr_expect_str_eq(cpath("/b/a+b"), "/b/a%2Bb");
    cr_expect_str_eq(cpath("/b/a%2Bb"), "/b/a%2Bb");
}

Test(sigv4_canonical, path_never_normalized)
{
    cr_expect_str_eq(cpath("//a//b/./../c/"), "//a//b/./../c/");
}

Test(sigv4_canonical, empty_path_is_slash)
{
    cr_expect_str_eq(cpath(""), "/");
    cr_expect_str_eq(cpath(NULL), "/");
}

Test(sigv4_canonical, query_sorting)
{
    cr_expect_str_eq(cquery("b=2&a=1&a=0"), "a=0&a=1&b=2");
    /* By name first: "a" < "a-b" although '-' < '=' in "a-b=" vs "a=". */
    cr_expect_str_eq(cquery("a-b=1&a=2"), "a=2&a-b=1");
    /* Byte order: upper case first. */
    cr_expect_str_eq(cquery("response-x=1&X-Amz-Date=2"), "X-Amz-Date=2&response-x=1");
}

Test(sigv4_canonical, query_values_and_names_recoded)
{
    cr_expect_str_eq(cquery("uploads"), "uploads=");
    cr_expect_str_eq(cquery("delete="), "delete=");
    cr_expect_str_eq(cquery("prefix=a%2fb%7E"), "prefix=a%2Fb~");
    cr_expect_str_eq(cquery("k=a=b"), "k=a%3Db");
    cr_expect_str_eq(cquery("k=a b"), "k=a%20b");
    cr_expect_str_eq(cquery("%E1%88%B4=v"), "%E1%88%B4=v");
    cr_expect_str_eq(cquery("=x"), "=x");
}

Test(sigv4_canonical, query_plus_is_space_pct2b_is_plus)
{
    cr_expect_str_eq(cquery("k=a+b"), "k=a%20b");
    cr_expect_str_eq(cquery("k=a%2Bb"), "k=a%2Bb");
}

Test(sigv4_canonical, query_empty_segments_skipped)
{
    cr_expect_str_eq(cquery("a=1&&b=2&"), "a=1&b=2");
    cr_expect_str_eq(cquery("&"), "");
    cr_expect_str_eq(cquery(""), "");
    cr_expect_str_eq(cquery(NULL), "");
}

Test(sigv4_canonical, omit_drops_only_the_named_parameter)
{
    struct sigv4_request req = {
        .method = "GET",
        .path = "/k",
        .path_len = 2,
        .query = "X-Amz-Signature=abc&X-Amz-Signatures=1&a=1",
        .query_len = strlen("X-Amz-Signature=abc&X-Amz-Signatures=1&a=1"),
        .payload_hash = SIGV4_UNSIGNED_PAYLOAD,
    };
    struct buf b;
    buf_init(&b, TEST_CAP);
    cr_assert_eq(sigv4_canonical_request_omit(&req, "X-Amz-Signature", &b), 0);
    cr_expect_str_eq(b.data, "GET\n/k\nX-Amz-Signatures=1&a=1\n\n\nUNSIGNED-PAYLOAD");
    buf_free(&b);
}

Test(sigv4_canonical, headers_lowered_trimmed_joined_sorted)
{
    struct sigv4_header h[] = {
        {"X-Amz-Date", 10, "20150830T123600Z", 16},
        {"My-Header", 9, "  b  ", 5},
        {"host", 4, "example.com:8080", 16},
        {"my-header", 9, "a \t  c", 6},
        {"Empty", 5, "   ", 3},
    };
    struct sigv4_request req = {
        .method = "GET",
        .path = "/",
        .path_len = 1,
        .headers = h,
        .header_count = 5,
        .payload_hash = SIGV4_EMPTY_SHA256,
    };
    struct buf b, s;
    buf_init(&b, TEST_CAP);
    buf_init(&s, TEST_CAP);
    cr_assert_eq(sigv4_canonical_request(&req, &b), 0);
    cr_expect_str_eq(b.data, "GET\n/\n\n"
                             "empty:\n"
                             "host:example.com:8080\n"
                             "my-header:b,a c\n"
                             "x-amz-date:20150830T123600Z\n"
                             "\n"
                             "empty;host;my-header;x-amz-date\n" SIGV4_EMPTY_SHA256);
    cr_assert_eq(sigv4_signed_headers(&req, &s), 0);
    cr_expect_str_eq(s.data, "empty;host;my-header;x-amz-date");
    buf_free(&b);
    buf_free(&s);
}

Test(sigv4_canonical, bad_escape_is_einval_and_out_untouched)
{
    struct sigv4_request req = {
        .method = "GET", .path = "/a%zz", .path_len = 5, .payload_hash = SIGV4_EMPTY_SHA256};
    struct buf b;
    buf_init(&b, TEST_CAP);
    cr_assert_eq(buf_append_str(&b, "keep"), 0);
    cr_expect_eq(sigv4_canonical_request(&req, &b), -EINVAL);
    cr_expect_str_eq(b.data, "keep");
    req.path = "/a";
    req.path_len = 2;
    req.query = "a=%4";
    req.query_len = 4;
    cr_expect_eq(sigv4_canonical_request(&req, &b), -EINVAL);
    cr_expect_str_eq(b.data, "keep");
    buf_free(&b);
}

/* ---- limits ---------------------------------------------------------------------------------- */

Test(sigv4_limits, output_cap)
{
    struct sigv4_request req = {
        .method = "GET", .path = "/abc", .path_len = 4, .payload_hash = SIGV4_EMPTY_SHA256};
    struct buf b;
    buf_init(&b, 16);
    cr_expect_eq(sigv4_canonical_request(&req, &b), -E2BIG);
    cr_expect_eq(b.len, 0);
    buf_free(&b);
}

Test(sigv4_limits, too_many_headers)
{
    static struct sigv4_header h[SIGV4_MAX_HEADERS + 1];
    for (size_t i = 0; i <= SIGV4_MAX_HEADERS; i++)
        h[i] = (struct sigv4_header){"x-h", 3, "v", 1};
    struct sigv4_request req = {.method = "GET",
                                .path = "/",
                                .path_len = 1,
                                .headers = h,
                                .header_count = SIGV4_MAX_HEADERS,
                                .payload_hash = SIGV4_EMPTY_SHA256};
    struct buf b;
    buf_init(&b, TEST_CAP);
    cr_expect_eq(sigv4_canonical_request(&req, &b), 0);
    buf_reset(&b);
    req.header_count = SIGV4_MAX_HEADERS + 1;
    cr_expect_eq(sigv4_canonical_request(&req, &b), -E2BIG);
    cr_expect_eq(sigv4_signed_headers(&req, &b), -E2BIG);
    buf_free(&b);
}

Test(sigv4_limits, too_many_query_params)
{
    struct buf q, b;
    buf_init(&q, TEST_CAP);
    buf_init(&b, TEST_CAP);
    for (int i = 0; i < SIGV4_MAX_QUERY_PARAMS; i++)
        cr_assert_eq(buf_appendf(&q, "%sp%d=%d", i ? "&" : "", i, i), 0);
    struct sigv4_request req = {.method = "GET",
                                .path = "/",
                                .path_len = 1,
                                .query = q.data,
                                .query_len = q.len,
                                .payload_hash = SIGV4_EMPTY_SHA256};
    cr_expect_eq(sigv4_canonical_request(&req, &b), 0);
    buf_reset(&b);
    /* The omitted parameter does not count. */
    cr_assert_eq(buf_append_str(&q, "&X-Amz-Signature=x"), 0);
    req.query = q.data;
    req.query_len = q.len;
    cr_expect_eq(sigv4_canonical_request_omit(&req, "X-Amz-Signature", &b), 0);
    buf_reset(&b);
    cr_expect_eq(sigv4_canonical_request(&req, &b), -E2BIG);
    cr_expect_eq(b.len, 0);
    buf_free(&q);
    buf_free(&b);
}

Test(sigv4_limits, authorization_too_long)
{
    char ak[1100];
    memset(ak, 'A', sizeof(ak) - 1);
    ak[sizeof(ak) - 1] = '\0';
    struct sigv4_header h = {"host", 4, "h", 1};
    struct sigv4_request req = {.method = "GET",
                                .path = "/",
                                .path_len = 1,
                                .headers = &h,
                                .header_count = 1,
                                .payload_hash = SIGV4_EMPTY_SHA256};
    struct sigv4_credentials cred = {ak, "secret", NULL};
    struct sigv4_signed out;
    cr_expect_eq(sigv4_sign(&req, &cred, "us-east-1", "s3", SUITE_TIME, &out), -E2BIG);
    cr_expect_str_eq(out.authorization, "");
}

Test(sigv4_string_to_sign, short_date_is_einval)
{
    struct buf b;
    buf_init(&b, TEST_CAP);
    cr_expect_eq(sigv4_string_to_sign("2015083", "r", "s", "x", 1, &b), -EINVAL);
    buf_free(&b);
}

/* ---- primitives ------------------------------------------------------------------------------ */

Test(sigv4_primitives, amz_date)
{
    char d[17];
    sigv4_amz_date(SUITE_TIME, d);
    cr_expect_str_eq(d, SUITE_AMZ_DATE);
    sigv4_amz_date(0, d);
    cr_expect_str_eq(d, "19700101T000000Z");
}

Test(sigv4_primitives, sha256)
{
    cr_expect_str_eq(sha256_hex("", 0), SIGV4_EMPTY_SHA256);
    cr_expect_str_eq(sha256_hex("Param1=value1", 13),
                     "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}

/* The AWS docs' "Examples of how to derive a signing key" value for the IAM example. */
Test(sigv4_primitives, signing_key_docs_example)
{
    uint8_t key[32];
    char hex[65];
    sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam",
                      key);
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[key[i] >> 4];
        hex[2 * i + 1] = digits[key[i] & 15];
    }
    hex[64] = '\0';
    cr_expect_str_eq(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

/* A secret longer than the HMAC block takes sigv4.c's hash-the-key-first path; the result must
 * equal a plain libcrypto HMAC chain over the long key, where HMAC hashes it itself. */
Test(sigv4_primitives, long_secret)
{
    char secret[200];
    memset(secret, 's', sizeof(secret) - 1);
    secret[sizeof(secret) - 1] = '\0';
    uint8_t got[32], k1[32], k2[32], k3[32], want[32];
    sigv4_signing_key(secret, "20240315", "us-east-1", "s3", got);
    struct buf k;
    buf_init(&k, 4096);
    cr_assert_eq(buf_appendf(&k, "AWS4%s", secret), 0);
    unsigned int n = 0;
    cr_assert(HMAC(EVP_sha256(), k.data, (int)k.len, (const unsigned char *)"20240315", 8, k1, &n));
    cr_assert(HMAC(EVP_sha256(), k1, 32, (const unsigned char *)"us-east-1", 9, k2, &n));
    cr_assert(HMAC(EVP_sha256(), k2, 32, (const unsigned char *)"s3", 2, k3, &n));
    cr_assert(HMAC(EVP_sha256(), k3, 32, (const unsigned char *)"aws4_request", 12, want, &n));
    cr_expect_eq(memcmp(got, want, 32), 0);
    buf_free(&k);
}

/* ---- signing-key cache ---------------------------------------------------------------------- */

static void expect_cached_equals_derived(struct sigv4_key_cache *c, const char *ak,
                                         const char *secret, const char *date8, const char *region)
{
    uint8_t want[32], got[32];
    sigv4_signing_key(secret, date8, region, "s3", want);
    sigv4_key_cache_get(c, ak, secret, date8, region, "s3", got);
    cr_expect_eq(memcmp(want, got, 32), 0, "%s %s %s", ak, date8, region);
}

Test(sigv4_key_cache, hits_and_misses)
{
    struct sigv4_key_cache *c = sigv4_key_cache_create();
    cr_assert_not_null(c);
    expect_cached_equals_derived(c, "AK1", "secret1", "20240315", "us-east-1");
    expect_cached_equals_derived(c, "AK1", "secret1", "20240315", "us-east-1"); /* hit */
    expect_cached_equals_derived(c, "AK1", "secret1", "20240316", "us-east-1"); /* new day */
    expect_cached_equals_derived(c, "AK1", "secret1", "20240315", "eu-west-1");
    /* A rotated secret for the same key id must not get the old key. */
    expect_cached_equals_derived(c, "AK1", "secret2", "20240315", "us-east-1");
    expect_cached_equals_derived(c, "AK1", "secret1", "20240315", "us-east-1");
    sigv4_key_cache_destroy(c);
    sigv4_key_cache_destroy(NULL);
}

Test(sigv4_key_cache, more_keys_than_slots)
{
    struct sigv4_key_cache *c = sigv4_key_cache_create();
    cr_assert_not_null(c);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 3 * SIGV4_KEY_CACHE_ENTRIES; i++) {
            char ak[32], secret[32];
            snprintf(ak, sizeof(ak), "AK%d", i);
            snprintf(secret, sizeof(secret), "secret%d", i);
            expect_cached_equals_derived(c, ak, secret, "20240315", "us-east-1");
        }
    }
    sigv4_key_cache_destroy(c);
}

Test(sigv4_key_cache, oversized_fields_bypass)
{
    char long_ak[SIGV4_KEY_CACHE_FIELD_BYTES + 10];
    memset(long_ak, 'A', sizeof(long_ak) - 1);
    long_ak[sizeof(long_ak) - 1] = '\0';
    struct sigv4_key_cache *c = sigv4_key_cache_create();
    cr_assert_not_null(c);
    expect_cached_equals_derived(c, long_ak, "secret", "20240315", "us-east-1");
    expect_cached_equals_derived(c, long_ak, "secret", "20240315", "us-east-1");
    sigv4_key_cache_destroy(c);
}

#define CACHE_THREADS 8
#define CACHE_ROUNDS  200

static void *cache_worker(void *arg)
{
    struct sigv4_key_cache *c = arg;
    uint8_t want[5][32];
    char aks[5][16], secrets[5][16];
    for (int k = 0; k < 5; k++) {
        snprintf(aks[k], sizeof(aks[k]), "AK%d", k);
        snprintf(secrets[k], sizeof(secrets[k]), "s%d", k);
        sigv4_signing_key(secrets[k], "20240315", "us-east-1", "s3", want[k]);
    }
    long bad = 0;
    for (int r = 0; r < CACHE_ROUNDS; r++) {
        int k = r % 5;
        uint8_t got[32];
        sigv4_key_cache_get(c, aks[k], secrets[k], "20240315", "us-east-1", "s3", got);
        bad += memcmp(got, want[k], 32) != 0;
    }
    return (void *)bad;
}

Test(sigv4_key_cache, threads)
{
    struct sigv4_key_cache *c = sigv4_key_cache_create();
    cr_assert_not_null(c);
    pthread_t t[CACHE_THREADS];
    for (int i = 0; i < CACHE_THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, cache_worker, c), 0);
    for (int i = 0; i < CACHE_THREADS; i++) {
        void *bad;
        cr_assert_eq(pthread_join(t[i], &bad), 0);
        cr_expect_eq((long)bad, 0);
    }
    sigv4_key_cache_destroy(c);
}

Test(sigv4_sign, cached_equals_uncached)
{
    struct sigv4_header h[] = {{"Host", 4, "127.0.0.1:8080", 14},
                               {"x-amz-date", 10, "20240315T123456Z", 16},
                               {"x-amz-content-sha256", 20, SIGV4_EMPTY_SHA256, 64}};
    struct sigv4_request req = {.method = "GET",
                                .path = "/mybucket/k",
                                .path_len = 11,
                                .headers = h,
                                .header_count = 3,
                                .payload_hash = SIGV4_EMPTY_SHA256};
    struct sigv4_credentials cred = {"AKIAIOSFODNN7EXAMPLE",
                                     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL};
    struct sigv4_key_cache *c = sigv4_key_cache_create();
    cr_assert_not_null(c);
    struct sigv4_signed a, b, d;
    cr_assert_eq(sigv4_sign(&req, &cred, "us-east-1", "s3", 1710506096, &a), 0);
    cr_assert_eq(sigv4_sign_cached(c, &req, &cred, "us-east-1", "s3", 1710506096, &b), 0);
    cr_assert_eq(sigv4_sign_cached(c, &req, &cred, "us-east-1", "s3", 1710506096, &d), 0);
    cr_expect_str_eq(a.authorization, b.authorization);
    cr_expect_str_eq(a.authorization, d.authorization);
    cr_expect_str_eq(a.amz_date, "20240315T123456Z");
    sigv4_key_cache_destroy(c);
}
