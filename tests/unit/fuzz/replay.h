/*
 * replay: run every file of a fuzz target's checked-in corpus through the target once, so the
 * unit tests (release and sanitizer builds) keep the seeds passing between fuzzing runs. A
 * target signals a violated invariant with __builtin_trap, which fails the test.
 */
#ifndef TESTS_UNIT_FUZZ_REPLAY_H
#define TESTS_UNIT_FUZZ_REPLAY_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void replay_corpus(const char *name, size_t min_files)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", CONF_TEST_SOURCE_ROOT, name);
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "cannot open %s", path);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        cr_assert_geq(size, 0);
        uint8_t *data = malloc((size_t)size + 1);
        cr_assert_not_null(data);
        cr_assert_eq(fread(data, 1, (size_t)size, f), (size_t)size, "%s", path);
        fclose(f);
        cr_expect_eq(LLVMFuzzerTestOneInput(data, (size_t)size), 0, "%s", path);
        free(data);
        n++;
    }
    closedir(d);
    cr_expect_geq(n, min_files, "only %zu seeds in %s", n, dir);
}

#endif
