/*
 * libFuzzer target for the SigV4 verifier (core/sigv4_verify.c), the aws-chunked decoder
 * (core/sigv4_body.c) and the canonicalizer under them (core/sigv4.c, core/uri.c): every byte
 * here comes from outside, so none of it may crash, leak or hang.
 *
 * Input: one selector byte, then
 *   selector % 4 == 0, 1: a request, lines split by '\n': method, path, query, then headers as
 *                         "name:value" (at most FUZZ_MAX_HEADERS); verified at FUZZ_NOW with
 *                         the key AKIAIOSFODNN7EXAMPLE in region us-east-1 (1: strict mode);
 *   selector % 4 == 2:    an aws-chunked body, fed in pieces of (second byte % 251) + 1 bytes to
 *                         a decoder seeded with the S3 docs' chunked example (its seed signature
 *                         and signing key), so the docs' body decodes to the end;
 *   selector % 4 == 3:    the same request lines straight into sigv4_canonical_request_omit.
 *
 * Build and run: tests/fuzz/run.sh [SECONDS]. The unit tests replay the corpus through this same
 * function (tests/unit/core/sigv4_verify.c), so a fixed crash stays fixed.
 */
#include "core/sigv4_body.h"
#include "core/sigv4_verify.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NOW         1710506096 /* 20240315T123456Z, the signing time of most vectors */
#define FUZZ_MAX_HEADERS 64
#define FUZZ_CHUNK_SEED  "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"

static int fuzz_lookup(void *arg, const char *access_key, struct sigv4_verify_secret *out)
{
    (void)arg;
    if (strcmp(access_key, "AKIAIOSFODNN7EXAMPLE") == 0) {
        out->secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        out->session_token = NULL;
        return 0;
    }
    if (strcmp(access_key, "ASIATEMPORARYEXAMPLE") == 0) {
        out->secret_key = "temporary/secret+key";
        out->session_token = "FwoGZXIvYXdzEXAMPLE//token+abc==";
        return 0;
    }
    return -1;
}

/* A verdict and its error agree: OK leaves err empty, a refusal fills it with a code. */
static void fuzz_check(enum sigv4_verify_error e, const struct sigv4_error *err)
{
    if (e == SIGV4_VERIFY_OK ? err->code && err->code[0] : err->kind != e || !err->code[0])
        abort();
}

struct fuzz_request {
    const char *method;
    size_t method_len;
    const char *path;
    size_t path_len;
    const char *query;
    size_t query_len;
    struct sigv4_header headers[FUZZ_MAX_HEADERS];
    size_t header_count;
};

/* Split the lines; pointers into data (no copies, no NULs needed). */
static void fuzz_split(const char *data, size_t len, struct fuzz_request *r)
{
    const char *p = data, *end = data + len;
    const char **fields[3] = {&r->method, &r->path, &r->query};
    size_t *lens[3] = {&r->method_len, &r->path_len, &r->query_len};
    memset(r, 0, sizeof(*r));
    for (int line = 0; p <= end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (line < 3) {
            *fields[line] = p;
            *lens[line] = l;
        } else if (r->header_count < FUZZ_MAX_HEADERS) {
            const char *colon = memchr(p, ':', l);
            size_t nlen = colon ? (size_t)(colon - p) : l;
            r->headers[r->header_count++] =
                (struct sigv4_header){p, nlen, colon ? colon + 1 : p + l, colon ? l - nlen - 1 : 0};
        }
        if (!nl)
            break;
        p = nl + 1;
    }
}

static void fuzz_verify(const char *data, size_t len, bool strict)
{
    struct fuzz_request r;
    fuzz_split(data, len, &r);
    char *method = strndup(r.method ? r.method : "", r.method_len);
    if (!method)
        return;
    struct sigv4_verify_request req = {
        .method = method,
        .path = r.path,
        .path_len = r.path_len,
        .query = r.query,
        .query_len = r.query_len,
        .headers = r.headers,
        .header_count = r.header_count,
    };
    struct sigv4_verify_config cfg = {
        .region = "us-east-1",
        .service = "s3",
        .lookup = fuzz_lookup,
        .require_content_sha256 = strict,
    };
    struct sigv4_auth auth;
    struct sigv4_error err;
    enum sigv4_verify_error e = sigv4_verify(&cfg, &req, FUZZ_NOW, &auth, &err);
    fuzz_check(e, &err);
    if (e == SIGV4_VERIFY_OK) {
        struct sigv4_error berr = {0};
        if (auth.payload_mode == SIGV4_PAYLOAD_SHA256) {
            struct sigv4_body_hash *h = sigv4_body_hash_create(auth.payload_hash);
            if (h) {
                if (sigv4_body_hash_update(h, data, len) == 0)
                    fuzz_check(sigv4_body_hash_finish(h, &berr), &berr);
                sigv4_body_hash_destroy(h);
            }
        } else if (auth.payload_mode == SIGV4_PAYLOAD_STREAMING_SIGNED) {
            struct sigv4_chunked *c = sigv4_chunked_create(&auth, auth.decoded_content_length);
            if (c) {
                fuzz_check(sigv4_chunked_finish(c, &berr), &berr);
                sigv4_chunked_destroy(c);
            }
        }
        sigv4_error_free(&berr);
    } else {
        struct buf x;
        buf_init(&x, 4 << 20);
        if (sigv4_error_append_xml(&err, &x) != 0)
            abort(); /* 4 MiB holds any error (canonical request <= 64 KiB) */
        buf_free(&x);
    }
    sigv4_auth_clear(&auth);
    sigv4_error_free(&err);
    free(method);
}

static void fuzz_chunked(const char *data, size_t len)
{
    if (len == 0)
        return;
    size_t step = (size_t)(unsigned char)data[0] % 251 + 1;
    data++;
    len--;
    struct sigv4_auth auth;
    sigv4_auth_clear(&auth);
    auth.payload_mode = SIGV4_PAYLOAD_STREAMING_SIGNED;
    memcpy(auth.amz_date, "20130524T000000Z", 17);
    memcpy(auth.scope, "20130524/us-east-1/s3/aws4_request", 35);
    memcpy(auth.seed_signature, FUZZ_CHUNK_SEED, 65);
    sigv4_signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3",
                      auth.signing_key);
    struct sigv4_chunked *c = sigv4_chunked_create(&auth, UINT64_MAX);
    sigv4_auth_clear(&auth);
    if (!c)
        return;
    struct sigv4_error err = {0};
    bool stop = false;
    uint64_t decoded = 0;
    for (size_t at = 0; at < len && !stop; at += step) {
        const char *pos = data + at;
        const char *end = data + (at + step < len ? at + step : len);
        for (;;) {
            const char *out;
            size_t out_len;
            enum sigv4_chunked_rc rc = sigv4_chunked_parse(c, &pos, end, &out, &out_len, &err);
            if (rc == SIGV4_CHUNKED_DATA) {
                if (out < data || out + out_len > end || out_len == 0)
                    abort(); /* a data view must lie inside the input just given */
                decoded += out_len;
                continue;
            }
            if (rc == SIGV4_CHUNKED_ERROR || rc == SIGV4_CHUNKED_DONE)
                stop = true;
            else if (pos != end)
                abort(); /* AGAIN means everything was consumed */
            break;
        }
    }
    if (decoded > len)
        abort();
    sigv4_error_free(&err);
    fuzz_check(sigv4_chunked_finish(c, &err), &err);
    sigv4_error_free(&err);
    sigv4_chunked_destroy(c);
}

static void fuzz_canonical(const char *data, size_t len)
{
    struct fuzz_request r;
    fuzz_split(data, len, &r);
    char *method = strndup(r.method ? r.method : "", r.method_len);
    if (!method)
        return;
    struct sigv4_request req = {
        .method = method,
        .path = r.path,
        .path_len = r.path_len,
        .query = r.query,
        .query_len = r.query_len,
        .headers = r.headers,
        .header_count = r.header_count,
        .payload_hash = SIGV4_UNSIGNED_PAYLOAD,
    };
    struct buf out;
    buf_init(&out, SIGV4_MAX_CANONICAL_BYTES);
    if (sigv4_canonical_request_omit(&req, "X-Amz-Signature", &out) == 0 && out.len == 0)
        abort(); /* a canonical request has at least its newlines */
    buf_free(&out);
    free(method);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *p = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] % 4) {
    case 0:
    case 1:
        fuzz_verify(p, len, data[0] % 4 == 1);
        break;
    case 2:
        fuzz_chunked(p, len);
        break;
    default:
        fuzz_canonical(p, len);
        break;
    }
    return 0;
}
