/*
 * Unit tests for core/ufs/ufs.c: the full UFS path every page and meta is keyed by, and the
 * status names logs print.
 */
#include "core/ufs/ufs.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static const struct ufs s3_ufs = {.ops = NULL, .scheme = "s3"};
static const struct ufs file_ufs = {.ops = NULL, .scheme = "file"};

Test(ufs, object_path_is_scheme_bucket_key)
{
    size_t len = 0;
    char *p = ufs_object_path(&s3_ufs, "bk", "a/b.bin", 7, &len);
    cr_assert_not_null(p);
    cr_assert_str_eq(p, "s3://bk/a/b.bin");
    cr_assert_eq(len, strlen("s3://bk/a/b.bin"));
    free(p);

    p = ufs_object_path(&file_ufs, "data", "x", 1, &len);
    cr_assert_str_eq(p, "file://data/x");
    cr_assert_eq(len, 13);
    free(p);
}

Test(ufs, object_path_keeps_every_key_byte)
{
    /* S3 keys are bytes: NUL, "//", "./" and a trailing "/" all stay as sent. */
    static const char key[] = {'a', '\0', 'b', '/', '/', '.', '/', 'c', '/'};
    size_t len = 0;
    char *p = ufs_object_path(&s3_ufs, "b", key, sizeof key, &len);
    cr_assert_not_null(p);
    cr_assert_eq(len, strlen("s3://b/") + sizeof key);
    cr_assert_eq(memcmp(p, "s3://b/", 7), 0);
    cr_assert_eq(memcmp(p + 7, key, sizeof key), 0);
    cr_assert_eq(p[len], '\0');
    free(p);
}

Test(ufs, object_path_of_an_empty_key_is_the_bucket)
{
    size_t len = 99;
    char *p = ufs_object_path(&s3_ufs, "bucket", "", 0, &len);
    cr_assert_str_eq(p, "s3://bucket/");
    cr_assert_eq(len, 12);
    free(p);
}

Test(ufs, object_path_refuses_a_length_that_overflows)
{
    size_t len = 0;
    cr_assert_null(ufs_object_path(&s3_ufs, "b", "k", SIZE_MAX - 4, &len));
}

Test(ufs, every_status_has_a_name)
{
    for (int st = UFS_OK; st <= UFS_ERROR; st++)
        cr_assert_str_neq(ufs_status_name((enum ufs_status)st), "?", "status %d", st);
}
