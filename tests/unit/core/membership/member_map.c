/*
 * Unit tests for core/membership/member_map.c: the key -> worker map the membership thread
 * keeps from one Range and the Watch events after it, and the rule that decides whether the
 * worker set changed (only identity, Host and HttpServerPort count; malformed values, rewrites
 * and ignored members do not move the ring).
 */
#include "core/membership/member_map.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PFX "/ServiceDiscovery/DefaultAlluxioCluster/"

/* A worker value as the Java worker writes it (ALLUXIO-PROTOCOL.md 1.2). */
static const char *value(char *buf, size_t size, const char *id, const char *host, int port,
                         int rpc_port)
{
    int n = snprintf(buf, size,
                     "{\"Identity\":{\"version\":1,\"identifier\":\"%s\"},\"WorkerNetAddress\":"
                     "{\"Host\":\"%s\",\"ContainerHost\":\"\",\"RpcPort\":%d,\"DataPort\":29997,"
                     "\"HttpServerPort\":%d}}",
                     id, host, rpc_port, port);
    cr_assert(n > 0 && (size_t)n < size);
    return buf;
}

#define ID_A "ead9eafd2e004f76a429a4fdede268a2"
#define ID_B "dc6e67b166f140f792e76de4d6a7026f"
#define ID_C "72924547eb5b489a8954a612cc33b0ca"

static void put(struct member_map *m, const char *key, const char *v)
{
    cr_assert_eq(member_map_put(m, key, strlen(key), v, strlen(v)), 0);
}

static void put_worker(struct member_map *m, const char *key, const char *id, const char *host,
                       int port)
{
    char v[1024];
    put(m, key, value(v, sizeof v, id, host, port, 29999));
}

static struct member_set set_of(const struct member_map *m)
{
    struct member_set s;
    cr_assert_eq(member_set_build(m, &s), 0);
    return s;
}

/* Whether the set of b differs from that of a, freeing both sets. */
static bool changed(const struct member_map *a, const struct member_map *b)
{
    struct member_set sa = set_of(a), sb = set_of(b);
    bool eq = member_set_equal(&sa, &sb);
    member_set_free(&sa);
    member_set_free(&sb);
    return !eq;
}

static void map_copy(struct member_map *dst, const struct member_map *src)
{
    *dst = (struct member_map){0};
    for (size_t i = 0; i < src->n; i++) {
        /* Re-put the parsed worker through a fresh value: the map keeps only parse results. */
        const struct member_entry *e = &src->entries[i];
        if (e->parse != RING_PARSE_OK) {
            put(dst, e->key, "junk");
            continue;
        }
        char id[2 * RING_IDENTIFIER_MAX_BYTES + 1];
        for (size_t j = 0; j < e->worker.identifier_len; j++)
            snprintf(id + 2 * j, 3, "%02x", e->worker.identifier[j]);
        put_worker(dst, e->key, id, e->worker.host, e->worker.http_port);
    }
}

Test(member_map, keys_stay_sorted_and_put_replaces)
{
    struct member_map m = {0};
    put_worker(&m, PFX "worker-c", ID_C, "10.0.0.13", 28080);
    put_worker(&m, PFX "worker-a", ID_A, "10.0.0.11", 28080);
    put_worker(&m, PFX "worker-b", ID_B, "10.0.0.12", 28080);
    put_worker(&m, PFX "worker-a", ID_A, "10.0.0.21", 28081);
    cr_assert_eq(m.n, 3);
    cr_assert_str_eq(m.entries[0].key, PFX "worker-a");
    cr_assert_str_eq(m.entries[1].key, PFX "worker-b");
    cr_assert_str_eq(m.entries[2].key, PFX "worker-c");
    cr_assert_str_eq(m.entries[0].worker.host, "10.0.0.21");
    cr_assert_eq(m.entries[0].worker.http_port, 28081);
    member_map_free(&m);
}

Test(member_map, delete_present_and_absent)
{
    struct member_map m = {0};
    put_worker(&m, PFX "worker-a", ID_A, "10.0.0.11", 28080);
    cr_assert(!member_map_delete(&m, PFX "worker-x", strlen(PFX "worker-x")));
    cr_assert(member_map_delete(&m, PFX "worker-a", strlen(PFX "worker-a")));
    cr_assert_eq(m.n, 0);
    cr_assert(!member_map_delete(&m, PFX "worker-a", strlen(PFX "worker-a")));
    member_map_free(&m);
}

Test(member_map, malformed_values_are_kept_apart_with_their_reason)
{
    struct member_map m = {0};
    put_worker(&m, PFX "worker-a", ID_A, "10.0.0.11", 28080);
    put(&m, PFX "bad-json", "{not json");
    put(&m, PFX "no-identity", "{\"WorkerNetAddress\":{}}");
    cr_assert_eq(m.n, 3);
    cr_assert_eq(member_map_skipped(&m), 2);
    cr_assert_eq(m.entries[0].parse, RING_PARSE_NOT_JSON);
    cr_assert_eq(m.entries[1].parse, RING_PARSE_NO_IDENTITY);
    struct member_set s = set_of(&m);
    cr_assert_eq(s.n, 1);
    member_set_free(&s);
    /* A value fixed in place stops being skipped. */
    put_worker(&m, PFX "bad-json", ID_B, "10.0.0.12", 28080);
    cr_assert_eq(member_map_skipped(&m), 1);
    member_map_free(&m);
}

static struct etcd_event ev(enum etcd_event_type type, const char *key, const char *v)
{
    return (struct etcd_event){.type = type,
                               .kv = {.key = (char *)key,
                                      .key_len = strlen(key),
                                      .value = (char *)v,
                                      .value_len = strlen(v)}};
}

Test(member_map, apply_events_in_order)
{
    struct member_map m = {0};
    char va[512], vb[512], vb2[512];
    value(va, sizeof va, ID_A, "10.0.0.11", 28080, 29999);
    value(vb, sizeof vb, ID_B, "10.0.0.12", 28080, 29999);
    value(vb2, sizeof vb2, ID_B, "10.0.0.22", 28080, 29999);
    struct etcd_event evs[] = {
        ev(ETCD_EVENT_PUT, PFX "worker-a", va),       ev(ETCD_EVENT_PUT, PFX "worker-b", vb),
        ev(ETCD_EVENT_DELETE, PFX "worker-a", ""),    ev(ETCD_EVENT_PUT, PFX "worker-b", vb2),
        ev(ETCD_EVENT_DELETE, PFX "never-there", ""),
    };
    cr_assert_eq(member_map_apply(&m, evs, sizeof evs / sizeof evs[0]), 0);
    cr_assert_eq(m.n, 1);
    cr_assert_str_eq(m.entries[0].key, PFX "worker-b");
    cr_assert_str_eq(m.entries[0].worker.host, "10.0.0.22");
    member_map_free(&m);
}

Test(member_map, load_replaces_everything)
{
    struct member_map m = {0};
    put_worker(&m, PFX "old", ID_C, "10.0.0.13", 28080);
    char va[512], vb[512];
    struct etcd_kv kvs[] = {
        {.key = PFX "worker-a", .key_len = strlen(PFX "worker-a"), .value = va},
        {.key = PFX "worker-b", .key_len = strlen(PFX "worker-b"), .value = vb},
    };
    kvs[0].value_len = strlen(value(va, sizeof va, ID_A, "10.0.0.11", 28080, 29999));
    kvs[1].value_len = strlen(value(vb, sizeof vb, ID_B, "10.0.0.12", 28080, 29999));
    struct etcd_range_result r = {.kvs = kvs, .n = 2, .revision = 7};
    cr_assert_eq(member_map_load(&m, &r), 0);
    cr_assert_eq(m.n, 2);
    cr_assert_str_eq(m.entries[0].key, PFX "worker-a");
    cr_assert_str_eq(m.entries[1].key, PFX "worker-b");
    member_map_free(&m);
}

Test(member_set, rewrite_and_ignored_members_do_not_change_the_set)
{
    struct member_map a = {0}, b;
    put_worker(&a, PFX "worker-a", ID_A, "10.0.0.11", 28080);
    put_worker(&a, PFX "worker-b", ID_B, "10.0.0.12", 28080);
    map_copy(&b, &a);
    cr_assert(!changed(&a, &b), "a copy differs");

    /* Same worker, other RpcPort (alluxiofs ignores it): no change. */
    char v[512];
    put(&b, PFX "worker-a", value(v, sizeof v, ID_A, "10.0.0.11", 28080, 1234));
    cr_assert(!changed(&a, &b));

    /* A malformed value and a key of no worker: no change. */
    put(&b, PFX "garbage", "[]");
    cr_assert(!changed(&a, &b));

    /* Identity in upper-case hex is the same identity (bytes.fromhex). */
    put_worker(&b, PFX "worker-b", "DC6E67B166F140F792E76DE4D6A7026F", "10.0.0.12", 28080);
    cr_assert(!changed(&a, &b));
    member_map_free(&a);
    member_map_free(&b);
}

Test(member_set, address_and_membership_changes_are_changes)
{
    struct member_map a = {0}, b;
    put_worker(&a, PFX "worker-a", ID_A, "10.0.0.11", 28080);
    put_worker(&a, PFX "worker-b", ID_B, "10.0.0.12", 28080);

    map_copy(&b, &a);
    put_worker(&b, PFX "worker-a", ID_A, "10.0.0.99", 28080);
    cr_assert(changed(&a, &b), "new Host");
    member_map_free(&b);

    map_copy(&b, &a);
    put_worker(&b, PFX "worker-a", ID_A, "10.0.0.11", 28081);
    cr_assert(changed(&a, &b), "new HttpServerPort");
    member_map_free(&b);

    map_copy(&b, &a);
    put_worker(&b, PFX "worker-c", ID_C, "10.0.0.13", 28080);
    cr_assert(changed(&a, &b), "joined");
    member_map_free(&b);

    map_copy(&b, &a);
    cr_assert(member_map_delete(&b, PFX "worker-b", strlen(PFX "worker-b")));
    cr_assert(changed(&a, &b), "left");
    member_map_free(&b);

    map_copy(&b, &a);
    put(&b, PFX "worker-b", "{broken");
    cr_assert(changed(&a, &b), "value went bad: the worker is gone");
    member_map_free(&b);

    /* Same identity moved to another key, same address: the set is the same. */
    map_copy(&b, &a);
    cr_assert(member_map_delete(&b, PFX "worker-b", strlen(PFX "worker-b")));
    put_worker(&b, PFX "worker-b2", ID_B, "10.0.0.12", 28080);
    cr_assert(!changed(&a, &b), "re-keyed");
    member_map_free(&b);
    member_map_free(&a);
}

Test(member_set, duplicate_identity_takes_the_address_of_the_last_key)
{
    struct member_map m = {0};
    put_worker(&m, PFX "worker-1", ID_A, "10.0.0.1", 28080);
    put_worker(&m, PFX "worker-2", ID_A, "10.0.0.2", 28080);
    struct member_set s = set_of(&m);
    cr_assert_eq(s.n, 1);
    cr_assert_str_eq(s.workers[0].host, "10.0.0.2");
    member_set_free(&s);
    /* The ring agrees (ring_new keeps the last listed address). */
    struct ring *r;
    cr_assert_eq(member_map_ring(&m, 5, &r), 0);
    cr_assert_eq(ring_worker_count(r), 1);
    cr_assert_str_eq(ring_worker_at(r, 0)->host, "10.0.0.2");
    ring_free(r);
    member_map_free(&m);
}

Test(member_set, insertion_order_does_not_matter)
{
    struct member_map a = {0}, b = {0};
    put_worker(&a, PFX "worker-a", ID_A, "10.0.0.11", 28080);
    put_worker(&a, PFX "worker-b", ID_B, "10.0.0.12", 28080);
    put_worker(&a, PFX "worker-c", ID_C, "10.0.0.13", 28080);
    put_worker(&b, PFX "worker-c", ID_C, "10.0.0.13", 28080);
    put_worker(&b, PFX "worker-a", ID_A, "10.0.0.11", 28080);
    put_worker(&b, PFX "worker-b", ID_B, "10.0.0.12", 28080);
    cr_assert(!changed(&a, &b));
    member_map_free(&a);
    member_map_free(&b);
}

Test(member_set, empty_sets)
{
    struct member_map a = {0}, b = {0};
    cr_assert(!changed(&a, &b));
    put(&b, PFX "junk", "x");
    cr_assert(!changed(&a, &b), "only malformed values: still no workers");
    struct ring *r;
    cr_assert_eq(member_map_ring(&b, 5, &r), 0);
    cr_assert_eq(ring_worker_count(r), 0);
    ring_free(r);
    member_map_free(&b);
}

Test(member_map, ring_matches_the_valid_entries)
{
    struct member_map m = {0};
    put_worker(&m, PFX "worker-a", ID_A, "10.0.0.11", 28080);
    put(&m, PFX "bad", "nope");
    put_worker(&m, PFX "worker-b", ID_B, "10.0.0.12", 28080);
    struct ring *r;
    cr_assert_eq(member_map_ring(&m, 7, &r), 0);
    cr_assert_eq(ring_worker_count(r), 2);
    cr_assert_eq(ring_vnodes(r), 7);
    ring_free(r);
    cr_assert_eq(member_map_ring(&m, 0, &r), -EINVAL);
    member_map_free(&m);
}

Test(member_map, key_cap)
{
    struct member_map m = {0};
    char key[64];
    for (size_t i = 0; i < MEMBER_MAP_MAX_KEYS; i++) {
        int n = snprintf(key, sizeof key, PFX "%08zx", i);
        cr_assert_eq(member_map_put(&m, key, (size_t)n, "x", 1), 0);
    }
    cr_assert_eq(m.n, MEMBER_MAP_MAX_KEYS);
    cr_assert_eq(member_map_put(&m, PFX "one-more", strlen(PFX "one-more"), "x", 1), -E2BIG);
    /* Replacing an existing key still works at the cap. */
    int n = snprintf(key, sizeof key, PFX "%08zx", (size_t)5);
    cr_assert_eq(member_map_put(&m, key, (size_t)n, "y", 1), 0);
    cr_assert_eq(m.n, MEMBER_MAP_MAX_KEYS);
    member_map_free(&m);
}

Test(member_map, logged_mark_survives_rewrites_and_relists_but_not_a_new_reason)
{
    struct member_map m = {0};
    put(&m, PFX "bad", "{not json");
    cr_assert(!m.entries[0].logged);
    m.entries[0].logged = true;
    put(&m, PFX "bad", "{still not json");
    cr_assert(m.entries[0].logged, "same reason: stays logged");
    put(&m, PFX "bad", "[]");
    cr_assert(!m.entries[0].logged, "new reason: log again");
    m.entries[0].logged = true;

    /* A re-list with the same bad value keeps the mark; a fixed-then-broken value loses it. */
    struct etcd_kv kvs[] = {
        {.key = PFX "bad", .key_len = strlen(PFX "bad"), .value = "[1]", .value_len = 3},
    };
    struct etcd_range_result r = {.kvs = kvs, .n = 1, .revision = 3};
    cr_assert_eq(member_map_load(&m, &r), 0);
    cr_assert(m.entries[0].logged);
    put_worker(&m, PFX "bad", ID_A, "10.0.0.11", 28080);
    put(&m, PFX "bad", "[]");
    cr_assert(!m.entries[0].logged);
    member_map_free(&m);
}
