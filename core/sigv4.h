/*
 * sigv4: AWS Signature Version 4, one module for both directions: signing the requests the proxy
 * sends to an S3 UFS now, verifying the requests clients send later (issue 4). S3 flavour: paths
 * are URI-encoded once and never normalized (../shared/vectors/sigv4/README.md).
 */
#ifndef CORE_SIGV4_H
#define CORE_SIGV4_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SIGV4_EMPTY_SHA256     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* Limits, all in one place (STYLE.md section 5). Past them a call fails with -E2BIG. */
#define SIGV4_MAX_HEADERS           128   /* headers given to one canonical request */
#define SIGV4_MAX_QUERY_PARAMS      256   /* query parameters in one canonical request */
#define SIGV4_MAX_CANONICAL_BYTES   65536 /* canonical request built by sigv4_sign */
#define SIGV4_KEY_CACHE_ENTRIES     16    /* signing keys one sigv4_key_cache keeps */
#define SIGV4_KEY_CACHE_FIELD_BYTES 128   /* longer key ids/secrets/scopes are never cached */

struct sigv4_header {
    const char *name; /* any case; canonicalized to lower case */
    size_t name_len;
    const char *value; /* trimmed, inner runs of spaces collapsed when canonicalized */
    size_t value_len;
};

struct sigv4_request {
    const char *method;
    const char *path; /* as on the wire: already percent-encoded once, e.g. "/b/a%20b" */
    size_t path_len;
    const char *query; /* raw query without '?', as on the wire; NULL or "" for none */
    size_t query_len;
    const struct sigv4_header *headers; /* the headers to sign (host among them) */
    size_t header_count;
    const char *payload_hash; /* hex SHA-256 of the body, or SIGV4_UNSIGNED_PAYLOAD */
};

struct sigv4_credentials {
    const char *access_key;
    const char *secret_key;
    const char *session_token; /* NULL when none */
};

/* Canonical request (AWS docs "Create a canonical request"): method, canonical URI, canonical
 * query (sorted by encoded name then value, byte order; "name=" for empty values), canonical
 * headers, signed header list, payload hash. Appended to out.
 * The path and every query name and value are decoded once and encoded once (uri.h), never
 * normalized; '+' is a literal plus in the path and a space in the query. Returns 0, -ENOMEM,
 * -E2BIG (out's cap, SIGV4_MAX_HEADERS, SIGV4_MAX_QUERY_PARAMS) or -EINVAL (a bad %-escape in
 * path or query: answer 400). On failure out is left as it was. */
int sigv4_canonical_request(const struct sigv4_request *req, struct buf *out) BUF_WARN_UNUSED;

/* The same, leaving out every query parameter whose decoded name is exactly omit_param (NULL:
 * none). Presigned URLs are verified with omit_param "X-Amz-Signature", the one parameter the
 * signature cannot cover (S3 API Reference, "Authenticating Requests: Using Query Parameters"). */
int sigv4_canonical_request_omit(const struct sigv4_request *req, const char *omit_param,
                                 struct buf *out) BUF_WARN_UNUSED;

/* The SignedHeaders value for req: its header names lower-cased, each once, sorted, joined with
 * ';' (e.g. "host;range;x-amz-date"). Appended to out; 0, -ENOMEM or -E2BIG. */
int sigv4_signed_headers(const struct sigv4_request *req, struct buf *out) BUF_WARN_UNUSED;

/* "AWS4-HMAC-SHA256\n<amz_date>\n<date>/<region>/<service>/aws4_request\n<hex sha256(creq)>"
 * <date> is the first 8 characters of amz_date; -EINVAL when it is shorter. */
int sigv4_string_to_sign(const char *amz_date, const char *region, const char *service,
                         const char *canonical_request, size_t creq_len,
                         struct buf *out) BUF_WARN_UNUSED;

/* kSigning = HMAC chain over date (YYYYMMDD), region, service, "aws4_request". The caller owns
 * out and should OPENSSL_cleanse it when done. Should libcrypto fail, out is random bytes, so
 * nothing signed with it verifies (never a predictable key). */
void sigv4_signing_key(const char *secret_key, const char *date8, const char *region,
                       const char *service, uint8_t out[32]);

/* Lower-case hex of HMAC-SHA256(key, sts): 64 chars + NUL. Should libcrypto fail, out is 64 'x'
 * (never valid hex), so it can never equal a signature a client sent. */
void sigv4_signature(const uint8_t key[32], const char *sts, size_t sts_len, char out[65]);

/* Lower-case hex SHA-256 of data: 64 chars + NUL ('x' * 64 if libcrypto fails, as above). */
void sigv4_sha256_hex(const void *data, size_t len, char out[65]);

/* "20150830T123600Z" for t. out holds 17 bytes. */
void sigv4_amz_date(time_t t, char out[17]);

/* What sigv4_sign adds to an outbound request: send these headers as they are. */
struct sigv4_signed {
    char amz_date[17];        /* X-Amz-Date */
    char authorization[1024]; /* Authorization */
};

/*
 * Sign an outbound request. req->headers must already hold every header to sign, including
 * host, x-amz-date (= sigv4_amz_date(now)), x-amz-content-sha256 (= req->payload_hash) and,
 * with a session token, x-amz-security-token; sigv4_sign does not add headers, it signs the
 * ones given (all of them). Returns 0, -ENOMEM or -E2BIG (or -EINVAL, see
 * sigv4_canonical_request). Derives the signing key from the secret each call (4 extra HMACs);
 * sigv4_sign_cached does not.
 */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *cred,
               const char *region, const char *service, time_t now, struct sigv4_signed *out)
    __attribute__((warn_unused_result));

/*
 * Signing-key cache: kSigning depends only on (secret, day, region, service), so one derivation a
 * day per key serves every request, and signing or verifying costs one HMAC over the string to
 * sign plus one SHA-256 of the canonical request. A small fixed table (SIGV4_KEY_CACHE_ENTRIES,
 * least recently used entry replaced) behind a mutex: safe to share between threads. Entries are
 * keyed by access key, date, region and service and also remember the secret, so a rotated secret
 * for the same key id never gets a stale key. Key material is wiped (OPENSSL_cleanse) when an
 * entry is replaced and on destroy.
 */
struct sigv4_key_cache;

/* NULL on -ENOMEM. The caller owns the cache and frees it with sigv4_key_cache_destroy. */
struct sigv4_key_cache *sigv4_key_cache_create(void);
/* Wipe and free; NULL is fine. No other thread may be using the cache. */
void sigv4_key_cache_destroy(struct sigv4_key_cache *c);
/* out = sigv4_signing_key(secret_key, date8, region, service), from the table when it can be. Any
 * thread. Fields longer than SIGV4_KEY_CACHE_FIELD_BYTES are derived every time, not cached. */
void sigv4_key_cache_get(struct sigv4_key_cache *c, const char *access_key, const char *secret_key,
                         const char *date8, const char *region, const char *service,
                         uint8_t out[32]);

/* sigv4_sign taking the signing key from cache (NULL: derive it, as sigv4_sign does). */
int sigv4_sign_cached(struct sigv4_key_cache *cache, const struct sigv4_request *req,
                      const struct sigv4_credentials *cred, const char *region, const char *service,
                      time_t now, struct sigv4_signed *out) __attribute__((warn_unused_result));

#endif
