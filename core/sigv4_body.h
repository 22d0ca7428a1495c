/*
 * sigv4_body: checking the body of a request sigv4_verify accepted, as the bytes arrive.
 *
 *   - sigv4_chunked: the body of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload (aws-chunked), each
 *     chunk signature chained from the seed signature; fed bytes as they arrive, any split.
 *   - sigv4_body_hash: the body of a request whose x-amz-content-sha256 is a hex hash, hashed as
 *     it streams and compared at the end (XAmzContentSHA256Mismatch).
 *
 * A proxy streaming a body on learns of a bad one only at its end (vectors README, "Pitfalls"):
 * whatever it wrote must stay invisible until these say OK.
 */
#ifndef CORE_SIGV4_BODY_H
#define CORE_SIGV4_BODY_H

#include "sigv4_verify.h"

#include <stddef.h>
#include <stdint.h>

/* Limits (STYLE.md section 5). */
#define SIGV4_CHUNK_HEADER_MAX_BYTES 256          /* "<hex>;chunk-signature=<64 hex>\r\n" */
#define SIGV4_CHUNK_MIN_BYTES        8192         /* every chunk but the last data chunk (S3) */
#define SIGV4_CHUNK_MAX_BYTES        (5ULL << 30) /* one chunk: S3's single-PUT maximum */

/* ---- aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) ---------------------------------------- */

/*
 * Decoder and verifier of a signed aws-chunked body: "<hex size>;chunk-signature=<sig>\r\n",
 * data, "\r\n", ..., then "0;chunk-signature=<sig>\r\n\r\n". Each chunk's signature is
 * HMAC(signing key, "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n" scope "\n" previous signature "\n"
 * sha256("") "\n" sha256(data)), the first one chained from the seed (S3 API Reference,
 * "Signature Calculations for the Authorization Header: Transferring Payload in Multiple Chunks").
 * One per request, used by one thread.
 */
struct sigv4_chunked;

/* From a verified request in SIGV4_PAYLOAD_STREAMING_SIGNED mode (copies what it needs, key
 * included; auth may be cleared afterwards). decoded_length: x-amz-decoded-content-length, or
 * UINT64_MAX to accept any total. NULL on -ENOMEM, or when auth is in another mode. */
struct sigv4_chunked *sigv4_chunked_create(const struct sigv4_auth *auth, uint64_t decoded_length);
/* Wipes the key and frees; NULL is fine. */
void sigv4_chunked_destroy(struct sigv4_chunked *c);

enum sigv4_chunked_rc {
    SIGV4_CHUNKED_AGAIN, /* everything up to end consumed: feed more */
    SIGV4_CHUNKED_DATA,  /* *data, *data_len: decoded bytes (a view into the input) */
    SIGV4_CHUNKED_DONE,  /* final chunk verified; *pos is just past the body */
    SIGV4_CHUNKED_ERROR, /* err filled; every later call returns ERROR again */
};

/*
 * Parse from *pos to end, advancing *pos. Resumable at any byte: a chunk header split over calls
 * is kept (at most SIGV4_CHUNK_HEADER_MAX_BYTES). Returns at most one DATA slice per call; call
 * again with the rest. The bytes of a chunk are handed out before its signature can be checked
 * (it covers the whole chunk): nothing decoded may become visible to anyone until DONE.
 * err must be zeroed or freed (sigv4_error_free) before; it is filled only when ERROR is returned.
 * Errors: 403 SignatureDoesNotMatch (a chunk signature), 400 IncompleteBody (framing, a size
 * over SIGV4_CHUNK_MAX_BYTES, decoded total different from decoded_length, bytes after DONE),
 * 400 InvalidChunkSizeError (a chunk under SIGV4_CHUNK_MIN_BYTES that is not the last).
 */
enum sigv4_chunked_rc sigv4_chunked_parse(struct sigv4_chunked *c, const char **pos,
                                          const char *end, const char **data, size_t *data_len,
                                          struct sigv4_error *err)
    __attribute__((warn_unused_result));

/* At the end of the body: OK after DONE, else the error (400 IncompleteBody if the body merely
 * stopped) in err (zeroed or freed before, as for sigv4_chunked_parse). */
enum sigv4_verify_error sigv4_chunked_finish(struct sigv4_chunked *c, struct sigv4_error *err)
    __attribute__((warn_unused_result));

/* ---- signed payload hash ------------------------------------------------------------------- */

/* SHA-256 of a streaming body against the signed x-amz-content-sha256 (hex, either case). */
struct sigv4_body_hash;

/* NULL on -ENOMEM or when expected_hex is not 64 hex digits. */
struct sigv4_body_hash *sigv4_body_hash_create(const char *expected_hex);
void sigv4_body_hash_destroy(struct sigv4_body_hash *h);
/* 0, or -EIO if libcrypto fails (finish then reports InternalError). */
int sigv4_body_hash_update(struct sigv4_body_hash *h, const void *data, size_t len)
    __attribute__((warn_unused_result));
/* At the end of the body: OK, or 400 XAmzContentSHA256Mismatch with ClientComputedContentSHA256
 * and S3ComputedContentSHA256 in err (zeroed or freed before). Call once. */
enum sigv4_verify_error sigv4_body_hash_finish(struct sigv4_body_hash *h, struct sigv4_error *err)
    __attribute__((warn_unused_result));

#endif
