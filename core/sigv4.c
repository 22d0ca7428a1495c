/*
 * sigv4: AWS Signature Version 4 in its S3 flavour, for both the requests we sign (to an S3 UFS)
 * and the ones we verify (from clients). See sigv4.h for the contract.
 *
 * The canonical form follows what the vectors in tests/vectors/sigv4 pin down (README there,
 * "Pitfalls"): the path is decoded once and encoded once, never normalized (the six
 * normalize-path cases of the generic AWS suite must fail here, S3 keeps "//" and ".."); every
 * query name and value is decoded and re-encoded, then sorted by byte; headers are lower-cased,
 * trimmed, inner whitespace runs collapsed, repeats joined with ','. Hashing is libcrypto's; key
 * material is wiped with OPENSSL_cleanse, which the compiler cannot drop (STYLE.md "Logging
 * secrets"), and nothing here logs.
 */
#include "sigv4.h"

#include "uri.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
/* HMAC-SHA256 block size: longer HMAC keys are hashed first (RFC 2104 section 2). */
#define SIGV4_HMAC_BLOCK_BYTES 64

/* ---- hashing ---------------------------------------------------------------------------- */

static void sigv4_hex(const uint8_t *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

/* What a failed hash reports: 'x' is not a hex digit, so a comparison with anything a client
 * sent fails closed instead of matching a predictable value. */
static void sigv4_hex_failed(char out[65])
{
    memset(out, 'x', 64);
    out[64] = '\0';
}

static int sigv4_hmac(const void *key, size_t key_len, const void *data, size_t len,
                      uint8_t out[32])
{
    unsigned int n = 0;
    if (key_len > SIGV4_HMAC_BLOCK_BYTES)
        return -EINVAL; /* callers hash long keys themselves, so the int cast below is safe */
    if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) || n != 32)
        return -EIO;
    return 0;
}

static int sigv4_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != 32)
        return -EIO;
    return 0;
}

void sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t md[32];
    if (sigv4_sha256(data, len, md)) {
        sigv4_hex_failed(out);
        return;
    }
    sigv4_hex(md, sizeof(md), out);
}

void sigv4_signature(const uint8_t key[32], const char *sts, size_t sts_len, char out[65])
{
    uint8_t mac[32];
    if (sigv4_hmac(key, 32, sts, sts_len, mac)) {
        sigv4_hex_failed(out);
        return;
    }
    sigv4_hex(mac, sizeof(mac), out);
}

/* kSecret = "AWS4" + secret, as the HMAC key of the first step. Keys longer than the block are
 * replaced by their SHA-256, exactly what HMAC does itself (RFC 2104 section 2), so a secret of
 * any length needs no allocation here. Returns the key length, or -EIO. */
static int sigv4_secret_key(const char *secret_key, uint8_t out[SIGV4_HMAC_BLOCK_BYTES])
{
    size_t len = strlen(secret_key);
    if (len <= SIGV4_HMAC_BLOCK_BYTES - 4) {
        memcpy(out, "AWS4", 4);
        memcpy(out + 4, secret_key, len);
        return (int)(len + 4);
    }
    int rc = -EIO;
    unsigned int n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        goto fail;
    if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) || !EVP_DigestUpdate(ctx, "AWS4", 4) ||
        !EVP_DigestUpdate(ctx, secret_key, len) || !EVP_DigestFinal_ex(ctx, out, &n) || n != 32)
        goto fail;
    rc = 32;
fail:
    EVP_MD_CTX_free(ctx);
    return rc;
}

static int sigv4_derive_key(const char *secret_key, const char *date8, const char *region,
                            const char *service, uint8_t out[32])
{
    int rc = -EIO;
    uint8_t secret[SIGV4_HMAC_BLOCK_BYTES];
    uint8_t k[32];
    int secret_len = sigv4_secret_key(secret_key, secret);
    if (secret_len < 0)
        goto fail;
    if (sigv4_hmac(secret, (size_t)secret_len, date8, strlen(date8), k) ||
        sigv4_hmac(k, sizeof(k), region, strlen(region), k) ||
        sigv4_hmac(k, sizeof(k), service, strlen(service), k) ||
        sigv4_hmac(k, sizeof(k), "aws4_request", 12, out))
        goto fail;
    rc = 0;
fail:
    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(k, sizeof(k));
    return rc;
}

void sigv4_signing_key(const char *secret_key, const char *date8, const char *region,
                       const char *service, uint8_t out[32])
{
    if (sigv4_derive_key(secret_key, date8, region, service, out) == 0)
        return;
    /* The signature is void-returning, so a failure must still leave a key nobody can predict:
     * a zeroed key would let anyone forge signatures the verifier accepts. Without even random
     * bytes the process cannot sign or verify anything safely. */
    if (RAND_bytes(out, 32) != 1)
        abort();
}

/* ---- canonical request --------------------------------------------------------------------- */

static char sigv4_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* What counts as whitespace in a header value: the set botocore's SigV4Auth._header_value
 * collapses (Python str.split()), which includes what obsolete line folding leaves behind. */
static bool sigv4_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

struct sigv4_hdr_ref {
    const struct sigv4_header *h;
    size_t idx; /* position in the request: repeated headers keep arrival order */
};

static int sigv4_name_cmp(const struct sigv4_header *a, const struct sigv4_header *b)
{
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    for (size_t i = 0; i < n; i++) {
        unsigned char ca = (unsigned char)sigv4_lower(a->name[i]);
        unsigned char cb = (unsigned char)sigv4_lower(b->name[i]);
        if (ca != cb)
            return ca < cb ? -1 : 1;
    }
    return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

static int sigv4_hdr_ref_cmp(const void *pa, const void *pb)
{
    const struct sigv4_hdr_ref *a = pa, *b = pb;
    int c = sigv4_name_cmp(a->h, b->h);
    if (c)
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* The request's headers sorted by lower-cased name, then by arrival. *out is malloc'd (NULL
 * when there are none); the caller frees it. */
static int sigv4_sort_headers(const struct sigv4_request *req, struct sigv4_hdr_ref **out)
{
    *out = NULL;
    if (req->header_count == 0)
        return 0;
    if (req->header_count > SIGV4_MAX_HEADERS)
        return -E2BIG;
    struct sigv4_hdr_ref *refs = malloc(req->header_count * sizeof(*refs));
    if (!refs)
        return -ENOMEM;
    for (size_t i = 0; i < req->header_count; i++) {
        refs[i].h = &req->headers[i];
        refs[i].idx = i;
    }
    qsort(refs, req->header_count, sizeof(*refs), sigv4_hdr_ref_cmp);
    *out = refs;
    return 0;
}

static int sigv4_append_lower(struct buf *out, const char *s, size_t len)
{
    size_t at = out->len;
    int rc = buf_append(out, s, len);
    if (rc)
        return rc;
    for (size_t i = at; i < out->len; i++)
        out->data[i] = sigv4_lower(out->data[i]);
    return 0;
}

/* Value trimmed, each inner whitespace run as one space (AWS docs "Trimall"). */
static int sigv4_append_trimmed(struct buf *out, const char *v, size_t len)
{
    size_t i = 0;
    bool first = true;
    while (i < len) {
        while (i < len && sigv4_is_space(v[i]))
            i++;
        size_t start = i;
        while (i < len && !sigv4_is_space(v[i]))
            i++;
        if (i == start)
            break;
        int rc = first ? 0 : buf_append_char(out, ' ');
        if (rc == 0)
            rc = buf_append(out, v + start, i - start);
        if (rc)
            return rc;
        first = false;
    }
    return 0;
}

/* "name:v1,v2\n" per distinct name, when values is true; "name1;name2" when it is false. */
static int sigv4_append_headers(const struct sigv4_hdr_ref *refs, size_t n, bool values,
                                struct buf *out)
{
    for (size_t i = 0; i < n; i++) {
        bool same = i > 0 && sigv4_name_cmp(refs[i - 1].h, refs[i].h) == 0;
        int rc = 0;
        if (same && !values)
            continue;
        if (same) {
            rc = buf_append_char(out, ',');
        } else {
            if (!values && i > 0)
                rc = buf_append_char(out, ';');
            if (rc == 0)
                rc = sigv4_append_lower(out, refs[i].h->name, refs[i].h->name_len);
            if (rc == 0 && values)
                rc = buf_append_char(out, ':');
        }
        if (rc == 0 && values)
            rc = sigv4_append_trimmed(out, refs[i].h->value, refs[i].h->value_len);
        bool last = i + 1 == n || sigv4_name_cmp(refs[i].h, refs[i + 1].h) != 0;
        if (rc == 0 && values && last)
            rc = buf_append_char(out, '\n');
        if (rc)
            return rc;
    }
    return 0;
}

/* Decode once, then encode once into out. s may be NULL when len is 0. */
static int sigv4_recode(struct buf *tmp, const char *s, size_t len, bool plus_as_space,
                        bool keep_slash, struct buf *out)
{
    buf_reset(tmp);
    int rc = len ? uri_decode(tmp, s, len, plus_as_space) : 0;
    if (rc == 0 && tmp->len)
        rc = uri_encode(out, tmp->data, tmp->len, keep_slash);
    return rc;
}

static int sigv4_append_path(const struct sigv4_request *req, struct buf *tmp, struct buf *out)
{
    /* The AWS docs: an empty absolute path is "/". S3 never normalizes: "/a//b/../c" is the key
     * "a//b/../c" (suite/normalize-path/normalize-path.txt). '+' stays a plus: SDKs send a
     * literal plus in a key as %2B and a space as %20 (vectors get-key-plus, get-key-spaces). */
    if (!req->path || req->path_len == 0)
        return buf_append_char(out, '/');
    return sigv4_recode(tmp, req->path, req->path_len, false, true, out);
}

struct sigv4_param {
    size_t name_off, name_len, value_off, value_len; /* into the scratch buffer */
    const char *name, *value;                        /* set once the scratch stops moving */
};

static int sigv4_param_cmp(const void *pa, const void *pb)
{
    const struct sigv4_param *a = pa, *b = pb;
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);
    if (c == 0 && a->name_len != b->name_len)
        return a->name_len < b->name_len ? -1 : 1;
    if (c)
        return c;
    n = a->value_len < b->value_len ? a->value_len : b->value_len;
    c = memcmp(a->value, b->value, n);
    if (c == 0 && a->value_len != b->value_len)
        return a->value_len < b->value_len ? -1 : 1;
    return c;
}

/*
 * Canonical query. Names and values are compared after encoding, by byte (so "X-Amz-*" sorts
 * before "response-*": vector presign-get-virtual-hosted-us-west-2), and a name without '='
 * signs as "name=" (?uploads, ?delete: vectors create-multipart-upload, delete-objects).
 * In the query '+' decodes to a space, form-style, then signs as %20: S3 accepts such URLs with
 * a signature over %20 (aws-sdk-go#220 sent Go's '+' on the wire and signed %20; aws4fetch#83
 * reports S3 accepting the same), while SDKs send a real plus as %2B. Empty segments ("a&&b",
 * a trailing '&') carry no parameter and are skipped.
 */
static int sigv4_append_query(const struct sigv4_request *req, const char *omit_param,
                              struct buf *tmp, struct buf *out)
{
    const char *q = req->query;
    size_t qlen = q ? req->query_len : 0;
    if (qlen == 0)
        return 0;

    int rc = -ENOMEM;
    size_t max = 1, count = 0;
    for (size_t i = 0; i < qlen; i++)
        max += q[i] == '&';
    if (max > SIGV4_MAX_QUERY_PARAMS)
        max = SIGV4_MAX_QUERY_PARAMS; /* the loop refuses parameter number MAX + 1 */
    struct sigv4_param *params = calloc(max, sizeof(*params));
    struct buf scratch;
    buf_init(&scratch, out->max);
    size_t omit_len = omit_param ? strlen(omit_param) : 0;
    if (!params)
        goto fail;

    for (size_t start = 0; start <= qlen;) {
        const char *seg = q + start;
        const char *amp = memchr(seg, '&', qlen - start);
        size_t seg_len = amp ? (size_t)(amp - seg) : qlen - start;
        start += seg_len + 1;
        if (seg_len == 0)
            continue;
        const char *eq = memchr(seg, '=', seg_len);
        size_t name_len = eq ? (size_t)(eq - seg) : seg_len;
        const char *value = eq ? eq + 1 : NULL;
        size_t value_len = eq ? seg_len - name_len - 1 : 0;

        buf_reset(tmp);
        rc = name_len ? uri_decode(tmp, seg, name_len, true) : 0;
        if (rc)
            goto fail;
        if (omit_param && tmp->len == omit_len && memcmp(tmp->data, omit_param, omit_len) == 0)
            continue;
        if (count == SIGV4_MAX_QUERY_PARAMS) {
            rc = -E2BIG;
            goto fail;
        }
        struct sigv4_param *p = &params[count++];
        p->name_off = scratch.len;
        rc = tmp->len ? uri_encode(&scratch, tmp->data, tmp->len, false) : 0;
        if (rc)
            goto fail;
        p->name_len = scratch.len - p->name_off;
        p->value_off = scratch.len;
        rc = sigv4_recode(tmp, value, value_len, true, false, &scratch);
        if (rc)
            goto fail;
        p->value_len = scratch.len - p->value_off;
    }

    /* Empty names and values leave scratch unallocated: offsets are then from "". */
    const char *base = scratch.data ? scratch.data : "";
    for (size_t i = 0; i < count; i++) {
        params[i].name = base + params[i].name_off;
        params[i].value = base + params[i].value_off;
    }
    if (count)
        qsort(params, count, sizeof(*params), sigv4_param_cmp);
    rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        if (i)
            rc = buf_append_char(out, '&');
        if (rc == 0)
            rc = buf_append(out, params[i].name, params[i].name_len);
        if (rc == 0)
            rc = buf_append_char(out, '=');
        if (rc == 0)
            rc = buf_append(out, params[i].value, params[i].value_len);
    }
fail:
    buf_free(&scratch);
    free(params);
    return rc;
}

int sigv4_canonical_request_omit(const struct sigv4_request *req, const char *omit_param,
                                 struct buf *out)
{
    size_t start = out->len;
    struct sigv4_hdr_ref *refs = NULL;
    struct buf tmp;
    buf_init(&tmp, out->max);
    const char *payload = req->payload_hash ? req->payload_hash : SIGV4_UNSIGNED_PAYLOAD;

    int rc = sigv4_sort_headers(req, &refs);
    if (rc)
        goto fail;
    if ((rc = buf_append_str(out, req->method)) || (rc = buf_append_char(out, '\n')) ||
        (rc = sigv4_append_path(req, &tmp, out)) || (rc = buf_append_char(out, '\n')) ||
        (rc = sigv4_append_query(req, omit_param, &tmp, out)) ||
        (rc = buf_append_char(out, '\n')) ||
        (rc = sigv4_append_headers(refs, req->header_count, true, out)) ||
        (rc = buf_append_char(out, '\n')) ||
        (rc = sigv4_append_headers(refs, req->header_count, false, out)) ||
        (rc = buf_append_char(out, '\n')) || (rc = buf_append_str(out, payload)))
        goto fail;
    rc = 0;
fail:
    if (rc && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    buf_free(&tmp);
    free(refs);
    return rc;
}

int sigv4_canonical_request(const struct sigv4_request *req, struct buf *out)
{
    return sigv4_canonical_request_omit(req, NULL, out);
}

int sigv4_signed_headers(const struct sigv4_request *req, struct buf *out)
{
    size_t start = out->len;
    struct sigv4_hdr_ref *refs = NULL;
    int rc = sigv4_sort_headers(req, &refs);
    if (rc == 0)
        rc = sigv4_append_headers(refs, req->header_count, false, out);
    if (rc && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    free(refs);
    return rc;
}

int sigv4_string_to_sign(const char *amz_date, const char *region, const char *service,
                         const char *canonical_request, size_t creq_len, struct buf *out)
{
    char hash[65];
    if (strnlen(amz_date, 8) < 8)
        return -EINVAL;
    sigv4_sha256_hex(canonical_request, creq_len, hash);
    return buf_appendf(out, SIGV4_ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s", amz_date, amz_date,
                       region, service, hash);
}

void sigv4_amz_date(time_t t, char out[17])
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        memcpy(out, "19700101T000000Z", 17); /* a year past 9999: no real clock gets here */
}

/* ---- signing-key cache --------------------------------------------------------------------- */

struct sigv4_key_entry {
    uint64_t last_use; /* 0: empty slot */
    char access_key[SIGV4_KEY_CACHE_FIELD_BYTES];
    char secret[SIGV4_KEY_CACHE_FIELD_BYTES]; /* zero-padded: compared whole, in constant time */
    char date8[SIGV4_KEY_CACHE_FIELD_BYTES];
    char region[SIGV4_KEY_CACHE_FIELD_BYTES];
    char service[SIGV4_KEY_CACHE_FIELD_BYTES];
    uint8_t key[32];
};

struct sigv4_key_cache {
    pthread_mutex_t lock;
    uint64_t clock; /* bumped on every hit or fill; orders entries for replacement */
    struct sigv4_key_entry entries[SIGV4_KEY_CACHE_ENTRIES];
};

struct sigv4_key_cache *sigv4_key_cache_create(void)
{
    struct sigv4_key_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void sigv4_key_cache_destroy(struct sigv4_key_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
}

static bool sigv4_fits(const char *s)
{
    return strnlen(s, SIGV4_KEY_CACHE_FIELD_BYTES) < SIGV4_KEY_CACHE_FIELD_BYTES;
}

/* The matching entry, or NULL. Called with the lock held; padded_secret is the secret zero-padded
 * to the field size, so the comparison time does not depend on where the secrets differ. */
static struct sigv4_key_entry *sigv4_key_find(struct sigv4_key_cache *c, const char *access_key,
                                              const char *padded_secret, const char *date8,
                                              const char *region, const char *service)
{
    for (size_t i = 0; i < SIGV4_KEY_CACHE_ENTRIES; i++) {
        struct sigv4_key_entry *e = &c->entries[i];
        if (e->last_use && strcmp(e->access_key, access_key) == 0 && strcmp(e->date8, date8) == 0 &&
            strcmp(e->region, region) == 0 && strcmp(e->service, service) == 0 &&
            CRYPTO_memcmp(e->secret, padded_secret, sizeof(e->secret)) == 0)
            return e;
    }
    return NULL;
}

void sigv4_key_cache_get(struct sigv4_key_cache *c, const char *access_key, const char *secret_key,
                         const char *date8, const char *region, const char *service,
                         uint8_t out[32])
{
    if (!c || !sigv4_fits(access_key) || !sigv4_fits(secret_key) || !sigv4_fits(date8) ||
        !sigv4_fits(region) || !sigv4_fits(service)) {
        sigv4_signing_key(secret_key, date8, region, service, out);
        return;
    }
    char padded[SIGV4_KEY_CACHE_FIELD_BYTES] = {0};
    memcpy(padded, secret_key, strlen(secret_key));

    pthread_mutex_lock(&c->lock);
    struct sigv4_key_entry *e = sigv4_key_find(c, access_key, padded, date8, region, service);
    if (e) {
        e->last_use = ++c->clock;
        memcpy(out, e->key, 32);
        pthread_mutex_unlock(&c->lock);
        goto done;
    }
    pthread_mutex_unlock(&c->lock);

    /* Derive outside the lock: a miss (a new day, a new key) must not stall other threads. */
    if (sigv4_derive_key(secret_key, date8, region, service, out) != 0) {
        sigv4_signing_key(secret_key, date8, region, service, out); /* random, never cached */
        goto done;
    }

    pthread_mutex_lock(&c->lock);
    e = sigv4_key_find(c, access_key, padded, date8, region, service); /* raced with another */
    if (!e) {
        e = &c->entries[0];
        for (size_t i = 1; i < SIGV4_KEY_CACHE_ENTRIES && e->last_use; i++)
            if (c->entries[i].last_use < e->last_use)
                e = &c->entries[i];
        OPENSSL_cleanse(e, sizeof(*e));
        memcpy(e->access_key, access_key, strlen(access_key) + 1);
        memcpy(e->secret, padded, sizeof(e->secret));
        memcpy(e->date8, date8, strlen(date8) + 1);
        memcpy(e->region, region, strlen(region) + 1);
        memcpy(e->service, service, strlen(service) + 1);
        memcpy(e->key, out, 32);
    }
    e->last_use = ++c->clock;
    pthread_mutex_unlock(&c->lock);
done:
    OPENSSL_cleanse(padded, sizeof(padded));
}

/* ---- signing ------------------------------------------------------------------------------- */

int sigv4_sign_cached(struct sigv4_key_cache *cache, const struct sigv4_request *req,
                      const struct sigv4_credentials *cred, const char *region, const char *service,
                      time_t now, struct sigv4_signed *out)
{
    struct buf creq, sts, signed_headers;
    buf_init(&creq, SIGV4_MAX_CANONICAL_BYTES);
    buf_init(&sts, SIGV4_MAX_CANONICAL_BYTES);
    buf_init(&signed_headers, SIGV4_MAX_CANONICAL_BYTES);
    uint8_t key[32];
    char date8[9];
    char signature[65];
    bool have_key = false;

    sigv4_amz_date(now, out->amz_date);
    memcpy(date8, out->amz_date, 8);
    date8[8] = '\0';
    out->authorization[0] = '\0';

    int rc = sigv4_canonical_request(req, &creq);
    if (rc == 0)
        rc = sigv4_string_to_sign(out->amz_date, region, service, creq.data, creq.len, &sts);
    if (rc == 0)
        rc = sigv4_signed_headers(req, &signed_headers);
    if (rc)
        goto fail;

    if (cache)
        sigv4_key_cache_get(cache, cred->access_key, cred->secret_key, date8, region, service, key);
    else
        sigv4_signing_key(cred->secret_key, date8, region, service, key);
    have_key = true;
    sigv4_signature(key, sts.data, sts.len, signature);

    int n = snprintf(out->authorization, sizeof(out->authorization),
                     SIGV4_ALGORITHM " Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
                                     "Signature=%s",
                     cred->access_key, date8, region, service,
                     signed_headers.data ? signed_headers.data : "", signature);
    if (n < 0 || (size_t)n >= sizeof(out->authorization)) {
        out->authorization[0] = '\0';
        rc = -E2BIG;
        goto fail;
    }
    rc = 0;
fail:
    if (have_key)
        OPENSSL_cleanse(key, sizeof(key));
    buf_free(&creq);
    buf_free(&sts);
    buf_free(&signed_headers);
    return rc;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *cred,
               const char *region, const char *service, time_t now, struct sigv4_signed *out)
{
    return sigv4_sign_cached(NULL, req, cred, region, service, now, out);
}
