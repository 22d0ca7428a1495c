/*
 * Unit tests for core/ufs/s3_list.c and list_xml.c: the upstream query, parsing a
 * ListBucketResult in S3's and moto's shapes (url-encoded or not), and writing it again.
 */
#include "core/ufs/s3_list.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

static const char s3_reply[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
    "<Prefix>d%2F</Prefix><NextContinuationToken>tok+/=</NextContinuationToken>"
    "<KeyCount>3</KeyCount><MaxKeys>2</MaxKeys><Delimiter>%2F</Delimiter>"
    "<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
    "<Contents><Key>d/sp+ace%2Bplus%26amp</Key><LastModified>2026-01-02T03:04:05.000Z"
    "</LastModified><ETag>&quot;abc&quot;</ETag><Size>12</Size><Owner><ID>o1</ID>"
    "<DisplayName>n1</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>d/%C3%A9t%C3%A9</Key><LastModified>2026-01-02T03:04:05.000Z</LastModified>"
    "<ETag>&quot;def&quot;</ETag><Size>0</Size><StorageClass>GLACIER</StorageClass></Contents>"
    "<CommonPrefixes><Prefix>d/sub%2F</Prefix></CommonPrefixes></ListBucketResult>";

Test(s3_list, parses_s3_reply_and_decodes_keys)
{
    struct s3_list_result r;
    cr_assert_eq(s3_list_parse(s3_reply, strlen(s3_reply), &r), 0);
    cr_assert_eq(r.count, 3);
    cr_assert(r.truncated);
    cr_assert_str_eq(r.next_token, "tok+/=");
    cr_assert_str_eq(r.entries[0].name, "d/sp ace+plus&amp");
    cr_assert_eq(r.entries[0].len, strlen("d/sp ace+plus&amp"));
    cr_assert_str_eq(r.entries[0].etag, "\"abc\"");
    cr_assert_eq(r.entries[0].size, 12);
    cr_assert_str_eq(r.entries[0].owner_id, "o1");
    cr_assert_str_eq(r.entries[1].name, "d/\xc3\xa9t\xc3\xa9");
    cr_assert_str_eq(r.entries[1].storage_class, "GLACIER");
    cr_assert(r.entries[2].is_prefix);
    cr_assert_str_eq(r.entries[2].name, "d/sub/");
    s3_list_result_free(&r);
}

Test(s3_list, encoding_echo_after_contents_still_decodes)
{
    /* moto writes EncodingType after the Contents. */
    const char *xml = "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a%20b"
                      "</Key><LastModified>x</LastModified><ETag>\"e\"</ETag><Size>1</Size>"
                      "</Contents><EncodingType>url</EncodingType></ListBucketResult>";
    struct s3_list_result r;
    cr_assert_eq(s3_list_parse(xml, strlen(xml), &r), 0);
    cr_assert_str_eq(r.entries[0].name, "a b");
    cr_assert(!r.truncated);
    s3_list_result_free(&r);
}

Test(s3_list, refuses_what_is_not_a_list)
{
    struct s3_list_result r;
    const char *err = "<Error><Code>NoSuchBucket</Code></Error>";
    cr_assert_eq(s3_list_parse(err, strlen(err), &r), -EINVAL);
    const char *broken = "<ListBucketResult><Contents><Key>a</Key>";
    cr_assert_eq(s3_list_parse(broken, strlen(broken), &r), -EINVAL);
    const char *no_etag = "<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>";
    cr_assert_eq(s3_list_parse(no_etag, strlen(no_etag), &r), -EINVAL);
    const char *bad_size = "<ListBucketResult><Contents><Key>a</Key><LastModified>x"
                           "</LastModified><ETag>e</ETag><Size>-1</Size></Contents>"
                           "</ListBucketResult>";
    cr_assert_eq(s3_list_parse(bad_size, strlen(bad_size), &r), -EINVAL);
    cr_assert_eq(s3_list_parse("", 0, &r), -EINVAL);
}

Test(s3_list, upstream_query_always_asks_for_url_encoding)
{
    struct ufs_list_params p = {.version = 2,
                                .prefix = "a b/",
                                .delimiter = "/",
                                .continuation_token = "t+=",
                                .start_after = "x&y",
                                .max_keys = 7,
                                .fetch_owner = true};
    struct buf q;
    buf_init(&q, 4096);
    cr_assert_eq(s3_list_query(&p, &q), 0);
    cr_assert_str_eq(q.data, "list-type=2&prefix=a%20b%2F&delimiter=%2F&max-keys=7&"
                             "continuation-token=t%2B%3D&start-after=x%26y&fetch-owner=true&"
                             "encoding-type=url");
    buf_free(&q);
    struct ufs_list_params v1 = {.version = 1, .marker = "m", .max_keys = 1000};
    buf_init(&q, 4096);
    cr_assert_eq(s3_list_query(&v1, &q), 0);
    cr_assert_str_eq(q.data, "max-keys=1000&marker=m&encoding-type=url");
    buf_free(&q);
}

Test(s3_list, rewrite_echoes_what_the_client_asked)
{
    struct s3_list_result r;
    cr_assert_eq(s3_list_parse(s3_reply, strlen(s3_reply), &r), 0);
    struct ufs_list_params p = {.version = 2,
                                .prefix = "d/",
                                .delimiter = "/",
                                .continuation_token = "prev",
                                .start_after = "d/a&b",
                                .max_keys = 2,
                                .encoding_url = false};
    struct list_xml_page page = {.bucket = "b",
                                 .params = &p,
                                 .entries = r.entries,
                                 .count = r.count,
                                 .truncated = r.truncated,
                                 .next_token = r.next_token};
    struct buf out;
    buf_init(&out, 1 << 20);
    cr_assert_eq(list_xml_render(&out, &page), 0);
    cr_assert_not_null(strstr(out.data, "<ContinuationToken>prev</ContinuationToken>"));
    cr_assert_not_null(strstr(out.data, "<StartAfter>d/a&amp;b</StartAfter>"));
    cr_assert_not_null(strstr(out.data, "<NextContinuationToken>tok+/=</NextContinuationToken>"));
    cr_assert_not_null(strstr(out.data, "<Key>d/sp ace+plus&amp;amp</Key>"));
    cr_assert_not_null(strstr(out.data, "<KeyCount>3</KeyCount>"));
    cr_assert_null(strstr(out.data, "<Owner>"), "Owner only with fetch-owner");
    cr_assert_null(strstr(out.data, "EncodingType"));
    buf_reset(&out);
    p.encoding_url = true;
    cr_assert_eq(list_xml_render(&out, &page), 0);
    cr_assert_not_null(strstr(out.data, "<Key>d/sp+ace%2Bplus%26amp</Key>"));
    cr_assert_not_null(strstr(out.data, "<StartAfter>d/a%26b</StartAfter>"));
    cr_assert_not_null(strstr(out.data, "<EncodingType>url</EncodingType>"));
    buf_free(&out);
    s3_list_result_free(&r);
}
