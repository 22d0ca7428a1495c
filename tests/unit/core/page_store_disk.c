/*
 * Tests for the disk page store (the page file format has its own, tests/unit/core/page_file.c):
 * the per-dir index and its CLOCK, and the store itself driven through real loops on real
 * files: round trip, reads of parts of pages (only their blocks checked),
 * rebuild after close/open, temp files removed at open, truncated and corrupted pages dropped
 * and counted, the capacity held (measured with st_blocks, as du does), a read-only dir, a
 * full file system, a dir removed under the store, limits, placement over several dirs,
 * two loops in two threads, and the rebuild time for 100k pages.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/loop.h"
#include "core/page_store/disk.h"
#include "core/page_store/disk_index.h"
#include "core/page_store/page_file.h"
#include "page_key_fixture.h"

#define KIB 1024ULL
#define MIB (1024 * KIB)

/* --- helpers ------------------------------------------------------------------------------ */

static struct page *page_for(const struct page_key *k, uint32_t len)
{
    struct page *p = page_alloc(len);
    cr_assert_not_null(p);
    for (uint32_t j = 0; j < len; j++)
        p->data[j] = (char)fill_byte(k, j);
    return p;
}

/* p holds bytes [p->base, p->base + p->len) of k's page as page_for fills it. */
static bool part_matches(const struct page *p, const struct page_key *k)
{
    for (uint32_t j = 0; j < p->len; j++)
        if ((uint8_t)p->data[j] != fill_byte(k, p->base + (size_t)j))
            return false;
    return true;
}

static bool page_matches(const struct page *p, const struct page_key *k, uint32_t len)
{
    return p->base == 0 && p->len == len && part_matches(p, k);
}

static void make_tmp(char *out, size_t size)
{
    snprintf(out, size, "/tmp/disk_store_test_XXXXXX");
    cr_assert_not_null(mkdtemp(out));
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_rf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* du: st_blocks of everything under root, directories included; and of the files alone. */
static uint64_t du_all, du_files, n_files;
static char found_file[PATH_MAX];

static int du_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    du_all += (uint64_t)st->st_blocks * 512;
    if (type == FTW_F) {
        du_files += (uint64_t)st->st_blocks * 512;
        n_files++;
        snprintf(found_file, sizeof found_file, "%s", path);
    }
    return 0;
}

static void du(const char *root)
{
    du_all = du_files = n_files = 0;
    found_file[0] = '\0';
    nftw(root, du_one, 16, FTW_PHYS);
}

static struct disk_store *open_store(const char *dir, uint64_t capacity, uint64_t page_size,
                                     unsigned max_writes)
{
    const char *dirs[1] = {dir};
    uint64_t caps[1] = {capacity};
    struct disk_store_config cfg = {dirs, caps, 1, page_size, max_writes, 0};
    char err[256] = "";
    struct disk_store *d = disk_store_open(&cfg, err, sizeof err);
    cr_assert_not_null(d, "open: %s", err);
    return d;
}

static struct disk_store_stats stats_of(struct disk_store *d)
{
    struct disk_store_stats st;
    disk_store_stats(d, &st);
    return st;
}

/* Run fn on a fresh loop in this thread until it has no callbacks outstanding and the store no
 * ring ops; then destroy the loop. A loop cannot run again once stopped, hence one per call. */
struct run {
    struct disk_store *d;
    struct loop *l;
    struct loop_timer poll;
    void (*fn)(struct run *r);
    void *arg;
    int outstanding; /* read callbacks still to come */
};

static void run_poll(struct loop_timer *t)
{
    struct run *r = (struct run *)((char *)t - offsetof(struct run, poll));
    if (r->outstanding == 0 && disk_store_pending(r->d) == 0)
        loop_stop(r->l);
    else
        loop_timer_arm(r->l, t, 1);
}

static void run_start(void *arg)
{
    struct run *r = arg;
    r->fn(r);
    loop_timer_arm(r->l, &r->poll, 0);
}

static void run_on_loop(struct disk_store *d, void (*fn)(struct run *r), void *arg)
{
    struct run r = {.d = d, .fn = fn, .arg = arg};
    r.l = loop_create(256, 0);
    cr_assert_not_null(r.l);
    loop_timer_init(&r.poll, run_poll);
    loop_defer(r.l, run_start, &r);
    cr_assert_eq(loop_run(r.l), 0);
    loop_destroy(r.l);
    cr_assert_eq(r.outstanding, 0);
}

/* Writing a batch of pages. */
struct batch {
    const struct tkey *keys;
    const uint32_t *lens;
    size_t n;
};

static void batch_write(struct run *r)
{
    struct batch *b = r->arg;
    for (size_t i = 0; i < b->n; i++) {
        struct page *p = page_for(&b->keys[i].key, b->lens[i]);
        disk_store_write(r->d, r->l, &b->keys[i].key, p);
        page_unref(p);
    }
}

static void write_pages(struct disk_store *d, const struct tkey *keys, const uint32_t *lens,
                        size_t n)
{
    struct batch b = {keys, lens, n};
    run_on_loop(d, batch_write, &b);
}

static void write_one(struct disk_store *d, const struct tkey *k, uint32_t len)
{
    write_pages(d, k, &len, 1);
}

/* Reading one page: accepted (the call's return), then the callback's result and page. */
struct read_probe {
    struct run *run;
    const struct page_key *key;
    uint32_t len;
    uint32_t from, count; /* the part wanted; count 0: the whole page */
    bool accepted;
    bool called;
    bool called_inside;
    int result;
    struct page *page;
};

static void probe_cb(void *arg, int result, struct page *page)
{
    struct read_probe *p = arg;
    cr_assert(!p->called, "callback ran twice");
    p->called = true;
    p->result = result;
    p->page = page;
    if (result == 0)
        cr_assert_not_null(page);
    else
        cr_assert_null(page);
    p->run->outstanding--;
}

static void probe_start(struct run *r)
{
    struct read_probe *p = r->arg;
    p->run = r;
    r->outstanding++;
    p->accepted = disk_store_read(r->d, r->l, p->key, p->len, p->from, p->count ? p->count : p->len,
                                  probe_cb, p);
    p->called_inside = p->called;
    if (!p->accepted)
        r->outstanding--;
}

/* -1: refused at once; else the callback's result (the page checked against its fill). */
static int read_one(struct disk_store *d, const struct tkey *k, uint32_t len)
{
    struct read_probe p = {.key = &k->key, .len = len};
    run_on_loop(d, probe_start, &p);
    cr_assert(!p.called_inside, "callback ran inside disk_store_read");
    if (!p.accepted) {
        cr_assert(!p.called);
        return -1;
    }
    cr_assert(p.called);
    if (p.result == 0) {
        cr_assert(page_matches(p.page, &k->key, len), "page %llu has wrong bytes",
                  (unsigned long long)k->key.index);
        page_unref(p.page);
    }
    return p.result;
}

/* Read the part of k's page (len bytes) around [from, from + count): -1 when refused at once,
 * else the callback's result. A part delivered is checked: its bytes, that it covers the bytes
 * asked, that it starts and ends on checksum block edges (or the page's end); *base and *got
 * say what it held. */
static int read_part(struct disk_store *d, const struct tkey *k, uint32_t len, uint32_t from,
                     uint32_t count, uint32_t *base, uint32_t *got)
{
    struct read_probe p = {.key = &k->key, .len = len, .from = from, .count = count};
    run_on_loop(d, probe_start, &p);
    cr_assert(!p.called_inside, "callback ran inside disk_store_read");
    if (!p.accepted)
        return -1;
    cr_assert(p.called);
    if (p.result == 0) {
        uint32_t block = 1u << page_file_block_shift(len);
        const struct page *pg = p.page;
        cr_assert(part_matches(pg, &k->key), "part at %u+%u has wrong bytes", pg->base, pg->len);
        cr_assert_leq(pg->base, from);
        uint64_t end = (uint64_t)from + count;
        cr_assert_geq((uint64_t)pg->base + pg->len, end < len ? end : len);
        cr_assert_eq(pg->base % block, 0);
        cr_assert((pg->base + pg->len) % block == 0 || pg->base + pg->len == len);
        *base = pg->base;
        *got = pg->len;
        page_unref(p.page);
    }
    return p.result;
}

/* --- index -------------------------------------------------------------------------------- */

Test(disk_index, add_find_remove_and_stale_refs)
{
    struct disk_index *x = disk_index_create(4);
    cr_assert_not_null(x);
    struct disk_ref refs[1000];
    for (uint32_t i = 0; i < 1000; i++)
        cr_assert_eq(disk_index_add(x, i * 0x9E3779B97F4A7C15ULL, i % 7, 4096 + i, DISK_ENTRY_READY,
                                    &refs[i]),
                     0);
    cr_assert_eq(disk_index_count(x), 1000);
    cr_assert_eq(disk_index_ready(x), 1000);
    for (uint32_t i = 0; i < 1000; i++) {
        uint32_t s = disk_index_find(x, i * 0x9E3779B97F4A7C15ULL, i % 7);
        cr_assert_eq(s, refs[i].slot);
        cr_assert_eq(disk_index_entry(x, s)->file_size, 4096 + i);
    }
    cr_assert_eq(disk_index_find(x, 1, 1), DISK_INDEX_NONE);
    for (uint32_t i = 0; i < 1000; i += 2)
        disk_index_remove(x, refs[i].slot);
    cr_assert_eq(disk_index_count(x), 500);
    for (uint32_t i = 0; i < 1000; i++) {
        bool present = i % 2;
        cr_assert_eq(disk_index_find(x, i * 0x9E3779B97F4A7C15ULL, i % 7) != DISK_INDEX_NONE,
                     present);
        cr_assert_eq(disk_index_get(x, refs[i]) != NULL, present);
    }
    /* A reused slot does not answer to the old ref. */
    struct disk_ref r;
    cr_assert_eq(disk_index_add(x, 12345, 0, 1, DISK_ENTRY_WRITING, &r), 0);
    cr_assert_eq(r.slot, refs[998].slot);
    cr_assert_null(disk_index_get(x, refs[998]));
    cr_assert_not_null(disk_index_get(x, r));
    cr_assert_eq(disk_index_ready(x), 500);
    disk_index_set_state(x, r.slot, DISK_ENTRY_READY);
    cr_assert_eq(disk_index_ready(x), 501);
    disk_index_destroy(x);
}

Test(disk_index, clock_gives_referenced_entries_a_second_chance)
{
    struct disk_index *x = disk_index_create(8);
    struct disk_ref r[4];
    for (uint32_t i = 0; i < 4; i++)
        cr_assert_eq(disk_index_add(x, 100 + i, 0, 1, DISK_ENTRY_READY, &r[i]), 0);
    disk_index_entry(x, r[0].slot)->referenced = true;
    disk_index_entry(x, r[2].slot)->referenced = true;
    disk_index_set_state(x, r[1].slot, DISK_ENTRY_WRITING); /* never a victim */
    uint32_t v = disk_index_clock_victim(x);
    cr_assert_eq(v, r[3].slot);
    disk_index_remove(x, v);
    cr_assert(!disk_index_entry(x, r[0].slot)->referenced, "the hand cleared the bit");
    v = disk_index_clock_victim(x);
    cr_assert_eq(v, r[0].slot);
    disk_index_remove(x, v);
    v = disk_index_clock_victim(x);
    cr_assert_eq(v, r[2].slot);
    disk_index_remove(x, v);
    cr_assert_eq(disk_index_clock_victim(x), DISK_INDEX_NONE, "only a WRITING entry is left");
    disk_index_destroy(x);
}

/* --- the store ---------------------------------------------------------------------------- */

Test(disk_store, bad_configs_fail_with_a_reason)
{
    char root[64], file[PATH_MAX], err[256];
    make_tmp(root, sizeof root);
    const char *dirs[2] = {root, root};
    uint64_t caps[2] = {MIB, MIB};
    struct disk_store_config cfg = {dirs, caps, 0, 64 * KIB, 0, 0};
    cr_assert_null(disk_store_open(&cfg, err, sizeof err), "no dir");
    cr_assert_neq(err[0], '\0');
    cfg.dir_count = 2;
    cr_assert_null(disk_store_open(&cfg, err, sizeof err));
    cr_assert_not_null(strstr(err, "twice"), "%s", err);
    cfg.dir_count = 1;
    cfg.page_size = 0;
    cr_assert_null(disk_store_open(&cfg, err, sizeof err), "page size 0");
    cfg.page_size = 64 * KIB;
    caps[0] = 0;
    cr_assert_null(disk_store_open(&cfg, err, sizeof err), "size 0");
    caps[0] = MIB;
    /* Under a regular file: the dir cannot be made. */
    snprintf(file, sizeof file, "%s/file", root);
    cr_assert_eq(close(open(file, O_CREAT | O_WRONLY, 0644)), 0);
    char under[PATH_MAX + 8];
    snprintf(under, sizeof under, "%s/dir", file);
    dirs[0] = under;
    cr_assert_null(disk_store_open(&cfg, err, sizeof err));
    cr_assert_not_null(strstr(err, "Not a directory"), "%s", err);
    rm_rf(root);
}

Test(disk_store, round_trip_and_stats)
{
    char root[64];
    make_tmp(root, sizeof root);
    struct disk_store *d = open_store(root, 64 * MIB, 64 * KIB, 0);
    struct tkey keys[20];
    uint32_t lens[20];
    for (unsigned i = 0; i < 20; i++) {
        tkey_set(&keys[i], i / 4, i % 4);
        lens[i] = (uint32_t)(i == 19 ? 1 : 64 * KIB - i * 1000);
    }
    write_pages(d, keys, lens, 20);
    struct disk_store_stats st = stats_of(d);
    cr_assert_eq(st.writes, 20);
    cr_assert_eq(st.pages, 20);
    cr_assert_eq(st.write_errors + st.write_drops, 0);
    for (unsigned i = 0; i < 20; i++)
        cr_assert_eq(read_one(d, &keys[i], lens[i]), 0);
    struct tkey absent;
    tkey_set(&absent, 99, 0);
    cr_assert_eq(read_one(d, &absent, 100), -1);
    st = stats_of(d);
    cr_assert_eq(st.hits, 20);
    cr_assert_eq(st.misses, 1);
    cr_assert_eq(st.bad_pages, 0);
    du(root);
    cr_assert_eq(n_files, 20);
    cr_assert_leq(du_all, st.bytes, "charged bytes cover what du sees");
    /* Writing a page already stored is dropped, not rewritten. */
    write_one(d, &keys[0], lens[0]);
    cr_assert_eq(stats_of(d).writes, 20);
    cr_assert_eq(stats_of(d).write_drops, 1);
    disk_store_close(d);
    rm_rf(root);
}

Test(disk_store, rebuild_after_close_and_open)
{
    char root[64];
    make_tmp(root, sizeof root);
    struct disk_store *d = open_store(root, 64 * MIB, 16 * KIB, 64);
    struct tkey keys[40];
    uint32_t lens[40];
    for (unsigned i = 0; i < 40; i++) {
        tkey_set(&keys[i], i % 5, i);
        lens[i] = (uint32_t)(1 + i * 400);
    }
    write_pages(d, keys, lens, 40);
    struct disk_store_stats before = stats_of(d);
    cr_assert_eq(before.writes, 40);
    disk_store_close(d);

    d = open_store(root, 64 * MIB, 16 * KIB, 0);
    struct disk_store_stats after = stats_of(d);
    cr_assert_eq(after.pages, 40);
    cr_assert_eq(after.bytes, before.bytes);
    for (unsigned i = 0; i < 40; i++)
        cr_assert_eq(read_one(d, &keys[i], lens[i]), 0);
    cr_assert_eq(stats_of(d).hits, 40);
    disk_store_close(d);
    rm_rf(root);
}

Test(disk_store, open_removes_temp_and_misplaced_files_and_keeps_others)
{
    char root[64], path[PATH_MAX], name[PAGE_FILE_NAME_MAX];
    make_tmp(root, sizeof root);
    struct disk_store *d = open_store(root, 64 * MIB, 16 * KIB, 0);
    struct tkey k;
    tkey_set(&k, 1, 0);
    write_one(d, &k, 5000);
    disk_store_close(d);

    /* A temp file as a crash leaves it, one in the wrong subdir, one with an impossible size,
     * and a file that is not the store's. */
    uint64_t h = page_file_name_hash(&k.key);
    page_file_name(name, h, 1, 5000 + page_file_header_size(&k.key, 5000), true);
    snprintf(path, sizeof path, "%s/%02x/%s", root, (unsigned)(h >> 56), name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("half a page", f);
    fclose(f);
    page_file_name(name, h, 2, 5000, false);
    snprintf(path, sizeof path, "%s/%02x/%s", root, (unsigned)((h >> 56) ^ 1), name);
    cr_assert_eq(close(open(path, O_CREAT | O_WRONLY, 0644)), 0);
    page_file_name(name, h, 3, 10 * MIB, false);
    snprintf(path, sizeof path, "%s/%02x/%s", root, (unsigned)(h >> 56), name);
    cr_assert_eq(close(open(path, O_CREAT | O_WRONLY, 0644)), 0);
    snprintf(path, sizeof path, "%s/00/notes.txt", root);
    cr_assert_eq(close(open(path, O_CREAT | O_WRONLY, 0644)), 0);
    du(root);
    cr_assert_eq(n_files, 5);

    d = open_store(root, 64 * MIB, 16 * KIB, 0);
    du(root);
    cr_assert_eq(n_files, 2, "the page and notes.txt stay");
    cr_assert_eq(access(path, F_OK), 0);
    cr_assert_eq(stats_of(d).pages, 1);
    cr_assert_eq(read_one(d, &k, 5000), 0);
    disk_store_close(d);
    rm_rf(root);
}

/* The file of the only page in the store. */
static const char *only_file(const char *root)
{
    du(root);
    cr_assert_eq(n_files, 1);
    return found_file;
}

Test(disk_store, every_truncation_point_and_a_longer_file_are_dropped)
{
    char root[64], path[PATH_MAX];
    make_tmp(root, sizeof root);
    struct disk_store *d = open_store(root, 64 * MIB, 16 * KIB, 0);
    struct tkey k;
    tkey_set(&k, 7, 3);
    const uint32_t len = 200;
    off_t size = (off_t)(page_file_header_size(&k.key, len) + len);
    uint64_t bad = 0;
    for (off_t cut = 0; cut <= size; cut++) {
        write_one(d, &k, len);
        snprintf(path, sizeof path, "%s", only_file(root));
        if (cut < size) {
            cr_assert_eq(truncate(path, cut), 0);
        } else {
            int fd = open(path, O_WRONLY | O_APPEND);
            cr_assert_eq(write(fd, "x", 1), 1);
            close(fd);
        }
        cr_assert_eq(read_one(d, &k, len), -ENOENT, "cut at %lld", (long long)cut);
        cr_assert_eq(stats_of(d).bad_pages, ++bad);
        cr_assert_eq(access(path, F_OK), -1, "the bad file is gone");
        cr_assert_eq(read_one(d, &k, len), -1, "and no longer indexed");
    }
    struct disk_store_stats st = stats_of(d);
    cr_assert_eq(st.pages, 0);
    cr_assert_eq(st.writes, (uint64_t)size + 1);
    cr_assert_eq(st.hits, 0);
    disk_store_close(d);
    rm_rf(root);
}

static void flip_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    uint8_t b;
    cr_assert_eq(pread(fd, &b, 1, at), 1);
    b ^= 0x20;
    cr_assert_eq(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

Test(disk_store, corruption_is_dropped_and_counted)
{
    char root[64], path[PATH_MAX];
    make_tmp(root, sizeof root);
    struct disk_store *d = open_store(root, 64 * MIB, 16 * KIB, 0);
    struct tkey k;
    tkey_set(&k, 8, 0);
    size_t hs = page_file_header_size(&k.key, 8000);
    const off_t at[] = {(off_t)hs + 4000,           /* data */
                        PAGE_FILE_FIXED_BYTES + 12, /* path, in the header */
                        (off_t)(PAGE_FILE_FIXED_BYTES + k.key.path_len + 2), /* etag */
                        (off_t)hs - 3,                                       /* block checksum */
                        16,                                                  /* index */
                        PAGE_FILE_CRC_OFFSET + 1,                            /* header checksum */
                        0};                                                  /* magic */
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        write_one(d, &k, 8000);
        cr_assert_eq(read_one(d, &k, 8000), 0);
        snprintf(path, sizeof path, "%s", only_file(root));
        flip_byte(path, at[i]);
        cr_assert_eq(read_one(d, &k, 8000), -ENOENT, "flip at %lld", (long long)at[i]);
        cr_assert_eq(stats_of(d).bad_pages, i + 1);
        cr_assert_eq(access(path, F_OK), -1);
    }
    /* A caller expecting another length: refused at once, dropped, counted. */
    write_one(d, &k, 8000);
    cr_assert_eq(read_one(d, &k, 7999), -1);
    cr_assert_eq(stats_of(d).bad_pages, 8);
    disk_store_close(d);
    du(root);
    cr_assert_eq(n_files, 0);
    rm_rf(root);
}

Test(disk_store, parts_read_and_check_only_their_blocks)
{
    char root[64], path[PATH_MAX];
    make_tmp(root, sizeof root);
    struct disk_store *d = open_store(root, 64 * MIB, MIB, 0);
    struct tkey k;
    tkey_set(&k, 9, 4);
    const uint32_t len = MIB - 5000; /* a short last block */
    const uint32_t block = 1u << page_file_block_shift(len);
    cr_assert_eq(block, 16 * KIB);
    write_one(d, &k, len);
    struct {
        uint32_t from, count, want_base, want_len;
    } cases[] = {
        {0, 1, 0, block},
        {block - 1, 2, 0, 2 * block},                   /* across one edge */
        {100000, 256 * KIB, 6 * block, 17 * block},     /* a range's part of a page */
        {len - 10, 10, 63 * block, len - 63 * block},   /* the short last block */
        {len - 10, 1000, 63 * block, len - 63 * block}, /* asked past the end: clamped */
        {0, len - 1, 0, len},                           /* every block: the whole page */
    };
    uint64_t hits = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t base = 0, got = 0;
        cr_assert_eq(read_part(d, &k, len, cases[i].from, cases[i].count, &base, &got), 0,
                     "case %zu", i);
        cr_assert_eq(base, cases[i].want_base, "case %zu", i);
        cr_assert_eq(got, cases[i].want_len, "case %zu", i);
        cr_assert_eq(stats_of(d).hits, ++hits);
    }

    /* A flipped byte in block 10: parts that do not touch it are still served (every byte
     * sent is checked; the others are not read), the first part that does drops the page. */
    snprintf(path, sizeof path, "%s", only_file(root));
    size_t hs = page_file_header_size(&k.key, len);
    flip_byte(path, (off_t)(hs + 10 * block + 5));
    uint32_t base, got;
    cr_assert_eq(read_part(d, &k, len, 0, 3 * block, &base, &got), 0);
    cr_assert_eq(read_part(d, &k, len, 11 * block, 100, &base, &got), 0);
    cr_assert_eq(stats_of(d).bad_pages, 0);
    cr_assert_eq(read_part(d, &k, len, 9 * block + 7, 2 * block, &base, &got), -ENOENT);
    cr_assert_eq(stats_of(d).bad_pages, 1);
    cr_assert_eq(access(path, F_OK), -1, "the bad file is gone");
    cr_assert_eq(read_part(d, &k, len, 0, 1, &base, &got), -1, "and no longer indexed");

    /* Cut after block 5: parts before the cut are whole and served; one past it is not. */
    write_one(d, &k, len);
    snprintf(path, sizeof path, "%s", only_file(root));
    cr_assert_eq(truncate(path, (off_t)(hs + 5 * block + 100)), 0);
    cr_assert_eq(read_part(d, &k, len, 4 * block, block, &base, &got), 0);
    cr_assert_eq(read_part(d, &k, len, 5 * block, 50, &base, &got), -ENOENT);
    cr_assert_eq(stats_of(d).bad_pages, 2);

    /* The header is checked for every part: a flipped byte of the path, or of a block
     * checksum the part does not use, drops the page. */
    const off_t header_at[] = {PAGE_FILE_FIXED_BYTES + 3, (off_t)hs - 2};
    for (size_t i = 0; i < 2; i++) {
        write_one(d, &k, len);
        snprintf(path, sizeof path, "%s", only_file(root));
        flip_byte(path, header_at[i]);
        cr_assert_eq(read_part(d, &k, len, 0, 10, &base, &got), -ENOENT, "flip at %lld",
                     (long long)header_at[i]);
    }
    cr_assert_eq(stats_of(d).bad_pages, 4);
    disk_store_close(d);
    rm_rf(root);
}

Test(disk_store, eviction_keeps_du_within_capacity)
{
    char root[64];
    make_tmp(root, sizeof root);
    const uint64_t page = 64 * KIB, capacity = 3 * MIB;
    struct disk_store *d = open_store(root, capacity, page, 0);
    struct tkey hot;
    tkey_set(&hot, 1000, 0);
    write_one(d, &hot, (uint32_t)page);
    struct tkey keys[8];
    uint32_t lens[8];
    unsigned n = 0;
    for (unsigned batch = 0; batch < 40; batch++) {
        for (unsigned i = 0; i < 8; i++, n++) {
            tkey_set(&keys[i], n / 3, n);
            lens[i] = (uint32_t)(n % 5 == 0 ? 100 + n : page - n);
        }
        write_pages(d, keys, lens, 8);
        int rc = read_one(d, &hot, (uint32_t)page);
        cr_assert_eq(rc, 0, "the hot page stays (CLOCK): %d after batch %u", rc, batch);
        du(root);
        struct disk_store_stats st = stats_of(d);
        cr_assert_leq(du_all, capacity, "du %llu > capacity after batch %u",
                      (unsigned long long)du_all, batch);
        cr_assert_leq(st.bytes, capacity);
        cr_assert_leq(du_all, st.bytes);
        cr_assert_eq(n_files, st.pages);
    }
    struct disk_store_stats st = stats_of(d);
    cr_assert_gt(st.evictions, 200);
    cr_assert_eq(st.write_errors + st.bad_pages, 0);
    /* Everything still indexed reads back right. */
    unsigned present = 0;
    for (unsigned i = 0; i < n; i++) {
        struct tkey k;
        tkey_set(&k, i / 3, i);
        int rc = read_one(d, &k, (uint32_t)(i % 5 == 0 ? 100 + i : page - i));
        cr_assert(rc == 0 || rc == -1);
        present += rc == 0;
    }
    cr_assert_eq(present + 1, st.pages);
    disk_store_close(d);

    /* Reopened with half the capacity: trimmed at open. */
    d = open_store(root, capacity / 2, page, 0);
    du(root);
    cr_assert_leq(du_all, capacity / 2);
    cr_assert_eq(n_files, stats_of(d).pages);
    disk_store_close(d);
    rm_rf(root);
}

/* Past the write slots, pages wait up to DISK_STORE_QUEUE_BYTES; beyond that they are dropped,
 * and every page that was kept is readable. */
Test(disk_store, write_queue_bound)
{
    char root[64];
    make_tmp(root, sizeof root);
    const uint32_t len = 64 * KIB;
    const unsigned slots = 2, queued = DISK_STORE_QUEUE_BYTES / len, extra = 5;
    const unsigned n = slots + queued + extra;
    struct disk_store *d = open_store(root, (uint64_t)n * 2 * len, len, slots);
    struct tkey *keys = calloc(n, sizeof(*keys));
    uint32_t *lens = calloc(n, sizeof(*lens));
    for (unsigned i = 0; i < n; i++) {
        tkey_set(&keys[i], 7, i);
        lens[i] = len;
    }
    write_pages(d, keys, lens, n); /* one turn */
    struct disk_store_stats st = stats_of(d);
    cr_assert_eq(st.writes, slots + queued);
    cr_assert_eq(st.write_drops, extra);
    cr_assert_eq(read_one(d, &keys[slots + queued - 1], len), 0, "the last page queued");
    cr_assert_eq(read_one(d, &keys[n - 1], len), -1, "a page past the queue");
    cr_assert_eq(disk_store_pending(d), 0);
    disk_store_close(d);
    free(keys);
    free(lens);
    rm_rf(root);
}

Test(disk_store, write_limits)
{
    char root[64];
    make_tmp(root, sizeof root);
    struct disk_store *d = open_store(root, 64 * MIB, 16 * KIB, 2);
    struct tkey keys[10];
    uint32_t lens[10];
    for (unsigned i = 0; i < 10; i++) {
        tkey_set(&keys[i], 1, i);
        lens[i] = 1000;
    }
    write_pages(d, keys, lens, 10); /* all in one turn: two in flight, eight wait their turn */
    struct disk_store_stats st = stats_of(d);
    cr_assert_eq(st.writes, 10);
    cr_assert_eq(st.write_drops, 0);
    for (unsigned i = 0; i < 10; i++)
        cr_assert_eq(read_one(d, &keys[i], lens[i]), 0, "page %u", i);
    /* Same key twice in one turn: the second finds the first being written. */
    struct tkey twice[2];
    tkey_set(&twice[0], 2, 0);
    twice[1] = twice[0];
    twice[1].key.path = twice[1].path;
    write_pages(d, twice, lens, 2);
    cr_assert_eq(stats_of(d).writes, 11);
    cr_assert_eq(stats_of(d).write_drops, 1);
    /* Larger than a page, or empty. */
    struct tkey big;
    tkey_set(&big, 3, 0);
    write_one(d, &big, 16 * KIB + 1);
    write_one(d, &big, 0);
    cr_assert_eq(stats_of(d).write_drops, 3);
    cr_assert_eq(read_one(d, &big, 16 * KIB + 1), -1);
    disk_store_close(d);
    rm_rf(root);
}

/* A private mount namespace, so mounts vanish with this test's process. False if not allowed. */
static bool private_mounts(void)
{
    if (unshare(CLONE_NEWNS) != 0)
        return false;
    return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
}

Test(disk_store, read_only_dir_degrades)
{
    char root[64];
    make_tmp(root, sizeof root);
    if (!private_mounts()) {
        rm_rf(root);
        cr_skip_test("no mount namespace here (needs CAP_SYS_ADMIN)");
    }
    struct disk_store *d = open_store(root, 64 * MIB, 16 * KIB, 0);
    struct tkey a, b, c;
    tkey_set(&a, 1, 0);
    tkey_set(&b, 1, 1);
    tkey_set(&c, 1, 2);
    write_one(d, &a, 3000);
    /* A read-only bind mount over the dir: EROFS for every change, reads still work. */
    cr_assert_eq(mount(root, root, NULL, MS_BIND, NULL), 0);
    cr_assert_eq(mount(NULL, root, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0);
    write_one(d, &b, 3000);
    struct disk_store_stats st = stats_of(d);
    cr_assert_eq(st.write_errors, 1);
    cr_assert_eq(st.dirs_failing, 1);
    cr_assert_eq(st.pages, 1);
    write_one(d, &c, 3000); /* backing off: not even tried */
    st = stats_of(d);
    cr_assert_eq(st.write_errors, 1);
    cr_assert_eq(st.write_drops, 1);
    cr_assert_eq(read_one(d, &a, 3000), 0);
    cr_assert_eq(read_one(d, &b, 3000), -1);
    cr_assert_eq(umount(root), 0);
    disk_store_close(d);
    rm_rf(root);
}

Test(disk_store, full_file_system_degrades)
{
    char root[64];
    make_tmp(root, sizeof root);
    if (!private_mounts()) {
        rm_rf(root);
        cr_skip_test("no mount namespace here (needs CAP_SYS_ADMIN)");
    }
    /* A 1 MiB tmpfs under a store told it has 16 MiB: the disk fills before the capacity. */
    cr_assert_eq(mount("tmpfs", root, "tmpfs", 0, "size=1m"), 0);
    const char *dirs[1] = {root};
    uint64_t caps[1] = {16 * MIB};
    struct disk_store_config cfg = {dirs, caps, 1, 64 * KIB, 4, 50};
    char err[256];
    struct disk_store *d = disk_store_open(&cfg, err, sizeof err);
    cr_assert_not_null(d, "%s", err);
    struct tkey k[40];
    uint32_t lens[40];
    for (unsigned i = 0; i < 40; i++) {
        tkey_set(&k[i], 2, i);
        lens[i] = 64 * KIB;
        write_pages(d, &k[i], &lens[i], 1);
    }
    struct disk_store_stats st = stats_of(d);
    cr_assert_geq(st.writes, 5);
    cr_assert_geq(st.write_errors, 1, "ENOSPC seen");
    cr_assert_eq(st.writes + st.write_errors + st.write_drops, 40);
    unsigned present = 0;
    for (unsigned i = 0; i < 40; i++) {
        int rc = read_one(d, &k[i], lens[i]);
        cr_assert(rc == 0 || rc == -1);
        present += rc == 0;
    }
    cr_assert_eq(present, st.writes);
    du(root);
    cr_assert_eq(n_files, st.writes, "no temp file left behind");
    disk_store_close(d);
    umount(root);
    rm_rf(root);
}

Test(disk_store, dir_removed_under_the_store)
{
    char root[64];
    make_tmp(root, sizeof root);
    const char *dirs[1] = {root};
    uint64_t caps[1] = {64 * MIB};
    struct disk_store_config cfg = {dirs, caps, 1, 16 * KIB, 0, 20};
    char err[256];
    struct disk_store *d = disk_store_open(&cfg, err, sizeof err);
    cr_assert_not_null(d, "%s", err);
    struct tkey a, b, c, e;
    tkey_set(&a, 1, 0);
    tkey_set(&b, 1, 1);
    tkey_set(&c, 1, 2);
    tkey_set(&e, 1, 3);
    write_one(d, &a, 1000);
    write_one(d, &b, 1000);

    rm_rf(root);
    cr_assert_eq(read_one(d, &a, 1000), -ENOENT, "file gone");
    cr_assert_eq(read_one(d, &a, 1000), -1, "and forgotten");
    cr_assert_eq(stats_of(d).pages, 1);
    write_one(d, &c, 1000); /* the dir and subdir are made again */
    cr_assert_eq(stats_of(d).writes, 3);
    cr_assert_eq(read_one(d, &c, 1000), 0);

    /* Now a file where the dir was: nothing can be made there. */
    rm_rf(root);
    cr_assert_eq(close(open(root, O_CREAT | O_WRONLY, 0644)), 0);
    write_one(d, &e, 1000);
    struct disk_store_stats st = stats_of(d);
    cr_assert_eq(st.write_errors, 1);
    cr_assert_eq(st.dirs_failing, 1);
    cr_assert_eq(read_one(d, &b, 1000), -ENOENT);
    cr_assert_eq(read_one(d, &e, 1000), -1);
    /* Put back: after the back-off, writes work again. */
    unlink(root);
    usleep(30 * 1000);
    write_one(d, &e, 1000);
    cr_assert_eq(read_one(d, &e, 1000), 0);
    disk_store_close(d);
    rm_rf(root);
}

Test(disk_store, pages_spread_over_dirs_by_capacity)
{
    char r0[64], r1[64];
    make_tmp(r0, sizeof r0);
    make_tmp(r1, sizeof r1);
    const char *dirs[2] = {r0, r1};
    uint64_t caps[2] = {100 * MIB, 300 * MIB};
    struct disk_store_config cfg = {dirs, caps, 2, 16 * KIB, 1000, 0};
    char err[256];
    struct disk_store *d = disk_store_open(&cfg, err, sizeof err);
    cr_assert_not_null(d, "%s", err);
    static struct tkey keys[800];
    static uint32_t lens[800];
    for (unsigned i = 0; i < 800; i++) {
        tkey_set(&keys[i], i / 8, i % 8);
        lens[i] = 100;
    }
    write_pages(d, keys, lens, 800);
    cr_assert_eq(stats_of(d).writes, 800);
    disk_store_close(d);
    du(r0);
    uint64_t in0 = n_files;
    du(r1);
    cr_assert_eq(in0 + n_files, 800);
    cr_assert(in0 > 140 && in0 < 260, "%llu of 800 pages in the dir with 1/4 of the capacity",
              (unsigned long long)in0);

    /* The order of the dirs does not matter: every page is found again. */
    const char *swapped[2] = {r1, r0};
    uint64_t caps_swapped[2] = {300 * MIB, 100 * MIB};
    cfg.dirs = swapped;
    cfg.capacities = caps_swapped;
    d = disk_store_open(&cfg, err, sizeof err);
    cr_assert_not_null(d, "%s", err);
    cr_assert_eq(stats_of(d).pages, 800);
    for (unsigned i = 0; i < 800; i += 7)
        cr_assert_eq(read_one(d, &keys[i], 100), 0);
    disk_store_close(d);

    /* One dir alone: the other's pages are not found there, its own all stay. */
    cfg.dirs = dirs;
    cfg.capacities = caps;
    cfg.dir_count = 1;
    d = disk_store_open(&cfg, err, sizeof err);
    cr_assert_not_null(d, "%s", err);
    cr_assert_eq(stats_of(d).pages, in0);
    disk_store_close(d);
    rm_rf(r0);
    rm_rf(r1);
}

/* Two loops on two threads writing and reading the same keys through a store small enough to
 * evict all along. */
#define CONC_KEYS   300
#define CONC_ROUNDS 10

struct conc {
    struct disk_store *d;
    unsigned seed;
    unsigned ok, absent, failed;
};

struct conc_run {
    struct conc *c;
    struct run *run;
};

static uint32_t conc_len(unsigned i)
{
    return 1000 + (i * 37) % 15000;
}

static struct tkey conc_keys[CONC_KEYS];

struct conc_read {
    struct conc_run *cr;
    unsigned i;
};

static void conc_verify_cb(void *arg, int result, struct page *page)
{
    struct conc_read *rd = arg;
    if (result == 0) {
        cr_assert(page_matches(page, &conc_keys[rd->i].key, conc_len(rd->i)),
                  "page %u has wrong bytes", rd->i);
        rd->cr->c->ok++;
        page_unref(page);
    } else {
        rd->cr->c->failed++;
    }
    rd->cr->run->outstanding--;
    free(rd);
}

static void conc_round(struct run *r)
{
    struct conc_run *cr = r->arg;
    cr->run = r;
    struct conc *c = cr->c;
    for (unsigned n = 0; n < CONC_KEYS; n++) {
        unsigned i = (n * 7 + c->seed) % CONC_KEYS;
        struct page *p = page_for(&conc_keys[i].key, conc_len(i));
        disk_store_write(r->d, r->l, &conc_keys[i].key, p);
        page_unref(p);
        unsigned j = (n * 13 + c->seed * 3) % CONC_KEYS;
        struct conc_read *rd = malloc(sizeof(*rd));
        rd->cr = cr;
        rd->i = j;
        r->outstanding++;
        if (!disk_store_read(r->d, r->l, &conc_keys[j].key, conc_len(j), 0, conc_len(j),
                             conc_verify_cb, rd)) {
            r->outstanding--;
            c->absent++;
            free(rd);
        }
    }
}

static void *conc_thread(void *arg)
{
    struct conc *c = arg;
    struct conc_run cr = {c, NULL};
    for (int round = 0; round < CONC_ROUNDS; round++) {
        run_on_loop(c->d, conc_round, &cr);
        c->seed += 11;
    }
    return NULL;
}

Test(disk_store, two_loops_in_two_threads)
{
    char root[64];
    make_tmp(root, sizeof root);
    /* About a third of the keys fit: writes, reads and evictions race on every dir lock. */
    struct disk_store *d = open_store(root, 3 * MIB, 16 * KIB, 64);
    for (unsigned i = 0; i < CONC_KEYS; i++)
        tkey_set(&conc_keys[i], i / 4, i % 4);
    struct conc c[2] = {{.d = d, .seed = 1}, {.d = d, .seed = 2}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, conc_thread, &c[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    struct disk_store_stats st = stats_of(d);
    cr_assert_eq(st.bad_pages + st.read_errors + st.write_errors, 0);
    cr_assert_gt(st.writes, 0);
    cr_assert_gt(st.evictions, 0);
    cr_assert_gt(c[0].ok + c[1].ok, 0);
    cr_assert_eq(st.hits, c[0].ok + c[1].ok);
    /* A read can only miss if its page was evicted between lookup and open. */
    cr_assert_eq(c[0].failed + c[1].failed, st.misses - c[0].absent - c[1].absent);
    du(root);
    cr_assert_leq(du_all, 3 * MIB);
    cr_assert_eq(n_files, st.pages);
    disk_store_close(d);
    rm_rf(root);
}

/* The figure asked for: rebuilding the index of 100k pages from their names. Files are empty
 * (the rebuild reads names only); the size in each name is that of a 1 MiB page. */
Test(disk_store, rebuild_100k_pages, .timeout = 300)
{
    char root[64], path[PATH_MAX], name[PAGE_FILE_NAME_MAX];
    make_tmp(root, sizeof root);
    struct disk_store *d = open_store(root, 1ULL << 40, 1 * MIB, 0);
    disk_store_close(d);
    const unsigned pages = 100000;
    uint64_t s = 0x243F6A8885A308D3ULL;
    for (unsigned i = 0; i < pages; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        page_file_name(name, s, i % 64, 1 * MIB + 120, false);
        snprintf(path, sizeof path, "%s/%02x/%s", root, (unsigned)(s >> 56), name);
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        cr_assert_geq(fd, 0);
        close(fd);
    }
    uint64_t t0 = loop_clock_ms();
    d = open_store(root, 1ULL << 40, 1 * MIB, 0);
    uint64_t ms = loop_clock_ms() - t0;
    cr_assert_eq(stats_of(d).pages, pages);
    fprintf(stderr, "disk store: rebuilt the index of %u pages in %llu ms\n", pages,
            (unsigned long long)ms);
    cr_log_info("rebuilt the index of %u pages in %llu ms", pages, (unsigned long long)ms);
    disk_store_close(d);
    rm_rf(root);
}
