/*
 * sigv4_body: the body of a SigV4-signed request, checked as it streams (see sigv4_body.h for the
 * contract): the aws-chunked decoder of STREAMING-AWS4-HMAC-SHA256-PAYLOAD uploads, whose chunk
 * signatures chain from the request's seed signature, and the SHA-256 check of a body whose
 * x-amz-content-sha256 is a hex hash. Both report through struct sigv4_error, as sigv4_verify
 * does. The chunked decoder is a resumable byte-driven machine (STYLE.md section 3): a chunk
 * header split over reads is kept in a small fixed buffer, data is handed out as views into the
 * input, never copied.
 */
#include "sigv4_body.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_CHUNK_ALGORITHM "AWS4-HMAC-SHA256-PAYLOAD"

static char body_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool body_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool body_is_hex64(const char *s, size_t len)
{
    if (len != 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!body_is_hex(s[i]))
            return false;
    return true;
}

static void body_extra_str(struct sigv4_error *err, const char *name, const char *value)
{
    sigv4_error__extra(err, name, value, strlen(value));
}

static void body_hex(const uint8_t md[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0x0f];
    }
    out[64] = '\0';
}

/* ---- aws-chunked ----------------------------------------------------------------------------- */

enum chunked_state {
    CHUNKED_HEADER,   /* collecting "<hex>;chunk-signature=<sig>\r\n" */
    CHUNKED_DATA,     /* inside a chunk's data */
    CHUNKED_DATA_CR,  /* the '\r' after the data */
    CHUNKED_DATA_LF,  /* the '\n' after the data; then the chunk's signature is checked */
    CHUNKED_FINAL_CR, /* the '\r' of the empty line after the final chunk */
    CHUNKED_FINAL_LF, /* its '\n' */
    CHUNKED_DONE,     /* the body is complete and every signature matched */
    CHUNKED_ERROR,    /* refused; sticky */
};

struct sigv4_chunked {
    enum chunked_state state;
    enum sigv4_verify_error error; /* CHUNKED_ERROR: why */
    uint8_t key[32];
    char amz_date[17];
    char scope[SIGV4_VERIFY_SCOPE_BYTES];
    char prev_sig[65];  /* the chain: seed, then each verified chunk's */
    char chunk_sig[65]; /* the current chunk's claimed signature */
    uint64_t size;      /* current chunk's data size */
    uint64_t remaining; /* of it, still to come */
    uint64_t prev_size; /* the chunk before (0 for none) */
    uint64_t index;     /* 1-based number of the current chunk */
    uint64_t total;     /* decoded bytes so far */
    uint64_t decoded_length;
    EVP_MD_CTX *md;
    size_t hdr_len;
    char hdr[SIGV4_CHUNK_HEADER_MAX_BYTES];
};

struct sigv4_chunked *sigv4_chunked_create(const struct sigv4_auth *auth, uint64_t decoded_length)
{
    if (auth->payload_mode != SIGV4_PAYLOAD_STREAMING_SIGNED)
        return NULL;
    struct sigv4_chunked *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->md = EVP_MD_CTX_new();
    if (!c->md) {
        free(c);
        return NULL;
    }
    c->state = CHUNKED_HEADER;
    memcpy(c->key, auth->signing_key, 32);
    memcpy(c->amz_date, auth->amz_date, sizeof(c->amz_date));
    memcpy(c->scope, auth->scope, sizeof(c->scope));
    memcpy(c->prev_sig, auth->seed_signature, sizeof(c->prev_sig));
    c->decoded_length = decoded_length;
    return c;
}

void sigv4_chunked_destroy(struct sigv4_chunked *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->md);
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
}

static enum sigv4_chunked_rc chunked_fail(struct sigv4_chunked *c, struct sigv4_error *err,
                                          enum sigv4_verify_error kind)
{
    c->state = CHUNKED_ERROR;
    c->error = kind;
    sigv4_error__set(err, kind, NULL);
    return SIGV4_CHUNKED_ERROR;
}

/* "<1-16 hex digits>;chunk-signature=<64 hex>" (the CRLF already cut off). */
static enum sigv4_chunked_rc chunked_header(struct sigv4_chunked *c, struct sigv4_error *err)
{
    static const char ext[] = ";chunk-signature=";
    const size_t ext_len = sizeof(ext) - 1;
    size_t i = 0;
    uint64_t size = 0;
    while (i < c->hdr_len && i < 17 && body_is_hex(c->hdr[i])) {
        char h = body_lower(c->hdr[i]);
        size = size << 4 | (uint64_t)(h <= '9' ? h - '0' : h - 'a' + 10);
        i++;
    }
    if (i == 0 || i > 16 || c->hdr_len != i + ext_len + 64 ||
        memcmp(c->hdr + i, ext, ext_len) != 0 || !body_is_hex64(c->hdr + i + ext_len, 64) ||
        size > SIGV4_CHUNK_MAX_BYTES)
        return chunked_fail(c, err, SIGV4_VERIFY_INCOMPLETE_BODY);
    memcpy(c->chunk_sig, c->hdr + i + ext_len, 64);
    c->chunk_sig[64] = '\0';
    c->index++;
    if (size && c->index > 1 && c->prev_size < SIGV4_CHUNK_MIN_BYTES) {
        /* As S3 reports it (versity/versitygw#1683): the chunk that showed the previous one was
         * not the last, and the previous one's size. */
        char num[24];
        chunked_fail(c, err, SIGV4_VERIFY_INVALID_CHUNK_SIZE);
        snprintf(num, sizeof(num), "%llu", (unsigned long long)c->index);
        body_extra_str(err, "Chunk", num);
        snprintf(num, sizeof(num), "%llu", (unsigned long long)c->prev_size);
        body_extra_str(err, "BadChunkSize", num);
        return SIGV4_CHUNKED_ERROR;
    }
    if (c->decoded_length != UINT64_MAX &&
        (size > c->decoded_length - c->total || (size == 0 && c->total != c->decoded_length)))
        return chunked_fail(c, err, SIGV4_VERIFY_INCOMPLETE_BODY);
    if (!EVP_DigestInit_ex(c->md, EVP_sha256(), NULL))
        return chunked_fail(c, err, SIGV4_VERIFY_INTERNAL_ERROR);
    c->size = size;
    c->remaining = size;
    c->hdr_len = 0;
    return SIGV4_CHUNKED_AGAIN;
}

/* The current chunk's data is complete: check its signature and move the chain on. */
static enum sigv4_chunked_rc chunked_check(struct sigv4_chunked *c, struct sigv4_error *err)
{
    uint8_t md[32];
    unsigned int n = 0;
    char hash[65], sig[65], sts[512];
    if (!EVP_DigestFinal_ex(c->md, md, &n) || n != 32)
        return chunked_fail(c, err, SIGV4_VERIFY_INTERNAL_ERROR);
    body_hex(md, hash);
    int len = snprintf(sts, sizeof(sts), BODY_CHUNK_ALGORITHM "\n%s\n%s\n%s\n%s\n%s", c->amz_date,
                       c->scope, c->prev_sig, SIGV4_EMPTY_SHA256, hash);
    if (len < 0 || (size_t)len >= sizeof(sts))
        return chunked_fail(c, err, SIGV4_VERIFY_INTERNAL_ERROR);
    sigv4_signature(c->key, sts, (size_t)len, sig);
    if (CRYPTO_memcmp(sig, c->chunk_sig, 64) != 0) {
        chunked_fail(c, err, SIGV4_VERIFY_SIGNATURE_DOES_NOT_MATCH);
        sigv4_error__extra(err, "StringToSign", sts, (size_t)len);
        sigv4_error__extra(err, "SignatureProvided", c->chunk_sig, 64);
        return SIGV4_CHUNKED_ERROR;
    }
    memcpy(c->prev_sig, sig, 65);
    c->prev_size = c->size;
    return SIGV4_CHUNKED_AGAIN;
}

/* One expected byte of framing. */
static bool chunked_expect(const char **pos, char want)
{
    if (**pos != want)
        return false;
    (*pos)++;
    return true;
}

enum sigv4_chunked_rc sigv4_chunked_parse(struct sigv4_chunked *c, const char **pos,
                                          const char *end, const char **data, size_t *data_len,
                                          struct sigv4_error *err)
{
    *data = NULL;
    *data_len = 0;
    while (*pos < end || c->state == CHUNKED_DONE || c->state == CHUNKED_ERROR) {
        switch (c->state) {
        case CHUNKED_HEADER: {
            size_t avail = (size_t)(end - *pos);
            const char *nl = memchr(*pos, '\n', avail);
            size_t take = nl ? (size_t)(nl - *pos) + 1 : avail;
            if (take > sizeof(c->hdr) - c->hdr_len)
                return chunked_fail(c, err, SIGV4_VERIFY_INCOMPLETE_BODY);
            memcpy(c->hdr + c->hdr_len, *pos, take);
            c->hdr_len += take;
            *pos += take;
            if (!nl)
                return SIGV4_CHUNKED_AGAIN;
            if (c->hdr_len < 2 || c->hdr[c->hdr_len - 2] != '\r')
                return chunked_fail(c, err, SIGV4_VERIFY_INCOMPLETE_BODY);
            c->hdr_len -= 2;
            if (chunked_header(c, err) == SIGV4_CHUNKED_ERROR)
                return SIGV4_CHUNKED_ERROR;
            if (c->size == 0) {
                if (chunked_check(c, err) == SIGV4_CHUNKED_ERROR)
                    return SIGV4_CHUNKED_ERROR;
                c->state = CHUNKED_FINAL_CR;
            } else {
                c->state = CHUNKED_DATA;
            }
            break;
        }
        case CHUNKED_DATA: {
            size_t avail = (size_t)(end - *pos);
            size_t n = c->remaining < avail ? (size_t)c->remaining : avail;
            if (!EVP_DigestUpdate(c->md, *pos, n))
                return chunked_fail(c, err, SIGV4_VERIFY_INTERNAL_ERROR);
            *data = *pos;
            *data_len = n;
            *pos += n;
            c->remaining -= n;
            c->total += n;
            if (c->remaining == 0)
                c->state = CHUNKED_DATA_CR;
            return SIGV4_CHUNKED_DATA;
        }
        case CHUNKED_DATA_CR:
            if (!chunked_expect(pos, '\r'))
                return chunked_fail(c, err, SIGV4_VERIFY_INCOMPLETE_BODY);
            c->state = CHUNKED_DATA_LF;
            break;
        case CHUNKED_DATA_LF:
            if (!chunked_expect(pos, '\n'))
                return chunked_fail(c, err, SIGV4_VERIFY_INCOMPLETE_BODY);
            if (chunked_check(c, err) == SIGV4_CHUNKED_ERROR)
                return SIGV4_CHUNKED_ERROR;
            c->state = CHUNKED_HEADER;
            break;
        case CHUNKED_FINAL_CR:
            if (!chunked_expect(pos, '\r'))
                return chunked_fail(c, err, SIGV4_VERIFY_INCOMPLETE_BODY);
            c->state = CHUNKED_FINAL_LF;
            break;
        case CHUNKED_FINAL_LF:
            if (!chunked_expect(pos, '\n'))
                return chunked_fail(c, err, SIGV4_VERIFY_INCOMPLETE_BODY);
            c->state = CHUNKED_DONE;
            return SIGV4_CHUNKED_DONE;
        case CHUNKED_DONE:
            if (*pos < end) /* the body goes on after its end */
                return chunked_fail(c, err, SIGV4_VERIFY_INCOMPLETE_BODY);
            return SIGV4_CHUNKED_DONE;
        case CHUNKED_ERROR:
        default:
            sigv4_error__set(err, c->error ? c->error : SIGV4_VERIFY_INTERNAL_ERROR, NULL);
            return SIGV4_CHUNKED_ERROR;
        }
    }
    return SIGV4_CHUNKED_AGAIN;
}

enum sigv4_verify_error sigv4_chunked_finish(struct sigv4_chunked *c, struct sigv4_error *err)
{
    if (c->state == CHUNKED_DONE)
        return SIGV4_VERIFY_OK;
    if (c->state == CHUNKED_ERROR)
        return sigv4_error__set(err, c->error ? c->error : SIGV4_VERIFY_INTERNAL_ERROR, NULL);
    chunked_fail(c, err, SIGV4_VERIFY_INCOMPLETE_BODY);
    return SIGV4_VERIFY_INCOMPLETE_BODY;
}

/* ---- signed payload hash ------------------------------------------------------------------- */

struct sigv4_body_hash {
    EVP_MD_CTX *md;
    bool failed;
    char expected[65]; /* lower case */
};

struct sigv4_body_hash *sigv4_body_hash_create(const char *expected_hex)
{
    size_t len = strnlen(expected_hex, 65);
    if (!body_is_hex64(expected_hex, len))
        return NULL;
    struct sigv4_body_hash *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->md = EVP_MD_CTX_new();
    if (!h->md) {
        free(h);
        return NULL;
    }
    if (!EVP_DigestInit_ex(h->md, EVP_sha256(), NULL))
        h->failed = true;
    for (size_t i = 0; i < 64; i++)
        h->expected[i] = body_lower(expected_hex[i]);
    h->expected[64] = '\0';
    return h;
}

void sigv4_body_hash_destroy(struct sigv4_body_hash *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->md);
    free(h);
}

int sigv4_body_hash_update(struct sigv4_body_hash *h, const void *data, size_t len)
{
    if (h->failed)
        return -EIO;
    if (len && !EVP_DigestUpdate(h->md, data, len)) {
        h->failed = true;
        return -EIO;
    }
    return 0;
}

enum sigv4_verify_error sigv4_body_hash_finish(struct sigv4_body_hash *h, struct sigv4_error *err)
{
    uint8_t md[32];
    unsigned int n = 0;
    char got[65];
    if (h->failed || !EVP_DigestFinal_ex(h->md, md, &n) || n != 32) {
        h->failed = true;
        return sigv4_error__set(err, SIGV4_VERIFY_INTERNAL_ERROR, NULL);
    }
    h->failed = true; /* finished: a second finish cannot succeed */
    body_hex(md, got);
    if (CRYPTO_memcmp(got, h->expected, 64) == 0)
        return SIGV4_VERIFY_OK;
    /* Vector neg-payload-hash-mismatch; s3tools/s3cmd#812 quotes S3's body. */
    sigv4_error__set(err, SIGV4_VERIFY_CONTENT_SHA256_MISMATCH, NULL);
    body_extra_str(err, "ClientComputedContentSHA256", h->expected);
    body_extra_str(err, "S3ComputedContentSHA256", got);
    return SIGV4_VERIFY_CONTENT_SHA256_MISMATCH;
}
