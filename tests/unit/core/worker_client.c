/*
 * Unit tests for core/worker_client.c: which paths may go to a worker, and the request target
 * (E3b) built the way alluxiofs's requests/urllib3 send it (ALLUXIO-PROTOCOL.md section 3.3).
 */
#include "core/ring.h"
#include "core/worker_client.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void expect_target(const char *path, uint64_t index, const char *want_query)
{
    char id[RING_PATH_ID_HEX_BYTES + 1];
    cr_assert_eq(ring_path_id(path, strlen(path), id), 0);
    char want[4096];
    snprintf(want, sizeof(want), "/v1/file/%s/page/%llu?ufsFullPath=%s", id,
             (unsigned long long)index, want_query);
    struct buf b;
    buf_init(&b, 1 << 16);
    cr_assert_eq(worker_page_target(&b, path, strlen(path), index), 0, "%s", path);
    cr_assert_str_eq(b.data, want);
    buf_free(&b);
}

Test(worker_client, plain_path_goes_raw)
{
    expect_target("s3://bucket/dir/file.bin", 3, "s3://bucket/dir/file.bin");
    expect_target("s3://b/k", 0, "s3://b/k");
}

Test(worker_client, requests_requote_set)
{
    /* Kept raw by requests: unreserved and = ? : / ; , ! $ ' ( ) * @ ~ */
    expect_target("s3://b/a=b?c:d;e,f!g$h'i(j)k*l@m~n-o.p_q", 1,
                  "s3://b/a=b?c:d;e,f!g$h'i(j)k*l@m~n-o.p_q");
    /* Escaped: space " < > \ ^ ` { | } [ ] and controls. */
    expect_target("s3://b/a b\"c<d>e\\f^g`h{i|j}k[l]m\x01n\x7f", 2,
                  "s3://b/a%20b%22c%3Cd%3Ee%5Cf%5Eg%60h%7Bi%7Cj%7Dk%5Bl%5Dm%01n%7F");
    /* Non-ASCII bytes: each UTF-8 byte as %XX, upper-case hex (section 3.3 table). */
    expect_target("s3://bucket/off/na\xc3\xafve.txt", 0, "s3://bucket/off/na%C3%AFve.txt");
}

Test(worker_client, unsafe_paths_are_not_routed)
{
    const char *bad[] = {"s3://b/a#b", "s3://b/50%off", "s3://b/a&b", "s3://b/a+b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert(!worker_path_routable(bad[i], strlen(bad[i])), "%s", bad[i]);
        struct buf b;
        buf_init(&b, 4096);
        cr_assert_eq(worker_page_target(&b, bad[i], strlen(bad[i]), 0), -EINVAL);
        buf_free(&b);
    }
    cr_assert(!worker_path_routable("s3://b/a\0b", 9), "an embedded NUL");
    cr_assert(worker_path_routable("s3://b/a b=c", 12));
}

Test(worker_client, result_names)
{
    for (int r = WORKER_READ_OK; r <= WORKER_READ_LOCAL_FAILURE; r++)
        cr_assert_str_neq(worker_read_result_str((enum worker_read_result)r), "unknown");
}
