/*
 * Unit tests for core/worker_identity.c: created once, read back the same, a UUIDv4, and a bad
 * file is an error rather than silently replaced.
 */
#include "core/worker_identity.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/worker-identity-XXXXXX";
static char path[256];

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/worker_identity", dir);
}

static void teardown(void)
{
    unlink(path);
    rmdir(dir);
}

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

TestSuite(worker_identity, .init = setup, .fini = teardown);

Test(worker_identity, created_once_then_kept)
{
    uint8_t a[WORKER_IDENTITY_BYTES], b[WORKER_IDENTITY_BYTES];
    bool created;
    cr_assert_eq(worker_identity_load(path, a, &created), 0);
    cr_assert(created);
    cr_assert_eq(a[6] >> 4, 4, "version 4");
    cr_assert_eq(a[8] >> 6, 2, "RFC 4122 variant");
    cr_assert_eq(worker_identity_load(path, b, &created), 0);
    cr_assert(!created);
    cr_assert_eq(memcmp(a, b, sizeof(a)), 0);
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    cr_assert_neq(access(tmp, F_OK), 0, "no temp file left");
}

Test(worker_identity, reads_uuid_and_plain_hex)
{
    uint8_t a[WORKER_IDENTITY_BYTES];
    bool created;
    write_file("ead9eafd-2e00-4f76-a429-a4fdede268a2\n");
    cr_assert_eq(worker_identity_load(path, a, &created), 0);
    cr_assert(!created);
    cr_assert_eq(a[0], 0xea);
    cr_assert_eq(a[15], 0xa2);
    write_file("EAD9EAFD2E004F76A429A4FDEDE268A2");
    cr_assert_eq(worker_identity_load(path, a, &created), 0);
    cr_assert_eq(a[1], 0xd9);
}

Test(worker_identity, bad_files_are_errors)
{
    uint8_t a[WORKER_IDENTITY_BYTES];
    bool created;
    const char *bad[] = {"", "ead9eafd", "ead9eafd-2e00-4f76-a429-a4fdede268a2ff",
                         "zzd9eafd-2e00-4f76-a429-a4fdede268a2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(bad[i]);
        cr_assert_eq(worker_identity_load(path, a, &created), -EINVAL, "'%s'", bad[i]);
    }
    cr_assert_eq(worker_identity_load("/nonexistent-dir/x", a, &created), -ENOENT);
}

Test(worker_identity, not_kept_without_a_path)
{
    uint8_t a[WORKER_IDENTITY_BYTES], b[WORKER_IDENTITY_BYTES];
    bool created;
    cr_assert_eq(worker_identity_load(NULL, a, &created), 0);
    cr_assert(created);
    cr_assert_eq(worker_identity_load(NULL, b, &created), 0);
    cr_assert_neq(memcmp(a, b, sizeof(a)), 0);
}
