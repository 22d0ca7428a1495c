/*
 * Tests for core/ufs/file_list.c: ListObjects v1/v2 and ListBuckets over a temporary folder
 * tree, checked on the XML S3 would send (../../../../shared/S3-BEHAVIOUR.md): paging with
 * tokens and markers returns every key once and in UTF-8 binary order, CommonPrefixes count
 * against max-keys, encoding-type=url round-trips through botocore's decoding (unquote_plus),
 * and the limits (max-keys 0, 1024-byte keys, the XML cap) hold.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/ufs/file_list.h"

#define TEST_XML_MAX   (8u << 20)
#define TEST_MTIME     1700000000 /* 2023-11-14T22:13:20Z */
#define TEST_BIG_FILES 1200

static char test_root[64];

/* The odd keys in bucket "bkt", in UTF-8 binary order (' ' < '&' < '+' < 'd' < 't' < 0xc3). */
static const char *const test_keys[] = {
    "a b.txt",
    "a&b=c%d.txt",
    "a+b.txt",
    "dir/sub/y",
    "dir/sub/z",
    "dir/x",
    "top",
    "\xc3\xbcn\xc3\xaf/c\xc3\xb6"
    "d\xc3\xa9.txt",
};
#define TEST_NKEYS (sizeof(test_keys) / sizeof(test_keys[0]))

static void test_path(char *out, size_t cap, const char *rel)
{
    int n = snprintf(out, cap, "%s/%s", test_root, rel);
    cr_assert(n > 0 && (size_t)n < cap);
}

/* Create rel (and its folders) holding `body`, mtime TEST_MTIME. */
static void test_file(const char *rel, const char *body)
{
    char path[4096];
    test_path(path, sizeof(path), rel);
    for (char *p = path + strlen(test_root) + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
        *p = '/';
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    size_t len = strlen(body);
    cr_assert_eq(write(fd, body, len), (ssize_t)len);
    struct timespec ts[2] = {{TEST_MTIME, 5}, {TEST_MTIME, 5}};
    cr_assert_eq(futimens(fd, ts), 0);
    close(fd);
}

static void test_dir(const char *rel)
{
    char path[4096];
    test_path(path, sizeof(path), rel);
    cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static void test_symlink(const char *target, const char *rel)
{
    char path[4096];
    test_path(path, sizeof(path), rel);
    cr_assert_eq(symlink(target, path), 0);
}

static void setup(void)
{
    snprintf(test_root, sizeof(test_root), "/tmp/file_list_test.XXXXXX");
    cr_assert_not_null(mkdtemp(test_root));
    for (size_t i = 0; i < TEST_NKEYS; i++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "bkt/%s", test_keys[i]);
        test_file(rel, "hello");
    }
    /* None of these are keys: symlinks (to a file, to a folder, out of the root), folders
     * without files, a name that is not UTF-8. */
    test_symlink("top", "bkt/link-to-top");
    test_symlink("dir", "bkt/link-to-dir");
    test_symlink("/etc", "bkt/etc");
    test_dir("bkt/empty");
    test_dir("bkt/empty/deeper");
    test_dir("bkt/onlylink");
    test_symlink("../top", "bkt/onlylink/l");
    test_file("bkt/bad\xff", "x");

    /* 1200 keys over nested folders and the top, for paging. */
    for (int i = 0; i < TEST_BIG_FILES; i++) {
        char rel[64];
        if (i % 3 == 0)
            snprintf(rel, sizeof(rel), "big/f%04d", i);
        else
            snprintf(rel, sizeof(rel), "big/d%d/s%d/f%04d", i % 7, i % 2, i);
        test_file(rel, "x");
    }
    test_dir("empty-bucket");
    test_symlink("bkt", "linked-bucket");
    test_file("not-a-bucket", "x");
}

static int test_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    nftw(test_root, test_rm, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(file_list, .init = setup, .fini = teardown);

/* ---- helpers reading the XML back ---- */

static struct ufs_list_params test_params(int version)
{
    struct ufs_list_params p = {.version = version, .max_keys = LIST_MAX_KEYS_DEFAULT};
    return p;
}

static char *test_list(const char *bucket, const struct ufs_list_params *p)
{
    struct buf b;
    buf_init(&b, TEST_XML_MAX);
    enum file_list_status st = file_list_objects(test_root, bucket, p, &b);
    cr_assert_eq(st, FILE_LIST_OK, "status %d", st);
    size_t len;
    char *xml = buf_take(&b, &len);
    cr_assert_not_null(xml);
    return xml;
}

/* Undo the five XML escapes. */
static char *test_xml_unescape(const char *s, size_t len)
{
    static const char *const ents[][2] = {
        {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}};
    char *out = malloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t e;
        for (e = 0; e < 5; e++) {
            size_t el = strlen(ents[e][0]);
            if (len - i >= el && !memcmp(s + i, ents[e][0], el)) {
                out[o++] = ents[e][1][0];
                i += el;
                break;
            }
        }
        if (e == 5)
            out[o++] = s[i++];
    }
    out[o] = '\0';
    return out;
}

/* Python's urllib.parse.unquote_plus, which botocore applies (compat.unquote_str). */
static char *test_unquote_plus(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < len) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* Text of the first <tag> at or after *from (unescaped, malloc'd), advancing *from past it;
 * NULL when there is none. */
static char *test_next(const char **from, const char *tag)
{
    char open[64], close[64];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *a = strstr(*from, open);
    if (!a)
        return NULL;
    a += strlen(open);
    const char *z = strstr(a, close);
    cr_assert_not_null(z);
    *from = z + strlen(close);
    return test_xml_unescape(a, (size_t)(z - a));
}

static char *test_field(const char *xml, const char *tag)
{
    const char *p = xml;
    return test_next(&p, tag);
}

static bool test_has(const char *xml, const char *s)
{
    return strstr(xml, s) != NULL;
}

/* Every Contents/Key then every CommonPrefixes/Prefix, in document order. */
struct test_items {
    char *v[4096];
    size_t n;
};

static void test_collect(const char *xml, struct test_items *keys, struct test_items *prefixes,
                         bool url)
{
    const char *p = xml;
    char *s;
    while ((s = test_next(&p, "Key"))) {
        cr_assert_lt(keys->n, 4096u);
        keys->v[keys->n++] = url ? test_unquote_plus(s) : strdup(s);
        free(s);
    }
    p = xml;
    while ((p = strstr(p, "<CommonPrefixes>"))) {
        s = test_next(&p, "Prefix");
        cr_assert_not_null(s);
        cr_assert_lt(prefixes->n, 4096u);
        prefixes->v[prefixes->n++] = url ? test_unquote_plus(s) : strdup(s);
        free(s);
    }
}

static void test_items_free(struct test_items *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i]);
    t->n = 0;
}

static int test_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The 1200 keys of bucket "big", sorted. */
static void test_big_keys(struct test_items *t)
{
    t->n = 0;
    for (int i = 0; i < TEST_BIG_FILES; i++) {
        char k[64];
        if (i % 3 == 0)
            snprintf(k, sizeof(k), "f%04d", i);
        else
            snprintf(k, sizeof(k), "d%d/s%d/f%04d", i % 7, i % 2, i);
        t->v[t->n++] = strdup(k);
    }
    qsort(t->v, t->n, sizeof(char *), test_strcmp);
}

static int test_int(const char *xml, const char *tag)
{
    char *s = test_field(xml, tag);
    cr_assert_not_null(s, "no <%s> in %s", tag, xml);
    int v = (int)strtol(s, NULL, 10);
    free(s);
    return v;
}

/* ---- ListObjectsV2 ---- */

Test(file_list, v2_lists_every_key_in_binary_order)
{
    struct ufs_list_params p = test_params(2);
    char *xml = test_list("bkt", &p);
    struct test_items keys = {0}, prefixes = {0};
    test_collect(xml, &keys, &prefixes, false);
    cr_assert_eq(keys.n, TEST_NKEYS, "%s", xml);
    for (size_t i = 0; i < TEST_NKEYS; i++)
        cr_assert_str_eq(keys.v[i], test_keys[i]);
    cr_assert_eq(prefixes.n, 0);
    cr_assert_eq(test_int(xml, "KeyCount"), (int)TEST_NKEYS);
    cr_assert_eq(test_int(xml, "MaxKeys"), 1000);
    cr_assert(test_has(xml, "<IsTruncated>false</IsTruncated>"));
    cr_assert(test_has(xml, "<Prefix></Prefix>"));
    cr_assert(!test_has(xml, "NextContinuationToken"));
    cr_assert(!test_has(xml, "<Owner>"), "v2 without fetch-owner has no Owner");
    cr_assert(!test_has(xml, "<Delimiter>"));
    cr_assert(!test_has(xml, "<EncodingType>"));
    cr_assert(!test_has(xml, "<StartAfter>"));
    test_items_free(&keys);
    free(xml);
}

Test(file_list, v2_document_shape)
{
    struct ufs_list_params p = test_params(2);
    p.prefix = "top";
    p.fetch_owner = true;
    char *xml = test_list("bkt", &p);
    char etag[FILE_ETAG_MAX];
    file_etag(5, TEST_MTIME, 5, etag);
    cr_assert_str_eq(etag, "\"17979cfe362a0005-5\"");
    cr_assert_str_eq(
        xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
             "<Name>bkt</Name><Prefix>top</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>"
             "<IsTruncated>false</IsTruncated>"
             "<Contents><Key>top</Key><LastModified>2023-11-14T22:13:20.000Z</LastModified>"
             "<ETag>&quot;17979cfe362a0005-5&quot;</ETag><Size>5</Size>"
             "<Owner><ID>6d149ccf3b20c673735d9b7179638a18614dc502b35fb64a4792f8834c7185e1</ID>"
             "<DisplayName>alluxio-s3-proxy</DisplayName></Owner>"
             "<StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>");
    free(xml);
}

/* Page through 1200 keys with tokens: each key exactly once, in order. */
static void test_page_all_v2(int max_keys)
{
    struct test_items want = {0}, got = {0}, prefixes = {0};
    test_big_keys(&want);
    char *token = NULL;
    int pages = 0;
    for (;;) {
        struct ufs_list_params p = test_params(2);
        p.max_keys = max_keys;
        p.continuation_token = token;
        char *xml = test_list("big", &p);
        size_t before = got.n;
        test_collect(xml, &got, &prefixes, false);
        cr_assert_eq(test_int(xml, "KeyCount"), (int)(got.n - before));
        if (token) {
            char *echo = test_field(xml, "ContinuationToken");
            cr_assert_str_eq(echo, token);
            free(echo);
        }
        free(token);
        token = test_field(xml, "NextContinuationToken");
        bool truncated = test_has(xml, "<IsTruncated>true</IsTruncated>");
        cr_assert_eq(truncated, token != NULL);
        if (truncated)
            cr_assert_eq(got.n - before, (size_t)max_keys);
        free(xml);
        pages++;
        if (!token)
            break;
        cr_assert_lt(pages, 2000);
    }
    cr_assert_eq(pages, (TEST_BIG_FILES + max_keys - 1) / max_keys);
    cr_assert_eq(got.n, want.n);
    for (size_t i = 0; i < want.n; i++)
        cr_assert_str_eq(got.v[i], want.v[i], "at %zu", i);
    cr_assert_eq(prefixes.n, 0);
    test_items_free(&want);
    test_items_free(&got);
}

Test(file_list, v2_paging_default_page)
{
    test_page_all_v2(1000);
}

Test(file_list, v2_paging_small_pages)
{
    test_page_all_v2(7);
}

Test(file_list, v2_paging_exact_multiple)
{
    test_page_all_v2(100);
}

/* With a delimiter, pages of 1 walk keys and CommonPrefixes alike, each once. */
Test(file_list, v2_delimiter_pages_of_one)
{
    static const char *const want[] = {
        "a b.txt", "a&b=c%d.txt", "a+b.txt", "dir/", "top", "\xc3\xbcn\xc3\xaf/",
    };
    char *token = NULL;
    size_t i = 0;
    for (;;) {
        struct ufs_list_params p = test_params(2);
        p.max_keys = 1;
        p.delimiter = "/";
        p.continuation_token = token;
        char *xml = test_list("bkt", &p);
        struct test_items keys = {0}, prefixes = {0};
        test_collect(xml, &keys, &prefixes, false);
        cr_assert_eq(keys.n + prefixes.n, 1, "%s", xml);
        cr_assert_eq(test_int(xml, "KeyCount"), 1);
        cr_assert_lt(i, 6u);
        cr_assert_str_eq(keys.n ? keys.v[0] : prefixes.v[0], want[i]);
        i++;
        test_items_free(&keys);
        test_items_free(&prefixes);
        free(token);
        token = test_field(xml, "NextContinuationToken");
        free(xml);
        if (!token)
            break;
    }
    cr_assert_eq(i, 6u);
}

Test(file_list, v2_common_prefixes_count_against_max_keys)
{
    struct ufs_list_params p = test_params(2);
    p.delimiter = "/";
    p.max_keys = 4;
    char *xml = test_list("bkt", &p);
    struct test_items keys = {0}, prefixes = {0};
    test_collect(xml, &keys, &prefixes, false);
    cr_assert_eq(keys.n, 3);
    cr_assert_eq(prefixes.n, 1);
    cr_assert_str_eq(prefixes.v[0], "dir/");
    cr_assert_eq(test_int(xml, "KeyCount"), 4);
    cr_assert(test_has(xml, "<Delimiter>/</Delimiter>"));
    cr_assert(test_has(xml, "<IsTruncated>true</IsTruncated>"));
    /* Folders without files, and folders holding only symlinks, are no CommonPrefix. */
    cr_assert(!test_has(xml, "empty/") && !test_has(xml, "onlylink/"));
    test_items_free(&keys);
    test_items_free(&prefixes);
    free(xml);

    /* All of the big bucket under '/' is 400 top-level keys and 7 folders. */
    p = test_params(2);
    p.delimiter = "/";
    xml = test_list("big", &p);
    test_collect(xml, &keys, &prefixes, false);
    cr_assert_eq(keys.n, 400);
    cr_assert_eq(prefixes.n, 7);
    cr_assert_eq(test_int(xml, "KeyCount"), 407);
    for (size_t i = 0; i < 7; i++) {
        char d[8];
        snprintf(d, sizeof(d), "d%zu/", i);
        cr_assert_str_eq(prefixes.v[i], d);
    }
    test_items_free(&keys);
    test_items_free(&prefixes);
    free(xml);
}

Test(file_list, v2_prefix)
{
    struct ufs_list_params p = test_params(2);
    p.prefix = "dir/";
    p.delimiter = "/";
    char *xml = test_list("bkt", &p);
    struct test_items keys = {0}, prefixes = {0};
    test_collect(xml, &keys, &prefixes, false);
    cr_assert_eq(keys.n, 1);
    cr_assert_str_eq(keys.v[0], "dir/x");
    cr_assert_eq(prefixes.n, 1);
    cr_assert_str_eq(prefixes.v[0], "dir/sub/");
    cr_assert(test_has(xml, "<Prefix>dir/</Prefix>"));
    test_items_free(&keys);
    test_items_free(&prefixes);
    free(xml);

    /* A prefix that ends inside a name, without a delimiter. */
    p = test_params(2);
    p.prefix = "dir/s";
    xml = test_list("bkt", &p);
    test_collect(xml, &keys, &prefixes, false);
    cr_assert_eq(keys.n, 2);
    cr_assert_str_eq(keys.v[0], "dir/sub/y");
    cr_assert_str_eq(keys.v[1], "dir/sub/z");
    test_items_free(&keys);
    free(xml);

    /* Prefixes no key can have: absent folders, "..", "." and empty components, symlinks. */
    static const char *const none[] = {"nope/",        "../bkt/", "./top",  "dir//x",
                                       "link-to-dir/", "etc/",    "empty/", "bad"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        p = test_params(2);
        p.prefix = none[i];
        xml = test_list("bkt", &p);
        cr_assert(!test_has(xml, "<Contents>"), "prefix %s: %s", none[i], xml);
        cr_assert_eq(test_int(xml, "KeyCount"), 0);
        free(xml);
    }
}

/* A delimiter of several bytes, matched across folder boundaries. */
Test(file_list, v2_multibyte_delimiter)
{
    struct ufs_list_params p = test_params(2);
    p.prefix = "dir";
    p.delimiter = "/s";
    char *xml = test_list("bkt", &p);
    struct test_items keys = {0}, prefixes = {0};
    test_collect(xml, &keys, &prefixes, false);
    cr_assert_eq(keys.n, 1);
    cr_assert_str_eq(keys.v[0], "dir/x");
    cr_assert_eq(prefixes.n, 1);
    cr_assert_str_eq(prefixes.v[0], "dir/s");
    test_items_free(&keys);
    test_items_free(&prefixes);
    free(xml);

    p = test_params(2);
    p.delimiter = "r/s";
    xml = test_list("bkt", &p);
    test_collect(xml, &keys, &prefixes, false);
    cr_assert_eq(prefixes.n, 1);
    cr_assert_str_eq(prefixes.v[0], "dir/s");
    cr_assert_eq(keys.n, TEST_NKEYS - 2);
    test_items_free(&keys);
    test_items_free(&prefixes);
    free(xml);
}

Test(file_list, v2_start_after)
{
    struct ufs_list_params p = test_params(2);
    p.start_after = "a+b.txt";
    char *xml = test_list("bkt", &p);
    struct test_items keys = {0}, prefixes = {0};
    test_collect(xml, &keys, &prefixes, false);
    cr_assert_eq(keys.n, TEST_NKEYS - 3);
    for (size_t i = 0; i < keys.n; i++)
        cr_assert_str_eq(keys.v[i], test_keys[i + 3]);
    cr_assert(test_has(xml, "<StartAfter>a+b.txt</StartAfter>"));
    test_items_free(&keys);
    free(xml);

    /* start-after a CommonPrefix skips the keys rolled into it. */
    p = test_params(2);
    p.start_after = "dir/";
    p.delimiter = "/";
    xml = test_list("bkt", &p);
    test_collect(xml, &keys, &prefixes, false);
    cr_assert_eq(keys.n, 1);
    cr_assert_str_eq(keys.v[0], "top");
    cr_assert_eq(prefixes.n, 1);
    cr_assert_str_eq(prefixes.v[0], "\xc3\xbcn\xc3\xaf/");
    test_items_free(&keys);
    test_items_free(&prefixes);
    free(xml);

    /* After the last key: nothing. A start-after that is not a key works the same. */
    p = test_params(2);
    p.start_after = "\xf4\x8f\xbf\xbf";
    xml = test_list("bkt", &p);
    cr_assert(!test_has(xml, "<Contents>"));
    free(xml);
    p = test_params(2);
    p.start_after = "dir/t";
    xml = test_list("bkt", &p);
    test_collect(xml, &keys, &prefixes, false);
    cr_assert_str_eq(keys.v[0], "dir/x");
    test_items_free(&keys);
    free(xml);
}

Test(file_list, v2_token_wins_over_start_after)
{
    struct ufs_list_params p = test_params(2);
    p.max_keys = 2;
    char *xml = test_list("bkt", &p);
    char *token = test_field(xml, "NextContinuationToken");
    cr_assert_not_null(token);
    free(xml);

    p = test_params(2);
    p.max_keys = 2;
    p.continuation_token = token;
    p.start_after = "top";
    xml = test_list("bkt", &p);
    struct test_items keys = {0}, prefixes = {0};
    test_collect(xml, &keys, &prefixes, false);
    cr_assert_eq(keys.n, 2);
    cr_assert_str_eq(keys.v[0], test_keys[2]);
    cr_assert_str_eq(keys.v[1], test_keys[3]);
    cr_assert(test_has(xml, "<StartAfter>top</StartAfter>"), "still echoed");
    test_items_free(&keys);
    free(token);
    free(xml);
}

Test(file_list, v2_max_keys_zero)
{
    struct ufs_list_params p = test_params(2);
    p.max_keys = 0;
    char *xml = test_list("bkt", &p);
    cr_assert(!test_has(xml, "<Contents>"));
    cr_assert(!test_has(xml, "<CommonPrefixes>"));
    cr_assert_eq(test_int(xml, "KeyCount"), 0);
    cr_assert_eq(test_int(xml, "MaxKeys"), 0);
    cr_assert(test_has(xml, "<IsTruncated>false</IsTruncated>"));
    cr_assert(!test_has(xml, "NextContinuationToken"));
    free(xml);
}

Test(file_list, v2_empty_bucket_and_empty_delimiter)
{
    struct ufs_list_params p = test_params(2);
    char *xml = test_list("empty-bucket", &p);
    cr_assert_eq(test_int(xml, "KeyCount"), 0);
    free(xml);

    /* delimiter="" is no delimiter and is not echoed. */
    p = test_params(2);
    p.delimiter = "";
    xml = test_list("bkt", &p);
    cr_assert(!test_has(xml, "<Delimiter>"));
    cr_assert_eq(test_int(xml, "KeyCount"), (int)TEST_NKEYS);
    free(xml);
}

/* botocore sends encoding-type=url on every list and decodes with unquote_plus: every key,
 * prefix, delimiter and start-after must come back exactly. */
Test(file_list, v2_encoding_url)
{
    struct ufs_list_params p = test_params(2);
    p.encoding_url = true;
    char *xml = test_list("bkt", &p);
    cr_assert(test_has(xml, "<EncodingType>url</EncodingType>"));
    /* S3's encoding: space as '+', '+' as %2B, UTF-8 bytes as upper-case %XY, '/' kept. */
    cr_assert(test_has(xml, "<Key>a+b.txt</Key>"));
    cr_assert(test_has(xml, "<Key>a%26b%3Dc%25d.txt</Key>"));
    cr_assert(test_has(xml, "<Key>a%2Bb.txt</Key>"));
    cr_assert(test_has(xml, "<Key>%C3%BCn%C3%AF/c%C3%B6d%C3%A9.txt</Key>"));
    struct test_items keys = {0}, prefixes = {0};
    test_collect(xml, &keys, &prefixes, true);
    cr_assert_eq(keys.n, TEST_NKEYS);
    for (size_t i = 0; i < TEST_NKEYS; i++)
        cr_assert_str_eq(keys.v[i], test_keys[i]);
    test_items_free(&keys);
    free(xml);

    p = test_params(2);
    p.encoding_url = true;
    p.prefix = "\xc3\xbcn";
    p.delimiter = "\xc3\xaf/";
    p.start_after = "a b";
    xml = test_list("bkt", &p);
    cr_assert(test_has(xml, "<Prefix>%C3%BCn</Prefix>"), "%s", xml);
    cr_assert(test_has(xml, "<Delimiter>%C3%AF%2F</Delimiter>") ||
                  test_has(xml, "<Delimiter>%C3%AF/</Delimiter>"),
              "%s", xml);
    cr_assert(test_has(xml, "<StartAfter>a+b</StartAfter>"));
    test_collect(xml, &keys, &prefixes, true);
    cr_assert_eq(prefixes.n, 1);
    cr_assert_str_eq(prefixes.v[0], "\xc3\xbcn\xc3\xaf/");
    cr_assert(test_has(xml, "<CommonPrefixes><Prefix>%C3%BCn%C3%AF/</Prefix></CommonPrefixes>"));
    test_items_free(&prefixes);
    free(xml);

    /* Without encoding-type the same names are XML-escaped instead. */
    p = test_params(2);
    p.prefix = "a&";
    xml = test_list("bkt", &p);
    cr_assert(test_has(xml, "<Key>a&amp;b=c%d.txt</Key>"));
    cr_assert(test_has(xml, "<Prefix>a&amp;</Prefix>"));
    free(xml);
}

Test(file_list, v2_bad_tokens)
{
    static const char *const bad[] = {
        "",         /* S3 refuses an empty token too */
        "!!!!",     /* not base64url */
        "AXRvcA==", /* padded */
        "AXRvcA+/", /* the other alphabet */
        "AXRv/w",   /* the other alphabet */
        "AnRvcA",   /* version 2 */
        "AXRvcB",   /* non-zero trailing bits */
        "A",        /* impossible length */
        "AQ",       /* an empty item */
        "AXRv_w",   /* not UTF-8 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf b;
        buf_init(&b, TEST_XML_MAX);
        cr_assert_eq(buf_append_str(&b, "keep"), 0);
        struct ufs_list_params p = test_params(2);
        p.continuation_token = bad[i];
        cr_assert_eq(file_list_objects(test_root, "bkt", &p, &b), FILE_LIST_INVALID_ARGUMENT,
                     "token '%s'", bad[i]);
        cr_assert_str_eq(b.data, "keep", "nothing appended on failure");
        buf_free(&b);
    }
    /* The token for "top" (version 1): accepted, resumes after it. */
    struct ufs_list_params p = test_params(2);
    p.continuation_token = "AXRvcA";
    char *xml = test_list("bkt", &p);
    struct test_items keys = {0}, prefixes = {0};
    test_collect(xml, &keys, &prefixes, false);
    cr_assert_eq(keys.n, 1);
    cr_assert_str_eq(keys.v[0], test_keys[TEST_NKEYS - 1]);
    test_items_free(&keys);
    free(xml);
}

Test(file_list, no_such_bucket)
{
    static const char *const bad[] = {"nope",        "", ".", "..", "bkt/dir", "linked-bucket",
                                      "not-a-bucket"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf b;
        buf_init(&b, TEST_XML_MAX);
        struct ufs_list_params p = test_params(2);
        cr_assert_eq(file_list_objects(test_root, bad[i], &p, &b), FILE_LIST_NO_SUCH_BUCKET,
                     "bucket '%s'", bad[i]);
        cr_assert_eq(b.len, 0);
        buf_free(&b);
    }
}

Test(file_list, xml_cap)
{
    struct buf b;
    buf_init(&b, 300);
    struct ufs_list_params p = test_params(2);
    cr_assert_eq(file_list_objects(test_root, "bkt", &p, &b), FILE_LIST_TOO_LARGE);
    cr_assert_eq(b.len, 0);
    buf_free(&b);
    buf_init(&b, 100);
    cr_assert_eq(file_list_buckets(test_root, &b), FILE_LIST_TOO_LARGE);
    buf_free(&b);
}

/* S3 keys stop at 1024 bytes: a longer path is not listed, one of exactly 1024 is. */
Test(file_list, key_length_limit)
{
    char rel[1200], name[300];
    memset(name, 'n', 254);
    name[254] = '\0';
    /* "long/" + 3 * (254 + "/") is 770 bytes; tails of 254 and 255 make 1024 and 1025. */
    int n = snprintf(rel, sizeof(rel), "long/%s/%s/%s/", name, name, name);
    cr_assert_eq(n, 770);
    size_t base = (size_t)n;
    memset(rel + base, 'a', 254);
    rel[base + 254] = '\0';
    char path[1300];
    snprintf(path, sizeof(path), "bkt/%s", rel);
    test_file(path, "x");
    memset(rel + base, 'b', 255);
    rel[base + 255] = '\0';
    snprintf(path, sizeof(path), "bkt/%s", rel);
    test_file(path, "x");

    struct ufs_list_params p = test_params(2);
    p.prefix = "long/";
    char *xml = test_list("bkt", &p);
    struct test_items keys = {0}, prefixes = {0};
    test_collect(xml, &keys, &prefixes, false);
    cr_assert_eq(keys.n, 1);
    cr_assert_eq(strlen(keys.v[0]), 1024u);
    cr_assert_eq(keys.v[0][1023], 'a');
    test_items_free(&keys);
    free(xml);
}

/* ---- ListObjects (v1) ---- */

Test(file_list, v1_shape_owner_and_marker)
{
    struct ufs_list_params p = test_params(1);
    p.prefix = "top";
    char *xml = test_list("bkt", &p);
    cr_assert_str_eq(
        xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
             "<Name>bkt</Name><Prefix>top</Prefix><Marker></Marker><MaxKeys>1000</MaxKeys>"
             "<IsTruncated>false</IsTruncated>"
             "<Contents><Key>top</Key><LastModified>2023-11-14T22:13:20.000Z</LastModified>"
             "<ETag>&quot;17979cfe362a0005-5&quot;</ETag><Size>5</Size>"
             "<Owner><ID>6d149ccf3b20c673735d9b7179638a18614dc502b35fb64a4792f8834c7185e1</ID>"
             "<DisplayName>alluxio-s3-proxy</DisplayName></Owner>"
             "<StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>");
    free(xml);
}

/* v1 without a delimiter: no NextMarker, the client resumes from the last Key. */
Test(file_list, v1_paging_by_last_key)
{
    struct test_items want = {0}, got = {0}, prefixes = {0};
    test_big_keys(&want);
    char *marker = NULL;
    for (int pages = 0;; pages++) {
        cr_assert_lt(pages, 100);
        struct ufs_list_params p = test_params(1);
        p.max_keys = 250;
        p.marker = marker;
        char *xml = test_list("big", &p);
        cr_assert(!test_has(xml, "<NextMarker>"));
        cr_assert(!test_has(xml, "<KeyCount>"));
        size_t before = got.n;
        test_collect(xml, &got, &prefixes, false);
        bool truncated = test_has(xml, "<IsTruncated>true</IsTruncated>");
        free(xml);
        if (!truncated)
            break;
        cr_assert_gt(got.n, before);
        marker = got.v[got.n - 1];
    }
    cr_assert_eq(got.n, want.n);
    for (size_t i = 0; i < want.n; i++)
        cr_assert_str_eq(got.v[i], want.v[i]);
    test_items_free(&want);
    test_items_free(&got);
}

/* v1 with a delimiter: NextMarker names the last key or CommonPrefix (ceph s3-tests
 * test_bucket_list_delimiter_prefix), and feeding it back never repeats a prefix. */
Test(file_list, v1_next_marker_with_delimiter)
{
    static const char *const want[] = {
        "a b.txt", "a&b=c%d.txt", "a+b.txt", "dir/", "top", "\xc3\xbcn\xc3\xaf/",
    };
    char *marker = NULL;
    size_t i = 0;
    for (;;) {
        struct ufs_list_params p = test_params(1);
        p.max_keys = 2;
        p.delimiter = "/";
        p.marker = marker;
        p.encoding_url = true;
        char *xml = test_list("bkt", &p);
        struct test_items keys = {0}, prefixes = {0};
        test_collect(xml, &keys, &prefixes, true);
        cr_assert(test_has(xml, "<Owner>"));
        for (size_t k = 0; k < keys.n + prefixes.n; k++) {
            /* The XML gives a page's keys, then its prefixes; with these keys and pages of two
             * that is also their sorted order ("a+b.txt" then "dir/", "top" then "ünï/"). */
            const char *item = k < keys.n ? keys.v[k] : prefixes.v[k - keys.n];
            cr_assert_lt(i, 6u);
            cr_assert_str_eq(item, want[i]);
            i++;
        }
        bool truncated = test_has(xml, "<IsTruncated>true</IsTruncated>");
        char *next = test_field(xml, "NextMarker");
        cr_assert_eq(truncated, next != NULL, "%s", xml);
        free(marker);
        marker = next ? test_unquote_plus(next) : NULL;
        if (next)
            cr_assert_str_eq(marker, want[i - 1]);
        free(next);
        test_items_free(&keys);
        test_items_free(&prefixes);
        free(xml);
        if (!marker)
            break;
    }
    cr_assert_eq(i, 6u);
}

Test(file_list, v1_marker_echo_encoded)
{
    struct ufs_list_params p = test_params(1);
    p.marker = "a b";
    p.encoding_url = true;
    char *xml = test_list("bkt", &p);
    cr_assert(test_has(xml, "<Marker>a+b</Marker>"));
    cr_assert(test_has(xml, "<EncodingType>url</EncodingType>"));
    struct test_items keys = {0}, prefixes = {0};
    test_collect(xml, &keys, &prefixes, true);
    cr_assert_eq(keys.n, TEST_NKEYS);
    test_items_free(&keys);
    free(xml);
}

/* ---- ListBuckets ---- */

Test(file_list, list_buckets)
{
    /* A known folder mtime, to check CreationDate. */
    char path[256];
    test_path(path, sizeof(path), "empty-bucket");
    struct timespec ts[2] = {{TEST_MTIME, 0}, {TEST_MTIME, 0}};
    cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0);

    struct buf b;
    buf_init(&b, TEST_XML_MAX);
    cr_assert_eq(file_list_buckets(test_root, &b), FILE_LIST_OK);
    const char *want_head =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Owner><ID>6d149ccf3b20c673735d9b7179638a18614dc502b35fb64a4792f8834c7185e1</ID>"
        "<DisplayName>alluxio-s3-proxy</DisplayName></Owner><Buckets>";
    cr_assert_eq(strncmp(b.data, want_head, strlen(want_head)), 0, "%s", b.data);
    const char *p = b.data;
    char *names[8];
    size_t n = 0;
    char *s;
    while ((s = test_next(&p, "Name"))) {
        cr_assert_lt(n, 8u);
        names[n++] = s;
    }
    /* Folders only, sorted; the symlinked bucket and the plain file are not buckets. */
    cr_assert_eq(n, 3, "%s", b.data);
    cr_assert_str_eq(names[0], "big");
    cr_assert_str_eq(names[1], "bkt");
    cr_assert_str_eq(names[2], "empty-bucket");
    cr_assert(test_has(b.data, "<Bucket><Name>empty-bucket</Name>"
                               "<CreationDate>2023-11-14T22:13:20.000Z</CreationDate></Bucket>"));
    cr_assert(test_has(b.data, "</Buckets></ListAllMyBucketsResult>"));
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    buf_free(&b);

    buf_init(&b, TEST_XML_MAX);
    cr_assert_eq(file_list_buckets("/nonexistent-root-for-test", &b), FILE_LIST_IO_ERROR);
    buf_free(&b);
}

Test(file_list, etag_format)
{
    char etag[FILE_ETAG_MAX];
    file_etag(0x10, 1, 5, etag);
    cr_assert_str_eq(etag, "\"3b9aca05-10\"");
    file_etag(UINT64_MAX, INT64_MAX, 999999999, etag);
    cr_assert_lt(strlen(etag), (size_t)FILE_ETAG_MAX);
    cr_assert_eq(etag[0], '"');
    cr_assert_eq(etag[strlen(etag) - 1], '"');
}
