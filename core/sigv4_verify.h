/*
 * sigv4_verify: the server half of AWS Signature Version 4 (issue 4). Decides whether a request a
 * client sent is signed by a key we know, from the request as it arrived (method, raw path and
 * query, headers) and the server clock; answers S3's own error codes when it is not. Pure: no
 * I/O, no logging, no HTTP server types. Builds on sigv4.h (canonical request, string to sign,
 * signing-key cache).
 *
 * It handles the Authorization header (AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=...) and presigned URLs (X-Amz-Algorithm, X-Amz-Credential, ...); what it accepts, the
 * body checkers in sigv4_body.h then hold the body to (aws-chunked signatures, signed SHA-256).
 *
 * Errors are an enum mapped to S3's status and Code in one table (sigv4_verify_error_status /
 * _code); a struct sigv4_error carries the Message and the extra XML elements S3 adds.
 * Nothing here logs; callers must not log the Authorization header, X-Amz-Credential,
 * X-Amz-Signature, X-Amz-Security-Token, the secret or the signing key (STYLE.md "Logging
 * secrets"), nor the CanonicalRequest extra, which can hold the session token.
 */
#ifndef CORE_SIGV4_VERIFY_H
#define CORE_SIGV4_VERIFY_H

#include "buf.h"
#include "sigv4.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Limits, all in one place (STYLE.md section 5). */
#define SIGV4_VERIFY_MAX_SKEW_S           900    /* header auth: |now - X-Amz-Date|, 15 min (S3) */
#define SIGV4_VERIFY_MAX_EXPIRES_S        604800 /* presigned X-Amz-Expires, 7 days (S3) */
#define SIGV4_VERIFY_MAX_AUTH_BYTES       8192   /* Authorization value, or one X-Amz-* param */
#define SIGV4_VERIFY_MAX_ACCESS_KEY_BYTES 128    /* access key id in the Credential */
#define SIGV4_VERIFY_MAX_SCOPE_PART_BYTES 64     /* region, service and terminal of the scope */
#define SIGV4_VERIFY_MAX_SIGNATURE_BYTES  128    /* a longer Signature value is malformed */
#define SIGV4_VERIFY_MAX_EXTRAS           8      /* extra XML elements in one error */
#define SIGV4_VERIFY_SCOPE_BYTES          208    /* date8 "/" 3 scope parts, "/"s, NUL */

/* Every way a request can be refused. sigv4_verify_error_status/_code give S3's answer. */
enum sigv4_verify_error {
    SIGV4_VERIFY_OK = 0,
    SIGV4_VERIFY_ACCESS_DENIED,            /* 403 AccessDenied */
    SIGV4_VERIFY_INVALID_ACCESS_KEY_ID,    /* 403 InvalidAccessKeyId */
    SIGV4_VERIFY_SIGNATURE_DOES_NOT_MATCH, /* 403 SignatureDoesNotMatch */
    SIGV4_VERIFY_REQUEST_TIME_TOO_SKEWED,  /* 403 RequestTimeTooSkewed */
    SIGV4_VERIFY_INVALID_TOKEN,            /* 400 InvalidToken */
    SIGV4_VERIFY_AUTH_HEADER_MALFORMED,    /* 400 AuthorizationHeaderMalformed */
    SIGV4_VERIFY_AUTH_QUERY_ERROR,         /* 400 AuthorizationQueryParametersError */
    SIGV4_VERIFY_INVALID_REQUEST,          /* 400 InvalidRequest */
    SIGV4_VERIFY_INVALID_ARGUMENT,         /* 400 InvalidArgument */
    SIGV4_VERIFY_INVALID_URI,              /* 400 InvalidURI: a bad %-escape in path or query */
    SIGV4_VERIFY_CONTENT_SHA256_MISMATCH,  /* 400 XAmzContentSHA256Mismatch */
    SIGV4_VERIFY_INCOMPLETE_BODY,          /* 400 IncompleteBody (aws-chunked framing, too short) */
    SIGV4_VERIFY_INVALID_CHUNK_SIZE,       /* 400 InvalidChunkSizeError */
    SIGV4_VERIFY_INTERNAL_ERROR,           /* 500 InternalError: out of memory, libcrypto failed */
};

int sigv4_verify_error_status(enum sigv4_verify_error e);       /* HTTP status; 200 for OK */
const char *sigv4_verify_error_code(enum sigv4_verify_error e); /* S3 Code; "" for OK */

struct sigv4_error_extra {
    const char *name; /* static: "StringToSign", "Region", ... */
    char *value;      /* owned (malloc'd), raw text: escape it for XML (sigv4_error_append_xml) */
};

/* A refusal, ready to become S3's error body. Filled by the calls below; release with
 * sigv4_error_free (fine on an OK result and on a zeroed struct). */
struct sigv4_error {
    enum sigv4_verify_error kind;
    int http_status;
    const char *code;
    const char *message; /* static or _message_owned */
    size_t extra_count;
    struct sigv4_error_extra extras[SIGV4_VERIFY_MAX_EXTRAS];
    char *_message_owned;
};

void sigv4_error_free(struct sigv4_error *err);
/* Append the extras as escaped <Name>value</Name> elements, in order (what s3_error takes as
 * extra_xml). An element that would pass out's cap is left out and the next ones tried, so a
 * capped buffer still gets what fits (the *Bytes elements of a SignatureDoesNotMatch over a big
 * canonical request are three times its size). 0, or -ENOMEM (then out is as it was). */
int sigv4_error_append_xml(const struct sigv4_error *err, struct buf *out) BUF_WARN_UNUSED;

/* What the credential lookup hands back; both pointers must stay valid until sigv4_verify
 * returns (the caller holds its credential table snapshot for that long). */
struct sigv4_verify_secret {
    const char *secret_key;
    const char *session_token; /* NULL: the key takes no token; else the request must carry it */
};

/* access_key is NUL-terminated, at most SIGV4_VERIFY_MAX_ACCESS_KEY_BYTES. Return 0 and fill out
 * when the key is known, -ENOENT when not. Called at most once per sigv4_verify, on its thread. */
typedef int (*sigv4_verify_lookup_fn)(void *arg, const char *access_key,
                                      struct sigv4_verify_secret *out);

struct sigv4_verify_config {
    const char *region;  /* required: the only region accepted in the scope, e.g. "us-east-1" */
    const char *service; /* required: "s3" */
    sigv4_verify_lookup_fn lookup;
    void *lookup_arg;
    struct sigv4_key_cache *key_cache; /* may be NULL: derive the signing key every time */
    /*
     * Header auth without x-amz-content-sha256. S3 refuses it (400 InvalidRequest "Missing
     * required header for this request: x-amz-content-sha256", vector neg-missing-content-sha256)
     * and so do we when this is true. When false, a request that has no body (no
     * Transfer-Encoding, Content-Length absent or 0) is verified with the empty body's hash as
     * its payload hash, which is what curl --aws-sigv4 (7.88, Debian 12) signs without sending
     * the header (S3-BEHAVIOUR.md, curl/curl#8810); a request with a body is refused as S3 does.
     */
    bool require_content_sha256;
};

/* The request as the server received it. */
struct sigv4_verify_request {
    const char *method;
    const char *path; /* as on the wire, percent-encoded, without the query */
    size_t path_len;
    const char *query; /* as on the wire, without '?'; NULL or "" for none */
    size_t query_len;
    const struct sigv4_header *headers; /* every header received, in arrival order */
    size_t header_count;
};

/* What the body is held to once the request verified. */
enum sigv4_payload_mode {
    SIGV4_PAYLOAD_UNSIGNED,                 /* UNSIGNED-PAYLOAD, and every presigned URL */
    SIGV4_PAYLOAD_SHA256,                   /* payload_hash: check with sigv4_body_hash */
    SIGV4_PAYLOAD_STREAMING_SIGNED,         /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD: sigv4_chunked */
    SIGV4_PAYLOAD_STREAMING_SIGNED_TRAILER, /* ...-PAYLOAD-TRAILER: no decoder here yet */
    SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER, /* STREAMING-UNSIGNED-PAYLOAD-TRAILER: none yet */
};

/* A verified request. Wipe with sigv4_auth_clear when done (it may hold a signing key). */
struct sigv4_auth {
    char access_key[SIGV4_VERIFY_MAX_ACCESS_KEY_BYTES + 1];
    bool presigned;
    bool payload_hash_assumed; /* no x-amz-content-sha256: the empty body's hash was assumed */
    enum sigv4_payload_mode payload_mode;
    char payload_hash[65];                /* SHA256 mode: lower-case hex the body must hash to */
    uint64_t decoded_content_length;      /* x-amz-decoded-content-length; UINT64_MAX when absent */
    char amz_date[17];                    /* X-Amz-Date */
    char scope[SIGV4_VERIFY_SCOPE_BYTES]; /* "20130524/us-east-1/s3/aws4_request" */
    char seed_signature[65];              /* the request's signature: the chunk chain's seed */
    uint8_t signing_key[32]; /* STREAMING_SIGNED* only (else zero): key of the chunk signatures */
};

void sigv4_auth_clear(struct sigv4_auth *auth);

/*
 * Verify one request at server time now. Returns SIGV4_VERIFY_OK with auth filled, or the error
 * kind with err filled (status, code, message, extras) and auth cleared. err is overwritten
 * (not freed) on entry: call sigv4_error_free after each call. Thread-safe as long as the lookup
 * callback and the key cache are (the cache is). Constant-time signature and token comparison.
 *
 * Order of checks (S3 does not document its own; each negative vector has one defect, so the
 * order only matters for requests with several): mechanism (none -> 403 AccessDenied; SigV2 ->
 * 400 InvalidRequest; both header and query -> 400 InvalidArgument), syntax, X-Amz-Date,
 * credential scope (date, region, service, terminal), X-Amz-Expires, headers that must be signed
 * (host and every x-amz-* present), time window, access key, session token, payload hash, and
 * last the signature.
 */
enum sigv4_verify_error sigv4_verify(const struct sigv4_verify_config *cfg,
                                     const struct sigv4_verify_request *req, time_t now,
                                     struct sigv4_auth *auth, struct sigv4_error *err)
    __attribute__((warn_unused_result));

/* Internals shared with sigv4_body.c, which reports through the same struct; nobody else. Set
 * kind, status, code and message (static; NULL: the table's); returns kind. */
enum sigv4_verify_error sigv4_error__set(struct sigv4_error *err, enum sigv4_verify_error kind,
                                         const char *message);
/* The same with a formatted message; falls back to the table's message without memory. */
enum sigv4_verify_error sigv4_error__setf(struct sigv4_error *err, enum sigv4_verify_error kind,
                                          const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Add an extra element (copied); dropped when full or out of memory. */
void sigv4_error__extra(struct sigv4_error *err, const char *name, const char *value, size_t len);
/* Add an extra element holding len bytes as S3 spells StringToSignBytes and
 * CanonicalRequestBytes: "41 57 53 34". */
void sigv4_error__extra_bytes(struct sigv4_error *err, const char *name, const char *s, size_t len);
/* Empty: an OK result, nothing owned. */
void sigv4_error__reset(struct sigv4_error *err);

#endif
