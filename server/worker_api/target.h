/*
 * target: the pure part of the Alluxio worker REST API (../shared/ALLUXIO-PROTOCOL.md section
 * 3): which endpoint a request target names and its parameters, the recovery of `ufsFullPath`
 * from alluxiofs's "raw template" targets (3.3), form decoding (the `path` of /v1/info,
 * /v1/files and /v1/load), splitting a full UFS path into bucket and key, Alluxio's human
 * readable sizes and S3's ISO 8601 dates. No I/O, no global state: everything here can be fed
 * any bytes (tests/unit/server/worker_api_target.c does, truncated at every point).
 */
#ifndef SERVER_WORKER_API_TARGET_H
#define SERVER_WORKER_API_TARGET_H

#include "../../core/ring.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WORKER_API_PATH_MAX_BYTES 8192 /* a decoded UFS path (a request line is 8 KiB at most) */
#define WORKER_API_UFS_END_TRIES  8  /* ends tried for one ufsFullPath value (section 3.3 step 1) */
#define WORKER_API_HUMAN_SIZE_MAX 32 /* "12345.67PB" and its NUL fit easily */
#define WORKER_API_PATH_ID_BYTES  RING_PATH_ID_HEX_BYTES

enum worker_api_endpoint {
    WORKER_API_EP_NONE,  /* not under /v1/: 404 */
    WORKER_API_EP_PAGE,  /* /v1/file/{id}/page/{i}: E3/E3b/E3c (GET), E4 (POST) */
    WORKER_API_EP_RANGE, /* /v1/range/{id}: E5 */
    WORKER_API_EP_CHUNK, /* /v1/chunk/{id}: E6 (GET), E7 (POST) */
    WORKER_API_EP_INFO,  /* /v1/info?path=P: E2 */
    WORKER_API_EP_FILES, /* /v1/files?path=P: E1 */
    WORKER_API_EP_NODE,  /* /v1/node?path=P: E8 */
    WORKER_API_EP_LOAD,  /* /v1/load?path=P&opType=...: E9-E11 */
    WORKER_API_EP_OTHER, /* anything else under /v1/ (E12...): 501 */
};

enum worker_api_parse_status {
    WORKER_API_PARSE_OK = 0,
    WORKER_API_PARSE_BAD,       /* malformed: 400, error says why */
    WORKER_API_PARSE_NO_MEMORY, /* 500 */
};

/* A parsed request target. Strings are owned (worker_api_target_free). */
struct worker_api_target {
    enum worker_api_endpoint ep;
    const char *error;                          /* static text, set with WORKER_API_PARSE_BAD */
    char path_id[WORKER_API_PATH_ID_BYTES + 1]; /* lowercase hex; "" for endpoints without one */
    uint64_t page_index;
    bool has_offset, has_length, has_chunk_size;
    uint64_t offset;
    int64_t length; /* negative: "to the end" (E5) */
    uint64_t chunk_size;
    /* The full UFS path: recovered and checked against path_id (raw endpoints), decoded
     * (form endpoints, E8); NULL when the request carried none. NUL-terminated, no NUL inside. */
    char *ufs_path;
    size_t ufs_path_len;
    char *op_type; /* /v1/load opType, decoded; NULL when absent */
};

/*
 * Parse a request target: path (still percent-encoded, up to '?') and query (after '?'),
 * as server/http hands them over. Raw endpoints (page, range, chunk) take offset, length and
 * chunkSize as decimal numbers (length may be negative), and ufsFullPath per section 3.3: the
 * value after the first `ufsFullPath=` (at the start or after '&') up to one of the ends
 * `&offset=`, `&length=`, `&chunkSize=` or the end of the query; for each end in order (the first
 * WORKER_API_UFS_END_TRIES - 1 of them, then the end of the query), the value percent-decoded (RFC
 * 3986:
 * '+' stays '+') and then as received; the first whose SHA-256 is path_id wins, and the rest of the
 * query after that end holds the other parameters. Section 3.3 names only the first end; trying
 * later ones too recovers paths that themselves contain "&offset=" and cannot pick a wrong path
 * (the hash decides). No match: WORKER_API_PARSE_BAD. Form endpoints (info, files, load) decode
 * every parameter with form decoding ('+' is a space, then %XX); E8's path is raw style without a
 * path id: percent-decoded when that works, else as received. Unknown parameters are ignored; a
 * repeated one counts once (the first). t is always initialised; free it with
 * worker_api_target_free.
 */
enum worker_api_parse_status worker_api_target_parse(const char *path, size_t path_len,
                                                     const char *query, size_t query_len,
                                                     struct worker_api_target *t)
    __attribute__((warn_unused_result));
void worker_api_target_free(struct worker_api_target *t);

/* Section 3.3 steps 1-2 for one candidate value: *out (malloc'd, NUL-terminated) is the
 * percent-decoded value or the raw value, whichever hashes to path_id first. 0, -ENOENT (no
 * candidate matches), -ENOMEM. */
int worker_api_recover_ufs_path(const char *raw, size_t len, const char *path_id, char **out,
                                size_t *out_len) __attribute__((warn_unused_result));

/* Form decoding (application/x-www-form-urlencoded): '+' is a space, then %XX. *out is
 * malloc'd and NUL-terminated. 0, -EINVAL (a bad escape, a decoded NUL, or longer than
 * WORKER_API_PATH_MAX_BYTES), -ENOMEM. */
int worker_api_form_decode(const char *s, size_t len, char **out, size_t *out_len)
    __attribute__((warn_unused_result));

/* A full UFS path "<scheme>://bucket[/key]": views into path. */
struct worker_api_ufs_path {
    const char *bucket;
    size_t bucket_len; /* >= 1 */
    const char *key;   /* after the '/' that ends the bucket; key_len 0 for the bucket root */
    size_t key_len;
};

/* Split path; 0, or -EINVAL when it does not start with "<scheme>://" or names no bucket. */
int worker_api_split_ufs_path(const char *path, size_t len, const char *scheme,
                              struct worker_api_ufs_path *out) __attribute__((warn_unused_result));

/* Alluxio's FormatUtils.getSizeFromBytes: "%dB" up to 5 KiB, then "%.2f" with KB, MB, GB, TB,
 * PB, each unit used up to 5 of the next (5120 KB is still "5120.00KB"), rounded half up as
 * Java's Formatter does ("75.72KB" for 77542). */
void worker_api_human_size(uint64_t bytes, char out[WORKER_API_HUMAN_SIZE_MAX]);

/* "2021-03-04T05:06:07.000Z" (S3's LastModified; fraction and 'Z' optional) -> ms since the
 * epoch. 0, or -EINVAL. */
int worker_api_iso8601_ms(const char *s, size_t len, int64_t *out_ms)
    __attribute__((warn_unused_result));

#endif
