/*
 * Unit tests for server/worker_api/target.c (request targets of the Alluxio worker REST API,
 * ufsFullPath recovery, form decoding, UFS path splitting, human readable sizes, ISO 8601
 * dates), fileinfo.c (the E1/E2 JSON object) and path_ids.c (the E3c map). The .c files are
 * included so the tests build without a server library (STYLE.md 6).
 *
 * The request targets below are the ones alluxiofs sends (ALLUXIO-PROTOCOL.md 3.3, observed
 * with requests 2.28); the fuzz-ish tests feed every truncation of valid targets and junk
 * bytes, and check the parser's invariant: a raw-style path it returns hashes to the path id.
 */
#include "server/worker_api/fileinfo.c"
#include "server/worker_api/path_ids.c"
#include "server/worker_api/target.c"

#include <criterion/criterion.h>
#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void path_id_of(const char *path, char out[WORKER_API_PATH_ID_BYTES + 1])
{
    cr_assert_eq(ring_path_id(path, strlen(path), out), 0);
}

/* Parse "path?query" (query after the first '?'). */
static enum worker_api_parse_status parse(const char *target, struct worker_api_target *t)
{
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    return worker_api_target_parse(target, plen, q ? q + 1 : NULL, q ? strlen(q + 1) : 0, t);
}

/* "/v1/file/<id of path>/page/<index>?<query>" */
static char *page_target(const char *path, const char *index, const char *query)
{
    char id[WORKER_API_PATH_ID_BYTES + 1];
    path_id_of(path, id);
    char *out = NULL;
    cr_assert_gt(
        asprintf(&out, "/v1/file/%s/page/%s%s%s", id, index, query ? "?" : "", query ? query : ""),
        0);
    return out;
}

static char *id_target(const char *kind, const char *path, const char *query)
{
    char id[WORKER_API_PATH_ID_BYTES + 1];
    path_id_of(path, id);
    char *out = NULL;
    cr_assert_gt(asprintf(&out, "/v1/%s/%s?%s", kind, id, query), 0);
    return out;
}

/* --- endpoints ---------------------------------------------------------------------------- */

Test(target, classifies_endpoints)
{
    static const struct {
        const char *target;
        enum worker_api_endpoint ep;
    } cases[] = {
        {"/", WORKER_API_EP_NONE},
        {"/v1", WORKER_API_EP_NONE},
        {"/bucket/key", WORKER_API_EP_NONE},
        {"/v2/info?path=x", WORKER_API_EP_NONE},
        {"/v1/", WORKER_API_EP_OTHER},
        {"/v1/info", WORKER_API_EP_INFO},
        {"/v1/info?path=s3%3A%2F%2Fb", WORKER_API_EP_INFO},
        {"/v1/files?path=s3%3A%2F%2Fb", WORKER_API_EP_FILES},
        {"/v1/node?path=s3://b/k", WORKER_API_EP_NODE},
        {"/v1/load?path=s3%3A%2F%2Fb&opType=submit", WORKER_API_EP_LOAD},
        {"/v1/info/", WORKER_API_EP_OTHER},
        {"/v1/mkdir/abc?ufsFullPath=s3://b/k", WORKER_API_EP_OTHER},
        {"/v1/head/abc?ufsFullPath=s3://b/k&numOfBytes=3", WORKER_API_EP_OTHER},
        {"/v1/ufsInfo", WORKER_API_EP_OTHER},
        {"/v1/file", WORKER_API_EP_OTHER},
        {"/v1/chunk", WORKER_API_EP_OTHER},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct worker_api_target t;
        enum worker_api_parse_status st = parse(cases[i].target, &t);
        cr_assert_eq(st, WORKER_API_PARSE_OK, "%s", cases[i].target);
        cr_assert_eq(t.ep, cases[i].ep, "%s: %d", cases[i].target, t.ep);
        worker_api_target_free(&t);
    }
}

Test(target, page_path_id_and_index)
{
    char *target = page_target("s3://bucket/dir/file.bin", "3", NULL);
    struct worker_api_target t;
    cr_assert_eq(parse(target, &t), WORKER_API_PARSE_OK);
    cr_assert_eq(t.ep, WORKER_API_EP_PAGE);
    cr_assert_eq(t.page_index, 3);
    cr_assert_null(t.ufs_path);
    cr_assert(!t.has_offset && !t.has_length);
    char id[WORKER_API_PATH_ID_BYTES + 1];
    path_id_of("s3://bucket/dir/file.bin", id);
    cr_assert_str_eq(t.path_id, id);
    worker_api_target_free(&t);
    free(target);

    /* Upper-case hex is accepted and kept lowercase. */
    char upper[] = "/v1/file/4A0EB3D7D6F6D87B9B7BB1B7C58E2D0C3C4C6C04E0F1B3D7D6F6D87B9B7B68D4/"
                   "page/0";
    cr_assert_eq(parse(upper, &t), WORKER_API_PARSE_OK);
    cr_assert_str_eq(t.path_id, "4a0eb3d7d6f6d87b9b7bb1b7c58e2d0c3c4c6c04e0f1b3d7d6f6d87b9b7b68d4");
    worker_api_target_free(&t);
}

Test(target, malformed_raw_paths_are_bad_requests)
{
    static const char *const bad[] = {
        "/v1/file/",
        "/v1/file/abc/page/0",
        "/v1/file/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz/page/0",
        "/v1/file/4a0eb3d7d6f6d87b9b7bb1b7c58e2d0c3c4c6c04e0f1b3d7d6f6d87b9b7b68d4/page",
        "/v1/file/4a0eb3d7d6f6d87b9b7bb1b7c58e2d0c3c4c6c04e0f1b3d7d6f6d87b9b7b68d4/page/",
        "/v1/file/4a0eb3d7d6f6d87b9b7bb1b7c58e2d0c3c4c6c04e0f1b3d7d6f6d87b9b7b68d4/page/-1",
        "/v1/file/4a0eb3d7d6f6d87b9b7bb1b7c58e2d0c3c4c6c04e0f1b3d7d6f6d87b9b7b68d4/page/1x",
        "/v1/file/4a0eb3d7d6f6d87b9b7bb1b7c58e2d0c3c4c6c04e0f1b3d7d6f6d87b9b7b68d4/page/"
        "18446744073709551616",
        "/v1/file/4a0eb3d7d6f6d87b9b7bb1b7c58e2d0c3c4c6c04e0f1b3d7d6f6d87b9b7b68d4/pages/0",
        "/v1/file/4a0eb3d7d6f6d87b9b7bb1b7c58e2d0c3c4c6c04e0f1b3d7d6f6d87b9b7b68d4/page/0/x",
        "/v1/range/4a0eb3d7d6f6d87b9b7bb1b7c58e2d0c3c4c6c04e0f1b3d7d6f6d87b9b7b68d4/x",
        "/v1/chunk/4a0eb3d7",
        "/v1/range/",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct worker_api_target t;
        cr_assert_eq(parse(bad[i], &t), WORKER_API_PARSE_BAD, "%s", bad[i]);
        cr_assert_not_null(t.error, "%s", bad[i]);
        cr_assert_null(t.ufs_path);
        worker_api_target_free(&t);
    }
    /* The largest index parses; page arithmetic is the handler's (past any file). */
    struct worker_api_target t;
    cr_assert_eq(parse("/v1/file/4a0eb3d7d6f6d87b9b7bb1b7c58e2d0c3c4c6c04e0f1b3d7d6f6d87b9b7b"
                       "68d4/page/18446744073709551615",
                       &t),
                 WORKER_API_PARSE_OK);
    cr_assert_eq(t.page_index, UINT64_MAX);
    worker_api_target_free(&t);
}

/* --- ufsFullPath recovery (section 3.3) --------------------------------------------------- */

struct recovery_case {
    const char *path; /* the UFS path alluxiofs holds */
    const char *sent; /* what requests puts after ufsFullPath= (the doc's table and rules) */
    bool recoverable;
};

static const struct recovery_case recovery_cases[] = {
    {"s3://bucket/dir/file.bin", "s3://bucket/dir/file.bin", true},
    {"s3://bucket/50% off/naïve.txt", "s3://bucket/50%25%20off/na%C3%AFve.txt", true},
    {"s3://bucket/dir/a b+c&d=e.bin", "s3://bucket/dir/a%20b+c&d=e.bin", true},
    {"s3://bucket/x%41y", "s3://bucket/xAy", false},
    {"s3://bucket/q?x=1&y", "s3://bucket/q?x=1&y", true},
    {"s3://bucket/lit%2Fpercent", "s3://bucket/lit%2Fpercent", true},
    {"s3://bucket/pct%20literal%", "s3://bucket/pct%2520literal%25", true},
    {"s3://bucket/a%20b c", "s3://bucket/a%20b%20c", false},
    {"s3://bucket/hash#frag", "s3://bucket/hash", false},
    {"s3://bucket/tilde~star*paren()'!$,;:@", "s3://bucket/tilde~star*paren()'!$,;:@", true},
    {"s3://bucket/😀 ファイル", "s3://bucket/%F0%9F%98%80%20%E3%83%95%E3%82%A1%E3%82%A4%E3%83%AB",
     true},
    {"file://fb1/sp ace+plus=eq.bin", "file://fb1/sp%20ace+plus=eq.bin", true},
};

Test(target, recovers_ufs_full_path_e3)
{
    for (size_t i = 0; i < sizeof(recovery_cases) / sizeof(recovery_cases[0]); i++) {
        const struct recovery_case *c = &recovery_cases[i];
        char *query = NULL;
        cr_assert_gt(asprintf(&query, "offset=17&length=4096&ufsFullPath=%s", c->sent), 0);
        char *target = page_target(c->path, "2", query);
        struct worker_api_target t;
        enum worker_api_parse_status st = parse(target, &t);
        if (c->recoverable) {
            cr_assert_eq(st, WORKER_API_PARSE_OK, "%s: %s", c->path, t.error);
            cr_assert_str_eq(t.ufs_path, c->path);
            cr_assert_eq(t.ufs_path_len, strlen(c->path));
            cr_assert(t.has_offset && t.offset == 17);
            cr_assert(t.has_length && t.length == 4096);
        } else {
            cr_assert_eq(st, WORKER_API_PARSE_BAD, "%s", c->path);
            cr_assert_null(t.ufs_path);
        }
        worker_api_target_free(&t);
        free(target);
        free(query);
    }
}

Test(target, recovers_ufs_full_path_e5_e6_e4)
{
    for (size_t i = 0; i < sizeof(recovery_cases) / sizeof(recovery_cases[0]); i++) {
        const struct recovery_case *c = &recovery_cases[i];
        if (!c->recoverable)
            continue;
        char *q5 = NULL, *q6 = NULL, *q4 = NULL;
        cr_assert_gt(asprintf(&q5, "ufsFullPath=%s&offset=5&length=-1", c->sent), 0);
        cr_assert_gt(asprintf(&q6, "ufsFullPath=%s&chunkSize=1048576", c->sent), 0);
        cr_assert_gt(asprintf(&q4, "ufsFullPath=%s", c->sent), 0);
        char *t5 = id_target("range", c->path, q5), *t6 = id_target("chunk", c->path, q6);
        char *t4 = page_target(c->path, "0", q4);
        struct worker_api_target t;
        cr_assert_eq(parse(t5, &t), WORKER_API_PARSE_OK, "%s", t5);
        cr_assert_eq(t.ep, WORKER_API_EP_RANGE);
        cr_assert_str_eq(t.ufs_path, c->path);
        cr_assert(t.has_offset && t.offset == 5 && t.has_length && t.length == -1);
        worker_api_target_free(&t);
        cr_assert_eq(parse(t6, &t), WORKER_API_PARSE_OK, "%s", t6);
        cr_assert_eq(t.ep, WORKER_API_EP_CHUNK);
        cr_assert_str_eq(t.ufs_path, c->path);
        cr_assert(t.has_chunk_size && t.chunk_size == 1048576);
        worker_api_target_free(&t);
        cr_assert_eq(parse(t4, &t), WORKER_API_PARSE_OK, "%s", t4);
        cr_assert_str_eq(t.ufs_path, c->path);
        cr_assert(!t.has_offset && !t.has_length);
        worker_api_target_free(&t);
        free(t4);
        free(t5);
        free(t6);
        free(q4);
        free(q5);
        free(q6);
    }
}

/* A path that itself holds "&offset=" or "&length=": section 3.3's first end cuts it short, a
 * later end recovers it; the parameters after the chosen end still count. */
Test(target, path_holding_an_end_marker)
{
    const char *path = "s3://b/x&offset=3&length=9.bin";
    char *target = id_target("range", path,
                             "ufsFullPath=s3://b/x&offset=3&length=9.bin&offset=0"
                             "&length=10");
    struct worker_api_target t;
    cr_assert_eq(parse(target, &t), WORKER_API_PARSE_OK, "%s", t.error);
    cr_assert_str_eq(t.ufs_path, path);
    cr_assert_eq(t.offset, 0);
    cr_assert_eq(t.length, 10);
    worker_api_target_free(&t);
    free(target);

    target = page_target(path, "1", "offset=1&length=2&ufsFullPath=s3://b/x&offset=3&length=9.bin");
    cr_assert_eq(parse(target, &t), WORKER_API_PARSE_OK, "%s", t.error);
    cr_assert_str_eq(t.ufs_path, path);
    cr_assert_eq(t.offset, 1);
    cr_assert_eq(t.length, 2);
    worker_api_target_free(&t);
    free(target);

    /* ufsFullPath= inside the path: the first one that starts a parameter is the real one. */
    path = "s3://b/k&ufsFullPath=s3://c/d";
    target = page_target(path, "0", "ufsFullPath=s3://b/k&ufsFullPath=s3://c/d");
    cr_assert_eq(parse(target, &t), WORKER_API_PARSE_OK, "%s", t.error);
    cr_assert_str_eq(t.ufs_path, path);
    worker_api_target_free(&t);
    free(target);
}

Test(target, wrong_path_for_the_id_is_bad)
{
    char *target = page_target("s3://b/one", "0", "ufsFullPath=s3://b/two");
    struct worker_api_target t;
    cr_assert_eq(parse(target, &t), WORKER_API_PARSE_BAD);
    cr_assert_null(t.ufs_path);
    cr_assert_not_null(strstr(t.error, "path id"));
    worker_api_target_free(&t);
    free(target);
    /* An escape that decodes to NUL is never a path. */
    target = page_target("s3://b/a%00", "0", "ufsFullPath=s3://b/a%00");
    cr_assert_eq(parse(target, &t), WORKER_API_PARSE_OK);
    cr_assert_str_eq(t.ufs_path, "s3://b/a%00"); /* the raw candidate */
    worker_api_target_free(&t);
    free(target);
}

Test(target, raw_numbers)
{
    static const struct {
        const char *query;
        enum worker_api_parse_status st;
        uint64_t offset;
        int64_t length;
    } cases[] = {
        {"offset=0&length=1048576", WORKER_API_PARSE_OK, 0, 1048576},
        {"length=-1&offset=7", WORKER_API_PARSE_OK, 7, -1},
        {"offset=18446744073709551615&length=9223372036854775807", WORKER_API_PARSE_OK, UINT64_MAX,
         INT64_MAX},
        {"length=-9223372036854775808", WORKER_API_PARSE_OK, 0, INT64_MIN},
        {"offset=1&offset=x", WORKER_API_PARSE_OK, 1, 0}, /* the first one counts */
        {"offset=&length=1", WORKER_API_PARSE_BAD, 0, 0},
        {"offset=abc", WORKER_API_PARSE_BAD, 0, 0},
        {"offset=-1", WORKER_API_PARSE_BAD, 0, 0},
        {"offset=18446744073709551616", WORKER_API_PARSE_BAD, 0, 0},
        {"length=9223372036854775808", WORKER_API_PARSE_BAD, 0, 0},
        {"length=-9223372036854775809", WORKER_API_PARSE_BAD, 0, 0},
        {"length=1.5", WORKER_API_PARSE_BAD, 0, 0},
        {"length=+1", WORKER_API_PARSE_BAD, 0, 0},
        {"offset", WORKER_API_PARSE_OK, 0, 0},
        {"&&&", WORKER_API_PARSE_OK, 0, 0},
        {"unknown=zzz&chunkSize=12", WORKER_API_PARSE_OK, 0, 0},
        {"chunkSize=-1", WORKER_API_PARSE_BAD, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *target = page_target("s3://b/k", "0", cases[i].query);
        struct worker_api_target t;
        cr_assert_eq(parse(target, &t), cases[i].st, "%s", cases[i].query);
        if (cases[i].st == WORKER_API_PARSE_OK) {
            cr_assert_eq(t.offset, cases[i].offset, "%s", cases[i].query);
            cr_assert_eq(t.length, cases[i].length, "%s", cases[i].query);
        }
        worker_api_target_free(&t);
        free(target);
    }
}

/* --- form style ---------------------------------------------------------------------------- */

Test(target, form_decoding_of_info_files_load)
{
    struct worker_api_target t;
    cr_assert_eq(parse("/v1/info?path=s3%3A%2F%2Fbucket%2Fdir%2Fa+b%2Bc%26d%3De.bin", &t),
                 WORKER_API_PARSE_OK);
    cr_assert_str_eq(t.ufs_path, "s3://bucket/dir/a b+c&d=e.bin");
    worker_api_target_free(&t);
    cr_assert_eq(parse("/v1/files?path=s3%3A%2F%2Fbucket%2F50%25+off%2Fna%C3%AFve.txt", &t),
                 WORKER_API_PARSE_OK);
    cr_assert_str_eq(t.ufs_path, "s3://bucket/50% off/naïve.txt");
    worker_api_target_free(&t);
    cr_assert_eq(parse("/v1/info?path=s3%3A%2F%2Fbucket%2Fx%2541y", &t), WORKER_API_PARSE_OK);
    cr_assert_str_eq(t.ufs_path, "s3://bucket/x%41y");
    worker_api_target_free(&t);
    cr_assert_eq(parse("/v1/load?path=s3%3A%2F%2Fbucket%2Fdir&opType=progress&verbose=true", &t),
                 WORKER_API_PARSE_OK);
    cr_assert_eq(t.ep, WORKER_API_EP_LOAD);
    cr_assert_str_eq(t.ufs_path, "s3://bucket/dir");
    cr_assert_str_eq(t.op_type, "progress");
    worker_api_target_free(&t);
    cr_assert_eq(parse("/v1/load?opType=stop&path=s3%3A%2F%2Fb&path=s3%3A%2F%2Fc", &t),
                 WORKER_API_PARSE_OK);
    cr_assert_str_eq(t.ufs_path, "s3://b");
    cr_assert_str_eq(t.op_type, "stop");
    worker_api_target_free(&t);
    cr_assert_eq(parse("/v1/info?other=1", &t), WORKER_API_PARSE_OK);
    cr_assert_null(t.ufs_path);
    worker_api_target_free(&t);

    static const char *const bad[] = {"/v1/info?path=%", "/v1/info?path=%4", "/v1/info?path=%zz",
                                      "/v1/files?path=s3%3A%2F%2Fb%2F%00", "/v1/load?opType=%G0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(parse(bad[i], &t), WORKER_API_PARSE_BAD, "%s", bad[i]);
        cr_assert_null(t.ufs_path);
        cr_assert_null(t.op_type);
        worker_api_target_free(&t);
    }
}

Test(target, node_path_is_raw_style)
{
    struct worker_api_target t;
    cr_assert_eq(parse("/v1/node?path=s3://bucket/50%25%20off/na%C3%AFve.txt", &t),
                 WORKER_API_PARSE_OK);
    cr_assert_str_eq(t.ufs_path, "s3://bucket/50% off/naïve.txt");
    worker_api_target_free(&t);
    cr_assert_eq(parse("/v1/node?path=s3://bucket/dir/a%20b+c&d=e.bin", &t), WORKER_API_PARSE_OK);
    cr_assert_str_eq(t.ufs_path, "s3://bucket/dir/a b+c&d=e.bin");
    worker_api_target_free(&t);
    cr_assert_eq(parse("/v1/node?path=s3://b/100%zz", &t), WORKER_API_PARSE_OK);
    cr_assert_str_eq(t.ufs_path, "s3://b/100%zz");
    worker_api_target_free(&t);
    cr_assert_eq(parse("/v1/node?x=1&path=s3://b/k", &t), WORKER_API_PARSE_OK);
    cr_assert_str_eq(t.ufs_path, "s3://b/k");
    worker_api_target_free(&t);
    cr_assert_eq(parse("/v1/node", &t), WORKER_API_PARSE_OK);
    cr_assert_null(t.ufs_path);
    worker_api_target_free(&t);
}

Test(target, form_decode_helper)
{
    char *out = NULL;
    size_t len = 0;
    cr_assert_eq(worker_api_form_decode("a+b%2Bc%20", 10, &out, &len), 0);
    cr_assert_str_eq(out, "a b+c ");
    cr_assert_eq(len, 6);
    free(out);
    cr_assert_eq(worker_api_form_decode("", 0, &out, &len), 0);
    cr_assert_str_eq(out, "");
    cr_assert_eq(len, 0);
    free(out);
    cr_assert_eq(worker_api_form_decode("%", 1, &out, &len), -EINVAL);
    cr_assert_eq(worker_api_form_decode("x%00", 4, &out, &len), -EINVAL);
    char *big = malloc(WORKER_API_PATH_MAX_BYTES + 2);
    memset(big, 'a', WORKER_API_PATH_MAX_BYTES + 1);
    cr_assert_eq(worker_api_form_decode(big, WORKER_API_PATH_MAX_BYTES + 1, &out, &len), -EINVAL);
    cr_assert_eq(worker_api_form_decode(big, WORKER_API_PATH_MAX_BYTES, &out, &len), 0);
    free(out);
    free(big);
}

/* --- fuzz-ish ------------------------------------------------------------------------------ */

/* Parse; whatever the bytes, the status is OK or BAD, the error is set exactly on BAD, and a
 * raw-style path returned hashes to the path id. */
static void check_any(const char *path, size_t path_len, const char *query, size_t query_len)
{
    struct worker_api_target t;
    enum worker_api_parse_status st = worker_api_target_parse(path, path_len, query, query_len, &t);
    cr_assert(st == WORKER_API_PARSE_OK || st == WORKER_API_PARSE_BAD);
    cr_assert_eq(st == WORKER_API_PARSE_BAD, t.error != NULL);
    if (st == WORKER_API_PARSE_BAD)
        cr_assert(!t.ufs_path && !t.op_type);
    if (t.ufs_path) {
        cr_assert_eq(strlen(t.ufs_path), t.ufs_path_len); /* no NUL inside */
        if (t.ep == WORKER_API_EP_PAGE || t.ep == WORKER_API_EP_RANGE ||
            t.ep == WORKER_API_EP_CHUNK) {
            char id[WORKER_API_PATH_ID_BYTES + 1];
            path_id_of(t.ufs_path, id);
            cr_assert_str_eq(id, t.path_id);
        }
    }
    worker_api_target_free(&t);
}

static const char *const valid_targets[] = {
    "/v1/file/%s/page/12?offset=3&length=100&ufsFullPath=s3://bucket/50%%25%%20off/"
    "na%%C3%%AFve.txt",
    "/v1/range/%s?ufsFullPath=s3://bucket/50%%25%%20off/na%%C3%%AFve.txt&offset=3&length=100",
    "/v1/chunk/%s?ufsFullPath=s3://bucket/50%%25%%20off/na%%C3%%AFve.txt&chunkSize=1048576",
    "/v1/file/%s/page/0?offset=0&length=1",
    "/v1/info?path=s3%%3A%%2F%%2Fbucket%%2F50%%25+off%%2Fna%%C3%%AFve.txt&x=%s",
    "/v1/load?path=s3%%3A%%2F%%2Fbucket%%2Fdir&opType=submit&verbose=true&x=%s",
    "/v1/node?path=s3://bucket/50%%25%%20off/na%%C3%%AFve.txt&%s",
};

Test(target, every_truncation_of_valid_targets)
{
    char id[WORKER_API_PATH_ID_BYTES + 1];
    path_id_of("s3://bucket/50% off/naïve.txt", id);
    for (size_t k = 0; k < sizeof(valid_targets) / sizeof(valid_targets[0]); k++) {
        char *full = NULL;
        cr_assert_gt(asprintf(&full, valid_targets[k], id), 0);
        size_t n = strlen(full);
        const char *q = strchr(full, '?');
        size_t plen = (size_t)(q - full);
        /* The untruncated target parses. */
        struct worker_api_target t;
        cr_assert_eq(worker_api_target_parse(full, plen, q + 1, n - plen - 1, &t),
                     WORKER_API_PARSE_OK, "%s", full);
        worker_api_target_free(&t);
        for (size_t cut = 0; cut <= n; cut++) {
            /* Cut inside the path (no query) or inside the query. Copies, so ASan sees any
             * read past the view. */
            if (cut <= plen) {
                char *p = malloc(cut ? cut : 1);
                memcpy(p, full, cut);
                check_any(p, cut, NULL, 0);
                free(p);
            } else {
                size_t qlen = cut - plen - 1;
                char *p = malloc(plen), *qq = malloc(qlen ? qlen : 1);
                memcpy(p, full, plen);
                memcpy(qq, q + 1, qlen);
                check_any(p, plen, qq, qlen);
                free(p);
                free(qq);
            }
        }
        free(full);
    }
}

/* xorshift64*: deterministic junk. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

Test(target, junk_bytes)
{
    static const char alphabet[] = "/v1fileagrnchkudsoty?&=%+0123456789abcdefABCDEF:#\x80\xff\x00 ";
    static const char *const prefixes[] = {"/v1/file/", "/v1/range/", "/v1/chunk/", "/v1/info",
                                           "/v1/node",  "/v1/load",   "/v1/",       ""};
    char id[WORKER_API_PATH_ID_BYTES + 1];
    path_id_of("s3://b/k", id);
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (int iter = 0; iter < 20000; iter++) {
        char path[256], query[256];
        size_t plen = 0, qlen = 0;
        const char *pre = prefixes[rng_next(&s) % 8];
        plen = strlen(pre);
        memcpy(path, pre, plen);
        if (rng_next(&s) % 2 && plen > 4 && pre[plen - 1] == '/') {
            memcpy(path + plen, id, WORKER_API_PATH_ID_BYTES);
            plen += WORKER_API_PATH_ID_BYTES;
            if (pre[4] == 'f') {
                memcpy(path + plen, "/page/", 6);
                plen += 6;
            }
        }
        size_t extra = rng_next(&s) % 24;
        for (size_t i = 0; i < extra && plen < sizeof(path); i++)
            path[plen++] = alphabet[rng_next(&s) % (sizeof(alphabet) - 1)];
        if (rng_next(&s) % 2) {
            static const char mark[] = "ufsFullPath=s3://b/k";
            memcpy(query, mark, sizeof(mark) - 1);
            qlen = sizeof(mark) - 1;
        }
        size_t qextra = rng_next(&s) % 64;
        for (size_t i = 0; i < qextra && qlen < sizeof(query); i++)
            query[qlen++] = alphabet[rng_next(&s) % (sizeof(alphabet) - 1)];
        char *p = malloc(plen ? plen : 1), *q = malloc(qlen ? qlen : 1);
        memcpy(p, path, plen);
        memcpy(q, query, qlen);
        check_any(p, plen, q, qlen);
        free(p);
        free(q);
    }
}

/* --- helpers ------------------------------------------------------------------------------ */

Test(target, split_ufs_path)
{
    struct worker_api_ufs_path up;
    cr_assert_eq(worker_api_split_ufs_path("s3://bucket/dir/k", 17, "s3", &up), 0);
    cr_assert_eq(up.bucket_len, 6);
    cr_assert_eq(memcmp(up.bucket, "bucket", 6), 0);
    cr_assert_eq(up.key_len, 5);
    cr_assert_eq(memcmp(up.key, "dir/k", 5), 0);
    cr_assert_eq(worker_api_split_ufs_path("s3://bucket", 11, "s3", &up), 0);
    cr_assert_eq(up.key_len, 0);
    cr_assert_eq(worker_api_split_ufs_path("s3://bucket/", 12, "s3", &up), 0);
    cr_assert_eq(up.key_len, 0);
    cr_assert_eq(up.bucket_len, 6);
    cr_assert_eq(worker_api_split_ufs_path("s3://b//x", 9, "s3", &up), 0);
    cr_assert_eq(up.key_len, 2);
    cr_assert_eq(worker_api_split_ufs_path("file://fb1/a", 12, "file", &up), 0);
    cr_assert_eq(worker_api_split_ufs_path("file://fb1/a", 12, "s3", &up), -EINVAL);
    cr_assert_eq(worker_api_split_ufs_path("s3:/b/k", 7, "s3", &up), -EINVAL);
    cr_assert_eq(worker_api_split_ufs_path("s3://", 5, "s3", &up), -EINVAL);
    cr_assert_eq(worker_api_split_ufs_path("s3:///k", 7, "s3", &up), -EINVAL);
    cr_assert_eq(worker_api_split_ufs_path("S3://b/k", 8, "s3", &up), -EINVAL);
    cr_assert_eq(worker_api_split_ufs_path("s3", 2, "s3", &up), -EINVAL);
    cr_assert_eq(worker_api_split_ufs_path("s3a://b/k", 9, "s3", &up), -EINVAL);
}

Test(target, human_readable_size_as_alluxio)
{
    static const struct {
        uint64_t bytes;
        const char *want;
    } cases[] = {
        {0, "0B"},
        {1, "1B"},
        {5120, "5120B"},
        {5121, "5.00KB"},
        {5248, "5.13KB"}, /* 5.125: Java rounds half up */
        {77542, "75.72KB"},
        {1048576, "1024.00KB"},
        {5ULL * 1024 * 1024, "5120.00KB"},
        {5ULL * 1024 * 1024 + 1, "5.00MB"},
        {3ULL * 1024 * 1024 * 1024 + 17, "3072.00MB"},
        {1ULL << 40, "1024.00GB"},
        {6ULL << 40, "6.00TB"},
        {6ULL << 50, "6.00PB"},
        {UINT64_MAX, "16384.00PB"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[WORKER_API_HUMAN_SIZE_MAX];
        worker_api_human_size(cases[i].bytes, out);
        cr_assert_str_eq(out, cases[i].want, "%llu", (unsigned long long)cases[i].bytes);
    }
}

Test(target, iso8601)
{
    int64_t ms = -1;
    cr_assert_eq(worker_api_iso8601_ms("1970-01-01T00:00:00.000Z", 24, &ms), 0);
    cr_assert_eq(ms, 0);
    cr_assert_eq(worker_api_iso8601_ms("2021-03-04T05:06:07.000Z", 24, &ms), 0);
    cr_assert_eq(ms, 1614834367000LL);
    cr_assert_eq(worker_api_iso8601_ms("2021-03-04T05:06:07.5Z", 22, &ms), 0);
    cr_assert_eq(ms, 1614834367500LL);
    cr_assert_eq(worker_api_iso8601_ms("2000-02-29T23:59:59Z", 20, &ms), 0);
    cr_assert_eq(ms, 951868799000LL);
    cr_assert_eq(worker_api_iso8601_ms("1969-12-31T23:59:59", 19, &ms), 0);
    cr_assert_eq(ms, -1000);
    static const char *const bad[] = {"",
                                      "2021",
                                      "2021-03-04",
                                      "2021-03-04 05:06:07Z",
                                      "2021-13-04T05:06:07Z",
                                      "2021-03-32T05:06:07Z",
                                      "2021-03-04T24:06:07Z",
                                      "2021-03-04T05:06:07.Z",
                                      "2021-03-04T05:06:07ZZ",
                                      "2021-03-04T05:06:07+01:00",
                                      "202a-03-04T05:06:07Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(worker_api_iso8601_ms(bad[i], strlen(bad[i]), &ms), -EINVAL, "%s", bad[i]);
}

/* --- fileinfo ------------------------------------------------------------------------------ */

static struct json_object *info_json(const struct worker_api_file_info *fi)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    cr_assert_eq(worker_api_file_info_append(&b, fi), 0);
    struct json_object *o = json_tokener_parse(b.data);
    cr_assert_not_null(o, "%s", b.data);
    cr_assert_null(strstr(b.data, "\\/"), "slashes must not be escaped: %s", b.data);
    buf_free(&b);
    return o;
}

static const char *jstr(struct json_object *o, const char *key)
{
    struct json_object *v;
    cr_assert(json_object_object_get_ex(o, key, &v), "%s", key);
    cr_assert(json_object_is_type(v, json_type_string), "%s", key);
    return json_object_get_string(v);
}

static int64_t jint(struct json_object *o, const char *key)
{
    struct json_object *v;
    cr_assert(json_object_object_get_ex(o, key, &v), "%s", key);
    cr_assert(json_object_is_type(v, json_type_int), "%s", key);
    return json_object_get_int64(v);
}

Test(fileinfo, file_has_all_sixteen_keys)
{
    struct worker_api_file_info fi = {.scheme = "s3",
                                      .bucket = "bucket",
                                      .bucket_len = 6,
                                      .key = "dir/part-00000.parquet",
                                      .key_len = 22,
                                      .length = 77542,
                                      .mtime_ms = 1717171717000,
                                      .etag = "\"abc\""};
    struct json_object *o = info_json(&fi);
    cr_assert_eq(json_object_object_length(o), 16);
    cr_assert_str_eq(jstr(o, "mType"), "file");
    cr_assert_str_eq(jstr(o, "mName"), "part-00000.parquet");
    cr_assert_str_eq(jstr(o, "mPath"), "/bucket/dir/part-00000.parquet");
    cr_assert_str_eq(jstr(o, "mUfsPath"), "s3://bucket/dir/part-00000.parquet");
    cr_assert_eq(jint(o, "mLength"), 77542);
    cr_assert_str_eq(jstr(o, "mHumanReadableFileSize"), "75.72KB");
    cr_assert_eq(jint(o, "mLastModificationTimeMs"), 1717171717000);
    cr_assert_eq(jint(o, "mCreationTimeMs"), 0);
    cr_assert_eq(jint(o, "mLastAccessTimeMs"), 0);
    cr_assert_eq(jint(o, "mInAlluxioPercentage"), 0);
    cr_assert_str_eq(jstr(o, "mOwner"), "");
    cr_assert_str_eq(jstr(o, "mGroup"), "");
    cr_assert_str_eq(jstr(o, "mMode"), "");
    cr_assert_str_eq(jstr(o, "mContentHash"), "abc");
    struct json_object *v;
    cr_assert(json_object_object_get_ex(o, "mCompleted", &v) && json_object_get_boolean(v));
    cr_assert(json_object_object_get_ex(o, "mPersisted", &v) && json_object_get_boolean(v));
    json_object_put(o);
}

Test(fileinfo, directories_roots_and_odd_names)
{
    struct worker_api_file_info dir = {.is_dir = true,
                                       .scheme = "file",
                                       .bucket = "fb1",
                                       .bucket_len = 3,
                                       .key = "dir/sub",
                                       .key_len = 7};
    struct json_object *o = info_json(&dir);
    cr_assert_str_eq(jstr(o, "mType"), "directory");
    cr_assert_str_eq(jstr(o, "mName"), "sub");
    cr_assert_str_eq(jstr(o, "mPath"), "/fb1/dir/sub");
    cr_assert_str_eq(jstr(o, "mUfsPath"), "file://fb1/dir/sub");
    cr_assert_eq(jint(o, "mLength"), 0);
    cr_assert_str_eq(jstr(o, "mHumanReadableFileSize"), "0B");
    cr_assert_str_eq(jstr(o, "mContentHash"), "");
    json_object_put(o);

    struct worker_api_file_info root = {
        .is_dir = true, .scheme = "s3", .bucket = "bkt", .bucket_len = 3};
    o = info_json(&root);
    cr_assert_str_eq(jstr(o, "mName"), "bkt");
    cr_assert_str_eq(jstr(o, "mPath"), "/bkt");
    cr_assert_str_eq(jstr(o, "mUfsPath"), "s3://bkt");
    json_object_put(o);

    static const char odd[] = "q\"uote\\back\x01 ctl/ünï😀";
    struct worker_api_file_info f = {.scheme = "s3",
                                     .bucket = "b",
                                     .bucket_len = 1,
                                     .key = odd,
                                     .key_len = sizeof(odd) - 1,
                                     .length = 5};
    o = info_json(&f);
    cr_assert_str_eq(jstr(o, "mName"), "ünï😀");
    cr_assert_str_eq(jstr(o, "mUfsPath"), "s3://b/q\"uote\\back\x01 ctl/ünï😀");
    json_object_put(o);
}

Test(fileinfo, cap_is_respected)
{
    struct buf b;
    buf_init(&b, 100);
    struct worker_api_file_info fi = {
        .scheme = "s3", .bucket = "b", .bucket_len = 1, .key = "k", .key_len = 1};
    cr_assert_eq(worker_api_file_info_append(&b, &fi), -E2BIG);
    cr_assert_eq(b.len, 0);
    buf_free(&b);
}

/* --- path ids ------------------------------------------------------------------------------ */

Test(path_ids, put_get_and_lru_bound)
{
    struct worker_api_path_ids *m = worker_api_path_ids_create(3);
    cr_assert_not_null(m);
    const char *paths[] = {"s3://b/0", "s3://b/1", "s3://b/2", "s3://b/3"};
    char ids[4][WORKER_API_PATH_ID_BYTES + 1];
    for (int i = 0; i < 4; i++)
        path_id_of(paths[i], ids[i]);
    size_t len = 0;
    cr_assert_null(worker_api_path_ids_get(m, ids[0], &len));
    for (int i = 0; i < 3; i++)
        worker_api_path_ids_put(m, ids[i], paths[i], strlen(paths[i]));
    worker_api_path_ids_put(m, ids[1], paths[1], strlen(paths[1])); /* again: no duplicate */
    char *p = worker_api_path_ids_get(m, ids[0], &len);             /* 0 is now the newest */
    cr_assert_str_eq(p, paths[0]);
    cr_assert_eq(len, strlen(paths[0]));
    free(p);
    worker_api_path_ids_put(m, ids[3], paths[3], strlen(paths[3])); /* evicts 2, the oldest */
    cr_assert_null(worker_api_path_ids_get(m, ids[2], &len));
    for (int i = 0; i < 4; i++) {
        if (i == 2)
            continue;
        p = worker_api_path_ids_get(m, ids[i], &len);
        cr_assert_str_eq(p, paths[i]);
        free(p);
    }
    worker_api_path_ids_destroy(m);
}

Test(path_ids, many_entries_stay_bounded)
{
    struct worker_api_path_ids *m = worker_api_path_ids_create(64);
    char path[32], id[WORKER_API_PATH_ID_BYTES + 1];
    for (int i = 0; i < 1000; i++) {
        snprintf(path, sizeof(path), "s3://b/%d", i);
        path_id_of(path, id);
        worker_api_path_ids_put(m, id, path, strlen(path));
    }
    cr_assert_eq(m->count, 64);
    size_t len;
    for (int i = 936; i < 1000; i++) {
        snprintf(path, sizeof(path), "s3://b/%d", i);
        path_id_of(path, id);
        char *p = worker_api_path_ids_get(m, id, &len);
        cr_assert_str_eq(p, path);
        free(p);
    }
    worker_api_path_ids_destroy(m);
}
